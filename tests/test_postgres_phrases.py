"""The PostgreSQL engine's positional postings (archive.search.postgres_phrases) answer exactly what
its SQL answers (the same documents, scores, tiers and order, page by page), before and after
documents change, while a run's checkpoints leave texts unchunked, and as chunks are rebuilt."""

from __future__ import annotations

import random
from pathlib import Path

import psycopg

from archive.ingest.pipeline import run_index
from archive.search import open_index, open_update, postgres, trigrams
from archive.search.engine import Filters
from tests import factory


def _answers(archive, query: str, filters: Filters, *, postings: bool) -> list[tuple[int, list]]:
    """(total, every hit's (path, score, tier)) as the postings, or SQL alone, rank them."""
    real = archive._phrases.rank
    answered = []
    archive._phrases.rank = lambda *args, **kwargs: answered.append(real(*args, **kwargs)) or answered[-1] \
        if postings else None
    try:
        archive._ranked = type(archive._ranked)(4)
        pages = [archive.search(query, filters=filters, limit=limit, offset=offset, max_passages=0)
                 for offset, limit in ((1, 2), (0, 1), (4, 3), (0, None))]  # a tier ordered as far as asked
        assert not postings or answered[0] is not None, "the postings did not answer"
        return [pages[-1].total] + [[(h.document.path, round(h.score, 9), h.tier) for h in page.hits] for page in pages]
    finally:
        archive._phrases.rank = real


def _queries(rng: random.Random, texts: list[str]) -> list[str]:
    """Phrases cut from the texts (one character to a dozen), words, and the query language around them."""
    def cut() -> str:
        text = rng.choice(texts)
        start = rng.randrange(max(1, len(text) - 12))
        return text[start : start + rng.choice([1, 2, 3, 4, 6, 9, 12])].strip() or "的"

    made = []
    for _ in range(40):
        a, b = cut(), factory.office_phrase(rng)
        made += [f'"{a}"', f'"{b}"', b, f'"{a}" -"{cut()}"', f'"{a}" OR "{cut()}"', f'{b} year:{rng.choice(["2019", "2021"])}',
                 f'-"{a}"', f'"{a}" {cut()}']
    return [q for q in made if '""' not in q]


def test_the_postings_rank_as_sql_does(tmp_path: Path, database: str, monkeypatch) -> None:
    """Random queries of every kind over chunks of a few documents each, by relevance and by date,
    through documents changed and removed (their old texts stay in their chunks, unreferenced)."""
    monkeypatch.setattr(trigrams, "CHUNK_UNITS", 3000)
    from archive.search.postgres_phrases import _Ordered

    monkeypatch.setattr(_Ordered, "AT_LEAST", 1)  # pages of a tier not yet ordered in full
    folder = tmp_path / "speeches"
    made = factory.make_folder(folder, 24, chars=700)
    run_index([folder], database)
    rng = random.Random(5)
    with open_index(database) as archive:  # one reader throughout: what it keeps of a commit is not used after it
        for round_number in range(2):
            texts = list(archive.normalised_texts([str(p) for p, _ in made if p.exists()]).values())
            queries = _queries(rng, texts)[:: 2 + round_number]
            assert len(queries) > 100
            for query in queries:
                for filters in (Filters(), Filters(sort="date"), Filters(since="2020-01-01")):
                    expected = _answers(archive, query, filters, postings=False)
                    assert _answers(archive, query, filters, postings=True) == expected, (query, filters)
            for path, _ in made[round_number::5]:  # change some, remove others
                if path.suffix == ".docx" and path.exists():
                    factory.write_docx(path, factory.speech(rng, 500).lines())
                elif path.exists():
                    path.unlink()
            run_index([folder], database)
    with psycopg.connect(database) as connection:
        chunks = connection.execute("SELECT count(*) FROM archive_chunks").fetchone()[0]
        unreferenced = connection.execute(
            "SELECT count(*) FROM archive_chunks k WHERE (SELECT count(*) FROM archive_chunked c WHERE c.chunk = k.id) * 2 "
            "< k.documents").fetchone()[0]
    assert chunks > 3 and unreferenced == 0


