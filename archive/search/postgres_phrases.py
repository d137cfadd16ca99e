"""Quoted phrases in the PostgreSQL engine, answered from positional trigram postings
(archive.search.trigrams) kept in the database, instead of confirming each candidate's text.

Tables (created with the documents table; index/README.md):
- `archive_chunks`: one row per chunk of documents' texts: its postings as byte strings, the large
  ones stored uncompressed (EXTERNAL) so that a slice is read without the rest.
- `archive_chunked`: where each document's current text stands: (chunk, ordinal), and its date key.
  A document that changes or goes loses its row; its old text stays in its chunk, unreferenced,
  until the chunk is rebuilt (when less than half of it is referenced).

The writer chunks every document without a row at the end of a run (`chunk_documents`), with the
small chunks of earlier runs, in one transaction, and marks the index `chunked` in archive_meta;
a checkpoint that adds documents marks it not chunked, and readers then confirm texts as before
(archive.search.postgres), so a killed run is searched exactly and the next run chunks the rest.

A reader (`Phrases`) keeps, per generation of the index, each chunk's document starts and sampled
keys, and each document's rank in path order and date key: about 12 bytes per document and 1 per
hundred trigrams. A search reads, in one repeatable-read transaction, the blocks of keys that hold
its phrases' trigrams, then their positions; every other query (a speaker, a title, unquoted words,
a phrase of one or two characters) is left to SQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from archive.search import querylang as ql
from archive.search import trigrams
from archive.search.dates import parse_range
from archive.search.engine import Filters, Ranking, needle_of, query_words, year_range

CHUNKS, CHUNKED = "archive_chunks", "archive_chunked"

CREATE = f"""
CREATE TABLE IF NOT EXISTS {CHUNKS} (
    id serial PRIMARY KEY,
    documents integer NOT NULL,
    units bigint NOT NULL,
    starts bytea NOT NULL,      -- uint32 per document + 1: where each text starts (archive.search.trigrams)
    sample bytea NOT NULL,      -- uint64: every 256th key
    keys bytea NOT NULL,        -- uint64: the distinct trigrams, ascending
    offsets bytea NOT NULL,     -- uint32 per key + 1: where each trigram's positions start
    positions bytea NOT NULL    -- uint32: each trigram's positions, ascending
);
ALTER TABLE {CHUNKS} ALTER COLUMN keys SET STORAGE EXTERNAL, ALTER COLUMN offsets SET STORAGE EXTERNAL,
    ALTER COLUMN positions SET STORAGE EXTERNAL;
CREATE TABLE IF NOT EXISTS {CHUNKED} (
    path text PRIMARY KEY,
    chunk integer NOT NULL,
    ordinal integer NOT NULL,
    date_key integer NOT NULL
);
CREATE INDEX IF NOT EXISTS {CHUNKED}_place ON {CHUNKED} (chunk, ordinal);
"""
DROP = f"DROP TABLE IF EXISTS {CHUNKS}; DROP TABLE IF EXISTS {CHUNKED};"


# --- writing -------------------------------------------------------------------------------------


def forget(connection: Any, paths: list[str]) -> None:
    """These documents' texts changed or went: their chunked rows go (in the writer's transaction)."""
    if paths:
        connection.execute(f"DELETE FROM {CHUNKED} WHERE path = ANY(%s)", (paths,))


def chunk_documents(connection: Any, documents: str, chunk_units: int = trigrams.CHUNK_UNITS) -> int:
    """Chunk every document of `documents` (the table) that has no chunked row, with the documents
    of small chunks (when there are new ones to join them) and of chunks less than half referenced;
    the number of chunks written. In the caller's transaction."""
    pending = connection.execute(
        f"SELECT EXISTS (SELECT 1 FROM {documents} d WHERE kind = 'doc' AND NOT EXISTS "
        f"(SELECT 1 FROM {CHUNKED} c WHERE c.path = d.path))").fetchone()[0]
    redo = [row[0] for row in connection.execute(
        f"SELECT k.id FROM {CHUNKS} k LEFT JOIN (SELECT chunk, count(*) AS live FROM {CHUNKED} GROUP BY chunk) l "
        f"ON l.chunk = k.id WHERE coalesce(l.live, 0) * 2 < k.documents OR (%s AND k.units * 2 < %s)",
        (pending, chunk_units))]
    if redo:
        connection.execute(f"DELETE FROM {CHUNKED} WHERE chunk = ANY(%s)", (redo,))
        connection.execute(f"DELETE FROM {CHUNKS} WHERE id = ANY(%s)", (redo,))
    if not pending and not redo:
        return 0
    written = 0
    with connection.cursor(name="archive_unchunked") as texts:
        texts.itersize = 500
        texts.execute(f"SELECT path, normalised, date_key FROM {documents} d WHERE kind = 'doc' AND NOT EXISTS "
                      f"(SELECT 1 FROM {CHUNKED} c WHERE c.path = d.path) ORDER BY path")
        for run in trigrams.grouped((((path, date), text) for path, text, date in texts), chunk_units):
            _write_chunk(connection, run)
            written += 1
    return written


