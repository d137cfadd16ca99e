"""Searches in the PostgreSQL engine answered from positional trigram postings
(archive.search.trigrams) kept in the database, instead of confirming and counting each
candidate's text in SQL.

Tables (created with the documents table; index/README.md):
- `archive_chunks`: one row per chunk of documents' texts: its postings as byte strings, the large
  ones stored uncompressed (EXTERNAL) so that a slice is read without the rest.
- `archive_chunked`: where each document's current text stands: (chunk, ordinal), its date key,
  speaker and title. A document that changes or goes loses its row; its old text stays in its
  chunk, unreferenced, until the chunk is rebuilt (when less than half of it is referenced).

Every commit of the writer chunks the documents written since the last (`chunk_documents`), with
the small chunks of earlier commits, in the commit's own transaction, so readers find every
committed document here. An index whose texts are not all chunked (`chunked` false in
archive_meta: one an older version wrote or upgraded) is searched in SQL (archive.search.postgres),
exactly and slower, until the next run's first commit chunks them.

A reader (`Phrases`) keeps, per generation of the index, each chunk's document starts and sampled
keys, and each document's rank in path order and date key: about 12 bytes per document and 1 per
hundred trigrams. A search reads, in one repeatable-read transaction, the blocks of keys that hold
its phrases' and words' trigrams, then their positions, and ranks both tiers in arrays; the
documents a speaker: or title: selects come from the narrow archive_chunked table (_KeptFields).
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from archive.search import querylang as ql
from archive.search import trigrams
from archive.search.dates import parse_range
from archive.search.engine import LRU, SATURATED, Filters, Ranking, needle_of, query_words, year_range
from archive.search.suffixes import without_cut_pairs

FIELD_COLUMNS = {"speaker": "people", "title": "title"}  # archive_chunked's column a field names
Field = tuple[str, str]  # (column, normalised needle): the documents whose column holds it
BY_PATH = 'path COLLATE "C"'  # path order by code point, as Python sorts, whatever the database's collation: ties in it
CHUNKS, BLOCKS, CHUNKED, ORDER = "archive_chunks", "archive_blocks", "archive_chunked", "archive_order"
WINDOW_CHUNKS = 4  # chunks read at once for "did you mean" (see _windows)
POSITIONS_PER_FETCH = 1_000_000  # positions read in one query (2 MB): a reader's memory stays bounded

CREATE = f"""
CREATE TABLE IF NOT EXISTS {CHUNKS} (
    id serial PRIMARY KEY,
    documents integer NOT NULL,
    units bigint NOT NULL,
    starts bytea NOT NULL,      -- uint32 per document + 1: where each text starts (archive.search.trigrams)
    sample bytea NOT NULL,      -- uint64: the first key of each block of trigrams
    positions bytea NOT NULL,   -- uint16: each trigram's positions, ascending, their low 16 bits
    groups bytea NOT NULL,      -- uint32: per run of a trigram's positions with the same high bits, high << 16 | (run - 1)
    pair_sample bytea NOT NULL, -- uint64: the first key of each block of bigrams
    pair_documents bytea NOT NULL,  -- uint32: each bigram's documents (ordinals), ascending
    pair_counts bytea NOT NULL, -- uint32: how often it stands in each
    text bytea NOT NULL         -- the texts (UTF-16LE, each closed by a NUL unit): "did you mean" reads around phrases
);
ALTER TABLE {CHUNKS} ALTER COLUMN positions SET STORAGE EXTERNAL, ALTER COLUMN groups SET STORAGE EXTERNAL,
    ALTER COLUMN pair_documents SET STORAGE EXTERNAL,
    ALTER COLUMN pair_counts SET STORAGE EXTERNAL, ALTER COLUMN text SET STORAGE EXTERNAL;
CREATE TABLE IF NOT EXISTS {BLOCKS} (  -- a chunk's distinct trigrams (or bigrams), 256 to a row
    chunk integer NOT NULL,
    pairs boolean NOT NULL,     -- bigrams' keys, whose offsets point into pair_documents
    block integer NOT NULL,
    keys bytea NOT NULL,        -- uint64: the block's keys, ascending
    offsets bytea NOT NULL,     -- uint32 per key + 1: where each one's positions (documents) start
    group_offsets bytea NOT NULL,  -- uint32 per key + 1: where each trigram's groups start (empty for bigrams)
    PRIMARY KEY (chunk, pairs, block)
);
ALTER TABLE {BLOCKS} ALTER COLUMN keys SET STORAGE PLAIN, ALTER COLUMN offsets SET STORAGE PLAIN,
    ALTER COLUMN group_offsets SET STORAGE PLAIN;
