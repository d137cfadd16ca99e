"""The index: the only package that imports whoosh. A narrow public API over private modules.

    SpeechIndex(location)         read: search, documents, document, stats
    IndexUpdate(location)         write: put, put_failed, delete, checkpoint, commit
"""

from __future__ import annotations

import json
import re
import threading
from bisect import bisect_right
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archive.errors import QueryError
from archive.normalize import normalise
from archive.search import querylang as ql
from archive.search import evaluate, phrase, schema, store
from archive.search.analysis import BodyTerms, body_buckets
from archive.search.compile import NOT_DOCUMENTS, compile_query, filters
from archive.search.dates import date_key
from archive.search.passages import DocumentText, Passage
from archive.search.records import doc_id, paragraphs_of, paragraphs_to_rows, public
from archive.search.schema import EXTRACTOR_VERSION, SCHEMA_VERSION
from archive.search.store import ManifestEntry
from archive.tokens import words

__all__ = [
    "EXTRACTOR_VERSION", "SCHEMA_VERSION", "Hit", "IndexUpdate", "ManifestEntry", "Passage", "SearchResults",
    "SpeechIndex", "body_terms", "doc_id", "indexed_folders", "paragraphs_of", "paragraphs_to_rows", "remove_index",
    "schema", "verify_index",
]

indexed_folders = store.indexed_folders
verify_index = store.verify
remove_index = store.remove_index


def body_terms(normalised: str) -> BodyTerms:
    """A document's body terms, for IndexUpdate.put: made where the text is (a worker process),
    not by the one writer."""
    return BodyTerms(body_buckets(normalised))

SORTS = ("relevance", "date")