def test_a_run_checkpoints_about_a_chunk_at_a_time(tmp_path: Path, database: str, monkeypatch) -> None:
    """Each checkpoint chunks what it wrote, so the PostgreSQL writer checkpoints by a chunk's worth of
    text, not the pipeline's count of documents (2,000 speeches made chunks three quarters full, a
    third more of them for every search to visit)."""
    from archive.ingest import pipeline

    monkeypatch.setattr(trigrams, "CHUNK_UNITS", 8000)
    monkeypatch.setattr(pipeline, "CHECKPOINT_DOCS", 20)  # the pipeline's own count: 20 documents, 5,000 units
    folder = tmp_path / "speeches"
    factory.make_folder(folder, 150, chars=200)
    with open_update(database) as writer:  # the tables, and the generation they start at
        writer.cancel()
    with psycopg.connect(database, autocommit=True) as connection:
        before = connection.execute(f"SELECT value FROM {postgres.META} WHERE key = 'generation'").fetchone()[0]
    run_index([folder], database)
    with psycopg.connect(database, autocommit=True) as connection:
        generation = connection.execute(f"SELECT value FROM {postgres.META} WHERE key = 'generation'").fetchone()[0]
        units = [row[0] for row in connection.execute("SELECT units FROM archive_chunks ORDER BY id")]
    assert generation - before >= 5  # it did checkpoint, several times
    assert len(units) >= 4 and sum(units[:-1]) / len(units[:-1]) >= 0.85 * 8000, units


def test_every_commit_chunks_what_it_wrote(source: Path, database: str) -> None:
    """A checkpoint chunks in its own transaction: readers find every committed document in the
    postings, while the run goes on and after a kill."""
    factory.write_docx(source / "a.docx", ["第一篇讲话", "我们要务实奉献，追求卓越。"])
    factory.write_docx(source / "b.docx", ["第二篇讲话", "务实奉献是我们的传统，务实奉献。"])
    run_index([source], database)

    def chunked() -> bool:
        with psycopg.connect(database, autocommit=True) as connection:
            return connection.execute(f"SELECT value FROM {postgres.META} WHERE key = %s",
                                      (postgres.CHUNKED_META,)).fetchone()[0]

    assert chunked() is True
    counting = ["务实奉献", "追求卓越", "传统", "务", "没有的话"]
    with open_index(database) as archive:  # "did you mean" counts variants so, from the postings
        assert archive.documents_holding(counting) == {"务实奉献": 2, "追求卓越": 1, "传统": 1, "务": 2, "没有的话": 0}
    with open_update(database) as writer, open_index(database) as archive:
        writer.delete(str(source / "b.docx"))
        writer.checkpoint()
        assert chunked() is True
        assert [h.document.path for h in archive.search('"务实奉献"').hits] == [str(source / "a.docx")]
        assert archive.documents_holding(counting) == {"务实奉献": 1, "追求卓越": 1, "传统": 0, "务": 1, "没有的话": 0}
        assert archive._phrases._view is not None and archive._phrases._view.documents == 1  # the postings answered
        writer.cancel()  # as a run killed after its checkpoint: what that committed stays, chunked
    assert chunked() is True
    with open_index(database) as archive:
        assert [h.document.path for h in archive.search('"务实奉献"').hits] == [str(source / "a.docx")]
        assert archive._phrases._view is not None and archive._phrases._view.documents == 1


def test_an_unchanged_run_chunks_what_a_killed_run_left(source: Path, database: str) -> None:
    """A run killed after a checkpoint leaves documents without chunked rows: searches are exact
    (SQL answers them), the snapshot is not trusted, and the next run chunks them."""
    factory.write_docx(source / "a.docx", ["第一篇讲话", "我们要务实奉献，追求卓越。"])
    factory.write_docx(source / "b.docx", ["第二篇讲话", "务实奉献是我们的传统，务实奉献。"])
    run_index([source], database)
    with psycopg.connect(database, autocommit=True) as connection:  # as a checkpoint leaves them
        connection.execute("DELETE FROM archive_chunked WHERE path LIKE %s", ("%b.docx",))
        connection.execute(f"UPDATE {postgres.META} SET value = 'false' WHERE key = %s", (postgres.CHUNKED_META,))
        connection.execute(f"UPDATE {postgres.META} SET value = to_json(value::text::bigint + 1) WHERE key = 'generation'")
    assert postgres.snapshot(database) is None
    with open_index(database) as archive:
        assert [h.document.path for h in archive.search('"务实奉献"').hits] == [str(source / "b.docx"),
                                                                              str(source / "a.docx")]
        assert archive._phrases._view is None or archive._phrases._view.documents == 2
    report = run_index([source], database)
    assert report.unchanged == 2
    assert postgres.snapshot(database) is not None
    with psycopg.connect(database, autocommit=True) as connection:
        assert connection.execute("SELECT count(*) FROM archive_chunked").fetchone()[0] == 2
    with open_index(database) as archive:
        from archive.search import querylang as ql

        ranking = archive._phrases.rank(archive._pool.connection, ql.parse('"务实奉献"'), Filters(), archive._paths_at,
                                        archive._generation())
        assert ranking is not None and [path for path, _, _ in ranking.page(0, 10)] == [str(source / "b.docx"),
                                                                                         str(source / "a.docx")]


