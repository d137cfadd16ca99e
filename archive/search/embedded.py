"""The embedded engine: a whoosh index in a folder on this machine (see index/README.md).

Reading keeps one searcher open and refreshes it when an index run commits; the segments'
normalised texts are kept in memory by archive.search.phrase, which finds and confirms exact text.
"""

from __future__ import annotations

import contextlib
import json
import re
from array import array
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from archive.document import Document, doc_id
from archive.search import evaluate, phrase, records, store, suffixes
from archive.search import querylang as ql
from archive.search.compile import NOT_DOCUMENTS, compile_query
from archive.search.compile import filters as compile_filters
from archive.search.dates import date_key
from archive.search.engine import (
    VERSION_FIELDS,
    Filters,
    IndexUpdate,
    ManifestEntry,
    PerCommit,
    Ranking,
    SpeechIndex,
    add_variants,
    stats_of,
    tallied,
)
from archive.search.passages import DocumentText


class _Listing:
    """One segment's listing metadata (the `summary` column), each parsed when first asked for."""

    def __init__(self, reader) -> None:
        self._column = reader.column_reader("summary")
        self._parsed: dict[int, dict[str, Any]] = {}

    def __getitem__(self, docnum: int) -> dict[str, Any]:
        found = self._parsed.get(docnum)
        if found is None:
            found = self._parsed[docnum] = json.loads(self._column[docnum])
        return found


def _paths(reader: Any) -> list[str]:
    return list(reader.column_reader("path"))


def _records_of(reader: Any) -> records.RecordFile | Any:
    """A segment's records: its records file when it has a whole one, else its `record` column."""
    folder, segment = reader.__dict__.get(phrase.FOLDER), reader.segment()
    if folder is not None and segment is not None:
        found = records.whole(records.path_for(folder, segment.segment_id()), reader.doc_count_all())
        if found is not None:
            return found
    return reader.column_reader("record")


def _tallies(reader: Any) -> tuple[bytearray, list[str], list[str], list[str | None]]:
    """Each document of a segment as the stats count it: whether it is a readable document (not a
    file that could not be read), and its year, speaker and format (engine.tallied), each a list
    by docnum of strings shared among documents (8 bytes a document each)."""
    kinds, column = reader.column_reader("kind"), reader.column_reader("summary")
    shared: dict[str | None, Any] = {}
    readable = bytearray()
    years: list[str] = []
    speakers: list[str] = []
    formats: list[str | None] = []
    for docnum in range(reader.doc_count_all()):
        readable.append(kinds[docnum] == "doc")
        year, speaker, file_format = tallied(json.loads(column[docnum])) if readable[-1] else ("", "", None)
        years.append(shared.setdefault(year, year))
        speakers.append(shared.setdefault(speaker, speaker))
        formats.append(shared.setdefault(file_format, file_format))
    return readable, years, speakers, formats


def _docnums_by_path(reader: Any) -> dict[str, int]:
    return {path: docnum for docnum, path in enumerate(reader.column_reader("path"))}


