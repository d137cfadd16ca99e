"""Quoted phrases answered from the last commit's side files alone, without importing whoosh.

Why: `archive search '"…"'` as a command spent more time importing whoosh (70 ms on this machine)
than searching. A phrase needs only each segment's suffix file (which documents hold it, how often)
and, for the page shown, its records file (archive.search.records); the segments and their deleted
documents are listed in a small file the commit wrote (archive.search.snapshot.last_segments).

What it answers: queries of quoted phrases, with AND, OR, NOT, parentheses, `year:` and `date:`,
and the --since/--until/--year filters, in either order. Anything else (an unquoted word needs
jieba, `speaker:` and `title:` need whoosh's postings) and an index whose newest commit has no side
files (a run is still going, an older index) is for the engine (archive.search.open_index).

Same answers as the embedded engine: each operator scores as archive.search.evaluate does (a
phrase: its saturated count; a date range: 1; AND and OR: sums; NOT removes), ties in path order,
so the JSON of a search is the same byte for byte (tests/test_quick.py).
"""

from __future__ import annotations

import contextlib
import pickle
import re
import struct
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from archive.document import Document
from archive.errors import QueryError
from archive.search import querylang as ql
from archive.search import records, snapshot, suffixes
from archive.search.dates import parse_range
from archive.search.engine import (
    Filters,
    Ranking,
    Searching,
    add_variants,
    best_first,
    needle_of,
    only_negative,
    saturate,
    year_range,
)
from archive.search.passages import DocumentText

Scores = dict[int, float]


def answerable(node: ql.Node, filters: Filters) -> bool:
    """Whether the side files alone answer this query: quoted phrases and date fields only."""
    if filters.speaker:
        return False
    if isinstance(node, ql.Text):
        return node.exact
    if isinstance(node, ql.Field):
        return node.name in ("year", "date")
    if isinstance(node, ql.Not):
        return answerable(node.item, filters)
    return all(answerable(item, filters) for item in node.items)


class _Segment:
    """One segment of the commit: its suffix file, records file and deleted documents."""

    def __init__(self, folder: Path, entry: snapshot.SegmentEntry, offset: int) -> None:
        texts = suffixes.whole(suffixes.path_for(folder, entry.segment_id), entry.doc_count)
        stored = records.whole(records.path_for(folder, entry.segment_id), entry.doc_count)
        if texts is None or stored is None:
            raise FileNotFoundError(f"side files of {entry.segment_id}")
        self.texts, self.records, self.offset = texts, stored, offset
        self.deleted = entry.deleted

    def phrase(self, needle: str) -> Scores:
        return {docnum: saturate(count) for docnum, count in self.texts.counts(needle).items()
                if docnum not in self.deleted}

    def dated(self, low: int | None, high: int | None) -> Scores:
        """Documents dated within [low, high] (None: open), each scoring 1 (a whoosh range's score)."""
        keys = self.records.date_keys
        return {docnum: 1.0 for docnum in range(self.records.doc_count)
                if docnum not in self.deleted and (low is None or keys[docnum] >= low)
                and (high is None or keys[docnum] <= high)}


