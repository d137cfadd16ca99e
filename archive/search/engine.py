"""The seam between the archive and an index engine (embedded whoosh, or PostgreSQL).

Everything above this module (pipeline, export, check, timeline, CLI, web) talks to a `SpeechIndex`
(reading) or an `IndexUpdate` (writing) and never learns which engine answers. What is the same for
every engine lives here once: parsing the query, paging ranked matches, making passages, the shapes
of hits and results, version groups, listings and stats. An engine supplies the primitives below
(`_rank`, `_texts`, `_summaries`, …): which documents match, their records and normalised texts.

Exactness is every engine's contract: a quoted phrase matches exactly the documents whose
normalised text holds it (archive.normalize); an unquoted term matches those holding it, then those
holding all of its jieba words, each as exact text; metadata filters and NOT are the same everywhere.
Scores may differ between engines; the sets of documents may not.
"""

from __future__ import annotations

import contextlib
import copy
import re
import threading
from abc import ABC, abstractmethod
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any, Generic, Self, TypeVar

from archive.document import Document
from archive.errors import QueryError
from archive.normalize import normalise
from archive.search import querylang as ql
from archive.search.dates import date_key, parse_bound
from archive.search.passages import DocumentText, Passage
from archive.search.snapshot import ManifestEntry  # defined beside the snapshot, which must stay light
from archive.tokens import words

SORTS = ("relevance", "date")
Key = TypeVar("Key")  # an engine's handle on one document (a whoosh docnum, a database path)


@dataclass(frozen=True)
class Filters:
    """What narrows a search besides its query: --speaker/--since/--until/--year and the order."""

    speaker: str | None = None
    since: str | None = None
    until: str | None = None
    year: int | None = None
    sort: str = "relevance"

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise QueryError(f"unknown sort {self.sort!r}: use one of {', '.join(SORTS)}")

    def key(self) -> tuple[Any, ...]:
        return (self.speaker, self.since, self.until, self.year, self.sort)

    def date_ranges(self) -> list[tuple[int | None, int | None]]:
        """The date-key ranges a document's date must fall in (--since/--until, --year); None: open."""
        ranges: list[tuple[int | None, int | None]] = []
        if self.since or self.until:
            ranges.append((parse_bound(self.since, end=False) if self.since else None,
                           parse_bound(self.until, end=True) if self.until else None))
        if self.year is not None:
            ranges.append(year_keys(self.year))
        return ranges


@dataclass
class Hit:
    document: Document
    score: float
    tier: str  # "exact": every term stands in the text as written; "words": only all its words do
    passages: list[Passage]
    versions: list[dict[str, Any]] = field(default_factory=list)  # the other versions of this speech
    final: str | None = None  # the path of its group's final version (itself, or one of `versions`)

    def to_dict(self) -> dict[str, Any]:
        shown = self.document.listing()
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


class Ranking(Generic[Key]):
    """The ranked matches of one search: (key, score, tier) in order.

    The exact tier is ranked at once. The words tier (documents holding all the words but not the
    text as written) is only counted until a page reaches it: for a common query it holds
    thousands of documents that the first pages never show.
    """

    def __init__(self, exact: list[tuple[Key, float]], words_total: int = 0,
                 rank_words: Callable[[], list[tuple[Key, float]]] | None = None,
                 ranked: list[tuple[Key, float, str]] | None = None) -> None:
        """`ranked`: rows of both tiers already in order (then `exact` and the words tier are not used)."""
        # the exact tier is kept as given and labelled per page: a common phrase has 50,000 rows
        self._exact = exact if ranked is None else []
        self._ranked = ranked
        self._words_total = 0 if ranked is not None else words_total
        self._rank_words = rank_words
        self._words: list[tuple[Key, float, str]] | None = None

    @classmethod
    def by_date(cls, rows: list[tuple[Key, float, str, int]], path_order: Callable[[Key], Any]) -> Ranking[Key]:
        """Both tiers together, newest first, then best first, then in path order (best_first):
        rows are (key, score, tier, date key)."""
        rows = sorted(rows, key=lambda row: path_order(row[0]))
        rows.sort(key=lambda row: (row[3], row[1]), reverse=True)  # stable: ties stay in path order
        return cls([], ranked=[(key, score, tier) for key, score, tier, _ in rows])

    def _before_words(self) -> int:
        """The rows ranked before the words tier."""
        return len(self._ranked) if self._ranked is not None else len(self._exact)

    @property
    def total(self) -> int:
        return self._before_words() + self._words_total

    def rows(self) -> int:
        """The rows held now (the words tier's once a page reached it)."""
        return self._before_words() + len(self._words or ())

    def page(self, offset: int, limit: int | None) -> list[tuple[Key, float, str]]:
        end = self.total if limit is None else offset + limit
        if self._ranked is not None:
            page = self._ranked[offset:end]
        else:
            page = [(key, score, "exact") for key, score in self._exact[offset:end]]
        first = self._before_words()
        if end > first and self._words_total and self._rank_words is not None:
            if self._words is None:
                self._words = [(key, score, "words") for key, score in self._rank_words()]
            page += self._words[max(0, offset - first) : end - first]
        return page