def test_stats_counted_by_the_database_are_the_embedded_engines(tmp_path: Path, database: str) -> None:
    """Years, speakers, formats and failures, counted in SQL, as the embedded engine counts them from
    every listing (undated and unnamed speeches included)."""
    folder = tmp_path / "speeches"
    factory.make_folder(folder, 15, chars=300)
    factory.write_docx(folder / "无日期.docx", ["讲话", "没有日期也没有讲话人的一篇。"])
    (folder / "坏的.pdf").write_bytes(b"%PDF-1.4 truncated")
    run_index([folder], database)
    run_index([folder], tmp_path / "index")
    with open_index(database) as server, open_index(tmp_path / "index") as embedded:
        counted, expected = server.stats(), embedded.stats()
    assert counted.pop("updated") and expected.pop("updated")  # each index's own last commit: its own second
    assert counted == expected and counted["failed"] == 1 and "unknown" in counted["by_year"]
    assert list(counted["by_speaker"].values()) == sorted(counted["by_speaker"].values(), reverse=True)


def test_a_tier_ordered_as_far_as_pages_ask_is_ordered_as_a_full_sort(monkeypatch) -> None:
    """The best k of a tier, asked for in growing steps, are the first k of a stable full sort
    (best first, equal scores in rank order), ties at the k-th score included."""
    import numpy as np

    from archive.search.postgres_phrases import _Ordered

    rng = np.random.default_rng(1)
    for _ in range(200):
        count = int(rng.integers(0, 3000))
        scores = rng.integers(0, 6, count) / 4.0  # few distinct scores: ties everywhere
        ranks = np.sort(rng.choice(100_000, count, replace=False))
        expected = np.argsort(-scores, kind="stable")
        monkeypatch.setattr(_Ordered, "AT_LEAST", int(rng.integers(1, 50)))
        tier = _Ordered(ranks, scores)
        for wanted in sorted(int(k) for k in rng.integers(0, count + 5, 4)):
            found_ranks, found_scores = tier.first(wanted)
            assert found_ranks.tolist() == ranks[expected][:wanted].tolist()
            assert found_scores.tolist() == scores[expected][:wanted].tolist()


def test_a_reader_does_not_answer_from_blocks_it_kept_before_a_rebuild(source: Path, database: str) -> None:
    """A rebuild makes the tables again, so chunk numbers come back with other texts in them: what a
    reader kept of the old ones (counts, blocks of keys) is not used for the new."""
    from archive.search import remove_index

    factory.write_docx(source / "a.docx", ["第一篇讲话", "我们要务实奉献，追求卓越，务实奉献。"])
    run_index([source], database)
    with open_index(database) as archive:
        assert archive.search('"务实奉献"').total == 1 and archive.search('"追求卓越"').total == 1
        remove_index(database)
        (source / "a.docx").unlink()
        factory.write_docx(source / "b.docx", ["第二篇讲话", "坚持安全第一，预防为主，追求卓越，务实创新。"])
        factory.write_docx(source / "c.docx", ["第三篇讲话", "务实奉献，追求卓越。"])
        run_index([source], database)
        assert [h.document.path for h in archive.search('"追求卓越"').hits] == [str(source / "b.docx"),
                                                                              str(source / "c.docx")]
        assert [h.document.path for h in archive.search('"务实奉献"').hits] == [str(source / "c.docx")]
        assert archive.search('"预防为主"').total == 1