CREATE TABLE IF NOT EXISTS {CHUNKED} (
    path text PRIMARY KEY,
    chunk integer NOT NULL,
    ordinal integer NOT NULL,
    date_key integer NOT NULL,
    -- the document's normalised "speaker|role" and title, copied from the documents table: speaker:
    -- and title: select documents in this narrow table (18 MB at 100,000 speeches), not among the texts
    people text NOT NULL DEFAULT '',
    title text NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS {CHUNKED}_place ON {CHUNKED} (chunk, ordinal);
"""
# every document's (chunk, ordinal, date key) in path order, as int32 big-endian triples: what a
# reader's view needs, sorted once per commit by the writer (save_order), not by every reader
# (54 ms at 100,000 speeches). Used only at the generation it names: else the reader sorts.
CREATE_ORDER = f"""
CREATE TABLE IF NOT EXISTS {ORDER} (generation bigint NOT NULL, packed bytea NOT NULL);
ALTER TABLE {ORDER} ALTER COLUMN packed SET STORAGE EXTERNAL;
DELETE FROM {ORDER};
"""
CREATE += CREATE_ORDER
# schema 5's archive_chunked gains them (archive.search.postgres.MIGRATIONS)
ADD_FIELDS = f"""
ALTER TABLE {CHUNKED} ADD COLUMN IF NOT EXISTS people text NOT NULL DEFAULT '',
    ADD COLUMN IF NOT EXISTS title text NOT NULL DEFAULT '';
"""
_IN_PATH_ORDER = (f"SELECT string_agg(int4send(chunk) || int4send(ordinal) || int4send(date_key), '' "
                  f"ORDER BY {BY_PATH}) FROM {CHUNKED}")  # one sort, not one per column (54 ms, not 125)
DROP = (f"DROP TABLE IF EXISTS {CHUNKS}; DROP TABLE IF EXISTS {BLOCKS}; DROP TABLE IF EXISTS {CHUNKED}; "
        f"DROP TABLE IF EXISTS {ORDER};")


def array_literal(values: Iterable[int]) -> str:
    """Integers (or booleans) as an array's text (`{1,2,3}`), for a parameter cast to int[] or
    boolean[]: psycopg dumps a list element by element in Python (0.4 ms for six lists of 150),
    PostgreSQL parses this text in C (a tenth of that, the joining included)."""
    return "{" + ",".join(map(str, map(int, values))) + "}"


# --- writing -------------------------------------------------------------------------------------


def forget(connection: Any, paths: list[str]) -> None:
    """These documents' texts changed or went: their chunked rows go (in the writer's transaction)."""
    if paths:
        connection.execute(f"DELETE FROM {CHUNKED} WHERE path = ANY(%s)", (paths,))


def save_order(connection: Any, generation: int, changed: bool) -> None:
    """Every document's place in path order for readers (ORDER) at the commit's `generation`, in
    its transaction: carried over from the commit before if this one has not `changed`
    archive_chunked and that one's is there (a writer of an older version, or an upgrade, leaves
    none), else sorted again."""
    if not changed and connection.execute(f"UPDATE {ORDER} SET generation = %s WHERE generation = %s",
                                          (generation, generation - 1)).rowcount == 1:
        return
    connection.execute(f"DELETE FROM {ORDER}")
    connection.execute(f"INSERT INTO {ORDER} (generation, packed) SELECT %s, coalesce(({_IN_PATH_ORDER}), '')",
                       (generation,))


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
        connection.execute(f"DELETE FROM {BLOCKS} WHERE chunk = ANY(%s)", (redo,))
    if not pending and not redo:
        return 0
    written = 0
    with connection.cursor(name="archive_unchunked") as texts:
        texts.itersize = 500
        texts.execute(f"SELECT path, normalised, date_key, people, title FROM {documents} d WHERE kind = 'doc' "
                      f"AND NOT EXISTS (SELECT 1 FROM {CHUNKED} c WHERE c.path = d.path) ORDER BY path")
        for run in trigrams.grouped((((path, date, people, title), text) for path, text, date, people, title in texts),
                                    chunk_units):
            _write_chunk(connection, run)
            written += 1
    return written


def _write_chunk(connection: Any, documents: list[tuple[tuple[str, int, str, str], str]]) -> None:
    """One chunk of ((path, date key, people, title), text), its rows in both tables."""
    chunk = trigrams.build([text for _, text in documents])
    chunk_id = connection.execute(
        f"INSERT INTO {CHUNKS} (documents, units, starts, sample, positions, groups, pair_sample, pair_documents, "
        "pair_counts, text) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (chunk.documents, chunk.units, chunk.starts, chunk.sample, chunk.positions, chunk.groups, chunk.pairs.sample,
         chunk.pairs.documents, chunk.pairs.counts, chunk.text),
    ).fetchone()[0]
    size = trigrams.BLOCK
    with connection.cursor() as cursor, \
            cursor.copy(f"COPY {BLOCKS} (chunk, pairs, block, keys, offsets, group_offsets) FROM STDIN") as copy:
        for pairs, keys, offsets, group_offsets in ((False, chunk.keys, chunk.offsets, chunk.group_offsets),
                                                    (True, chunk.pairs.keys, chunk.pairs.offsets, b"")):
            for block in range((len(keys) // 8 + size - 1) // size):
                copy.write_row((chunk_id, pairs, block, keys[8 * size * block : 8 * size * (block + 1)],
                                offsets[4 * size * block : 4 * (size * (block + 1) + 1)],
                                group_offsets[4 * size * block : 4 * (size * (block + 1) + 1)]))
    with connection.cursor() as cursor, \
            cursor.copy(f"COPY {CHUNKED} (path, chunk, ordinal, date_key, people, title) FROM STDIN") as copy:
        for ordinal, ((path, date, people, title), _) in enumerate(documents):
            copy.write_row((path, chunk_id, ordinal, date, people, title))


# --- reading -------------------------------------------------------------------------------------


class Unsupported(Exception):
    """A query these postings do not answer alone: SQL answers it."""


@dataclass
class _View:
    """What a reader keeps of one generation of the index (see the module's docstring)."""

    generation: Any
    chunks: list[int]
    starts: dict[int, Any]  # chunk -> uint32 starts
    samples: dict[tuple[int, bool], Any]  # (chunk, pairs) -> uint64 sampled keys
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
    for chunk, chunk_starts, sample, pair_sample in connection.execute(
            f"SELECT id, starts, sample, pair_sample FROM {CHUNKS} ORDER BY id", binary=True):
        chunks.append(chunk)
        starts[chunk] = np.frombuffer(chunk_starts, "<u4").astype(np.int64)
        samples[(chunk, False)] = np.frombuffer(sample, "<u8").copy()
        samples[(chunk, True)] = np.frombuffer(pair_sample, "<u8").copy()
    saved = connection.execute(f"SELECT packed FROM {ORDER} WHERE generation = %s", (generation,)).fetchone()
    packed = saved[0] if saved is not None else connection.execute(_IN_PATH_ORDER).fetchone()[0]
    ranks_chunk, ranks_ordinal, ranks_date = np.frombuffer(packed or b"", ">i4").reshape(-1, 3).T.astype(np.int32, order="C")
    live = {}
    for chunk in chunks:
        mapping = np.full(len(starts[chunk]) - 1, -1, dtype=np.int32)
        mine = np.flatnonzero(ranks_chunk == chunk)
        mapping[ranks_ordinal[mine]] = mine
        live[chunk] = mapping
    return _View(generation, chunks, starts, samples, live, ranks_chunk, ranks_ordinal, ranks_date)


def _needles(node: ql.Node, found: list[str], fields: list[Field]) -> None:
    """Collect the needles of both tiers of a query, and the columns and needles of its speaker:
    and title: terms; Unsupported for a needle the postings cannot hold (a NUL)."""
    if isinstance(node, ql.Text):
        needle = needle_of(node.value)
        for each in [needle, *(query_words(node.value) or [] if not node.exact else [])]:
            if trigrams.parts(each) is None:
                raise Unsupported
            found.append(each)
    elif isinstance(node, ql.Field):
        if node.name in FIELD_COLUMNS:
            fields.append((FIELD_COLUMNS[node.name], needle_of(node.value)))
    elif isinstance(node, ql.Not):
        _needles(node.item, found, fields)
    else:
        for item in node.items:
            _needles(item, found, fields)


@contextlib.contextmanager
def _snapshot(connection: Any, *sent_with_begin: Callable[[Any], Any]) -> Iterator[list[Any]]:
    """One repeatable-read transaction on a pooled (autocommit) connection: every read inside sees
    the same commit, though a run may commit (and rebuild chunks) meanwhile. The queries of
    `sent_with_begin` (each makes one and gives its cursor) go in BEGIN's round trip (a pipeline):
    their cursors are what it yields."""
    try:
        with connection.pipeline():
            connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cursors = [send(connection) for send in sent_with_begin]
        yield cursors
    except BaseException:
        with contextlib.suppress(Exception):  # a lost connection: the pool discards it
            connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


class Phrases:
    """A reader's positional search (one per PostgresIndex; threads share it). At most
    COMPUTING_AT_ONCE searches of a process work out their rankings at once (`turn`): each holds
    arrays of a few bytes per document (13 MB for five common words at 100,000 speeches), the
    work is the CPU's, and a server has about as many cores; eight at once held eight times that
    and answered no sooner.

    Round trips: a search whose needles' counts are kept (`_KeptCounts`) for the commit the engine
    just read (`state`) makes none here; else one for BEGIN, the index's state and the blocks of
    keys holding the parts whose spans are not kept (`_KeptSpans`; when the view in memory is
    still the index's), one or more for positions, one to COMMIT."""

    COMPUTING_AT_ONCE = 2
    ATTEMPTS = 3  # at reading a query's counts and fields at one commit, before SQL answers it

    def __init__(self, chunked_meta: str, meta_table: str) -> None:
        self._view: _View | None = None
        self._lock = threading.Lock()
        self.turn = threading.BoundedSemaphore(self.COMPUTING_AT_ONCE)
        self._kept = _KeptCounts()
        self._spans = _KeptSpans()
        self._fields = _KeptFields(meta_table)
        # the index's generation and whether every document is chunked, as one row
        self.state_query = (f"SELECT (SELECT value FROM {meta_table} WHERE key = 'generation'), "
                            f"(SELECT value FROM {meta_table} WHERE key = '{chunked_meta}')")

    def warm(self, connection: Any) -> None:
        """Read the view now (a few hundred ms at 100,000 speeches), not in a server's first search."""
        with _snapshot(connection, self._send_state) as (state,):
            self._chunked_view(connection, state)

    def rank(self, connect: Callable[[], contextlib.AbstractContextManager[Any]], node: ql.Node, filters: Filters,
             page_rows: Callable[[list[tuple[int, int]]], dict[tuple[int, int], str]],
             state: tuple[Any, bool]) -> Ranking[str] | None:
        """The ranking of a search, or None when SQL must answer it (see _needles; documents not
        chunked; the index moved on each time its speakers were read). `state`: (generation,
        chunked) as the engine read them when the search began; `connect` lends a connection,
        when one is needed."""
        generation, chunked = state
        if not chunked:
            return None
        found: list[str] = []
        fields: list[Field] = []
        try:
            _needles(node, found, fields)
        except Unsupported:
            return None
        speaker: Field | None = ("people", needle_of(filters.speaker)) if filters.speaker else None
        if speaker is not None:
            fields.append(speaker)
        needles, fields = list(dict.fromkeys(found)), list(dict.fromkeys(fields))
        view = self._view
        current = view is not None and view.generation == generation
        counted = self._kept.all_of(view, needles) if view is not None and current else None
        selected = self._fields.all_of(view, fields) if view is not None and current else None
        if view is None or counted is None or selected is None:
            with connect() as connection:
                for _ in range(self.ATTEMPTS):  # a run may commit between the counts and the fields
                    if view is None or counted is None:
                        view, counted = self._counted(connection, needles)
                        if view is None:
                            return None
                    selected = self._fields.read(connection, view, fields)
                    if selected is not None:
                        break
                    counted = None
            if view is None or counted is None or selected is None:
                return None
        saturated: dict[str, Any] = {}
        strict, strict_score = _evaluate(node, view, counted, saturated, selected, loose=False)
        loose, loose_score = (_evaluate(node, view, counted, saturated, selected, loose=True) if _two_tiers(node)
                              else (strict, strict_score))
        if speaker is not None:
            strict &= selected[speaker]
            loose &= selected[speaker]
        for low, high in filters.date_ranges():
            dated = _dated(view, low, high)
            strict &= dated
            loose &= dated
        return _ArrayRanking(view, (strict, strict_score), (loose, loose_score), by_date=filters.sort == "date",
                             page_rows=page_rows)

    def _counted(self, connection: Any, needles: list[str]) -> tuple[_View | None, dict[str, Any]]:
        """(the view, each needle's counts) as the index is now, or (None, {}): not chunked. The
        blocks the view in memory says the needles need are asked for with BEGIN; used only if
        the index is still at that view's commit."""
        guess = self._view
        missing = [] if guess is None else [needle for needle in needles if not self._kept.has(guess, needle)]
        blocks = (_Blocks(guess, {needle: trigrams.parts(needle) or [] for needle in missing}, kept=self._spans)
                  if missing and guess else None)
        with _snapshot(connection, self._send_state, *([blocks.send] if blocks else [])) as cursors:
            view = self._chunked_view(connection, cursors[0])
            if view is None:
                return None, {}
            located = (missing, blocks.located(cursors[1])) if blocks is not None and view is guess else None
            return view, _counts(connection, view, needles, self._kept, located, self._spans)

    def _send_state(self, connection: Any) -> Any:
        return connection.execute(self.state_query)

    def _chunked_view(self, connection: Any, state: Any) -> _View | None:
        """The view of the index as `state` (a cursor of state_query) says it is (call in a
        repeatable-read transaction), or None when documents are not all chunked."""
        generation, chunked = state.fetchone()
        return self._current(connection, generation) if chunked is True else None

    def holding(self, connection: Any, needle: str) -> list[tuple[int, int]] | None:
        """Where the live documents holding `needle` stand ((chunk, ordinal)), or None: not chunked."""
        import numpy as np

        if trigrams.parts(needle) is None:
            return None
        view, counted = self._counted(connection, [needle])
        if view is None:
            return None
        ranks = np.flatnonzero(counted[needle])
        return list(zip(view.ranks_chunk[ranks].tolist(), view.ranks_ordinal[ranks].tolist(), strict=True))

    def documents_holding(self, connection: Any, needles: list[str]) -> dict[str, int] | None:
        """How many live documents hold each needle, all counted in one transaction (the blocks
        in one round trip, the positions in one more), or None: not chunked."""
        if any(trigrams.parts(needle) is None for needle in needles):
            return None
        view, counted = self._counted(connection, list(dict.fromkeys(needles)))
        if view is None:
            return None
        return {needle: int((counted[needle] > 0).sum()) for needle in needles}

    def windows(self, connection: Any, needle: str, reach: int, limit: int) -> list[tuple[tuple[int, int], str]] | None:
        """_windows of the index as it is now, or None: not chunked."""
        if trigrams.positional_parts(needle) is None:
            return None
        with _snapshot(connection, self._send_state) as (state,):
            view = self._chunked_view(connection, state)
            return None if view is None else _windows(connection, view, needle, reach, limit, self._spans)

    def _current(self, connection: Any, generation: Any) -> _View:
        with self._lock:
            if self._view is None or self._view.generation != generation:
                self._view = None  # let go of the old one before the new one is read
                self._view = _load(connection, generation)
            return self._view


Span = tuple[int, bool, int, int, int, int]  # a part's offset, pairs, first and end (positions), first and end (groups)
Located = dict[tuple[str, int], list[Span]]  # (needle, chunk) -> its parts' spans
Fetched = dict[tuple[bool, int, int], tuple[bytes, bytes]]  # (pairs, first, end) -> (positions, groups) or (documents, counts)


class _KeptSpans:
    """Where the parts searched last stand in every chunk, per view: a phrase's trigrams each need a
    block of keys per chunk (8 trigrams × 37 chunks at 100,000 speeches), and the trigrams of common
    words come back search after search. Kept per part: the span its positions (and groups) take in
    each chunk, 32 bytes a chunk, not the blocks of 256 keys they were read from (4 KB each; in
    varied speeches a block holds little else that is searched). BUDGET bytes at most."""

    BUDGET = 6 * 1024 * 1024

    def __init__(self) -> None:
        self._kept = LRU(1 << 20, budget=self.BUDGET, weight=lambda spans: 160 + spans.nbytes)

    def get(self, view: _View, part: tuple[bool, int, int]) -> list[list[int]] | None:
        """Per chunk of the view (in its order): [first, end, group first, group end], or end <= first:
        not in it."""
        found = self._kept.get((view.generation, part))
        return None if found is None else found.tolist()

    def put(self, view: _View, part: tuple[bool, int, int], spans: list[list[int]]) -> None:
        import numpy as np

        self._kept.put((view.generation, part), np.array(spans, dtype=np.int64).reshape(-1, 4))


class _Blocks:
    """Where some needles' parts stand in every chunk of one view: from `kept`, or from the blocks
    of keys that hold them, asked for in a round trip of their own (`_locate`) or in the one that
    begins a search (`Phrases._counted`)."""

    def __init__(self, view: _View, wanted: dict[str, list[trigrams.Part]], kept: _KeptSpans | None = None) -> None:
        self.view, self.kept = view, kept
        self.wanted = wanted
        self.chunks = view.chunks
        parts = list(dict.fromkeys((part.pairs, part.low, part.high) for found in wanted.values() for part in found))
        self.spans: dict[tuple[bool, int, int], list[list[int]]] = {}  # part -> per chunk, see _KeptSpans.get
        for part in parts:
            if kept is not None and (found := kept.get(view, part)) is not None:
                self.spans[part] = found
        self.missing = [part for part in parts if part not in self.spans]
        self.block_of: dict[tuple[int, bool, int], int] = {}  # (chunk, pairs, key) -> its block
        for pairs in (False, True):
            keys = sorted({key for part in self.missing if part[0] == pairs for key in part[1:]})
            for chunk in self.chunks if keys else []:
                for key, number in zip(keys, trigrams.blocks_of(view.samples[(chunk, pairs)], keys), strict=True):
                    self.block_of[(chunk, pairs, key)] = number
        self.asked = list(dict.fromkeys((chunk, pairs, number) for (chunk, pairs, _), number in self.block_of.items()))

    def send(self, connection: Any) -> Any:
        """The query (a cursor whose rows are read later), or None: nothing to ask."""
        if not self.asked:
            return None
        return connection.execute(
            f"SELECT b.chunk, b.pairs, b.block, b.keys, b.offsets, b.group_offsets "
            f"FROM unnest(%s::int[], %s::boolean[], %s::int[]) AS q(chunk, pairs, block) "
            f"JOIN {BLOCKS} b ON b.chunk = q.chunk AND b.pairs = q.pairs AND b.block = q.block",
            tuple(array_literal(place[column] for place in self.asked) for column in range(3)),
            binary=True)  # bytes as they are, not hex

    def located(self, cursor: Any) -> Located:
        """Where the positions (or documents) of each needle's parts stand in each chunk that holds
        them all: of the parts trigrams.cover picks there, by how many positions each has. Call
        only when the index is at the view's commit: the spans worked out are kept for it."""
        blocks: dict[tuple[int, bool, int], trigrams.Block] = dict.fromkeys(self.asked, ([], [0], [0]))
        for chunk, pairs, block, keys, offsets, group_offsets in (cursor if cursor is not None else ()):
            blocks[(chunk, pairs, block)] = trigrams.read_block(keys, offsets, group_offsets)  # (else: the chunk went)
        block_of = self.block_of
        for pairs, low, high in self.missing:
            spans = []
            for chunk in self.chunks:
                if low == high:
                    found = trigrams.span_of(blocks[(chunk, pairs, block_of[(chunk, pairs, low)])], low)
                    spans.append(list(found) if found is not None else [0, 0, 0, 0])
                else:
                    first, group_first = trigrams.position_in(blocks[(chunk, pairs, block_of[(chunk, pairs, low)])],
                                                              low, after=False)
                    end, group_end = trigrams.position_in(blocks[(chunk, pairs, block_of[(chunk, pairs, high)])],
                                                          high, after=True)
                    spans.append([first, end, group_first, group_end])
            self.spans[(pairs, low, high)] = spans
            if self.kept is not None:
                self.kept.put(self.view, (pairs, low, high), spans)
        located: Located = {}
        for needle, found_parts in self.wanted.items():
            per_part = [self.spans[(part.pairs, part.low, part.high)] for part in found_parts]
            for number, chunk in enumerate(self.chunks):
                here = [spans[number] for spans in per_part]
                if any(span[1] <= span[0] for span in here):
                    continue  # a part the chunk does not hold: the needle is not in it
                chosen = set(trigrams.cover(found_parts, [span[1] - span[0] for span in here]))
                located[(needle, chunk)] = [(part.offset, part.pairs, span[0], span[1], span[2], span[3])
                                            for part, span in zip(found_parts, here, strict=True) if part in chosen]
        return located


def _locate(connection: Any, view: _View, wanted: dict[str, list[trigrams.Part]],
            kept: _KeptSpans | None = None) -> Located:
    """Where each needle's parts stand in each chunk that holds them all: one round trip for the
    blocks of keys they fall in (none for parts `kept` holds)."""
    blocks = _Blocks(view, wanted, kept)
    return blocks.located(blocks.send(connection))


def _fetched(connection: Any, located: Located) -> Iterator[tuple[int, Fetched]]:
    """Each chunk's slices of positions and their groups (or documents and counts) that `located`
    names, read in batches of whole chunks of at most POSITIONS_PER_FETCH entries: memory stays
    bounded."""
    slices = sorted({(chunk, *span[1:]) for (_, chunk), spans in located.items() for span in spans})
    batch: list[tuple[int, bool, int, int, int, int]] = []
    entries = 0  # in the batch
    for number, place in enumerate(slices):
        batch.append(place)
        entries += place[3] - place[2]
        last = number + 1 == len(slices) or slices[number + 1][0] != place[0]
        if last and (number + 1 == len(slices) or entries >= POSITIONS_PER_FETCH):
            fetched: dict[int, Fetched] = {}
            for chunk, pairs, first, end, data, second in connection.execute(
                    f"SELECT q.chunk, q.pairs, q.first, q.stop, "
                    f"CASE WHEN q.pairs THEN substring(c.pair_documents FROM q.first * 4 + 1 FOR (q.stop - q.first) * 4) "
                    f"ELSE substring(c.positions FROM q.first * 2 + 1 FOR (q.stop - q.first) * 2) END, "
                    f"CASE WHEN q.pairs THEN substring(c.pair_counts FROM q.first * 4 + 1 FOR (q.stop - q.first) * 4) "
                    f"ELSE substring(c.groups FROM q.group_first * 4 + 1 FOR (q.group_stop - q.group_first) * 4) END "
                    f"FROM unnest(%s::int[], %s::boolean[], %s::int[], %s::int[], %s::int[], %s::int[]) "
                    f"AS q(chunk, pairs, first, stop, group_first, group_stop) JOIN {CHUNKS} c ON c.id = q.chunk",
                    tuple(array_literal(p[column] for p in batch) for column in range(6)), binary=True):
                fetched.setdefault(chunk, {})[(pairs, first, end)] = (data, second)
            yield from fetched.items()
            batch, entries = [], 0


def _occurrences(spans: list[Span], fetched: Fetched) -> Any:
    return trigrams.occurrences([(offset, trigrams.decode(*fetched[(pairs, first, end)]))
                                 for offset, pairs, first, end, _, _ in spans])


def _counts(connection: Any, view: _View, needles: list[str], kept: _KeptCounts | None = None,
            located_already: tuple[list[str], Located] | None = None,
            kept_spans: _KeptSpans | None = None) -> dict[str, Any]:
    """needle -> how often it stands in each live document (int32 per rank, as str.count counts).
    Two round trips: the blocks of keys that hold the needles' trigrams (but for the needles
    `located_already` names), then their positions (a word's documents and counts); none for
    needles `kept` holds for this view."""
    import numpy as np

    counted: dict[str, Any] = {}
    for needle in needles:
        found = None if kept is None else kept.get(view, needle)
        if found is not None:
            counted[needle] = found
    wanted = [needle for needle in needles if needle not in counted]
    if not wanted:
        return counted
    done, located = located_already or ([], {})
    located = dict(located)
    if rest := [needle for needle in wanted if needle not in done]:  # (another search may have let one go)
        located.update(_locate(connection, view, {needle: trigrams.parts(needle) or [] for needle in rest},
                               kept=kept_spans))
    counted.update((needle, np.zeros(view.documents, dtype=np.int32)) for needle in wanted)
    for chunk, fetched in _fetched(connection, located):
        for needle in wanted:
            spans = located.get((needle, chunk))
            if spans is None:
                continue
            if spans[0][1]:  # a word of one or two units: its documents and counts
                ordinals, how_often = trigrams.counted_pairs(*fetched[spans[0][1:4]])
            else:
                ordinals, how_often = trigrams.counts(_occurrences(spans, fetched), view.starts[chunk], needle)
            ranks = view.live[chunk][ordinals]
            live = ranks >= 0
            counted[needle][ranks[live]] += how_often[live].astype(np.int32)
    if kept is not None:
        for needle in wanted:
            kept.put(view, needle, counted[needle])
    return counted


class _KeptFields:
    """The documents each speaker:/title: needle (and --speaker) selects, per view: read in
    archive_chunked, a query each (a scan of a few MB at 100,000 speeches), kept as their ranks (4
    bytes a document; an office's speakers come back search after search)."""

    BUDGET = 2 * 1024 * 1024

    def __init__(self, meta_table: str) -> None:
        self._kept = LRU(1024, budget=self.BUDGET, weight=lambda ranks: ranks.nbytes)
        self._meta_table = meta_table

    def all_of(self, view: _View, fields: list[Field]) -> dict[Field, Any] | None:
        """Each field's mask over the view's ranks, or None if one is not kept."""
        found = [self._kept.get((view.generation, field)) for field in fields]
        if any(ranks is None for ranks in found):
            return None
        return {field: self._mask(view, ranks) for field, ranks in zip(fields, found, strict=True)}

    def read(self, connection: Any, view: _View, fields: list[Field]) -> dict[Field, Any] | None:
        """Each field's mask, reading those not kept; None if the index is no longer at the view's
        commit (each query reads the generation it sees)."""
        import numpy as np

        selected = {}
        for field in fields:
            ranks = self._kept.get((view.generation, field))
            if ranks is None:
                column, needle = field
                generation, chunks, ordinals = connection.execute(
                    f"SELECT (SELECT value FROM {self._meta_table} WHERE key = 'generation'), "
                    f"string_agg(int4send(chunk), ''), string_agg(int4send(ordinal), '') "
                    f"FROM {CHUNKED} WHERE strpos({column}, %s) > 0", (needle,)).fetchone()
                if generation != view.generation:
                    return None
                chunks, ordinals = (np.frombuffer(value or b"", ">i4").astype(np.int32) for value in (chunks, ordinals))
                ranks = np.concatenate([np.zeros(0, np.int32)] + [
                    view.live[chunk][ordinals[chunks == chunk]] for chunk in np.unique(chunks).tolist()])
                ranks = np.sort(ranks[ranks >= 0]).astype(np.int32)
                self._kept.put((view.generation, field), ranks)
            selected[field] = self._mask(view, ranks)
        return selected

    @staticmethod
    def _mask(view: _View, ranks: Any) -> Any:
        import numpy as np

        mask = np.zeros(view.documents, dtype=bool)
        mask[ranks] = True
        return mask


class _KeptCounts:
    """The counts of the needles searched last, per view: a phrase an office searches often (高质量发展
    is in most speeches: 300,000 positions at 100,000) is counted once per commit, not per search,
    and the words of unquoted searches come back again and again. Each kept in the smaller form:
    a byte per document (a needle in most documents, none of them more than 255 times), or the
    documents that hold it and how often (8 bytes each); at most BUDGET bytes in all."""

    BUDGET = 12 * 1024 * 1024

    def __init__(self) -> None:
        self._kept = LRU(4096, budget=self.BUDGET, weight=lambda kept: sum(part.nbytes for part in kept))

    def has(self, view: _View, needle: str) -> bool:
        return self._kept.get((view.generation, needle)) is not None

    def all_of(self, view: _View, needles: list[str]) -> dict[str, Any] | None:
        """Every needle's counts, or None if one is not kept (none unpacked then: _counts will)."""
        if not all(self.has(view, needle) for needle in needles):
            return None
        counted = {}
        for needle in needles:
            counts = self.get(view, needle)
            if counts is None:
                return None
            counted[needle] = counts
        return counted

    def get(self, view: _View, needle: str) -> Any:
        import numpy as np

        found = self._kept.get((view.generation, needle))
        if found is None:
            return None
        if len(found) == 1:  # a byte per document
            return found[0].astype(np.int32)
        ranks, how_often = found
        counts = np.zeros(view.documents, dtype=np.int32)
        counts[ranks] = how_often
        return counts

    def put(self, view: _View, needle: str, counts: Any) -> None:
        import numpy as np

        ranks = np.flatnonzero(counts).astype(np.int32)
        if len(counts) < 8 * len(ranks) and counts.max(initial=0) <= 255:
            self._kept.put((view.generation, needle), (counts.astype(np.uint8),))
        else:
            self._kept.put((view.generation, needle), (ranks, counts[ranks]))


def _windows(connection: Any, view: _View, needle: str, reach: int, limit: int,
             kept_spans: _KeptSpans | None = None) -> list[tuple[tuple[int, int], str]]:
    """Up to `limit` occurrences of `needle` in live documents, each as ((chunk, ordinal), the
    text from `reach` units before it to `reach` after, within its document): what "did you mean"
    reads instead of whole texts. Chunks are read a few at a time, spread over the archive, until
    `limit` occurrences are found (a common anchor's are in every chunk), and the windows are
    spread over those."""
    import numpy as np

    parts = trigrams.positional_parts(needle)
    if not parts or limit <= 0:
        return []
    found = []
    located = _locate(connection, view, {needle: parts}, kept=kept_spans)
    order = [chunk for chunk in view.chunks[::2] + view.chunks[1::2] if (needle, chunk) in located]
    for group in range(0, len(order), WINDOW_CHUNKS):  # older and newer folders alike (chunks follow paths)
        these = {(needle, chunk): located[(needle, chunk)] for chunk in order[group : group + WINDOW_CHUNKS]}
        for chunk, fetched in _fetched(connection, these):
            occurrences = np.sort(_occurrences(located[(needle, chunk)], fetched))
            ordinals = np.searchsorted(view.starts[chunk], occurrences, side="right") - 1
            live = view.live[chunk][ordinals] >= 0
            found.append((chunk, occurrences[live], ordinals[live]))
        if sum(len(occurrences) for _, occurrences, _ in found) >= limit:
            break
    total = sum(len(occurrences) for _, occurrences, _ in found)
    wanted = min(limit, total)
    if not wanted:
        return []
    chosen = np.arange(wanted, dtype=np.int64) * total // wanted
    length = len(needle.encode("utf-16-le", "surrogatepass")) // 2
    requests = []
    passed = 0
    for chunk, occurrences, ordinals in found:
        mine = chosen[(chosen >= passed) & (chosen < passed + len(occurrences))] - passed
        starts = view.starts[chunk]
        for position, ordinal in zip(occurrences[mine].tolist(), ordinals[mine].tolist(), strict=True):
            first = max(position - reach, int(starts[ordinal]))
            end = min(position + length + reach, int(starts[ordinal + 1]) - 1)
            requests.append((chunk, ordinal, first, end))
        passed += len(occurrences)
    windows = []
    for number, data in connection.execute(
            f"SELECT q.n, substring(c.text FROM q.first * 2 + 1 FOR (q.stop - q.first) * 2) "
            f"FROM unnest(%s::int[], %s::int[], %s::int[]) WITH ORDINALITY AS q(chunk, first, stop, n) "
            f"JOIN {CHUNKS} c ON c.id = q.chunk",
            tuple(array_literal(r[column] for r in requests) for column in (0, 2, 3)), binary=True):
        chunk, ordinal, _, _ = requests[number - 1]
        text = bytes(data).decode("utf-16-le", "surrogatepass")
        windows.append(((chunk, ordinal), without_cut_pairs(text)))
    return windows


def _dated(view: _View, low: int | None, high: int | None) -> Any:
    import numpy as np

    mask = np.ones(view.documents, dtype=bool)
    if low is not None:
        mask &= view.ranks_date >= low
    if high is not None:
        mask &= view.ranks_date <= high
    return mask


def _saturated(count: Any) -> Any:
    """archive.search.engine.saturate over an array: count / (count + 1.2), 0 where absent. Looked
    up in engine.SATURATED when every count is below 256 (nearly always): one pass over the
    documents instead of four (0.19 ms instead of 0.64 at 100,000 speeches, for every word of an
    unquoted search), the same floats."""
    import numpy as np

    if count.max(initial=0) < len(SATURATED):
        return _saturated_table()[count]
    wide = count.astype(np.float64)
    return np.where(count > 0, wide / (wide + 1.2), 0.0)


@functools.cache
def _saturated_table() -> Any:
    import numpy as np

    return np.array(SATURATED, dtype=np.float64)


def _two_tiers(node: ql.Node) -> bool:
    """Whether an unquoted term of several words makes a words tier (else both tiers are one)."""
    return any(not term.exact and query_words(term.value) is not None for term in ql.text_terms(node))


def _evaluate(node: ql.Node, view: _View, counted: dict[str, Any], saturated: dict[str, Any],
              selected: dict[Field, Any], *, loose: bool) -> tuple[Any, Any]:
    """(mask, score) per rank, as archive.search.postgres._compile has SQL work them out: `loose`,
    an unquoted term of several words matches by all its words (the words tier)."""
    import numpy as np

    if isinstance(node, ql.Text):
        words = query_words(node.value) if loose and not node.exact else None
        for word in words or [needle_of(node.value)]:
            if word not in saturated:
                saturated[word] = _saturated(counted[word])
        if words is None:
            needle = needle_of(node.value)
            return counted[needle] > 0, saturated[needle]
        mask = np.ones(view.documents, dtype=bool)
        score = np.zeros(view.documents)
        for number, word in enumerate(words):
            mask &= counted[word] > 0
            score = saturated[word] if number == 0 else score + saturated[word]
        return mask, score
    if isinstance(node, ql.Field):
        if node.name in FIELD_COLUMNS:
            mask = selected[(FIELD_COLUMNS[node.name], needle_of(node.value))]
        else:
            low, high = year_range(node.value) if node.name == "year" else parse_range(node.value)
            mask = _dated(view, low, high)
        return mask, np.where(mask, 1.0, 0.0)
    if isinstance(node, ql.Not):
        inner, _ = _evaluate(node.item, view, counted, saturated, selected, loose=False)
        return ~inner, np.zeros(view.documents)
    parts = [_evaluate(item, view, counted, saturated, selected, loose=loose) for item in node.items]
    if isinstance(node, ql.Or):
        mask = np.zeros(view.documents, dtype=bool)
        score = np.zeros(view.documents)
        for number, (item_mask, item_score) in enumerate(parts):
            mask |= item_mask
            term = np.where(item_mask, item_score, 0.0)
            score = term if number == 0 else score + term
        return mask, score
    mask = np.ones(view.documents, dtype=bool)
    score = np.zeros(view.documents)
    for number, (item_mask, item_score) in enumerate(parts):
        mask &= item_mask
        score = item_score if number == 0 else score + item_score
    return mask, score


class _ArrayRanking(Ranking[str]):
    """Every match's rank (path order), score and tier in arrays (13 bytes a match); a page's paths
    are read when it is asked for. By relevance: the exact tier best first, then the words tier
    (all the words, not the text as written) best first; by date: both, newest first, then best
    first. Ties in path order, as archive.search.postgres orders them.

    A tier is put in order only as far as a page asks (`_Ordered`): a common phrase matches
    75,000 speeches at 100,000, and sorting them all cost more than the rest of its search."""

    def __init__(self, view: _View, strict: tuple[Any, Any], loose: tuple[Any, Any], *, by_date: bool,
                 page_rows: Callable[[list[tuple[int, int]]], dict[tuple[int, int], str]]) -> None:
        import numpy as np

        super().__init__([])
        (exact, exact_score), (matched, matched_score) = strict, loose
        self._tiers: list[tuple[_Ordered, str | None]]
        if by_date:  # an exact match scores as in the exact tier, the rest by their words
            ranks = np.flatnonzero(matched)
            scores = np.where(exact[ranks], exact_score[ranks], matched_score[ranks])
            order = np.lexsort((ranks, -scores, -view.ranks_date[ranks].astype(np.int64)))
            self._tiers = [(_Ordered(ranks[order], scores[order], ordered=True), None)]
            self._in_words = ~exact[ranks[order]]
        else:
            self._tiers = [(_Ordered(np.flatnonzero(mask), score[mask]), tier)
                           for mask, score, tier in ((exact, exact_score, "exact"),
                                                     (matched & ~exact, matched_score, "words"))]
        self._places = view.ranks_chunk, view.ranks_ordinal
        self._page_rows = page_rows

    @property
    def total(self) -> int:
        return sum(len(tier) for tier, _ in self._tiers)

    def rows(self) -> int:
        return self.total // 8  # a row of the base class is about 100 bytes; these hold 13

    def page(self, offset: int, limit: int | None) -> list[tuple[str, float, str]]:
        import numpy as np

        end = self.total if limit is None else min(self.total, offset + limit)
        rows: list[tuple[int, float, str]] = []
        before = 0  # rows of the tiers before this one
        for tier, name in self._tiers:
            first, last = max(offset - before, 0), min(end - before, len(tier))
            if first < last:
                ranks, scores = tier.first(last)
                names = ([name] * (last - first) if name is not None else
                         np.where(self._in_words[first:last], "words", "exact").tolist())
                rows += zip(ranks[first:last].tolist(), scores[first:last].tolist(), names, strict=True)
            before += len(tier)
        chunks, ordinals = self._places
        places = [(int(chunks[rank]), int(ordinals[rank])) for rank, _, _ in rows]
        paths = self._page_rows(places) if places else {}
        return [(paths[place], score, name) for place, (_, score, name) in zip(places, rows, strict=True)
                if place in paths]


class _Ordered:
    """One tier's matches (ranks ascending, their scores), put best first (ties in rank order) as
    far as asked: the first k by a partition around the k-th best score, then a sort of those."""

    AT_LEAST = 200  # ordered at once: the next pages cost nothing more

    def __init__(self, ranks: Any, scores: Any, *, ordered: bool = False) -> None:
        self._ranks, self._scores = ranks.astype("int32"), scores
        self._done = len(ranks) if ordered else 0  # the first _done are in order
        self._lock = threading.Lock()  # a kept ranking answers several requests at once

    def __len__(self) -> int:
        return len(self._ranks)

    def first(self, count: int) -> tuple[Any, Any]:
        """The best `count` (ranks, scores), in order. Equal scores stand in rank order all
        along the arrays (the unordered rest is kept in rank order), so each sort keeps ties so."""
        import numpy as np

        with self._lock:
            if count > self._done:
                wanted = max(count, self.AT_LEAST)
                if wanted * 4 >= len(self._ranks):
                    order = np.argsort(-self._scores, kind="stable")
                    self._done = len(self._ranks)
                else:  # every score at least the wanted-th best, ties included, sorted (stable: ranks ascend)
                    threshold = np.partition(self._scores, len(self._scores) - wanted)[len(self._scores) - wanted]
                    better = np.flatnonzero(self._scores >= threshold)
                    chosen = better[np.argsort(-self._scores[better], kind="stable")][:wanted]
                    rest = np.ones(len(self._ranks), dtype=bool)
                    rest[chosen] = False
                    order = np.concatenate([chosen, np.flatnonzero(rest)])  # the rest as they stood
                    self._done = wanted
                self._ranks, self._scores = self._ranks[order], self._scores[order]
            return self._ranks[:count], self._scores[:count]