def _write_chunk(connection: Any, documents: list[tuple[tuple[str, int], str]]) -> None:
    """One chunk of ((path, date key), text), its rows in both tables."""
    chunk = trigrams.build([text for _, text in documents])
    chunk_id = connection.execute(
        f"INSERT INTO {CHUNKS} (documents, units, starts, sample, keys, offsets, positions) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (chunk.documents, chunk.units, chunk.starts, chunk.sample, chunk.keys, chunk.offsets, chunk.positions),
    ).fetchone()[0]
    with connection.cursor() as cursor, cursor.copy(f"COPY {CHUNKED} (path, chunk, ordinal, date_key) FROM STDIN") as copy:
        for ordinal, ((path, date), _) in enumerate(documents):
            copy.write_row((path, chunk_id, ordinal, date))


# --- reading -------------------------------------------------------------------------------------


class Unsupported(Exception):
    """A query these postings do not answer alone: SQL answers it."""


@dataclass
class _View:
    """What a reader keeps of one generation of the index (see the module's docstring)."""

    generation: Any
    chunks: list[int]
    starts: dict[int, Any]  # chunk -> uint32 starts
    samples: dict[int, Any]  # chunk -> uint64 sampled keys
    live: dict[int, Any]  # chunk -> int32 rank of each ordinal (-1: no longer its document's text)
    ranks_chunk: Any  # int32 per rank (path order): the chunk of the document's text
    ranks_ordinal: Any
    ranks_date: Any

    @property
    def documents(self) -> int:
        return len(self.ranks_chunk)


def _load(connection: Any, generation: Any) -> _View:
    import numpy as np

    chunks, starts, samples = [], {}, {}
    for chunk, chunk_starts, sample in connection.execute(f"SELECT id, starts, sample FROM {CHUNKS} ORDER BY id"):
        chunks.append(chunk)
        starts[chunk] = np.frombuffer(chunk_starts, "<u4").astype(np.int64)
        samples[chunk] = np.frombuffer(sample, "<u8").copy()
    packed = connection.execute(
        f"SELECT string_agg(int4send(chunk), '' ORDER BY path), string_agg(int4send(ordinal), '' ORDER BY path), "
        f"string_agg(int4send(date_key), '' ORDER BY path) FROM {CHUNKED}").fetchone()
    ranks_chunk, ranks_ordinal, ranks_date = (np.frombuffer(value or b"", ">i4").astype(np.int32) for value in packed)
    live = {}
    for chunk in chunks:
        mapping = np.full(len(starts[chunk]) - 1, -1, dtype=np.int32)
        mine = np.flatnonzero(ranks_chunk == chunk)
        mapping[ranks_ordinal[mine]] = mine
        live[chunk] = mapping
    return _View(generation, chunks, starts, samples, live, ranks_chunk, ranks_ordinal, ranks_date)