class WhooshIndex(SpeechIndex[int]):
    """Read access to an embedded index: documents are whoosh docnums of the open searcher."""

    location: Path

    def __init__(self, location: Path) -> None:
        super().__init__()
        self.location = location
        self._path_orders = PerCommit()
        with self._errors():
            self._ix = store.open_for_reading(location)
            self._searcher = self._ix.searcher()
        self._folder = store.data_dir(location)

    def close(self) -> None:
        self._searcher.close()

    def _errors(self) -> contextlib.AbstractContextManager[None]:
        return store.errors(self.location)

    def warm(self) -> None:
        """Read the segments' normalised texts into memory now, so the first searches of a
        long-running server are as fast as the rest."""
        with self._errors(), self._lock:
            phrase.warm(self._fresh().reader())

    def _fresh(self) -> Any:
        """The searcher, reopened if a newer commit exists (cheap when nothing changed); each
        segment reader is told where its suffix file is (archive.search.suffixes)."""
        self._searcher = store.refreshed(self._ix, self._searcher)
        for reader, _ in self._searcher.reader().leaf_readers():  # a dozen segments at 100,000 speeches
            reader.__dict__.setdefault(phrase.FOLDER, self._folder)
        return self._searcher

    def _generation(self) -> Any:
        return self._fresh().reader().generation()

    def _rank(self, node: ql.Node, filters: Filters, generation: Any = None) -> Ranking[int]:
        """Every match: the exact tier, then documents holding all the words.

        Every exact match holds all its words too, so exact matches are left out of the words tier.
        That tier is only counted here; it is ranked when a page reaches it.
        """
        searcher = self._fresh()
        only = compile_filters(filters)
        strict = compile_query(node, loose=False)
        loose = compile_query(node, loose=True)
        path_order = self._path_order(searcher).__getitem__
        exact = evaluate.ranked(searcher, strict, path_order, only=only, never=NOT_DOCUMENTS)
        if loose == strict:
            return self._ordered(searcher, filters, exact, path_order)
        skip = {docnum for docnum, _ in exact}
        words_total = evaluate.count(searcher, loose, only=only, never=NOT_DOCUMENTS, skip=skip)

        def rank_words() -> list[tuple[int, float]]:
            return evaluate.ranked(searcher, loose, path_order, only=only, never=NOT_DOCUMENTS, skip=skip)

        return self._ordered(searcher, filters, exact, path_order, words_total, rank_words)

    @staticmethod
    def _ordered(searcher, filters: Filters, exact: list[tuple[int, float]], path_order: Callable[[int], int],
                 words_total: int = 0, rank_words=None) -> Ranking[int]:
        if filters.sort != "date":
            return Ranking(exact, words_total, rank_words)
        rows = [(docnum, score, "exact") for docnum, score in exact]
        if rank_words is not None:  # newest first over both tiers: every match is needed
            rows += [(docnum, score, "words") for docnum, score in rank_words()]
        dates = searcher.reader().column_reader("date_key")
        return Ranking.by_date([(docnum, score, tier, dates[docnum]) for docnum, score, tier in rows], path_order)

    def _path_order(self, searcher: Any) -> array:
        """Each docnum's place among the index's paths, for this commit: ties are in path order in
        every engine. Read from the segments' records files (UTF-8 sorts as the paths do): 29 ms at
        100,000 speeches, once per commit, where whoosh's path column took 107 ms."""
        def work_out() -> array:
            paths: list[bytes] = []
            for segment, _ in searcher.leaf_searchers():
                reader = segment.reader()
                stored = phrase.kept(reader, "_archive_records", partial(_records_of, reader))
                paths.extend(stored.all_path_bytes() if isinstance(stored, records.RecordFile) else
                             (path.encode("utf-8") for path in reader.column_reader("path")))
            order = array("I", bytes(4 * len(paths)))
            for place, docnum in enumerate(sorted(range(len(paths)), key=paths.__getitem__)):
                order[docnum] = place
            return order

        found: array = self._path_orders.get(searcher.reader().generation(), work_out)
        return found

    def _texts(self, keys: Sequence[int]) -> list[tuple[Document, DocumentText]]:
        searcher = self._fresh()
        found = []
        for docnum in keys:
            document = Document.from_record(self._record(searcher, docnum))
            found.append((document, self._text_of(searcher, docnum, document)))
        return found

    @staticmethod
    def _leaf(searcher: Any, docnum: int) -> tuple[Any, int]:
        """The segment searcher holding a document of the index, and the document's number in it."""
        leaves = phrase.kept(searcher, "_archive_leaves", lambda: list(searcher.leaf_searchers()))
        segment, offset = leaves[bisect_right([offset for _, offset in leaves], docnum) - 1]
        return segment, docnum - offset

    @classmethod
    def _record(cls, searcher: Any, docnum: int) -> dict[str, Any]:
        """A document's record, from its segment's records file when it has one (the page cache
        every process shares), else from the `record` column."""
        segment, local = cls._leaf(searcher, docnum)
        reader = segment.reader()
        stored = phrase.kept(reader, "_archive_records", partial(_records_of, reader))
        return stored.record(local) if isinstance(stored, records.RecordFile) else records.decoded(stored[local])

    @classmethod
    def _text_of(cls, searcher: Any, docnum: int, document: Document) -> DocumentText:
        """The document's text for passages, with the normalised text the index keeps (from the
        segment's suffix file when it has one)."""
        def normalised() -> str:
            segment, local = cls._leaf(searcher, docnum)
            return phrase.SegmentTexts.of(segment.reader(), segment.schema["text"].confirm_column).text(local)

        return DocumentText.of(document, normalised)

    def _counted(self, node: ql.Node, filters: Filters, found: Sequence[str]) -> list[tuple[dict[str, Any], int]]:
        """The listing metadata is parsed once per segment and kept with it."""
        searcher = self._fresh()
        rows = self._rank(node, Filters(filters.speaker, filters.since, filters.until, filters.year, "date")).page(0, None)
        leaves = list(searcher.leaf_searchers())
        starts = [offset for _, offset in leaves]
        by_segment: dict[int, list[int]] = {}
        for docnum, _, _ in rows:
            by_segment.setdefault(bisect_right(starts, docnum) - 1, []).append(docnum)
        segments = []
        for number, (segment, offset) in enumerate(leaves):
            reader = segment.reader()
            texts = phrase.SegmentTexts.of(reader, segment.schema["text"].confirm_column)
            local = [docnum - offset for docnum in by_segment.get(number, [])]
            counts = [texts.counts(needle, local) for needle in found] if local else []
            segments.append((offset, phrase.kept(reader, "_archive_listing", partial(_Listing, reader)), counts))
        counted = []
        for docnum, _, _ in rows:
            offset, listing, counts = segments[bisect_right(starts, docnum) - 1]
            local_docnum = docnum - offset
            counted.append((listing[local_docnum], sum(each.get(local_docnum, 0) for each in counts)))
        return counted

    def variants(self, pattern: re.Pattern[str], anchor: str, limit: int = 20_000, reach: int = 32) -> dict[str, set[str]]:
        """In a segment with a suffix file, `pattern` is matched around `limit` occurrences of the
        anchor (spread over all of them): a few dozen characters each, not whole texts."""
        found: dict[str, set[str]] = {}
        looked = 0
        with self._errors(), self._lock:
            searcher = self._fresh()
            for segment, _ in searcher.leaf_searchers():
                reader = segment.reader()
                field = segment.schema["text"]
                texts = phrase.SegmentTexts.of(reader, field.confirm_column)
                paths = phrase.kept(reader, "_archive_paths", partial(_paths, reader))
                if texts.suffixes is not None:
                    places = [(docnum, window) for docnum, window in texts.suffixes.windows(anchor, reach, limit - looked)
                              if not reader.is_deleted(docnum)]
                else:
                    documents = phrase.docnums_of(phrase.text_bits(reader, "text", field, anchor))
                    places = [(docnum, texts.text(docnum)) for docnum in documents[: limit - looked]]
                add_variants(found, pattern, places, paths.__getitem__)
                looked += len(places)
                if looked >= limit:
                    break
        return found

    def sketches(self) -> tuple[dict[str, bytes], dict[str, dict[str, Any]]]:
        sketches: dict[str, bytes] = {}
        listing: dict[str, dict[str, Any]] = {}
        with self._errors(), self._lock:
            reader = self._fresh().reader()
            if reader.doc_count() == 0:
                return sketches, listing
            kinds, paths = reader.column_reader("kind"), reader.column_reader("path")
            values, summaries = reader.column_reader("sketch"), reader.column_reader("summary")
            for docnum in reader.all_doc_ids():
                if kinds[docnum] == "doc":
                    sketches[paths[docnum]] = values[docnum]
                    summary = json.loads(summaries[docnum])
                    listing[paths[docnum]] = {field: summary.get(field) for field in VERSION_FIELDS}
        return sketches, listing

    def holding(self, needle: str) -> list[str]:
        found: list[str] = []
        with self._errors(), self._lock:
            searcher = self._fresh()
            for segment, _ in searcher.leaf_searchers():
                reader = segment.reader()
                bits = phrase.text_bits(reader, "text", segment.schema["text"], needle)
                if bits:
                    paths = phrase.kept(reader, "_archive_paths", partial(_paths, reader))
                    found.extend(paths[docnum] for docnum in phrase.docnums_of(bits))
        return found

    def normalised_texts(self, paths: list[str]) -> dict[str, str]:
        """From the texts searching keeps in memory: no stored record is read."""
        wanted = set(paths)
        found: dict[str, str] = {}
        with self._errors(), self._lock:
            searcher = self._fresh()
            for segment, _ in searcher.leaf_searchers():
                reader = segment.reader()
                texts = phrase.SegmentTexts.of(reader, segment.schema["text"].confirm_column)
                where = phrase.kept(reader, "_archive_docnum_of_path",
                                    partial(_docnums_by_path, reader))
                for path in wanted:
                    docnum = where.get(path)
                    if docnum is not None and not reader.is_deleted(docnum):
                        found[path] = texts.text(docnum)
        return found

    def text_of(self, path: str) -> tuple[Document, DocumentText] | None:
        with self._errors(), self._lock:
            searcher = self._fresh()
            docnum = searcher.document_number(path=path)
            if docnum is None:
                return None
            record = self._record(searcher, docnum)
            if "paragraphs" not in record:  # a failed file's
                return None
            document = Document.from_record(record)
            return document, self._text_of(searcher, docnum, document)

    def _document(self, key: str) -> Document | None:
        with self._lock:
            searcher = self._fresh()
            docnum = searcher.document_number(doc_id=key)
            if docnum is None:
                docnum = searcher.document_number(path=key)
            if docnum is None or searcher.reader().column_reader("kind")[docnum] != "doc":
                return None
            return Document.from_record(self._record(searcher, docnum))

    def _summaries(self, kind: str = "doc") -> list[dict[str, Any]]:
        with self._lock:
            return store.summaries(self._fresh().reader(), kind)

    def _counted_stats(self) -> dict[str, Any]:
        """What each segment's documents are tallied as is kept with the segment (a segment never
        changes; only which of its documents are live does): after a commit only new segments are
        read. Reading every listing took 1.2 s at 100,000 speeches; a watcher commits often."""
        counted: list[Counter[Any]] = [Counter(), Counter(), Counter()]  # by year, speaker, format
        failed = 0
        with self._errors(), self._lock:
            for segment, _ in self._fresh().leaf_searchers():
                reader = segment.reader()
                readable, years, speakers, formats = phrase.kept(reader, "_archive_tallies", partial(_tallies, reader))
                live = list(reader.all_doc_ids())
                documents = [docnum for docnum in live if readable[docnum]]
                counted[0].update(years[docnum] for docnum in documents)
                counted[1].update(speakers[docnum] for docnum in documents)
                counted[2].update(formats[docnum] for docnum in documents)
                failed += len(live) - len(documents)
            updated = self.last_commit()
        return stats_of(counted[0], counted[1], counted[2], failed, updated)

    def _version_entries(self, generation: Any = None) -> dict[str, dict[str, Any]]:
        return store.version_groups(self.location)

    def last_commit(self) -> str | None:
        return store.last_commit(self.location)

    def indexed_folders(self) -> list[str]:
        return store.indexed_folders(self.location)


