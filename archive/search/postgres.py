"""The server engine: the index in a PostgreSQL database, for an office that outgrows one machine.

`--index postgresql://user@host/db` (or $ARCHIVE_INDEX) selects it. One table holds a row per file;
the database keeps the texts, so each web process holds only a connection pool, and any number of
`archive serve` processes on any number of machines (or read replicas) answer from it.

Exactness, the same as the embedded engine's (archive.search.engine): phrases and words are found
in positional trigram postings kept in the database (archive.search.postgres_phrases), which every
commit brings up to date; `speaker:`, `title:` and `--speaker` select documents by their columns
there. SQL answers only what those postings cannot (an index of an older layout until its next run
chunks it, a needle holding a NUL): exact, by reading the texts (`strpos`), slower. The body has
no GIN index: building the pg_trgm and bigram indexes of 10,000 varied speeches took 72 of a first
run's 124 s (updating them speech by speech, worse), and the postings answer every phrase with
where it stands, which they cannot.

The database must be UTF-8 and its character type must call Chinese characters letters (with the
`C` type, regular expressions, `upper` and pg_trgm see them as punctuation: a text search an office
adds in SQL beside these tables would find nothing). A writer checks this first and refuses with
how to create the database (`--locale=C.UTF-8`, or an ICU locale).

Writing: one writer at a time (a session advisory lock, released by the server if the writer dies),
rows upserted in batches inside a transaction; `checkpoint` chunks what it wrote and commits. A
killed run loses only its open transaction; readers never wait. The schema is created by the tool
and carries its version (`archive_schema`); a database of another version is rebuilt by the next
`archive index`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from archive.document import Document, doc_id
from archive.errors import ArchiveError, IndexBusy, IndexDamaged, IndexMissing
from archive.normalize import normalise
from archive.search import postgres_phrases as phrases
from archive.search import querylang as ql
from archive.search.dates import date_key, parse_range
from archive.search.engine import (
    VERSION_FIELDS,
    Filters,
    IndexUpdate,
    ManifestEntry,
    PerCommit,
    Ranking,
    SpeechIndex,
    add_variants,
    needle_of,
    query_words,
    stats_of,
    year_range,
)
from archive.search.passages import DocumentText
from archive.search.snapshot import Snapshot

SCHEMA_VERSION = 7  # 2: texts stored uncompressed; 3: single characters beside the bigrams (`grams`);
# 4: positional trigram postings (archive.search.postgres_phrases); 5: their positions in half the bytes;
# 6: no GIN index of the body, no `grams`; speakers and titles beside the postings; 7: the order readers
# read their view in, sorted by the writer
DOCUMENTS, META, VERSION = "archive_documents", "archive_meta", "archive_schema"
CHUNKED_META = "chunked"  # archive_meta: every document's text is in the positional postings
WRITER_LOCK = 0x61726368697665  # the advisory lock one writer holds ("archive")
BATCH_ROWS = 200  # rows sent to the server at once
POOL_SIZE = 8  # connections one process keeps to answer requests at once

_CREATE = f"""
CREATE TABLE {DOCUMENTS} (
    path text PRIMARY KEY,
    doc_id text NOT NULL UNIQUE,
    kind text NOT NULL,               -- 'doc', or 'failed' for a file that could not be read
    sha256 text NOT NULL,
    size bigint NOT NULL,
    mtime_ns bigint NOT NULL,
    extractor integer NOT NULL,
    normalised text NOT NULL DEFAULT '',   -- the body as searching sees it (archive.normalize)
    title text NOT NULL DEFAULT '',        -- normalised title, for title:
    people text NOT NULL DEFAULT '',       -- normalised "speaker|role", for speaker: and --speaker
    date_key integer NOT NULL DEFAULT 0,   -- yyyymmdd, 0 where unknown (archive.search.dates)
    record json NOT NULL,                  -- archive.document.Document.to_record(): metadata and paragraphs
    summary json NOT NULL,                 -- the listing metadata: list and stats read only this
    sketch bytea NOT NULL DEFAULT ''       -- archive.versions' sketch of the text
);
ALTER TABLE {DOCUMENTS} ALTER COLUMN normalised SET STORAGE EXTERNAL;  -- read often, so never compressed
CREATE INDEX {DOCUMENTS}_date ON {DOCUMENTS} (date_key);
CREATE INDEX {DOCUMENTS}_sha256 ON {DOCUMENTS} (sha256);
CREATE INDEX {DOCUMENTS}_kind ON {DOCUMENTS} (kind);
CREATE TABLE IF NOT EXISTS {META} (key text PRIMARY KEY, value json NOT NULL);
""" + phrases.CREATE

# Upgrades from one schema version to the next, run in order by the writer; a version with no path
# here is rebuilt instead (the documents are read again from the folders).
MIGRATIONS: dict[int, str] = {
    1: f"ALTER TABLE {DOCUMENTS} ALTER COLUMN normalised SET STORAGE EXTERNAL",  # rows written from now on
    2: f"""ALTER TABLE {DOCUMENTS} RENAME COLUMN bigrams TO grams;
           ALTER INDEX {DOCUMENTS}_bigrams RENAME TO {DOCUMENTS}_grams;
           UPDATE {DOCUMENTS} SET grams = grams || ARRAY(SELECT DISTINCT c FROM regexp_split_to_table(normalised, '') AS c)
           WHERE kind = 'doc';""",
    3: phrases.CREATE,  # the next run's commit chunks every document (snapshot() sees them unchunked)
    # positions in another layout: the next run's commit chunks every document again (texts stay)
    4: phrases.DROP + phrases.CREATE + f"DELETE FROM {META} WHERE key = '{CHUNKED_META}';",
    # the body's GIN indexes and `grams` go (the postings answer every phrase); speakers and titles
    # are copied beside the postings, which then answer speaker: and title: too
    5: f"""DROP INDEX IF EXISTS {DOCUMENTS}_text, {DOCUMENTS}_grams;
           ALTER TABLE {DOCUMENTS} DROP COLUMN IF EXISTS grams;
           {phrases.ADD_FIELDS}
           UPDATE {phrases.CHUNKED} c SET people = d.people, title = d.title FROM {DOCUMENTS} d WHERE d.path = c.path;""",
    6: phrases.CREATE_ORDER,  # the next commit sorts it (save_order); readers sort until then
}

# A reader's session: PostgreSQL's planner does not count the cost of reading a long value out of its
# TOAST table, so a reader's lookups by key keep to their indexes; nor is a query plan worth
# compiling (JIT) for one search.
READER_OPTIONS = "-c enable_seqscan=off -c jit=off"

_UPSERT = f"""
INSERT INTO {DOCUMENTS} (path, doc_id, kind, sha256, size, mtime_ns, extractor, normalised, title, people,
                         date_key, record, summary, sketch)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (path) DO UPDATE SET doc_id = EXCLUDED.doc_id, kind = EXCLUDED.kind, sha256 = EXCLUDED.sha256,
    size = EXCLUDED.size, mtime_ns = EXCLUDED.mtime_ns, extractor = EXCLUDED.extractor,
    normalised = EXCLUDED.normalised, title = EXCLUDED.title, people = EXCLUDED.people,
    date_key = EXCLUDED.date_key, record = EXCLUDED.record, summary = EXCLUDED.summary, sketch = EXCLUDED.sketch