class LRU:
    """A small least-recently-used cache (keys include the index generation, so never stale),
    bounded in entries and, when `weight` is given, in their summed weight too."""

    def __init__(self, size: int, budget: int | None = None, weight: Callable[[Any], int] | None = None) -> None:
        self.size = size
        self._budget, self._weight = budget, weight
        self._items: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()  # an engine may answer several requests at once

    def get(self, key: Any) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]
            return None

    def put(self, key: Any, value: Any) -> None:
        weight = self._weight(value) if self._weight is not None else 0
        with self._lock:
            if key in self._items:
                self._held -= self._items.pop(key)[1]
            self._items[key] = (value, weight)
            self._held += weight
            while len(self._items) > self.size or (
                    self._budget is not None and self._held > self._budget and len(self._items) > 1):
                self._held -= self._items.popitem(last=False)[1][1]


class PerCommit:
    """One value kept for the commit (generation) it was worked out at, worked out again after the
    next: what every request asks and only a commit changes. Worked out once even when several
    requests ask at once."""

    def __init__(self) -> None:
        self._kept: tuple[Any, Any] = (None, None)
        self._lock = threading.Lock()

    def get(self, generation: Any, work_out: Callable[[], Any]) -> Any:
        with self._lock:
            if generation is None or self._kept[0] != generation:
                self._kept = (generation, work_out())
            return self._kept[1]


def saturate(count: int) -> float:
    """A phrase's score in a document where it stands `count` times: it grows with the count, less
    and less (like BM25's term frequency). Every engine scores this way."""
    return SATURATED[count] if count < len(SATURATED) else count / (count + 1.2)


SATURATED = [count / (count + 1.2) for count in range(256)]
# what archive.versions orders a speech's versions by: all `sketches` reads of each listing (the whole
# listing of 100,000 speeches held 300 MB of an index run's memory)
VERSION_FIELDS = ("title", "date", "modified")


def best_first(found: list[Any], path_order: Callable[[Any], Any]) -> None:
    """Sort (document, score, …) rows best first, in place; equal scores in path order
    (`path_order`: a document's path, or its place among them), as every engine orders them:
    whoosh's document numbers follow the order files were read in, and a later run appends."""
    found.sort(key=lambda row: path_order(row[0]))
    found.sort(key=itemgetter(1), reverse=True)  # stable


def add_variants(found: dict[str, set[str]], pattern: re.Pattern[str], places: Iterable[tuple[Key, str]],
                 path_of: Callable[[Key], str]) -> None:
    """Each text `pattern` matches in `places` ((document, text around an anchor)), with the paths of
    the documents it stands in: what SpeechIndex.variants returns, gathered segment by segment."""
    for docnum, text in places:
        for match in pattern.finditer(text):
            found.setdefault(match.group(0), set()).add(path_of(docnum))


def needles(node: ql.Node, loose: bool) -> list[str]:
    """The normalised strings whose occurrences a passage shows (and a timeline counts)."""
    found: list[str] = []
    for term in ql.text_terms(node):
        exact = normalise(term.value)
        found.append(exact)
        if loose and not term.exact:
            found.extend(w for w in words(exact) if len(w) > 1 or len(exact) == 1)
    return found


def query_words(text: str) -> list[str] | None:
    """The distinct jieba words an unquoted term is matched by in the words tier (None: fewer than
    two, so the term matches only as written). Words are matched as exact text, not as a
    document's own jieba tokens: jieba cuts the same characters differently in different contexts."""
    terms = list(dict.fromkeys(words(normalise(text))))
    return terms if len(terms) >= 2 else None


def only_negative(node: ql.Node) -> bool:
    """A query that only excludes (-"x"): it excludes from every document."""
    return isinstance(node, ql.Not) or (isinstance(node, ql.And) and all(isinstance(i, ql.Not) for i in node.items))