def test_speakers_read_at_another_commit_are_not_used_and_a_search_begun_before_a_commit_is_still_answered(
        source: Path, database: str) -> None:
    """The documents a speaker: selects are read with the generation they were read at: at another
    than the view's they are refused (not mixed with another commit's ranks), and a search whose
    state is older than the index reads both again, from the postings."""
    from archive.search import querylang as ql

    factory.write_docx(source / "a.docx", ["在全市安全生产工作会议上的讲话", "张三", "务实奉献，追求卓越。"])
    factory.write_docx(source / "b.docx", ["在全市营商环境大会上的讲话", "李四", "务实奉献是传统。"])
    run_index([source], database)
    with open_index(database) as archive:
        speaker = {d["path"]: d["speaker"] for d in archive.documents()}[str(source / "a.docx")]
        assert speaker
        old_state = archive._generation()
        assert archive.search(f"speaker:{speaker}").total == 1
        old_view = archive._phrases._view
        with open_update(database) as writer:  # a commit with nothing changed: a new generation
            writer.delete(str(source / "b.docx"))
            writer.commit()
        with archive._pool.connection() as connection:
            assert archive._phrases._fields.read(connection, old_view, [("people", "李")]) is None
        ranking = archive._phrases.rank(archive._pool.connection, ql.parse(f'"务实奉献" -speaker:{speaker}'), Filters(),
                                        archive._paths_at, old_state)
        assert ranking is not None and ranking.total == 0  # b.docx went with the commit
        assert archive._phrases._view is not old_view
        ranking = archive._phrases.rank(archive._pool.connection, ql.parse('"务实奉献"'), Filters(speaker=speaker),
                                        archive._paths_at, archive._generation())
        assert ranking is not None and [path for path, _, _ in ranking.page(0, 10)] == [str(source / "a.docx")]


def test_readers_take_the_order_the_writer_sorted_only_at_its_generation(source: Path, database: str) -> None:
    """Each commit saves every document's place in path order for readers' views, sorted again when
    archive_chunked changed, carried over when not; a saved order of another generation (a writer
    of an older version committed since) is not used: the reader sorts."""
    from archive.search import postgres_phrases

    for name in ("b", "a", "c"):
        factory.write_docx(source / f"{name}.docx", [f"第{name}篇讲话", "务实奉献，追求卓越。"])
    run_index([source], database)

    def saved() -> tuple[int, bytes] | None:
        with psycopg.connect(database, autocommit=True) as connection:
            return connection.execute("SELECT generation, packed FROM archive_order").fetchone()

    def generation() -> int:
        with psycopg.connect(database, autocommit=True) as connection:
            return connection.execute(f"SELECT value FROM {postgres.META} WHERE key = 'generation'").fetchone()[0]

    first = saved()
    assert first is not None and first[0] == generation() and len(first[1]) == 3 * 12
    with open_index(database) as archive:
        paths = [h.document.path for h in archive.search('"务实奉献"').hits]
        assert paths == [str(source / f"{n}.docx") for n in "abc"]  # equal scores: path order, from the saved order
    with open_update(database) as writer:  # a commit that changes no document: the order carried over
        writer.save_version_groups({})
    assert saved() == (generation(), first[1])
    with psycopg.connect(database, autocommit=True) as connection:  # as an older writer leaves it: stale
        connection.execute("UPDATE archive_order SET packed = %s", (bytes(36),))
        connection.execute(f"UPDATE {postgres.META} SET value = to_json(value::text::bigint + 1) WHERE key = 'generation'")
        view = postgres_phrases._load(connection, generation())
    assert view.ranks_ordinal.tolist() != [0, 0, 0] and sorted(view.ranks_ordinal.tolist()) == [0, 1, 2]
    with open_index(database) as archive:
        assert [h.document.path for h in archive.search('"务实奉献"').hits] == paths
    (source / "b.docx").unlink()
    run_index([source], database)
    again = saved()
    assert again is not None and again[0] == generation() and len(again[1]) == 2 * 12


def test_scores_over_arrays_are_the_engines_floats_for_every_count() -> None:
    """A word's score per document, worked out over an array (looked up below 256 uses, divided
    above): the very floats archive.search.engine.saturate gives, so ties tie in every engine."""
    import numpy as np

    from archive.search.engine import saturate
    from archive.search.postgres_phrases import _saturated

    for counts in ([0, 1, 2, 7, 254, 255], [0, 1, 255, 256, 1_000, 70_000]):
        found = _saturated(np.array(counts, dtype=np.int32)).tolist()
        assert found == [saturate(count) if count else 0.0 for count in counts]