def _needles(node: ql.Node, found: list[str]) -> None:
    """Collect the needles of a query these postings answer alone; Unsupported otherwise."""
    if isinstance(node, ql.Text):
        if not node.exact and query_words(node.value) is not None:
            raise Unsupported  # two tiers: the words tier is SQL's
        needle = needle_of(node.value)
        if trigrams.cover(needle) is None:
            raise Unsupported
        found.append(needle)
    elif isinstance(node, ql.Field):
        if node.name in ("speaker", "title"):
            raise Unsupported
    elif isinstance(node, ql.Not):
        _needles(node.item, found)
    else:
        for item in node.items:
            _needles(item, found)


class Phrases:
    """A reader's positional search (one per PostgresIndex; threads share it)."""

    def __init__(self, chunked_meta: str, meta_table: str) -> None:
        self._view: _View | None = None
        self._lock = threading.Lock()
        self._meta = meta_table
        self._flag = chunked_meta

    def rank(self, connection: Any, node: ql.Node, filters: Filters,
             page_rows: Callable[[list[tuple[int, int]]], dict[tuple[int, int], str]]) -> Ranking[str] | None:
        """The ranking of a search, or None when SQL must answer it (see _needles; a speaker
        filter; documents not chunked yet)."""
        if filters.speaker:
            return None
        needles: list[str] = []
        try:
            _needles(node, needles)
        except Unsupported:
            return None
        with connection.transaction():
            connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            generation, chunked = connection.execute(
                f"SELECT (SELECT value FROM {self._meta} WHERE key = 'generation'), "
                f"(SELECT value FROM {self._meta} WHERE key = %s)", (self._flag,)).fetchone()
            if chunked is not True:
                return None
            view = self._current(connection, generation)
            counted = _counts(connection, view, list(dict.fromkeys(needles)))
        mask, score = _evaluate(node, view, counted)
        for low, high in filters.date_ranges():
            mask &= _dated(view, low, high)
        return _ArrayRanking(view, mask, score, by_date=filters.sort == "date", page_rows=page_rows)

    def _current(self, connection: Any, generation: Any) -> _View:
        with self._lock:
            if self._view is None or self._view.generation != generation:
                self._view = None  # let go of the old one before the new one is read
                self._view = _load(connection, generation)
            return self._view


def _counts(connection: Any, view: _View, needles: list[str]) -> dict[str, Any]:
    """needle -> occurrences (int64, per rank) of each needle in the view's live documents."""
    import numpy as np

    covers = {needle: trigrams.cover(needle) for needle in needles}
    wanted: dict[tuple[int, int], None] = {}
    for parts in covers.values():
        assert parts is not None
        for chunk in view.chunks:
            for _, key in parts:
                block = trigrams.block_of(view.samples[chunk], key)
                if block >= 0:
                    wanted[(chunk, block)] = None
    blocks = {}
    if wanted:
        size = trigrams.BLOCK
        for chunk, block, keys, offsets in connection.execute(
                f"SELECT q.chunk, q.block, substring(c.keys FROM q.block * {8 * size} + 1 FOR {8 * size}), "
                f"substring(c.offsets FROM q.block * {4 * size} + 1 FOR {4 * size + 4}) "
                f"FROM unnest(%s::int[], %s::int[]) AS q(chunk, block) JOIN {CHUNKS} c ON c.id = q.chunk",
                ([c for c, _ in wanted], [b for _, b in wanted]), binary=True):  # bytes as they are, not hex
            blocks[(chunk, block)] = (keys, offsets)
    spans: dict[tuple[str, int], list[tuple[int, int, int]]] = {}  # (needle, chunk) -> (offset, first, end)
    for needle, parts in covers.items():
        assert parts is not None
        for chunk in view.chunks:
            found = []
            for offset, key in parts:
                block = trigrams.block_of(view.samples[chunk], key)
                span = trigrams.find(*blocks[(chunk, block)], key) if block >= 0 else None
                if span is None:
                    break
                found.append((offset, *span))
            else:
                spans[(needle, chunk)] = found
    slices = list(dict.fromkeys((chunk, first, end) for (_, chunk), found in spans.items() for _, first, end in found))
    positions = {}
    if slices:
        for number, data in connection.execute(
                f"SELECT q.n, substring(c.positions FROM q.first * 4 + 1 FOR (q.stop - q.first) * 4) "
                f"FROM unnest(%s::int[], %s::int[], %s::int[], %s::int[]) AS q(n, chunk, first, stop) "
                f"JOIN {CHUNKS} c ON c.id = q.chunk",
                (list(range(len(slices))), [s[0] for s in slices], [s[1] for s in slices], [s[2] for s in slices]),
                binary=True):
            positions[slices[number]] = data
    counted = {}
    for needle in needles:
        total = np.zeros(view.documents, dtype=np.int64)
        for chunk in view.chunks:
            found = spans.get((needle, chunk))
            if found is None:
                continue
            occurrences = trigrams.occurrences([(offset, positions[(chunk, first, end)]) for offset, first, end in found])
            ordinals, how_often = trigrams.counts(occurrences, view.starts[chunk], needle)
            ranks = view.live[chunk][ordinals]
            kept = ranks >= 0
            total[ranks[kept]] += how_often[kept]
        counted[needle] = total
    return counted