def year_keys(year: int) -> tuple[int, int]:
    """The first and last date keys of a year (archive.search.dates)."""
    return year * 10000, year * 10000 + 9999


def year_range(value: str) -> tuple[int, int]:
    """The date keys of `year:2020`."""
    if not value.isdigit() or len(value) != 4:
        raise QueryError(f"year: takes a year like 2020, not {value!r}")
    return year_keys(int(value))


def needle_of(text: str) -> str:
    """A term's normalised text, refusing one that normalises to nothing."""
    normalised = normalise(text)
    if not normalised:
        raise QueryError(f"nothing to search for in {text!r}")
    return normalised


class Searching(ABC, Generic[Key]):
    """What answers `search` (ranked matches with passages) and "did you mean" (archive.suggest).
    Every engine is one (SpeechIndex); archive.search.quick answers quoted phrases from the last
    commit's side files alone."""

    location: Path | str

    # Rankings kept: paging and repeated searches cost nothing. Bounded in rows too (a row is about
    # 100 bytes), so a process's memory does not grow with the archive: at 100,000 speeches one
    # ranking of a common phrase holds 50,000 rows.
    CACHED_ROWS = 200_000

    def __init__(self, cached_rankings: int = 64) -> None:
        # held while a request uses the engine; an engine that answers requests at once replaces it
        self._lock: contextlib.AbstractContextManager[Any] = threading.RLock()
        self._ranked = LRU(cached_rankings, budget=self.CACHED_ROWS, weight=lambda ranking: ranking.rows())

    # --- what an engine supplies ---------------------------------------------------------------

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def _errors(self) -> contextlib.AbstractContextManager[None]:
        """Turns the engine's own failures (damaged files, a lost connection) into ArchiveErrors."""

    @abstractmethod
    def _generation(self) -> Any:
        """Changes whenever a commit changed the index: cached rankings are keyed by it."""

    @abstractmethod
    def _rank(self, node: ql.Node, filters: Filters, generation: Any = None) -> Ranking[Key]:
        """Every match, ranked. `generation`: what _generation said as this search began (the
        ranking is kept under it), or None: not read."""

    @abstractmethod
    def _texts(self, keys: Sequence[Key]) -> list[tuple[Document, DocumentText]]:
        """Each document and its text (for passages), in the order of `keys`."""

    @abstractmethod
    def _version_entries(self, generation: Any = None) -> dict[str, dict[str, Any]]:
        """path -> {group, similarity, members} as archive.versions made them after the last run
        (`generation`: as in _rank)."""

    @abstractmethod
    def holding(self, needle: str) -> list[str]:
        """The paths of the documents whose normalised text holds normalised `needle`: what a
        draft check asks for each piece of a sentence (no ranking, no passages)."""

    def documents_holding(self, needles: Sequence[str]) -> dict[str, int]:
        """How many documents `holding` would name for each needle (an engine may count them all
        at once, without their paths)."""
        return {needle: len(set(self.holding(needle))) for needle in needles}

    @abstractmethod
    def variants(self, pattern: re.Pattern[str], anchor: str, limit: int = 20_000, reach: int = 32) -> dict[str, set[str]]:
        """The paths of the documents that hold each text `pattern` matches in the normalised texts,
        looking only in documents that hold normalised `anchor` (a fixed part of the pattern): what
        "did you mean" counts. At most `limit` documents are looked at, or, in an engine that can
        find the anchor's occurrences, the text within `reach` characters of some of them (the
        pattern matches nothing longer than `reach`)."""

    # --- the same for every engine -------------------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def search(self, query: str, *, filters: Filters = Filters(), limit: int | None = 10, offset: int = 0,
               window: int | None = 80, max_passages: int | None = 3, context: int = 0) -> SearchResults:
        """Every document matching `query`: exact matches first, then those holding all the words.

        `total` counts all of them; `hits` holds `limit` of them from `offset`, with passages.
        """
        if offset < 0 or (limit is not None and limit < 0):
            raise QueryError("limit and offset must not be negative")
        node = ql.parse(query)
        with self._errors(), self._lock:
            generation = self._generation()
            key = (generation, query, filters.key())
            ranked = self._ranked.get(key)
            if ranked is None:
                ranked = self._rank(node, filters, generation)
                self._ranked.put(key, ranked)
            rows = ranked.rows()
            page = ranked.page(offset, limit)
            if ranked.rows() != rows:  # the words tier was ranked: weigh the ranking again
                self._ranked.put(key, ranked)
            groups = self._version_entries(generation)
            hits = []
            for (_, score, tier), (document, text) in zip(page, self._texts([row[0] for row in page]), strict=True):
                passages = text.passages(needles(node, loose=tier == "words"), context=context, window=window,
                                         limit=max_passages)
                entry = groups.get(document.path)
                hits.append(Hit(document, float(score), tier, passages, self._other_versions(document.path, groups),
                                entry["members"][0]["path"] if entry else None))
        return SearchResults(query=query, total=ranked.total, hits=hits, offset=offset)

    def _other_versions(self, path: str, groups: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        entry = (self._version_entries() if groups is None else groups).get(path)
        return [member for member in entry["members"] if member["path"] != path] if entry else []


class SpeechIndex(Searching[Key]):
    """Read access to an index, whatever its engine. Open one with archive.search.open_index."""

    def __init__(self, cached_rankings: int = 64) -> None:
        super().__init__(cached_rankings)
        self._stats = PerCommit()

    @abstractmethod
    def _counted(self, node: ql.Node, filters: Filters, found: Sequence[str]) -> list[tuple[dict[str, Any], int]]:
        """Every match of either tier, newest first, as (listing metadata, occurrences of `found`)."""

    @abstractmethod
    def _document(self, key: str) -> Document | None:
        """A readable document, by id or path."""

    @abstractmethod
    def _summaries(self, kind: str = "doc") -> list[dict[str, Any]]:
        """The listing metadata of every document of a kind ("doc"; "failed": path and reason)."""

    @abstractmethod
    def last_commit(self) -> str | None:
        """When the index was last committed, ISO, local time."""

    @abstractmethod
    def indexed_folders(self) -> list[str]:
        """The folders `archive index` was given."""

    @abstractmethod
    def normalised_texts(self, paths: list[str]) -> dict[str, str]:
        """The normalised text of each of these documents (readable ones)."""

    @abstractmethod
    def sketches(self) -> tuple[dict[str, bytes], dict[str, dict[str, Any]]]:
        """Every readable document's text sketch (archive.versions) and its VERSION_FIELDS, by path."""

    @abstractmethod
    def text_of(self, path: str) -> tuple[Document, DocumentText] | None:
        """A readable document and its text (paragraphs with the normalised text the index keeps)."""

    def warm(self) -> None:
        """Read what every search needs into memory now (an engine that keeps texts in memory)."""

    # --- the same for every engine -------------------------------------------------------------

    def matches(self, query: str, *, filters: Filters = Filters()) -> list[tuple[dict[str, Any], int]]:
        """Every document matching `query` (both tiers), newest first, as (listing metadata, how
        often the query's text stands in it): what a timeline counts, without reading records."""
        node = ql.parse(query)
        found = [needle for needle in needles(node, loose=False) if needle]
        with self._errors(), self._lock:
            return self._counted(node, filters, found)

    def hit(self, path: str, query: str) -> Hit | None:
        """One document as a search hit for `query` (its first passage)."""
        node = ql.parse(query)
        found = self.text_of(path)
        if found is None:
            return None
        document, text = found
        return Hit(document, 0.0, "exact", text.passages(needles(node, loose=True), limit=1))

    def passages_of(self, key: str, query: str) -> list[Passage]:
        """Every passage of one document that matches `query`, whole paragraphs, in document order."""
        node = ql.parse(query)
        with self._errors():
            document = self._document(key)
        if document is None:
            return []
        return DocumentText(document.paragraphs).passages(needles(node, loose=True))

    def documents(self) -> list[dict[str, Any]]:
        """Every indexed document's metadata, newest speech first."""
        with self._errors():
            documents = self._summaries()
            groups = self._version_entries()
        for document in documents:
            entry = groups.get(document["path"])
            document["group"] = entry["group"] if entry else None
        documents.sort(key=lambda d: (date_key(d.get("date")), d.get("path")), reverse=True)
        return documents

    def version_groups(self) -> list[dict[str, Any]]:
        """Every group of versions of one speech: {group, members: [{path, title, date, similarity}]},
        the final version first in each, groups newest first."""
        with self._errors():
            entries = self._version_entries()
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

    def document(self, key: str) -> dict[str, Any] | None:
        """One document by id or path, with its text and paragraphs."""
        with self._errors():
            document = self._document(key)
            if document is None:
                return None
            groups = self._version_entries()
        shown = document.listing()
        paragraphs = document.paragraphs
        shown["versions"] = self._other_versions(document.path, groups)
        entry = groups.get(document.path)
        shown["group"] = entry["group"] if entry else None
        shown["text"] = "\n".join(p.text for p in paragraphs)
        shown["paragraphs"] = [{"text": p.text, "page": p.page} for p in paragraphs]
        return shown

    def stats(self) -> dict[str, Any]:
        """Counted once per commit: every page a colleague opens asks, and counting 100,000
        speeches took the embedded engine 1.2 s of CPU (PostgreSQL 0.7 s)."""
        with self._errors(), self._lock:  # (the embedded engine refreshes its searcher to say)
            generation = self._generation()
        return copy.deepcopy(self._stats.get(generation, self._counted_stats))

    @abstractmethod
    def _counted_stats(self) -> dict[str, Any]:
        """Years, speakers, formats (as `tallied` says), failures and the last commit (stats_of)."""


def tallied(summary: dict[str, Any]) -> tuple[str, str, str | None]:
    """What the stats count of a document's listing: its year, speaker and format."""
    return (summary.get("date") or "")[:4] or "unknown", summary.get("speaker") or "unknown", summary.get("format")


def stats_of(by_year: Counter[str], by_speaker: Counter[str], by_format: Counter[str | None], failed: int,
             updated: str | None) -> dict[str, Any]:
    """The stats (SpeechIndex.stats) from how many documents have each year, speaker and format:
    years in order, speakers and formats most common first, ties in code point order."""
    def most_common_first(counted: Counter[Any]) -> dict[Any, int]:
        return dict(sorted(counted.items(), key=lambda item: (-item[1], item[0] or "")))

    return {
        "documents": sum(by_year.values()),
        "failed": failed,
        "by_year": dict(sorted(by_year.items())),
        "by_speaker": most_common_first(by_speaker),
        "by_format": most_common_first(by_format),
        "updated": updated,
    }


class IndexUpdate(ABC):
    """Write access to an index, whatever its engine: one writer at a time (taken when opened), no
    commit per file; `checkpoint` commits what is done so far, so a killed run keeps it. Open one
    with archive.search.open_update; use it as a context manager or call `cancel` on failure."""

    location: Path | str
    manifest: dict[str, ManifestEntry]  # every indexed file as the last commit left it
    rebuilt: bool  # the index was made anew because one of another schema version stood there

    # The engine's own checkpoint size, in characters of text, instead of the pipeline's documents
    # or characters (archive.ingest.pipeline): PostgreSQL chunks what each checkpoint wrote.
    checkpoint_chars: int | None = None

    @abstractmethod
    def document_by_content(self, sha256: str, file_format: str) -> Document | None:
        """An indexed document with this content and format, to reuse for a renamed or copied file."""

    @abstractmethod
    def failure_reasons(self) -> dict[str, str]: ...

    @abstractmethod
    def put(self, document: Document, normalised: str, *, mtime_ns: int, sketch: bytes = b"") -> None:
        """Add or replace a readable document."""

    @abstractmethod
    def put_failed(self, path: str, *, size: int, mtime_ns: int, sha256: str, extractor: int, reason: str) -> None:
        """Remember a file that could not be read, so an unchanged one is not read again next run."""

    @abstractmethod
    def delete(self, path: str) -> None: ...

    @abstractmethod
    def checkpoint(self) -> None:
        """Commit what is done so far."""

    @abstractmethod
    def commit(self, folders: Sequence[str] = (), then: Callable[[], None] | None = None) -> None:
        """The final commit; remembers the folders indexed. `then` is called once the commit is
        searchable, while the engine may still write what it keeps beside it (the embedded engine's
        suffix files, sorted in a thread): work that reads the committed index goes there."""

    @abstractmethod
    def cancel(self) -> None:
        """Drop what was not committed and let go of the index."""

    @abstractmethod
    def has_version_groups(self) -> bool: ...

    @abstractmethod
    def save_version_groups(self, groups: dict[str, dict[str, Any]]) -> None:
        """Keep archive.versions' groups (worked out after the commit) with the index."""

    def close(self) -> None:
        """Let go of the index (after commit or cancel): the next writer may take it."""
        return None

    def __enter__(self) -> IndexUpdate:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        try:
            if kind is not None:
                with contextlib.suppress(Exception):
                    self.cancel()
        finally:
            self.close()
