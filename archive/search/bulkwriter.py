"""whoosh's SegmentWriter with postings gathered per term in memory and written term by term.

Why: writing the index was most of an index run's work. whoosh's writer sends every posting through
a generic path: a tuple per posting into a sorting pool, a sort of all of them at commit, then, per
posting, a read of the document's field length back from disk and a call that appends to the
current block. A speech has about two thousand distinct bigrams, so that was ~4 ms per document.

Here the bigram fields hand over their postings in bulk (the terms a document holds, or term ->
positions, see archive.search.analysis); they are appended to per-term arrays (documents come in
docnum order, so each list is already sorted), terms are sorted once, and each term's postings go
through the codec's public FieldWriter.add. Everything else is whoosh's: the per-document columns
and stored fields, the segment files, the table of contents, merges, deletions. The result is the
same W3 segment whoosh would write (tests/test_bulkwriter.py compares them term by term).

This class overrides SegmentWriter's add_document and _flush_segment, whoosh internals: it earns it
(tests/bench/bench_private.py: 3,000 speeches written in 1.7 s against 20.7 s by whoosh's own
writer, 12x). Filling W3 posting blocks directly (1.3x) and writing a commit as two segments in a
forked process (1.1x) did not earn theirs and were dropped.

Memory: the postings of the documents added since the last commit (the pipeline commits every few
thousand documents), as arrays: 4 bytes per body posting.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from whoosh.writing import SegmentWriter


class _Postings:
    """One term's postings: docnums, weights and encoded values (None: no value).

    Docnums only grow: a SegmentWriter numbers documents as they are added, and the documents of
    segments merged in at commit come after every added one. So each list is in docnum order as
    built, and a term's added postings come before its merged ones.
    """

    __slots__ = ("ids", "values", "weights")

    def __init__(self) -> None:
        self.ids = array("I")
        self.weights = array("f")
        self.values: list[bytes | None] = []

    def add(self, docnum: int, weight: float, value: bytes | None) -> None:
        self.ids.append(docnum)
        self.weights.append(weight)
        self.values.append(value)

    @classmethod
    def of_documents(cls, docnums: array, boost: float) -> _Postings:
        """The postings of a presence format (archive.search.analysis.BigramBuckets): every weight
        the field boost, no values."""
        postings = cls()
        postings.ids = docnums
        postings.weights = array("f", [boost]) * len(docnums)
        postings.values = [None] * len(docnums)
        return postings

    def extend(self, other: _Postings) -> None:
        self.ids.extend(other.ids)
        self.weights.extend(other.weights)
        self.values.extend(other.values)


class TermPool:
    """Stands in for whoosh's PostingPool: postings by field and term, kept in memory.

    `add` takes whoosh's posting tuples (used when whoosh merges old segments into this one);
    `add_set` and `add_values` take a document's postings for one field at once. A presence field
    keeps one array of docnums per term: one append per posting, the fewest Python can do.
    """

    def __init__(self) -> None:
        self.by_set: dict[str, dict[str, array]] = {}  # field -> term -> docnums
        self.set_boost: dict[str, float] = {}
        self.by_text: dict[str, dict[str, _Postings]] = {}  # field -> term (str) -> postings
        self.by_bytes: dict[str, dict[bytes, _Postings]] = {}  # field -> term (bytes) -> postings

    def add(self, item: tuple[str, bytes, int, float, bytes | None]) -> None:
        fieldname, tbytes, docnum, weight, value = item
        terms = self.by_bytes.setdefault(fieldname, {})
        postings = terms.get(tbytes)
        if postings is None:
            postings = terms[tbytes] = _Postings()
        postings.add(docnum, weight, value)

    def add_set(self, fieldname: str, docnum: int, terms: Iterable[str], boost: float) -> None:
        documents = self.by_set.get(fieldname)
        if documents is None:
            documents = self.by_set[fieldname] = defaultdict(_docnums)
            self.set_boost[fieldname] = boost
        for term in terms:
            documents[term].append(docnum)

    def add_values(self, fieldname: str, docnum: int, items: Iterable[tuple[str, int, float, bytes]]) -> None:
        terms = self.by_text.setdefault(fieldname, {})
        for term, _, weight, value in items:
            postings = terms.get(term)
            if postings is None:
                postings = terms[term] = _Postings()
            postings.add(docnum, weight, value)

    def fields(self) -> list[str]:
        return sorted(set(self.by_set) | set(self.by_text) | set(self.by_bytes))

    def terms(self, fieldname: str) -> list[tuple[bytes, _Postings]]:
        """The field's terms in byte order (UTF-8 keeps code point order), each with its postings."""
        merged: dict[bytes, _Postings] = {term.encode("utf-8"): postings
                                          for term, postings in self.by_text.get(fieldname, {}).items()}
        boost = self.set_boost.get(fieldname, 1.0)
        for term, docnums in self.by_set.get(fieldname, {}).items():
            merged[term.encode("utf-8")] = _Postings.of_documents(docnums, boost)
        for tbytes, postings in self.by_bytes.get(fieldname, {}).items():
            if tbytes in merged:
                merged[tbytes].extend(postings)
            else:
                merged[tbytes] = postings
        return sorted(merged.items())

    def cleanup(self) -> None:
        self.by_set.clear()
        self.by_text.clear()
        self.by_bytes.clear()