class _LRU:
    """A small least-recently-used cache (keys include the index generation, so never stale)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key: Any) -> Any:
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        return None

    def put(self, key: Any, value: Any) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


class _Ranking:
    """The ranked matches of one search: (docnum, score, tier) in order.

    The exact tier is ranked at once. The words tier (documents holding all the words but not the
    text as written) is only counted until a page reaches it: for a common query it holds
    thousands of documents that the first pages never show.
    """

    def __init__(self, exact: list[tuple[int, float, str]], words_total: int = 0,
                 rank_words: Callable[[], list[tuple[int, float]]] | None = None) -> None:
        self._exact = exact
        self._words_total = words_total
        self._rank_words = rank_words
        self._words: list[tuple[int, float, str]] | None = None

    @classmethod
    def of(cls, searcher, sort: str, exact: list[tuple[int, float]], words_total: int = 0,
           rank_words: Callable[[], list[tuple[int, float]]] | None = None) -> _Ranking:
        ranked = [(docnum, score, "exact") for docnum, score in exact]
        if sort != "date":
            return cls(ranked, words_total, rank_words)
        if rank_words is not None:  # newest first over both tiers: every match is needed
            ranked += [(docnum, score, "words") for docnum, score in rank_words()]
        dates = searcher.reader().column_reader("date_key")
        ranked.sort(key=lambda item: (dates[item[0]], item[1]), reverse=True)
        return cls(ranked)

    @property
    def total(self) -> int:
        return len(self._exact) + self._words_total

    def page(self, offset: int, limit: int | None) -> list[tuple[int, float, str]]:
        end = self.total if limit is None else offset + limit
        page = self._exact[offset:end]
        if end > len(self._exact) and self._words_total:
            if self._words is None:
                self._words = [(docnum, score, "words") for docnum, score in self._rank_words()]
            page += self._words[max(0, offset - len(self._exact)) : end - len(self._exact)]
        return page


@dataclass
class Hit:
    record: dict[str, Any]
    score: float
    tier: str  # "exact": every term stands in the text as written; "words": only all its words do
    passages: list[Passage]
    versions: list[dict[str, Any]] = field(default_factory=list)  # the other versions of this speech
    final: str | None = None  # the path of its group's final version (itself, or one of `versions`)

    def to_dict(self) -> dict[str, Any]:
        shown = public(self.record)
        shown.update(score=round(self.score, 3), match=self.tier, passages=[p.to_dict() for p in self.passages],
                     versions=self.versions, final=self.final)
        return shown


@dataclass
class SearchResults:
    query: str
    total: int
    hits: list[Hit] = field(default_factory=list)
    offset: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "total": self.total, "offset": self.offset,
                "hits": [hit.to_dict() for hit in self.hits]}


def _needles(node: ql.Node, loose: bool) -> list[str]:
    """The normalised strings whose occurrences a passage shows."""
    needles: list[str] = []
    for term in ql.text_terms(node):
        exact = normalise(term.value)
        needles.append(exact)
        if loose and not term.exact:
            needles.extend(w for w in words(exact) if len(w) > 1 or len(exact) == 1)
    return needles


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


class SpeechIndex:
    """Read access to an index. Keeps one searcher open and refreshes it when an index run commits."""

    @store.guarded(lambda self: self.location)
    def __init__(self, location: Path) -> None:
        self.location = location
        self._ix = store.open_for_reading(location)
        self._searcher = self._ix.searcher()
        self._lock = threading.RLock()
        self._ranked = _LRU(64)  # ranked results of recent searches: paging and repeats cost nothing

    def close(self) -> None:
        self._searcher.close()

    @store.guarded(lambda self: self.location)
    def warm(self) -> None:
        """Read what every search needs into memory now (the segments' normalised texts), so the
        first searches of a long-running server are as fast as the rest."""
        with self._lock:
            phrase.warm(self._fresh().reader())

    def __enter__(self) -> SpeechIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fresh(self):
        """The searcher, reopened if a newer commit exists (cheap when nothing changed)."""
        self._searcher = store.refreshed(self._ix, self._searcher)
        return self._searcher

    @store.guarded(lambda self: self.location)
    def search(self, query: str, *, limit: int | None = 10, offset: int = 0, speaker: str | None = None,
               since: str | None = None, until: str | None = None, year: int | None = None,
               sort: str = "relevance", window: int | None = 80, max_passages: int | None = 3,
               context: int = 0) -> SearchResults:
        """Every document matching `query`: exact matches first, then those holding all the words.

        `total` counts all of them; `hits` holds `limit` of them from `offset`, with passages.
        """
        if sort not in SORTS:
            raise QueryError(f"unknown sort {sort!r}: use one of {', '.join(SORTS)}")
        if offset < 0 or (limit is not None and limit < 0):
            raise QueryError("limit and offset must not be negative")
        node = ql.parse(query)
        with self._lock:
            searcher = self._fresh()
            key = (searcher.reader().generation(), query, speaker, since, until, year, sort)
            ranked = self._ranked.get(key)
            if ranked is None:
                ranked = self._rank(searcher, node, filters(speaker=speaker, since=since, until=until, year=year), sort)
                self._ranked.put(key, ranked)
            page = ranked.page(offset, limit)
            hits = []
            for docnum, score, tier in page:
                record = searcher.stored_fields(docnum)["record"]
                text = self._text_of(searcher, docnum, record)
                passages = text.passages(_needles(node, loose=tier == "words"), context=context, window=window,
                                         limit=max_passages)
                entry = store.version_groups(self.location).get(record["path"])
                hits.append(Hit(record, float(score), tier, passages, self._other_versions(record["path"]),
                                entry["members"][0]["path"] if entry else None))
        return SearchResults(query=query, total=ranked.total, hits=hits, offset=offset)

    def _other_versions(self, path: str) -> list[dict[str, Any]]:
        entry = store.version_groups(self.location).get(path)
        return [member for member in entry["members"] if member["path"] != path] if entry else []

    @staticmethod
    def _text_of(searcher, docnum: int, record: dict[str, Any]) -> DocumentText:
        """The document's text for passages, with the normalised text the index keeps."""
        lengths = record.get("normalised_lengths")
        if lengths is None:
            return DocumentText(paragraphs_of(record))
        # one column reader per searcher: opening one costs milliseconds
        texts = phrase.kept(searcher, "_archive_normalised", lambda: searcher.reader().column_reader("normalised"))
        return DocumentText(paragraphs_of(record), texts[docnum].decode("utf-8"), lengths)

    @staticmethod
    def _rank(searcher, node: ql.Node, extra, sort: str) -> _Ranking:
        """Every match: the exact tier, then documents holding all the words.

        Every exact match holds all its words too, so exact matches are left out of the words tier.
        That tier is only counted here; it is ranked when a page reaches it.
        """
        strict = compile_query(node, loose=False)
        loose = compile_query(node, loose=True)
        exact = evaluate.ranked(searcher, strict, only=extra, never=NOT_DOCUMENTS)
        if loose == strict:
            return _Ranking.of(searcher, sort, exact)
        skip = {docnum for docnum, _ in exact}
        words_total = evaluate.count(searcher, loose, only=extra, never=NOT_DOCUMENTS, skip=skip)

        def rank_words() -> list[tuple[int, float]]:
            return evaluate.ranked(searcher, loose, only=extra, never=NOT_DOCUMENTS, skip=skip)

        return _Ranking.of(searcher, sort, exact, words_total, rank_words)

    @store.guarded(lambda self: self.location)
    def matches(self, query: str, *, speaker: str | None = None, since: str | None = None,
                until: str | None = None, year: int | None = None) -> list[tuple[dict[str, Any], int]]:
        """Every document matching `query` (both tiers), newest first, as (listing metadata, how
        often the query's text stands in it): what a timeline counts, without reading records.
        The listing metadata is parsed once per segment and kept with it."""
        node = ql.parse(query)
        needles = [needle for needle in _needles(node, loose=False) if needle]
        with self._lock:
            searcher = self._fresh()
            ranked = self._rank(searcher, node, filters(speaker=speaker, since=since, until=until, year=year), "date")
            rows = ranked.page(0, None)
            segments = []
            for segment, offset in searcher.leaf_searchers():
                reader = segment.reader()
                segments.append((offset, phrase.kept(reader, "_archive_listing", lambda reader=reader: _Listing(reader)),
                                 phrase.SegmentTexts.of(reader, segment.schema["text"].confirm_column)))
            starts = [offset for offset, _, _ in segments]
            found = []
            for docnum, _, _ in rows:
                offset, listing, texts = segments[bisect_right(starts, docnum) - 1]
                local = docnum - offset
                start, end = texts.offsets[local], texts.offsets[local + 1]
                blob = texts.blob
                found.append((listing[local], sum(blob.count(needle, start, end) for needle in needles)))
        return found

    @store.guarded(lambda self: self.location)
    def hit(self, path: str, query: str) -> Hit | None:
        """One document as a search hit for `query` (its first passage)."""
        node = ql.parse(query)
        found = self.text_of(path)
        if found is None:
            return None
        record, text = found
        return Hit(record, 0.0, "exact", text.passages(_needles(node, loose=True), limit=1))

    @store.guarded(lambda self: self.location)
    def variants(self, pattern: re.Pattern[str], anchor: str, limit: int = 20_000) -> dict[str, set[str]]:
        """The paths of the documents that hold each text `pattern` matches in the normalised texts,
        looking only in documents that hold normalised `anchor` (a fixed part of the pattern): what
        "did you mean" counts. At most `limit` documents are looked at."""
        found: dict[str, set[str]] = {}
        looked = 0
        with self._lock:
            searcher = self._fresh()
            for segment, _ in searcher.leaf_searchers():
                reader = segment.reader()
                field = segment.schema["text"]
                bits = phrase.text_bits(reader, "text", field, anchor)
                texts = phrase.SegmentTexts.of(reader, field.confirm_column)
                paths = reader.column_reader("path")
                for docnum in phrase.docnums_of(bits):
                    looked += 1
                    if looked > limit:
                        return found
                    start, end = texts.offsets[docnum], texts.offsets[docnum + 1]
                    for match in pattern.finditer(texts.blob, start, end):
                        found.setdefault(match.group(0), set()).add(paths[docnum])
        return found

    @store.guarded(lambda self: self.location)
    def sketches(self) -> tuple[dict[str, bytes], dict[str, dict[str, Any]]]:
        """Every readable document's text sketch (archive.versions) and listing metadata, by path."""
        sketches: dict[str, bytes] = {}
        listing: dict[str, dict[str, Any]] = {}
        with self._lock:
            reader = self._fresh().reader()
            if reader.doc_count() == 0:
                return sketches, listing
            kinds, paths = reader.column_reader("kind"), reader.column_reader("path")
            values, summaries = reader.column_reader("sketch"), reader.column_reader("summary")
            for docnum in reader.all_doc_ids():
                if kinds[docnum] == "doc":
                    sketches[paths[docnum]] = values[docnum]
                    listing[paths[docnum]] = json.loads(summaries[docnum])
        return sketches, listing

    @store.guarded(lambda self: self.location)
    def holding(self, needle: str) -> list[str]:
        """The paths of the documents whose normalised text holds normalised `needle`: what a
        draft check asks for each piece of a sentence (no ranking, no passages)."""
        found: list[str] = []
        with self._lock:
            searcher = self._fresh()
            for segment, _ in searcher.leaf_searchers():
                reader = segment.reader()
                bits = phrase.text_bits(reader, "text", segment.schema["text"], needle)
                if bits:
                    paths = phrase.kept(reader, "_archive_paths", lambda reader=reader: list(reader.column_reader("path")))
                    found.extend(paths[docnum] for docnum in phrase.docnums_of(bits))
        return found

    @store.guarded(lambda self: self.location)
    def normalised_texts(self, paths: list[str]) -> dict[str, str]:
        """The normalised text of each of these documents (readable ones), from the texts searching
        keeps in memory: no stored record is read."""
        wanted = set(paths)
        found: dict[str, str] = {}
        with self._lock:
            searcher = self._fresh()
            for segment, _ in searcher.leaf_searchers():
                reader = segment.reader()
                texts = phrase.SegmentTexts.of(reader, segment.schema["text"].confirm_column)
                where = phrase.kept(reader, "_archive_docnum_of_path",
                                    lambda reader=reader: {path: docnum for docnum, path in
                                                           enumerate(reader.column_reader("path"))})
                for path in wanted:
                    docnum = where.get(path)
                    if docnum is not None and not reader.is_deleted(docnum):
                        found[path] = texts.blob[texts.offsets[docnum] : texts.offsets[docnum + 1]]
        return found

    @store.guarded(lambda self: self.location)
    def text_of(self, path: str) -> tuple[dict[str, Any], DocumentText] | None:
        """A readable document's record and text (paragraphs with the normalised text the index keeps)."""
        with self._lock:
            searcher = self._fresh()
            docnum = searcher.document_number(path=path)
            if docnum is None:
                return None
            record = searcher.stored_fields(docnum)["record"]
            if "paragraphs" not in record:
                return None
            return record, self._text_of(searcher, docnum, record)

    def _record(self, key: str) -> dict[str, Any] | None:
        """The stored record of a readable document, by id or path."""
        with self._lock:
            searcher = self._fresh()
            fields = searcher.document(doc_id=key) or searcher.document(path=key)
        if not fields or fields.get("kind") != "doc":
            return None
        return fields["record"]

    @store.guarded(lambda self: self.location)
    def passages_of(self, key: str, query: str) -> list[Passage]:
        """Every passage of one document that matches `query`, whole paragraphs, in document order."""
        node = ql.parse(query)
        record = self._record(key)
        if record is None:
            return []
        return DocumentText(paragraphs_of(record)).passages(_needles(node, loose=True))

    def _summaries(self, kind: str = "doc") -> list[dict[str, Any]]:
        with self._lock:
            return store.summaries(self._fresh().reader(), kind)

    @store.guarded(lambda self: self.location)
    def documents(self) -> list[dict[str, Any]]:
        """Every indexed document's metadata, newest speech first."""
        documents = self._summaries()
        groups = store.version_groups(self.location)
        for document in documents:
            entry = groups.get(document["path"])
            document["group"] = entry["group"] if entry else None
        documents.sort(key=lambda d: (date_key(d.get("date")), d.get("path")), reverse=True)
        return documents

    def version_groups(self) -> list[dict[str, Any]]:
        """Every group of versions of one speech: {group, members: [{path, title, date, similarity}]},
        the final version first in each, groups newest first."""
        entries = store.version_groups(self.location)
        groups: dict[str, dict[str, Any]] = {}
        for path, entry in entries.items():
            group = groups.setdefault(entry["group"], {"group": entry["group"], "members": entry["members"]})
            group.setdefault("similarity", {})[path] = entry["similarity"]
        shown = []
        for group in groups.values():
            similarity = group.pop("similarity")
            shown.append({"group": group["group"],
                          "members": [{**member, "similarity": similarity.get(member["path"])} for member in group["members"]]})
        shown.sort(key=lambda g: max((m["date"] or "") for m in g["members"]), reverse=True)
        return shown

    def indexed_folders(self) -> list[str]:
        return store.indexed_folders(self.location)

    @store.guarded(lambda self: self.location)
    def document(self, key: str) -> dict[str, Any] | None:
        """One document by id or path, with its text and paragraphs."""
        record = self._record(key)
        if record is None:
            return None
        shown = public(record)
        paragraphs = paragraphs_of(record)
        shown["versions"] = self._other_versions(record["path"])
        entry = store.version_groups(self.location).get(record["path"])
        shown["group"] = entry["group"] if entry else None
        shown["text"] = "\n".join(p.text for p in paragraphs)
        shown["paragraphs"] = [{"text": p.text, "page": p.page} for p in paragraphs]
        return shown

    @store.guarded(lambda self: self.location)
    def stats(self) -> dict[str, Any]:
        records = self._summaries()
        by_year = Counter((r.get("date") or "")[:4] or "unknown" for r in records)
        by_speaker = Counter(r.get("speaker") or "unknown" for r in records)
        by_format = Counter(r.get("format") for r in records)
        return {
            "documents": len(records),
            "failed": len(self._summaries("failed")),
            "by_year": dict(sorted(by_year.items())),
            "by_speaker": dict(by_speaker.most_common()),
            "by_format": dict(by_format.most_common()),
            "updated": store.last_commit(self.location),
        }


class IndexUpdate:
    """Write access: one writer, no commit per file; `checkpoint` commits what is done so far."""

    @store.guarded(lambda self: self.location)
    def __init__(self, location: Path) -> None:
        self.location = location
        self._ix = store.open_for_writing(location)
        self._writer = store.writer(self._ix)  # taken now: a second index run fails fast
        self._split = False
        self.manifest: dict[str, ManifestEntry] = store.manifest(self._ix)
        self.rebuilt = bool(store.other_versions(location))

    def write_in_two(self) -> None:
        """From here on, documents go to two segments that the final commit writes at once, on two
        cores (worth it for hundreds of documents: writing postings is the run's one serial part)."""
        if not self._split:
            self._writer = store.split(self._ix, self._writer)
            self._split = True

    @store.guarded(lambda self: self.location)
    def record_by_content(self, sha256: str, file_format: str) -> dict[str, Any] | None:
        return store.record_by_content(self._ix, sha256, file_format)

    @store.guarded(lambda self: self.location)
    def failure_reasons(self) -> dict[str, str]:
        with self._ix.reader() as reader:
            return {failure["path"]: failure["reason"] for failure in store.summaries(reader, "failed")}

    def put(self, record: dict[str, Any], normalised: str, *, mtime_ns: int, terms: BodyTerms | None = None,
            sketch: bytes = b"") -> None:
        """Add or replace a readable document; `terms` (body_terms of the text), when a worker
        process made them, spare the writer counting them."""
        speaker_role = "|".join(v for v in (record.get("speaker"), record.get("role")) if v)
        fields: dict[str, Any] = dict(
            path=record["path"], doc_id=record["id"], kind="doc", sha256=record["sha256"],
            size=record["size"], mtime_ns=mtime_ns, extractor=record["extractor"],
            text=terms if terms is not None else (normalised,), normalised=normalised.encode("utf-8"), title=record.get("title") or "",
            people=speaker_role, date_key=date_key(record.get("date")), record=record,
            summary=json.dumps(public(record), ensure_ascii=False).encode("utf-8"), sketch=sketch,
        )
        self._put(fields)

    def put_failed(self, path: str, *, size: int, mtime_ns: int, sha256: str, reason: str) -> None:
        """Remember a file that could not be read, so an unchanged one is not read again next run."""
        self._put(dict(path=path, doc_id=doc_id(path), kind="failed", sha256=sha256, size=size,
                       mtime_ns=mtime_ns, extractor=schema.EXTRACTOR_VERSION, date_key=0,
                       record={"path": path, "reason": reason},
                       summary=json.dumps({"path": path, "reason": reason}, ensure_ascii=False).encode("utf-8")))

    def _put(self, fields: dict[str, Any]) -> None:
        if fields["path"] in self.manifest:
            self._writer.update_document(**fields)
        else:
            self._writer.add_document(**fields)

    def delete(self, path: str) -> None:
        self._writer.delete_by_term("path", path)

    def checkpoint(self) -> None:
        """Commit what is done so far, so a killed run keeps it."""
        self._writer.commit(merge=False)
        store.record_checksums(self.location)
        self._writer = store.writer(self._ix, split=self._split)

    def commit(self, folders: list[str] = ()) -> None:
        """The final commit. Call it after the worker pool has closed (a split writer forks)."""
        if self._split:
            self._writer.commit(parallel=True)
        else:
            self._writer.commit()
        store.record_checksums(self.location)
        store.remember_folders(self.location, list(folders))
        store.drop_other_versions(self.location)

    def cancel(self) -> None:
        self._writer.cancel()