class QuickIndex(Searching[int]):
    """Searches of quoted phrases over the newest commit's side files (see the module docstring)."""

    location: Path

    def __init__(self, location: Path, generation: int, segments: list[_Segment]) -> None:
        super().__init__(cached_rankings=4)
        self.location = location
        self._commit = generation
        self._segments = segments
        self._starts = [segment.offset for segment in segments]

    def close(self) -> None:
        self._segments = []

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except (OSError, ValueError, IndexError, EOFError, struct.error, pickle.UnpicklingError) as error:
            raise snapshot.damaged(self.location, error) from error

    def _generation(self) -> int:
        return self._commit

    def _version_entries(self, generation: Any = None) -> dict[str, dict[str, Any]]:
        return snapshot.version_groups(self.location)

    def _rank(self, node: ql.Node, filters: Filters, generation: Any = None) -> Ranking[int]:
        if not answerable(node, filters):
            raise QueryError("this query needs the full index engine")  # open_for_search never asks
        whole = ql.And((node,)) if only_negative(node) else node
        allowed = filters.date_ranges()
        found: list[tuple[int, float, int]] = []  # (document, score, date key)
        for segment in self._segments:
            scores = self._scores(segment, whole, everything=only_negative(node))
            for low, high in allowed:
                if scores:
                    held = segment.dated(low, high)
                    scores = {docnum: score for docnum, score in scores.items() if docnum in held}
            dates = segment.records.date_keys
            found.extend((segment.offset + docnum, score, dates[docnum]) for docnum, score in scores.items()
                         if segment.records.readable(docnum))
        best_first(found, self._path_of)
        if filters.sort == "date":
            return Ranking.by_date([(key, score, "exact", date) for key, score, date in found], self._path_of)
        return Ranking([(key, score) for key, score, _ in found])

    def _scores(self, segment: _Segment, node: ql.Node, *, everything: bool = False) -> Scores:
        """docnum -> score of the segment's live documents matching `node` (evaluate.scores_of)."""
        if isinstance(node, ql.Text):
            return segment.phrase(needle_of(node.value))
        if isinstance(node, ql.Field):
            return segment.dated(*(year_range(node.value) if node.name == "year" else parse_range(node.value)))
        if isinstance(node, ql.Not):
            excluded = self._scores(segment, node.item)
            return {docnum: 0.0 for docnum in self._live_all(segment) if docnum not in excluded}
        if isinstance(node, ql.Or):
            result: Scores = {}
            for item in node.items:
                for docnum, score in self._scores(segment, item).items():
                    result[docnum] = result.get(docnum, 0.0) + score
            return result
        return self._all_of(segment, node.items, everything)

    def _all_of(self, segment: _Segment, items: Sequence[ql.Node], everything: bool) -> Scores:
        wanted = [item for item in items if not isinstance(item, ql.Not)]
        unwanted: list[ql.Node] = [item.item for item in items if isinstance(item, ql.Not)]
        result: Scores | None = dict.fromkeys(self._live_all(segment), 0.0) if everything else None
        for item in wanted:
            scores = self._scores(segment, item)
            result = scores if result is None else {
                docnum: score + scores[docnum] for docnum, score in result.items() if docnum in scores}
            if not result:
                return {}
        if result is None:
            result = dict.fromkeys(self._live_all(segment), 0.0)
        for excluded in unwanted:
            for docnum in self._scores(segment, excluded):
                result.pop(docnum, None)
        return result

    @staticmethod
    def _live_all(segment: _Segment) -> list[int]:
        return [docnum for docnum in range(segment.records.doc_count) if docnum not in segment.deleted]

    def _path_of(self, key: int) -> bytes:
        """A document's path as UTF-8 (it sorts as the path does): ties are in path order."""
        segment, docnum = self._where(key)
        return segment.records.path_bytes(docnum)

    def _where(self, key: int) -> tuple[_Segment, int]:
        segment = self._segments[bisect_right(self._starts, key) - 1]
        return segment, key - segment.offset

    def holding(self, needle: str) -> list[str]:
        found: list[str] = []
        with self._errors():
            for segment in self._segments:
                found.extend(segment.records.path(docnum) for docnum in segment.texts.counts(needle)
                             if docnum not in segment.deleted)
        return found

    def variants(self, pattern: re.Pattern[str], anchor: str, limit: int = 20_000, reach: int = 32) -> dict[str, set[str]]:
        """As the embedded engine's: `pattern` matched around `limit` occurrences of the anchor."""
        found: dict[str, set[str]] = {}
        looked = 0
        with self._errors():
            for segment in self._segments:
                places = [(docnum, window) for docnum, window in segment.texts.windows(anchor, reach, limit - looked)
                          if docnum not in segment.deleted]
                add_variants(found, pattern, places, segment.records.path)
                looked += len(places)
                if looked >= limit:
                    break
        return found

    def _texts(self, keys: Sequence[int]) -> list[tuple[Document, DocumentText]]:
        found = []
        for key in keys:
            segment, docnum = self._where(key)
            document = Document.from_record(segment.records.record(docnum))
            found.append((document, DocumentText.of(document, partial(segment.texts.text, docnum))))
        return found


def open_if_answers(location: Path, query: str, filters: Filters) -> QuickIndex | None:
    """A QuickIndex when it answers this search exactly as the engine would, else None."""
    try:
        if not answerable(ql.parse(query), filters):
            return None
    except QueryError:
        return None  # the engine says what is wrong with it
    found = snapshot.last_segments(location)
    if found is None:
        return None
    generation, entries = found
    folder = snapshot.data_dir(location)
    segments, offset = [], 0
    try:
        for entry in entries:
            segments.append(_Segment(folder, entry, offset))
            offset += entry.doc_count
    except OSError:  # a run's commit removed them since the list was read
        return None
    if snapshot.last_segments(location) != found:
        return None  # a commit came in between: its files may not be the ones opened
    return QuickIndex(location, generation, segments)