def _docnums() -> array:
    return array("I")


class BulkSegmentWriter(SegmentWriter):
    """A SegmentWriter (see the module docstring) that whoosh's own commit, merge and TOC code drives."""

    def __init__(self, ix, **kwargs: Any) -> None:
        super().__init__(ix, **kwargs)
        self.pool.cleanup()
        self.pool: TermPool = TermPool()

    def add_document(self, **fields: Any) -> None:
        self._check_state()
        schema = self.schema
        docnum = self.docnum
        names = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, names)
        perdoc = self.perdocwriter
        perdoc.start_doc(docnum)
        try:
            for name in names:
                value = fields[name]
                if value is None:
                    continue
                field = schema[name]
                length = 0
                if field.indexed:
                    length = self._index_field(name, field, value, docnum)
                perdoc.add_field(name, field, value if field.stored else None, length)
                if field.column_type:
                    perdoc.add_column_value(name, field.column_type, field.to_column_value(value))
        except Exception:
            perdoc.cancel_doc()
            raise
        perdoc.finish_doc()
        self._added = True
        self.docnum += 1

    def _index_field(self, name: str, field, value: Any, docnum: int) -> int:
        """Put one field's postings in the pool; the field length (0 unless scorable)."""
        fmt = field.format
        if hasattr(fmt, "term_set"):  # archive's bigram formats: the postings in one go
            terms = fmt.term_set(value)
            self.pool.add_set(name, docnum, terms, fmt.field_boost)
            return len(terms) if field.scorable else 0
        if hasattr(fmt, "term_values"):
            items = fmt.term_values(value)
            self.pool.add_values(name, docnum, items)
            return sum(item[1] for item in items) if field.scorable else 0
        length = 0
        for tbytes, freq, weight, vbytes in field.index(value):
            if field.scorable:
                length += freq
            self.pool.add((name, tbytes, docnum, weight, vbytes))
        return length

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        lengths = self.per_document_reader() if self.codec.length_stats else None
        try:
            self._write_postings(lengths)
        finally:
            if lengths is not None:
                lengths.close()
        self.fieldwriter.close()

    def _write_postings(self, lengths) -> None:
        writer = self.fieldwriter
        doc_count = self.docnum
        for name in self.pool.fields():
            field = self.schema[name]
            if field.scorable and lengths is not None:
                field_lengths = array("I", (lengths.doc_field_length(d, name) or 0 for d in range(doc_count)))
            else:
                field_lengths = None
            writer.start_field(name, field)
            for tbytes, postings in self.pool.terms(name):
                writer.start_term(tbytes)
                _add_each(writer, postings, field_lengths)
                writer.finish_term()
            writer.finish_field()


def _add_each(fieldwriter, postings: _Postings, lengths: array | None) -> None:
    """One term's postings through the codec's public FieldWriter.add, one by one."""
    for i, docnum in enumerate(postings.ids):
        length = lengths[docnum] if lengths is not None else 0
        fieldwriter.add(docnum, postings.weights[i], postings.values[i] or b"", length)
