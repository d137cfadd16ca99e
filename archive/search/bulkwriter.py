"""whoosh's SegmentWriter with postings gathered per term in memory and written block by block.

Why: writing the index was most of an index run's work. whoosh's writer sends every posting through
a generic path: a tuple per posting into a sorting pool, a sort of all of them at commit, then, per
posting, a read of the document's field length back from disk and a call that appends to the
current block. A speech has about two thousand distinct bigrams, so that was ~4 ms per document.

Here the bigram fields hand over their postings in bulk (the terms a document holds, or term ->
positions, see archive.search.analysis); they are appended to per-term arrays (documents come in
docnum order, so each list is already sorted), terms are sorted once, and whoosh's W3 postings
writer gets whole blocks of 128. Everything else is whoosh's: the per-document columns and stored fields, the segment
files, the table of contents, merges, deletions. The result is the same W3 segment whoosh would
write (the tests search it through whoosh's own readers).

Memory: the postings of the documents added since the last commit (the pipeline commits every few
thousand documents), as arrays: 4 bytes per body posting.
"""

from __future__ import annotations

import os
import pickle
from array import array
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from whoosh.writing import SegmentWriter

_BLOCK_ATTRIBUTES = ("_ids", "_weights", "_values", "_maxweight", "_minlength", "_maxlength", "_write_block",
                     "_blocklimit")


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

    BY_BLOCK = True  # fill W3 posting blocks directly (off: one public FieldWriter.add per posting)
    wrote_by_block: bool | None = None  # how the last field was written (tests check the fast path ran)

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
            by_block = None
            for tbytes, postings in self.pool.terms(name):
                writer.start_term(tbytes)
                if by_block is None:  # the block attributes exist once a term has started
                    postwriter = getattr(writer, "_postwriter", None)
                    by_block = self.BY_BLOCK and all(hasattr(postwriter, a) for a in _BLOCK_ATTRIBUTES)
                    self.wrote_by_block = by_block
                if by_block:
                    _fill_blocks(postwriter, postings, field_lengths)
                else:
                    _add_each(writer, postings, field_lengths)
                writer.finish_term()
            writer.finish_field()


def _add_each(fieldwriter, postings: _Postings, lengths: array | None) -> None:
    """One term's postings through the codec's public FieldWriter.add, one by one."""
    for i, docnum in enumerate(postings.ids):
        length = lengths[docnum] if lengths is not None else 0
        fieldwriter.add(docnum, postings.weights[i], postings.values[i] or b"", length)


def _fill_blocks(postwriter, postings: _Postings, lengths: array | None) -> None:
    """One term's postings handed to whoosh's W3 postings writer a block at a time, with the block
    statistics its add_posting would have kept; the last block is written by finish_term."""
    size = postwriter._blocklimit
    total = len(postings.ids)
    for start in range(0, total, size):
        end = min(start + size, total)
        ids = postings.ids[start:end] if total > size else postings.ids
        weights = postings.weights[start:end] if total > size else postings.weights
        postwriter._ids = ids
        postwriter._weights = weights
        values = postings.values[start:end]
        postwriter._values = values if all(values) else [v for v in values if v]
        postwriter._maxweight = max(weights)
        if lengths is not None:
            block_lengths = [lengths[d] for d in ids]
            if not all(block_lengths):  # whoosh skips zero lengths
                block_lengths = [length for length in block_lengths if length]
            postwriter._minlength = min(block_lengths) if block_lengths else None
            postwriter._maxlength = max(block_lengths, default=0)
        if end < total:
            postwriter._write_block()


class SplitWriter:
    """Two bulk writers that take turns (by text size) and are committed together.

    Writing a commit's postings is the one part of an index run that ran on one core while the
    others waited. Here each writer holds about half the documents, and the final commit writes
    the two segments at once: the second in a forked process. The first writer holds the index's
    lock and makes every deletion; the second only adds documents to its own new segment.
    """

    def __init__(self, ix, first: BulkSegmentWriter | None = None, **kwargs: Any) -> None:
        """`first`: a writer already holding the lock (and maybe deletions) to pair with."""
        self.first = first or BulkSegmentWriter(ix, **kwargs)  # takes the lock: a second run fails fast
        self.second = BulkSegmentWriter(ix, _lk=False, **kwargs)
        self._sizes = [0, 0]

    def _pick(self, fields: dict[str, Any]) -> BulkSegmentWriter:
        which = 0 if self._sizes[0] <= self._sizes[1] else 1
        self._sizes[which] += len(fields.get("normalised") or b"") + 1
        return (self.first, self.second)[which]

    def add_document(self, **fields: Any) -> None:
        self._pick(fields).add_document(**fields)

    def update_document(self, **fields: Any) -> None:
        self.first.delete_by_term("path", fields["path"])  # `path` is the unique field (doc_id follows it)
        self._pick(fields).add_document(**fields)

    def delete_by_term(self, fieldname: str, text: str) -> None:
        self.first.delete_by_term(fieldname, text)

    def commit(self, merge: bool = True, parallel: bool = False) -> None:
        """Write both segments and one table of contents listing them. `parallel`: the second
        segment is written by a forked process. Call it outside the worker pool (its threads
        manage processes); other threads, such as a progress display's, are harmless: the child
        only writes its own segment files and a pipe, and leaves with os._exit."""
        first, second = self.first, self.second
        child = _fork_finalize(second) if parallel and second._added and hasattr(os, "fork") else None
        segments = first._merge_segments(None, None, merge)
        if first._added:
            segments.append(first._finalize_segment())
        else:
            first._close_segment()
        if child is not None:
            segments.append(_collect(child))
        elif second._added:
            segments.append(second._finalize_segment())
        else:
            second._close_segment()
        first._commit_toc(segments)
        first._finish()  # also removes the temporary folder the two share
        second.is_closed = True

    def cancel(self) -> None:
        self.second._close_segment()
        self.second.is_closed = True
        self.first.cancel()


def _fork_finalize(writer: BulkSegmentWriter) -> tuple[int, int]:
    """Write `writer`'s segment in a forked process; (pid, read end of the pipe it answers on)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: write the segment, send its description, leave without cleanup
        status = 1
        try:
            os.close(read)
            with os.fdopen(write, "wb") as answer:
                pickle.dump(writer._finalize_segment(), answer)
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    return pid, read


def _collect(child: tuple[int, int]):
    pid, read = child
    with os.fdopen(read, "rb") as answer:
        data = answer.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not data:
        raise OSError("the process writing the second segment failed")
    return pickle.loads(data)