class WhooshUpdate(IndexUpdate):
    """Write access to an embedded index: whoosh's write lock is taken when it is opened."""

    location: Path

    def __init__(self, location: Path) -> None:
        self.location = location
        with self._errors():
            self._ix = store.open_for_writing(location)
            self._writer = store.writer(self._ix)  # taken now: a second index run fails fast
            self.manifest: dict[str, ManifestEntry] = store.manifest(self._ix)
        self.rebuilt = bool(store.other_versions(location))
        self._texts: list[str] = []  # the writer's normalised texts, in the order of its segment
        self._ahead: suffixes.WrittenAhead | None = None

    def _errors(self) -> contextlib.AbstractContextManager[None]:
        return store.errors(self.location)

    def document_by_content(self, sha256: str, file_format: str) -> Document | None:
        with self._errors():
            record = store.record_by_content(self._ix, sha256, file_format)
        return Document.from_record(record) if record is not None else None

    def failure_reasons(self) -> dict[str, str]:
        with self._errors(), self._ix.reader() as reader:
            return {failure["path"]: failure["reason"] for failure in store.summaries(reader, "failed")}

    def put(self, document: Document, normalised: str, *, mtime_ns: int, sketch: bytes = b"") -> None:
        """The body gets no postings (the segment's suffix file, written at commit, finds phrases
        in `normalised`)."""
        speaker_role = "|".join(v for v in (document.speaker, document.role) if v)
        fields: dict[str, Any] = dict(
            path=document.path, doc_id=document.id, kind="doc", sha256=document.sha256,
            size=document.size, mtime_ns=mtime_ns, extractor=document.extractor,
            normalised=normalised.encode("utf-8"),
            title=document.title or "", people=speaker_role, date_key=date_key(document.date),
            record=records.encoded(document.to_record()), summary=json.dumps(document.listing(), ensure_ascii=False).encode("utf-8"),
            sketch=sketch,
        )
        if not self._texts:
            suffixes.warm()  # numpy, for the commit's suffix sort: imported while the run waits for workers
        self._put(fields)
        self._texts.append(normalised)

    def put_failed(self, path: str, *, size: int, mtime_ns: int, sha256: str, extractor: int, reason: str) -> None:
        self._put(dict(path=path, doc_id=doc_id(path), kind="failed", sha256=sha256, size=size,
                       mtime_ns=mtime_ns, extractor=extractor, date_key=0,
                       record=records.encoded({"path": path, "reason": reason}),
                       summary=json.dumps({"path": path, "reason": reason}, ensure_ascii=False).encode("utf-8")))
        self._texts.append("")  # the segment's text of a failed file: empty, as its column holds none

    def _put(self, fields: dict[str, Any]) -> None:
        if fields["path"] in self.manifest:
            self._writer.update_document(**fields)
        else:
            self._writer.add_document(**fields)

    def delete(self, path: str) -> None:
        self._writer.delete_by_term("path", path)

    def checkpoint(self) -> None:
        self._commit_writer()
        store.record_checksums(self.location)
        store.save_snapshot(self.location, self._ix, side_files=False)  # written at the run's end
        self._writer = store.writer(self._ix)

    def commit(self, folders: Sequence[str] = (), then: Callable[[], None] | None = None) -> None:
        self._commit_writer()
        if then is not None:
            then()  # while the thread sorts the new segment's suffixes
        self._wait_for_suffixes()
        store.write_side_files(self.location, self._ix)  # the rest of the side files, and any the thread did not write
        store.record_checksums(self.location)
        store.remember_folders(self.location, list(folders))
        store.save_snapshot(self.location, self._ix, side_files=True)
        store.drop_other_versions(self.location)

    def _commit_writer(self) -> None:
        """Commit whoosh's writer while a thread writes the new segment's suffix file (see
        suffixes.WrittenAhead); after a checkpoint it goes on writing while the run does."""
        self._wait_for_suffixes()
        texts, self._texts = self._texts, []
        segment_id = self._writer.newsegment.segment_id()
        path = suffixes.path_for(store.data_dir(self.location), segment_id)
        if texts:
            self._ahead = suffixes.WrittenAhead(path, texts)
        self._writer.commit(mergetype=store.merge_small)
        if self._ahead is not None and self._ahead.doc_count != self._writer.newsegment.doc_count_all():
            # older segments were merged into it: its texts are read back from the commit
            self._ahead.discard()
            self._ahead = suffixes.WrittenAhead(path, store.segment_texts(self._ix, segment_id))

    def _wait_for_suffixes(self) -> None:
        if self._ahead is not None:
            self._ahead.wait()
            self._ahead = None

    def cancel(self) -> None:
        self._wait_for_suffixes()
        self._writer.cancel()

    def close(self) -> None:
        self._wait_for_suffixes()
        super().close()

    def has_version_groups(self) -> bool:
        return store.has_version_groups(self.location)

    def save_version_groups(self, groups: dict[str, dict[str, Any]]) -> None:
        store.save_version_groups(self.location, groups)