"""

CREATE_DATABASE = "createdb --template=template0 --encoding=UTF8 --locale=C.UTF-8 DBNAME"


def _shown(url: str) -> str:
    from archive.search import shown_location

    return shown_location(url)


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        raise ArchiveError("the PostgreSQL engine needs psycopg: pip install 'psycopg[binary]'") from None
    return psycopg


def _connection_error(url: str, error: Exception) -> ArchiveError:
    detail = str(error).strip().splitlines()[-1][:160] if str(error).strip() else type(error).__name__
    return ArchiveError(f"cannot reach the database at {_shown(url)} ({detail}): check the URL, that the server "
                        "runs and that it lets this user in")


def _pool_timeout() -> type[Exception]:
    from psycopg_pool import PoolTimeout

    return PoolTimeout


def _connect(url: str, *, autocommit: bool) -> Any:
    psycopg = _psycopg()
    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
    except psycopg.Error as error:
        raise _connection_error(url, error) from None


@contextlib.contextmanager
def _errors(url: str) -> Iterator[None]:
    """Database failures as one line that says what to do."""
    psycopg = _psycopg()
    try:
        yield
    except ArchiveError:
        raise
    except psycopg.errors.UndefinedTable:
        raise IndexMissing(f"no index in the database at {_shown(url)}: run `archive index FOLDER --index "
                           f"{_shown(url)}` first") from None
    except psycopg.errors.DiskFull:
        raise ArchiveError(f"the database at {_shown(url)} has no space left: free some on its server and run "
                           "again; the index is as it was at its last commit") from None
    except (psycopg.OperationalError, psycopg.InterfaceError, _pool_timeout()) as error:
        raise _connection_error(url, error) from None
    except psycopg.errors.DataCorrupted as error:
        raise IndexDamaged(f"the database at {_shown(url)} reports damaged data ({str(error).splitlines()[0][:100]}):"
                           " restore it from a backup, or run `archive index --rebuild`") from None


def _stored_version(connection: Any) -> int | None:
    row = connection.execute("SELECT to_regclass(%s) IS NOT NULL", (VERSION,)).fetchone()
    if not row[0]:
        return None
    found = connection.execute(f"SELECT max(version) FROM {VERSION}").fetchone()
    return found[0] if found else None


def _check_readable(connection: Any, url: str) -> None:
    version = _stored_version(connection)
    if version is None:
        raise IndexMissing(f"no index in the database at {_shown(url)}: run `archive index FOLDER --index "
                           f"{_shown(url)}` first")
    if version != SCHEMA_VERSION:
        raise IndexMissing(f"the index in the database at {_shown(url)} was built by another version of archive: "
                           "run `archive index` (with your folders) to rebuild it")


# --- queries -------------------------------------------------------------------------------------


@dataclass
class _Clause:
    """A piece of SQL and its parameters, in order."""

    sql: str
    params: list[Any] = field(default_factory=list)

    def __add__(self, other: _Clause) -> _Clause:
        return _Clause(self.sql + other.sql, self.params + other.params)


def _join(clauses: Sequence[_Clause], separator: str) -> _Clause:
    return _Clause(separator.join(c.sql for c in clauses), [p for c in clauses for p in c.params])


def _holds(needle: str) -> _Clause:
    """The body holds normalised `needle` exactly (read in the text: see the module's docstring)."""
    return _Clause("strpos(normalised, %s) > 0", [needle])


def _documents_holding(needle: str) -> _Clause:
    """FROM and WHERE of the documents whose body holds normalised `needle`."""
    return _Clause(f" FROM {DOCUMENTS} WHERE kind = 'doc' AND ") + _holds(needle)


def _count(needle: str) -> _Clause:
    """How often `needle` stands in the body (not overlapping, as str.count). In bytes: a text's
    byte length is in its header, its character length must be counted."""
    return _Clause("((octet_length(normalised) - octet_length(replace(normalised, %s, ''))) / %s)",
                   [needle, len(needle.encode("utf-8"))])


def _saturated(needle: str) -> _Clause:
    """The embedded engine's score of a phrase (archive.search.engine.saturate): count / (count + 1.2)."""
    count = _count(needle)
    return _Clause("(") + count + _Clause("::float8 / (") + count + _Clause(" + 1.2))")


TRUE, FALSE, ZERO = _Clause("TRUE"), _Clause("FALSE"), _Clause("0.0")


def _dates(low: int | None, high: int | None) -> _Clause:
    parts = []
    if low is not None:
        parts.append(_Clause("date_key >= %s", [low]))
    if high is not None:
        parts.append(_Clause("date_key <= %s", [high]))
    return _join(parts, " AND ") if parts else TRUE


def _compile(node: ql.Node, loose: bool) -> tuple[_Clause, _Clause]:
    """(condition, score) of a query tree; `loose`: an unquoted term may match by all its words."""
    if isinstance(node, ql.Text):
        needle = needle_of(node.value)
        parts = query_words(node.value) if loose and not node.exact else None
        if parts is None:
            return _holds(needle), _saturated(needle)
        return (_Clause("(") + _join([_holds(w) for w in parts], " AND ") + _Clause(")"),
                _Clause("(") + _join([_saturated(w) for w in parts], " + ") + _Clause(")"))
    if isinstance(node, ql.Field):
        if node.name in ("speaker", "title"):
            column = "people" if node.name == "speaker" else "title"
            return _Clause(f"strpos({column}, %s) > 0", [needle_of(node.value)]), _Clause("1.0")
        low, high = year_range(node.value) if node.name == "year" else parse_range(node.value)
        return _Clause("(") + _dates(low, high) + _Clause(")"), _Clause("1.0")
    if isinstance(node, ql.Not):
        condition, _ = _compile(node.item, loose=False)
        return _Clause("NOT (") + condition + _Clause(")"), ZERO
    compiled = [_compile(item, loose) for item in node.items]
    if isinstance(node, ql.Or):
        score = _join([_Clause("(CASE WHEN ") + c + _Clause(" THEN ") + s + _Clause(" ELSE 0.0 END)")
                       for c, s in compiled], " + ")
        return _Clause("(") + _join([c for c, _ in compiled], " OR ") + _Clause(")"), score
    return (_Clause("(") + _join([c for c, _ in compiled], " AND ") + _Clause(")"),
            _Clause("(") + _join([s for _, s in compiled], " + ") + _Clause(")"))


def _filters(given: Filters) -> _Clause:
    parts = [_Clause("kind = 'doc'")]
    if given.speaker:
        parts.append(_Clause("strpos(people, %s) > 0", [needle_of(given.speaker)]))
    parts.extend(_dates(low, high) for low, high in given.date_ranges())
    return _join(parts, " AND ")


class _PagedRanking(Ranking[str]):
    """A ranking the database keeps: each page is asked for (ORDER BY … LIMIT … OFFSET) and the
    totals are counted there, so a web process holds a page of rows, not every match. A common
    phrase matches 50,000 speeches at 100,000; holding their rows made each request of eight at
    once allocate megabytes, and a web process 210–230 MB. Another page of the same search is ranked
    again by the database. Ties are in path order, as the exact tier always was here.

    The exact tier (the text as written) comes first, best first; then the words tier (all the
    words, not the text as written), counted without being ranked until a page reaches it. By date:
    both together, newest first, then best first.
    """

    def __init__(self, rows: Callable[[_Clause], list[tuple[Any, ...]]], where: _Clause, strict: _Clause,
                 strict_score: _Clause, loose: _Clause, loose_score: _Clause, *, by_date: bool) -> None:
        super().__init__([])
        self._query = rows
        self._where, self._strict, self._strict_score = where, strict, strict_score
        self._loose, self._loose_score, self._by_date = loose, loose_score, by_date
        self._one_tier = loose.sql == strict.sql and loose.params == strict.params
        self._first_rows: int | None = None  # rows of the first tier (all rows, by date)
        self._words_rows: int | None = None  # rows of the words tier, after the first

    def rows(self) -> int:
        return 0  # what it holds does not grow with the matches

    @property
    def total(self) -> int:
        return self._count_first() + self._count_words()

    def _count(self, condition: _Clause) -> int:
        return int(self._query(_Clause(f"SELECT count(*) FROM {DOCUMENTS} WHERE ") + self._where + _Clause(" AND ")
                               + condition)[0][0])

    def _count_first(self) -> int:
        if self._first_rows is None:
            self._first_rows = self._count(self._loose if self._by_date else self._strict)
        return self._first_rows

    def _count_words(self) -> int:
        if self._by_date or self._one_tier:
            return 0
        if self._words_rows is None:
            # every exact match holds all its words too (strict implies loose): the words tier is the
            # loose matches less the exact ones, counted without confirming the whole text on each
            # (two-character words, most of jieba's, are answered by the bigram index alone)
            self._words_rows = self._count(self._loose) - self._count_first()
        return self._words_rows

    def _page_of(self, select: _Clause, order: str, offset: int, limit: int | None) -> list[tuple[Any, ...]]:
        """A page of `select`, each row ending with the count of all its rows (the tier's total)."""
        return self._query(_Clause("SELECT *, count(*) OVER () FROM (") + select
                           + _Clause(f") AS found ORDER BY {order} LIMIT %s OFFSET %s", [limit, offset]))

    def page(self, offset: int, limit: int | None) -> list[tuple[str, float, str]]:
        where_loose = self._where + _Clause(" AND ") + self._loose
        if self._by_date:
            # an exact match scores as in the exact tier, the rest by their words
            found = self._page_of(_Clause("SELECT path, CASE WHEN ") + self._strict + _Clause(" THEN ")
                                 + self._strict_score + _Clause(" ELSE ") + self._loose_score
                                 + _Clause(" END AS score, ") + self._strict
                                 + _Clause(f" AS exact, date_key FROM {DOCUMENTS} WHERE ") + where_loose,
                                 f"date_key DESC, score DESC, {phrases.BY_PATH}", offset, limit)
            if found:
                self._first_rows = int(found[0][-1])
            return [(path, float(score), "exact" if exact else "words") for path, score, exact, _, _ in found]
        found = self._page_of(_Clause("SELECT path, ") + self._strict_score + _Clause(f" AS score FROM {DOCUMENTS} WHERE ")
                             + self._where + _Clause(" AND ") + self._strict, f"score DESC, {phrases.BY_PATH}", offset, limit)
        if found:
            self._first_rows = int(found[0][-1])
        page = [(path, float(score), "exact") for path, score, _ in found]
        if (limit is None or len(page) < limit) and self._count_words():
            first = self._count_first()
            words = self._page_of(_Clause("SELECT path, ") + self._loose_score + _Clause(f" AS score FROM {DOCUMENTS} WHERE ")
                                 + where_loose + _Clause(" AND NOT ") + self._strict, f"score DESC, {phrases.BY_PATH}",
                                 max(0, offset - first), None if limit is None else limit - len(page))
            page += [(path, float(score), "words") for path, score, _ in words]
        return page


# --- reading -------------------------------------------------------------------------------------


class PostgresIndex(SpeechIndex[str]):
    """Read access: documents are identified by path; every request takes a pooled connection."""

    location: str

    def __init__(self, url: str) -> None:
        super().__init__()  # rankings from the positional postings weigh 13 bytes a match (CACHED_ROWS bounds them)
        self.location = url
        self._lock = contextlib.nullcontext()  # the database serialises what needs it; requests run at once
        self._versions = PerCommit()
        self._phrases = phrases.Phrases(CHUNKED_META, META)
        from psycopg_pool import ConnectionPool

        with _errors(url):
            self._pool = ConnectionPool(url, min_size=1, max_size=POOL_SIZE,
                                        kwargs={"autocommit": True, "options": READER_OPTIONS},
                                        open=False, name="archive", timeout=15)
            try:
                self._pool.open(wait=True, timeout=15)
            except Exception as error:
                self._pool.close()
                raise _connection_error(url, error) from None
            try:
                with self._pool.connection() as connection:
                    _check_readable(connection, url)
            except BaseException:
                self._pool.close()  # its threads would otherwise keep reconnecting
                raise

    def close(self) -> None:
        self._pool.close()

    def _errors(self) -> contextlib.AbstractContextManager[None]:
        return _errors(self.location)

    def _rows(self, query: str | _Clause, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if isinstance(query, _Clause):
            params = query.params
            query = query.sql
        with self._errors(), self._pool.connection() as connection:
            rows: list[tuple[Any, ...]] = connection.execute(query, params).fetchall()
            return rows

    def _meta(self, key: str) -> Any:
        rows = self._rows(f"SELECT value FROM {META} WHERE key = %s", (key,))
        return rows[0][0] if rows else None

    def _generation(self) -> tuple[Any, bool]:
        """(the generation, whether every document is in the positional postings): one round trip."""
        generation, chunked = self._rows(self._phrases.state_query)[0]  # scalar subqueries: always one row
        return generation, chunked is True

    def _rank(self, node: ql.Node, filters: Filters, generation: Any = None) -> Ranking[str]:
        with self._phrases.turn:
            found = self._phrases.rank(self._pool.connection, node, filters, self._paths_at,
                                       generation if generation is not None else self._generation())
        if found is not None:
            return found
        strict, strict_score = _compile(node, loose=False)
        loose, loose_score = _compile(node, loose=True)
        return _PagedRanking(self._rows, _filters(filters), strict, strict_score, loose, loose_score,
                             by_date=filters.sort == "date")

    def warm(self) -> None:
        """Read the positional postings' view now, not in a server's first search."""
        with self._errors(), self._pool.connection() as connection:
            self._phrases.warm(connection)

    def _paths_at(self, places: list[tuple[int, int]]) -> dict[tuple[int, int], str]:
        """The paths of documents by where their texts stand in the positional postings."""
        rows = self._rows(f"SELECT c.chunk, c.ordinal, c.path FROM unnest(%s::int[], %s::int[]) AS u(chunk, ordinal) "
                          f"JOIN {phrases.CHUNKED} c ON c.chunk = u.chunk AND c.ordinal = u.ordinal",
                          (phrases.array_literal(c for c, _ in places), phrases.array_literal(o for _, o in places)))
        return {(chunk, ordinal): path for chunk, ordinal, path in rows}

    def _texts(self, keys: Sequence[str]) -> list[tuple[Document, DocumentText]]:
        if not keys:
            return []
        rows = self._rows(f"SELECT path, record, normalised FROM {DOCUMENTS} WHERE path = ANY(%s)", (list(keys),))
        found = {path: _with_text(record, normalised) for path, record, normalised in rows}
        return [found[key] for key in keys if key in found]

    def _counted(self, node: ql.Node, filters: Filters, found: Sequence[str]) -> list[tuple[dict[str, Any], int]]:
        loose, _ = _compile(node, loose=True)
        counts = _join([_count(needle) for needle in found], " + ") if found else ZERO
        rows = self._rows(_Clause("SELECT summary, ") + counts + _Clause(f" FROM {DOCUMENTS} WHERE ")
                          + _filters(filters) + _Clause(" AND ") + loose + _Clause(f" ORDER BY date_key DESC, {phrases.BY_PATH}"))
        return [(summary, int(count)) for summary, count in rows]

    def _document(self, key: str) -> Document | None:
        rows = self._rows(f"SELECT record FROM {DOCUMENTS} WHERE kind = 'doc' AND (doc_id = %s OR path = %s) LIMIT 1",
                          (key, key))
        return Document.from_record(rows[0][0]) if rows else None

    def _summaries(self, kind: str = "doc") -> list[dict[str, Any]]:
        return [row[0] for row in self._rows(f"SELECT summary FROM {DOCUMENTS} WHERE kind = %s", (kind,))]

    def _version_entries(self, generation: Any = None) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = self._versions.get(
            generation if generation is not None else self._generation(), lambda: self._meta("version_groups") or {})
        return found

    def _counted_stats(self) -> dict[str, Any]:
        """Counted by the database, each listing read once: reading every listing into a web process
        held 350 MB at 100,000 speeches, and kept most of it."""
        counted: list[Counter[Any]] = [Counter(), Counter(), Counter()]  # by year, speaker, format
        with self._errors():
            for grouping, year, speaker, file_format, count in self._rows(
                    "SELECT GROUPING(year, speaker, format), year, speaker, format, count(*) FROM (SELECT "
                    "coalesce(nullif(left(s.date, 4), ''), 'unknown') AS year, "
                    "coalesce(nullif(s.speaker, ''), 'unknown') AS speaker, s.format AS format "
                    f"FROM {DOCUMENTS}, json_to_record(summary) AS s(date text, speaker text, format text) "
                    "WHERE kind = 'doc') AS listed GROUP BY GROUPING SETS ((year), (speaker), (format))"):
                # GROUPING sets a bit (year 4, speaker 2, format 1) for each column not grouped by
                kind, value = {3: (0, year), 5: (1, speaker), 6: (2, file_format)}[grouping]
                counted[kind][value] = count
            failed = self._rows(f"SELECT count(*) FROM {DOCUMENTS} WHERE kind = 'failed'")[0][0]
            updated = self.last_commit()
        return stats_of(counted[0], counted[1], counted[2], failed, updated)

    def last_commit(self) -> str | None:
        committed: str | None = self._meta("committed")
        return committed

    def indexed_folders(self) -> list[str]:
        return self._meta("folders") or []

    def holding(self, needle: str) -> list[str]:
        with self._errors(), self._phrases.turn, self._pool.connection() as connection:
            places = self._phrases.holding(connection, needle)
        if places is not None:
            return list(self._paths_at(places).values()) if places else []
        return [row[0] for row in self._rows(_Clause("SELECT path") + _documents_holding(needle))]

    def documents_holding(self, needles: Sequence[str]) -> dict[str, int]:
        """From the positional postings, all at once and no paths read (a variant "did you mean"
        weighs may stand in thousands of speeches)."""
        if not needles:
            return {}
        with self._errors(), self._phrases.turn, self._pool.connection() as connection:
            counted = self._phrases.documents_holding(connection, list(needles))
        if counted is not None:
            return counted
        return {needle: int(self._rows(_Clause("SELECT count(*)") + _documents_holding(needle))[0][0])
                for needle in needles}

    def normalised_texts(self, paths: list[str]) -> dict[str, str]:
        return dict(self._rows(f"SELECT path, normalised FROM {DOCUMENTS} WHERE kind = 'doc' AND path = ANY(%s)",
                               (list(paths),)))

    def variants(self, pattern: re.Pattern[str], anchor: str, limit: int = 20_000, reach: int = 32) -> dict[str, set[str]]:
        """`pattern` matched around `limit` occurrences of the anchor (from the positional postings:
        a few dozen characters each), or in whole texts holding it while they are not chunked."""
        found: dict[str, set[str]] = {}
        with self._errors(), self._phrases.turn, self._pool.connection() as connection:
            windows = self._phrases.windows(connection, anchor, reach, limit)
        if windows is not None:
            paths = self._paths_at(list(dict.fromkeys(place for place, _ in windows)))
            add_variants(found, pattern, [(place, text) for place, text in windows if place in paths],  # else removed
                         paths.__getitem__)
            return found
        rows = self._rows(_Clause(f"SELECT path, normalised FROM {DOCUMENTS} WHERE kind = 'doc' AND ")
                          + _holds(anchor) + _Clause(" LIMIT %s", [limit]))
        for path, text in rows:
            for match in pattern.finditer(text):
                found.setdefault(match.group(0), set()).add(path)
        return found

    def sketches(self) -> tuple[dict[str, bytes], dict[str, dict[str, Any]]]:
        sketches: dict[str, bytes] = {}
        listing: dict[str, dict[str, Any]] = {}
        fields = ", ".join(f"summary->>'{field}'" for field in VERSION_FIELDS)
        with self._errors(), self._pool.connection() as connection:  # row by row: no list of them all
            for path, sketch, *values in connection.execute(
                    f"SELECT path, sketch, {fields} FROM {DOCUMENTS} WHERE kind = 'doc'"):
                sketches[path] = bytes(sketch)
                listing[path] = dict(zip(VERSION_FIELDS, values, strict=True))
        return sketches, listing

    def text_of(self, path: str) -> tuple[Document, DocumentText] | None:
        rows = self._rows(f"SELECT record, normalised FROM {DOCUMENTS} WHERE kind = 'doc' AND path = %s", (path,))
        return _with_text(*rows[0]) if rows else None


def _with_text(record: dict[str, Any], normalised: str) -> tuple[Document, DocumentText]:
    document = Document.from_record(record)
    return document, DocumentText.of(document, lambda: normalised)


# --- writing -------------------------------------------------------------------------------------


class PostgresUpdate(IndexUpdate):
    """The one writer: holds the advisory lock on its own connection for as long as it is open."""

    location: str

    def __init__(self, url: str) -> None:
        self.location = url
        self._rows: list[tuple[Any, ...]] = []
        self._deleted: list[str] = []
        self._unchunked = False  # documents were written that have no chunked row yet
        self.chunk_units = phrases.trigrams.CHUNK_UNITS
        # a checkpoint writes about one chunk (a text's units are its characters, and a NUL): 2,000
        # speeches of 3,000 characters made chunks of three quarters, a third more of them to search
        self.checkpoint_chars = self.chunk_units * 15 // 16
        self._connection = _connect(url, autocommit=False)
        try:
            with _errors(url):
                self._take_lock()
                self.rebuilt = self._prepare_schema()
                self.manifest = self._read_manifest()
                # an index a killed run of an older version left, or one just upgraded: this run chunks it
                self._unchunked = self._connection.execute(
                    f"SELECT value FROM {META} WHERE key = %s", (CHUNKED_META,)).fetchone() != (True,)
                self._connection.commit()
        except BaseException:
            self._connection.close()
            raise

    def _take_lock(self) -> None:
        taken = self._connection.execute("SELECT pg_try_advisory_lock(%s)", (WRITER_LOCK,)).fetchone()[0]
        self._connection.commit()
        if not taken:
            raise IndexBusy("another `archive index` run is updating this index; wait for it to finish "
                            "(searching works meanwhile)")

    def _prepare_schema(self) -> bool:
        """Create the tables (or migrate, or rebuild those of another version); whether it rebuilt."""
        connection = self._connection
        ctype, encoding = connection.execute(
            "SELECT datctype, pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()").fetchone()
        chinese = encoding == "UTF8" and connection.execute("SELECT '讲话稿' ~ '^\\w+$'").fetchone()[0]
        if not chinese:
            connection.rollback()
            raise ArchiveError(f"the database at {_shown(self.location)} (character type {ctype}, encoding {encoding}) "
                               "treats Chinese characters as punctuation, not letters: "
                               f"create the database with `{CREATE_DATABASE}` (or an ICU locale)")
        connection.execute(f"CREATE TABLE IF NOT EXISTS {VERSION} (version integer NOT NULL)")
        version = _stored_version(connection)
        rebuilt = False
        while version is not None and version != SCHEMA_VERSION and version in MIGRATIONS:
            connection.execute(MIGRATIONS[version])
            version += 1
            connection.execute(f"UPDATE {VERSION} SET version = %s", (version,))
        if version is not None and version != SCHEMA_VERSION:
            connection.execute(f"DROP TABLE IF EXISTS {DOCUMENTS}; {phrases.DROP}")
            connection.execute(f"DELETE FROM {META} WHERE key <> 'folders'")
            connection.execute(f"DELETE FROM {VERSION}")
            version, rebuilt = None, True
        if version is None:
            connection.execute(f"DROP TABLE IF EXISTS {DOCUMENTS}; {phrases.DROP}")  # a rebuild's leftovers
            connection.execute(_CREATE)
            connection.execute(f"INSERT INTO {VERSION} (version) VALUES (%s)", (SCHEMA_VERSION,))
            self._set_meta("generation", time.time_ns() // 1000)  # never one a reader saw before a rebuild
        connection.commit()
        return rebuilt

    def _read_manifest(self) -> dict[str, ManifestEntry]:
        rows = self._connection.execute(
            f"SELECT path, kind, sha256, size, mtime_ns, extractor FROM {DOCUMENTS}").fetchall()
        self._connection.commit()
        return {path: ManifestEntry(kind, sha256, size, mtime_ns, extractor)
                for path, kind, sha256, size, mtime_ns, extractor in rows}

    def _set_meta(self, key: str, value: Any) -> None:
        from psycopg.types.json import Json

        self._connection.execute(
            f"INSERT INTO {META} (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            (key, Json(value)))

    def document_by_content(self, sha256: str, file_format: str) -> Document | None:
        with _errors(self.location):
            for (record,) in self._connection.execute(
                    f"SELECT record FROM {DOCUMENTS} WHERE sha256 = %s AND kind = 'doc'", (sha256,)).fetchall():
                if record.get("format") == file_format:
                    return Document.from_record(record)
        return None

    def failure_reasons(self) -> dict[str, str]:
        with _errors(self.location):
            return dict(self._connection.execute(
                f"SELECT path, record->>'reason' FROM {DOCUMENTS} WHERE kind = 'failed'").fetchall())

    def put(self, document: Document, normalised: str, *, mtime_ns: int, sketch: bytes = b"") -> None:
        from psycopg.types.json import Json

        normalised = normalised.replace("\x00", " ")  # PostgreSQL text holds no NUL; one for one keeps offsets
        speaker_role = "|".join(v for v in (document.speaker, document.role) if v)
        self._add((document.path, document.id, "doc", document.sha256, document.size, mtime_ns, document.extractor,
                   normalised, normalise(document.title or ""), normalise(speaker_role), date_key(document.date),
                   Json(document.to_record()), Json(document.listing()), sketch))

    def put_failed(self, path: str, *, size: int, mtime_ns: int, sha256: str, extractor: int, reason: str) -> None:
        from psycopg.types.json import Json

        failure = {"path": path, "reason": reason}
        self._add((path, doc_id(path), "failed", sha256, size, mtime_ns, extractor, "", "", "", 0,
                   Json(failure), Json(failure), b""))

    def _add(self, row: tuple[Any, ...]) -> None:
        self._rows.append(row)
        if len(self._rows) >= BATCH_ROWS:
            self._flush()

    def delete(self, path: str) -> None:
        self._deleted.append(path)

    def _flush(self) -> None:
        with _errors(self.location), self._connection.cursor() as cursor:
            if self._deleted or self._rows:
                phrases.forget(self._connection, self._deleted + [row[0] for row in self._rows])
                self._unchunked = True
            if self._deleted:
                cursor.execute(f"DELETE FROM {DOCUMENTS} WHERE path = ANY(%s)", (self._deleted,))
                self._deleted = []
            if self._rows:
                cursor.executemany(_UPSERT, self._rows)
                self._rows = []

    def _commit(self) -> None:
        """Chunk what was written (readers find every committed document in the postings), and commit."""
        self._flush()
        with _errors(self.location):
            changed = self._unchunked
            if changed:
                phrases.chunk_documents(self._connection, DOCUMENTS, self.chunk_units)
                self._set_meta(CHUNKED_META, True)
                self._unchunked = False
            generation = self._connection.execute(
                f"UPDATE {META} SET value = to_json(value::text::bigint + 1) WHERE key = 'generation' RETURNING value"
            ).fetchone()[0]
            phrases.save_order(self._connection, generation, changed)
            self._set_meta("committed", dt.datetime.now().isoformat(timespec="seconds"))
            self._connection.commit()

    def checkpoint(self) -> None:
        self._commit()

    def commit(self, folders: Sequence[str] = (), then: Callable[[], None] | None = None) -> None:
        with _errors(self.location):
            known = self._connection.execute(f"SELECT value FROM {META} WHERE key = 'folders'").fetchone()
            known_folders = known[0] if known else []
            self._set_meta("folders", known_folders + [f for f in folders if f not in known_folders])
        self._commit()
        if then is not None:
            then()

    def cancel(self) -> None:
        self._rows, self._deleted = [], []
        with contextlib.suppress(Exception):
            self._connection.rollback()
        self.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._connection.close()  # the server lets go of the advisory lock with the session

    def has_version_groups(self) -> bool:
        with _errors(self.location):
            found = self._connection.execute(f"SELECT 1 FROM {META} WHERE key = 'version_groups'").fetchone()
            self._connection.commit()
            return found is not None

    def save_version_groups(self, groups: dict[str, dict[str, Any]]) -> None:
        with _errors(self.location):
            self._set_meta("version_groups", groups)
        self._commit()


# --- the index as a whole ------------------------------------------------------------------------


def verify(url: str) -> int:
    """Read every row once (the server checks its own pages as it reads them); the number of rows."""
    with _errors(url), _connect(url, autocommit=True) as connection:
        _check_readable(connection, url)
        count, _ = connection.execute(
            f"SELECT count(*), sum(length(record::text) + length(summary::text) + length(normalised)) FROM {DOCUMENTS}"
        ).fetchone()
        connection.execute(f"SELECT count(*), sum(length(starts) + length(sample) + length(positions) + length(pair_sample) + length(pair_documents) + length(pair_counts) + length(text)) "
                           f"FROM {phrases.CHUNKS}").fetchone()
        connection.execute(f"SELECT count(*), sum(length(keys) + length(offsets)) FROM {phrases.BLOCKS}").fetchone()
        return int(count)


def remove_index(url: str) -> None:
    """Drop the documents (for `--rebuild`); the folder list stays. Refused while a run writes."""
    with _errors(url), _connect(url, autocommit=True) as connection:
        if not connection.execute("SELECT pg_try_advisory_lock(%s)", (WRITER_LOCK,)).fetchone()[0]:
            raise IndexBusy("another `archive index` run is updating this index; wait for it to finish")
        connection.execute(f"DROP TABLE IF EXISTS {DOCUMENTS}; {phrases.DROP}")
        if _stored_version(connection) is not None:
            connection.execute(f"DELETE FROM {VERSION}")
        if connection.execute("SELECT to_regclass(%s) IS NOT NULL", (META,)).fetchone()[0]:
            connection.execute(f"DELETE FROM {META} WHERE key <> 'folders'")


def snapshot(url: str) -> Snapshot | None:
    """The manifest as the last commit left it, read in one query (None: no index of this version)."""
    with _errors(url), _connect(url, autocommit=True) as connection:
        if _stored_version(connection) != SCHEMA_VERSION:
            return None
        if not connection.execute("SELECT pg_try_advisory_lock(%s)", (WRITER_LOCK,)).fetchone()[0]:
            return None  # a run is writing: open_update says so
        entries, reasons = {}, {}
        for path, kind, sha256, size, mtime_ns, extractor, reason in connection.execute(
                f"SELECT path, kind, sha256, size, mtime_ns, extractor, "
                f"CASE WHEN kind = 'failed' THEN record->>'reason' END FROM {DOCUMENTS}"):
            entries[path] = ManifestEntry(kind, sha256, size, mtime_ns, extractor)
            if reason is not None:
                reasons[path] = reason
        meta = dict(connection.execute(f"SELECT key, value FROM {META} WHERE key IN ('folders', 'version_groups', %s)",
                                       (CHUNKED_META,)))
        if meta.get(CHUNKED_META) is not True:
            return None  # a run left texts unchunked (killed, or an upgrade): the next one chunks them
        return Snapshot(entries, reasons, meta.get("folders") or [], "version_groups" in meta)


def indexed_folders(url: str) -> list[str]:
    with _errors(url), _connect(url, autocommit=True) as connection:
        if not connection.execute("SELECT to_regclass(%s) IS NOT NULL", (META,)).fetchone()[0]:
            return []
        found = connection.execute(f"SELECT value FROM {META} WHERE key = 'folders'").fetchone()
        return found[0] if found else []

