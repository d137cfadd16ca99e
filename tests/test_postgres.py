"""What only the PostgreSQL engine has: the database's character type, its schema version, several
servers on one database, a server that is not there. (Search, incremental runs, kills and bad files
run on both engines in their own modules.)"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg

from archive.ingest.pipeline import run_index
from archive.search import open_index, postgres, state_dir
from tests import factory, postgres_server

LINES = ["在全市安全生产工作会议上的讲话", "同志们：", "我们要务实奉献，坚持安全第一、预防为主。"]


def test_a_database_with_the_c_character_type_is_refused_with_how_to_make_one(source: Path, cli) -> None:
    url = postgres_server.new_database(locale="C")
    try:
        factory.write_docx(source / "a.docx", LINES)
        result = cli("index", str(source), "--index", url, expect=1)
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert "Chinese characters" in result.stderr and "createdb" in result.stderr and "C.UTF-8" in result.stderr
    finally:
        postgres_server.drop_database(url)


def test_an_index_of_another_schema_version_is_rebuilt_not_misread(source: Path, database: str, cli) -> None:
    path = factory.write_docx(source / "a.docx", LINES)
    run_index([source], database)
    with psycopg.connect(database, autocommit=True) as connection:
        connection.execute(f"UPDATE {postgres.VERSION} SET version = 0")
    result = cli("search", '"务实奉献"', "--index", database, expect=1)
    assert "another version" in result.stderr and "archive index" in result.stderr
    report = cli.json("index", str(source), "--index", database)
    assert report["rebuilt"] is True and report["added"] == 1
    with open_index(database) as archive:
        assert [hit.document.path for hit in archive.search('"务实奉献"').hits] == [str(path)]


def test_check_rebuild_and_the_environment_variable(source: Path, database: str, cli, monkeypatch) -> None:
    factory.write_docx(source / "a.docx", LINES)
    factory.write_docx(source / "b.docx", ["另一篇讲话", "乡村振兴"])
    (source / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    monkeypatch.setenv("ARCHIVE_INDEX", database)
    runner = cli.runner
    from archive.cli import app

    assert runner.invoke(app, ["index", str(source)]).exit_code == 0
    checked = runner.invoke(app, ["index", "--check", "--json"])
    assert checked.exit_code == 0 and '"documents": 3' in checked.stdout
    rebuilt = runner.invoke(app, ["index", "--rebuild", "--json"])  # the folders are remembered in the database
    assert rebuilt.exit_code == 0 and '"added": 2' in rebuilt.stdout
    listed = runner.invoke(app, ["list", "--json"])
    assert listed.exit_code == 0 and listed.stdout.count('"path"') == 2


def test_an_unreachable_server_is_one_line_that_says_what_to_check(cli, tmp_path: Path) -> None:
    url = f"postgresql://nobody@/nothing?host={tmp_path}"  # no server listens there
    for command in (["search", "x"], ["list"], ["stats"], ["index", str(tmp_path)]):
        result = cli(*command, "--index", url, expect=1)
        assert "Traceback" not in result.stderr and "cannot reach the database" in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_a_database_with_no_index_says_to_run_index(database: str, cli) -> None:
    result = cli("search", "x", "--index", database, expect=1)
    assert "no index" in result.stderr and "archive index" in result.stderr


def test_the_ocr_cache_and_watch_status_live_on_this_machine_not_in_the_database(database: str) -> None:
    folder = state_dir(database)
    assert folder.is_absolute() and "postgres-" in folder.name and "***" not in str(folder)
    assert state_dir("postgresql://u:secret@h/db") == state_dir("postgresql://u:other@h/db")  # no password in it


def _serve(database: str) -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "archive", "serve", "--index", database, "--port", str(port),
                               "--workers", "1"], stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while True:
        try:
            httpx.get(f"{base}/api/stats", timeout=5)
            return server, base
        except httpx.HTTPError:
            assert time.time() < deadline and server.poll() is None, server.stderr.read() if server.poll() else ""
            time.sleep(0.2)


def test_two_servers_on_one_database_see_a_new_index_run_at_once(source: Path, database: str) -> None:
    factory.write_docx(source / "a.docx", LINES)
    run_index([source], database)
    servers = [_serve(database), _serve(database)]
    try:
        for _, base in servers:
            assert httpx.get(f"{base}/api/search", params={"q": '"乡村振兴"'}, timeout=10).json()["total"] == 0
        added = factory.write_docx(source / "b.docx", ["在乡村振兴工作会议上的讲话", "全面推进乡村振兴。"])
        os.remove(source / "a.docx")
        run_index([source], database)
        for _, base in servers:
            found = httpx.get(f"{base}/api/search", params={"q": '"乡村振兴"'}, timeout=10).json()
            assert [hit["path"] for hit in found["hits"]] == [str(added)]
            assert httpx.get(f"{base}/api/search", params={"q": '"务实奉献"'}, timeout=10).json()["total"] == 0
            assert httpx.get(f"{base}/api/stats", timeout=10).json()["documents"] == 1
    finally:
        for server, _ in servers:
            server.terminate()
            server.wait(timeout=15)


def test_readers_keep_answering_while_a_writer_holds_the_index(source: Path, database: str) -> None:
    factory.write_docx(source / "a.docx", LINES)
    run_index([source], database)
    from archive.search import open_update

    with open_update(database) as writer, open_index(database) as archive:
        writer.delete(str(source / "a.docx"))
        writer.checkpoint()  # committed: readers see it at once
        assert archive.search('"务实奉献"').total == 0
        writer.put_failed(str(source / "b.docx"), size=1, mtime_ns=1, sha256="0", extractor=1, reason="x")
        assert archive.stats()["failed"] == 0  # not committed yet: readers do not see it
        writer.cancel()
    with open_index(database) as archive:
        assert archive.stats()["failed"] == 0


def test_an_index_of_an_older_schema_version_is_migrated_in_place(source: Path, database: str) -> None:
    """Version 1 (compressed texts, bigrams only, a GIN index of them) is brought up to date in SQL,
    nothing read again."""
    factory.write_docx(source / "a.docx", LINES)
    run_index([source], database)
    table = postgres.DOCUMENTS
    with psycopg.connect(database, autocommit=True) as connection:  # back to version 1's layout
        connection.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        connection.execute(f"UPDATE {postgres.VERSION} SET version = 1")
        connection.execute(f"ALTER TABLE {table} ALTER COLUMN normalised SET STORAGE EXTENDED")
        connection.execute(f"ALTER TABLE {table} ADD COLUMN bigrams text[] NOT NULL DEFAULT '{{}}'")
        connection.execute(f"UPDATE {table} SET bigrams = ARRAY(SELECT DISTINCT substr(normalised, i, 2) FROM "
                           "generate_series(1, length(normalised) - 1) AS i)")
        connection.execute(f"CREATE INDEX {table}_bigrams ON {table} USING gin (bigrams)")
        connection.execute(f"CREATE INDEX {table}_text ON {table} USING gin (normalised gin_trgm_ops)")
    report = run_index([source], database)
    assert (report.rebuilt, report.unchanged, report.added) == (False, 1, 0)  # nothing read again
    with psycopg.connect(database, autocommit=True) as connection:
        storage = connection.execute("SELECT attstorage FROM pg_attribute WHERE attrelid = %s::regclass "
                                     "AND attname = 'normalised'", (table,)).fetchone()[0]
        assert storage == "e"
        assert connection.execute(f"SELECT version FROM {postgres.VERSION}").fetchone()[0] == postgres.SCHEMA_VERSION
        assert _columns(connection, table) & {"bigrams", "grams"} == set()  # 5 -> 6 drops them
        assert _indexes_of(connection, table) == {f"{table}_pkey", f"{table}_doc_id_key", f"{table}_date",
                                                  f"{table}_sha256", f"{table}_kind"}
        # version 4's positions (uint32) are rewritten in version 5's layout: chunked again
        assert connection.execute("SELECT to_regclass('archive_chunks') IS NOT NULL AND EXISTS (SELECT 1 FROM "
                                  "pg_attribute WHERE attrelid = 'archive_chunks'::regclass AND attname = 'groups')"
                                  ).fetchone()[0]
        assert connection.execute(f"SELECT value FROM {postgres.META} WHERE key = %s",
                                  (postgres.CHUNKED_META,)).fetchone()[0] is True
    with open_index(database) as archive:
        assert archive.search('"奉"').total == 1 and archive.search('"奉献"').total == 1
        assert archive.search('"务实奉献"').total == 1


def _columns(connection: psycopg.Connection, table: str) -> set[str]:
    return {row[0] for row in connection.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped", (table,))}


def _indexes_of(connection: psycopg.Connection, table: str) -> set[str]:
    return {row[0] for row in connection.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", (table,))}


def test_version_5_loses_its_gin_indexes_and_keeps_its_chunks_and_speakers_come_from_them(
        source: Path, database: str) -> None:
    """5 -> 6: the body's GIN indexes and `grams` go, archive_chunked gains each document's speaker
    and title in SQL (no chunk written again), and speaker:/title: are then answered by the postings."""
    factory.write_docx(source / "a.docx", ["在全市安全生产工作会议上的讲话", "张三", "同志们：", "我们要务实奉献。"])
    factory.write_docx(source / "b.docx", ["在全市营商环境大会上的讲话", "李四", "同志们：", "务实奉献是传统。"])
    run_index([source], database)
    table, chunked = postgres.DOCUMENTS, postgres.phrases.CHUNKED
    with psycopg.connect(database, autocommit=True) as connection:
        people = dict(connection.execute(f"SELECT path, people FROM {chunked}").fetchall())
        assert all(people.values()) and len(set(people.values())) == 2  # the generated speakers, one each
        connection.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        connection.execute(f"UPDATE {postgres.VERSION} SET version = 5")  # back to version 5's layout
        connection.execute(f"ALTER TABLE {chunked} DROP COLUMN people, DROP COLUMN title")
        connection.execute(f"ALTER TABLE {table} ADD COLUMN grams text[] NOT NULL DEFAULT '{{}}'")
        connection.execute(f"CREATE INDEX {table}_grams ON {table} USING gin (grams)")
        connection.execute(f"CREATE INDEX {table}_text ON {table} USING gin (normalised gin_trgm_ops)")
        chunks = connection.execute("SELECT array_agg(id ORDER BY id) FROM archive_chunks").fetchone()[0]
    report = run_index([source], database)
    assert (report.rebuilt, report.unchanged, report.added) == (False, 2, 0)
    with psycopg.connect(database, autocommit=True) as connection:
        assert "grams" not in _columns(connection, table)
        assert {f"{table}_text", f"{table}_grams"} & _indexes_of(connection, table) == set()
        assert connection.execute("SELECT array_agg(id ORDER BY id) FROM archive_chunks").fetchone()[0] == chunks
        assert dict(connection.execute(f"SELECT path, people FROM {chunked}").fetchall()) == people
        generation = connection.execute(f"SELECT value FROM {postgres.META} WHERE key = 'generation'").fetchone()[0]
        assert connection.execute("SELECT generation FROM archive_order").fetchone() == (generation,)  # sorted once
    from archive.search import querylang as ql
    from archive.search.engine import Filters

    a_speaker = people[str(source / "a.docx")].split("|")[0]
    with open_index(database) as archive:
        for query, filters in ((f'"务实奉献" speaker:{a_speaker}', Filters()), ("title:营商", Filters()),
                               ('"务实奉献"', Filters(speaker=a_speaker))):
            ranking = archive._phrases.rank(archive._pool.connection, ql.parse(query), filters, archive._paths_at,
                                            archive._generation())
            assert ranking is not None, query  # the postings answer it, not SQL
        assert [h.document.path for h in archive.search(f'"务实奉献" speaker:{a_speaker}').hits] == [str(source / "a.docx")]
        assert [h.document.path for h in archive.search("title:营商").hits] == [str(source / "b.docx")]
        assert [h.document.path for h in archive.search('"务实奉献" -title:营商').hits] == [str(source / "a.docx")]


def test_an_index_left_unchunked_is_searched_exactly_in_its_texts_until_the_next_run_chunks_it(
        source: Path, database: str) -> None:
    """An older version's run killed after a checkpoint left texts without chunked rows: SQL reads
    the texts (no GIN index), exactly, for phrases of any length and speaker:; the next run, though
    nothing changed, chunks them."""
    for number in range(3):
        factory.write_docx(source / f"{number}.docx", [*LINES, f"第{number}篇。"])
    run_index([source], database)
    with psycopg.connect(database, autocommit=True) as connection:
        connection.execute("DELETE FROM archive_chunked")
        connection.execute(f"UPDATE {postgres.META} SET value = 'false' WHERE key = %s", (postgres.CHUNKED_META,))
    with open_index(database) as archive:
        assert archive.search('"务实奉献"').total == 3
        assert archive.search('"第1篇"').total == 1
        assert archive.search('"篇"').total == 3 and archive.search('"篇。"').total == 3
        assert archive.search('"第1篇" speaker:张三').total == 0
        assert archive._phrases._view is None  # SQL answered
    run_index([source], database)
    with psycopg.connect(database, autocommit=True) as connection:
        assert connection.execute("SELECT count(*) FROM archive_chunked").fetchone()[0] == 3
    with open_index(database) as archive:
        assert archive.search('"务实奉献"').total == 3 and archive.search('"篇"').total == 3
        assert archive._phrases._view is not None and archive._phrases._view.documents == 3