def _dated(view: _View, low: int | None, high: int | None) -> Any:
    import numpy as np

    mask = np.ones(view.documents, dtype=bool)
    if low is not None:
        mask &= view.ranks_date >= low
    if high is not None:
        mask &= view.ranks_date <= high
    return mask


def _evaluate(node: ql.Node, view: _View, counted: dict[str, Any]) -> tuple[Any, Any]:
    """(mask, score) per rank, as archive.search.postgres._compile scores in SQL."""
    import numpy as np

    if isinstance(node, ql.Text):
        count = counted[needle_of(node.value)]
        mask = count > 0
        return mask, np.where(mask, count / (count + 1.2), 0.0)
    if isinstance(node, ql.Field):
        low, high = year_range(node.value) if node.name == "year" else parse_range(node.value)
        mask = _dated(view, low, high)
        return mask, np.where(mask, 1.0, 0.0)
    if isinstance(node, ql.Not):
        inner, _ = _evaluate(node.item, view, counted)
        return ~inner, np.zeros(view.documents)
    parts = [_evaluate(item, view, counted) for item in node.items]
    if isinstance(node, ql.Or):
        mask = np.zeros(view.documents, dtype=bool)
        score = np.zeros(view.documents)
        for item_mask, item_score in parts:
            mask |= item_mask
            score = score + np.where(item_mask, item_score, 0.0)
        return mask, score
    mask = np.ones(view.documents, dtype=bool)
    score = np.zeros(view.documents)
    for number, (item_mask, item_score) in enumerate(parts):
        mask &= item_mask
        score = item_score if number == 0 else score + item_score
    return mask, score


class _ArrayRanking(Ranking[str]):
    """Every match's rank (path order) and score, best first (or newest first), in arrays: 12 bytes
    a match. A page's paths are read when it is asked for."""

    def __init__(self, view: _View, mask: Any, score: Any, *, by_date: bool,
                 page_rows: Callable[[list[tuple[int, int]]], dict[tuple[int, int], str]]) -> None:
        import numpy as np

        super().__init__([])
        ranks = np.flatnonzero(mask)
        scores = score[ranks]
        if by_date:
            order = np.lexsort((ranks, -scores, -view.ranks_date[ranks].astype(np.int64)))
        else:
            order = np.argsort(-scores, kind="stable")  # ranks ascend: ties stay in path order
        self._ranks, self._scores = ranks[order].astype(np.int32), scores[order]
        self._places = view.ranks_chunk, view.ranks_ordinal
        self._page_rows = page_rows

    @property
    def total(self) -> int:
        return len(self._ranks)

    def rows(self) -> int:
        return len(self._ranks) // 8  # a row of the base class is about 100 bytes; these hold 12

    def page(self, offset: int, limit: int | None) -> list[tuple[str, float, str]]:
        end = len(self._ranks) if limit is None else offset + limit
        ranks, scores = self._ranks[offset:end], self._scores[offset:end]
        chunks, ordinals = self._places
        places = list(zip(chunks[ranks].tolist(), ordinals[ranks].tolist(), strict=True))
        paths = self._page_rows(places) if places else {}
        return [(paths[place], float(score), "exact") for place, score in zip(places, scores.tolist(), strict=True)
                if place in paths]
