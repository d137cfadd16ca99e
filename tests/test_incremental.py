"""Indexing again and again as the folder changes; a killed run; searching during a run."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from archive.errors import IndexBusy
from archive.ingest.pipeline import run_index
from archive.search import Filters, open_for_search, open_index, open_update
from tests import factory

pytestmark = pytest.mark.both_engines

ROOT = Path(__file__).resolve().parents[1]


def lines(topic: str) -> list[str]:
    return [f"在{topic}工作会议上的讲话", "同志们：", f"我们要扎实推进{topic}工作，切实做好各项任务。"]


def paths_found(index_dir: Path, phrase: str) -> set[str]:
    """The documents holding a phrase, as the engine finds them; a command (open_for_search: the
    last commit's side files, archive.search.quick) must find the same (no run writes meanwhile)."""
    found = engine_found(index_dir, phrase)
    assert command_found(index_dir, phrase) == found
    return found


def engine_found(index_dir: Path, phrase: str) -> set[str]:
    with open_index(index_dir) as archive:
        return {hit.document.path for hit in archive.search(f'"{phrase}"', limit=None).hits}


def command_found(index_dir: Path, phrase: str) -> set[str]:
    query = f'"{phrase}"'
    with open_for_search(index_dir, query, Filters()) as searching:
        return {hit.document.path for hit in searching.search(query, limit=None).hits}


def listed(index_dir: Path) -> list[str]:
    with open_index(index_dir) as archive:
        return [doc["path"] for doc in archive.documents()]


def test_every_file_is_stored_with_its_own_content_hash(source: Path, index_dir: Path) -> None:
    """The plan hashes only files whose size another file (or an indexed document) has: copies,
    renamed and touched files; a worker hashes the rest. Either way each path is stored with the
    SHA-256 of its own bytes, a file that could not be read too, and a touched file stays unchanged."""
    import hashlib

    a = factory.write_docx(source / "a.docx", lines("安全生产"))
    copy = source / "copy" / "a.docx"
    copy.parent.mkdir()
    shutil.copy2(a, copy)
    b = factory.write_pdf(source / "b.pdf", lines("乡村振兴"))
    broken = source / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 broken")
    first = run_index([source], index_dir)
    assert (first.added, len(first.failed)) == (3, 1)

    os.utime(b, ns=(time.time_ns(), time.time_ns() + 10**9))  # touched: same bytes, a new time
    second = run_index([source], index_dir)
    assert (second.added, second.updated, second.unchanged) == (0, 0, 3)
    with open_update(index_dir) as update:
        stored = {path: entry.sha256 for path, entry in update.manifest.items()}
    assert stored == {str(path): hashlib.sha256(path.read_bytes()).hexdigest() for path in (a, copy, b, broken)}


def test_new_changed_deleted_renamed_and_copied_files(source: Path, index_dir: Path) -> None:
    a = factory.write_docx(source / "a.docx", lines("安全生产"))
    b = factory.write_pdf(source / "sub" / "b.pdf", lines("乡村振兴"))
    c = factory.write_saved_page(source / "c.txt", "讲话", lines("营商环境"))
    first = run_index([source], index_dir)
    assert (first.added, first.updated, first.removed, first.unchanged) == (3, 0, 0, 0)

    factory.write_docx(a, lines("疫情防控"))  # changed
    c.unlink()  # deleted
    renamed = b.with_name("b-定稿.pdf")
    b.rename(renamed)  # renamed
    copy = source / "copy" / "a-copy.docx"
    copy.parent.mkdir()
    d = factory.write_docx(source / "d.docx", lines("招商引资"))  # new
    second = run_index([source], index_dir)
    shutil.copy2(d, copy)  # copied after the run: found by content next time
    third = run_index([source], index_dir)

    assert (second.added, second.updated, second.removed) == (2, 1, 2)
    assert second.reused == 1  # the renamed PDF was not read again
    assert (third.added, third.reused, third.unchanged) == (1, 1, 3)
    assert paths_found(index_dir, "疫情防控") == {str(a)}
    assert paths_found(index_dir, "安全生产") == set()
    assert paths_found(index_dir, "营商环境") == set()
    assert paths_found(index_dir, "乡村振兴") == {str(renamed)}
    assert paths_found(index_dir, "招商引资") == {str(d), str(copy)}
    assert sorted(listed(index_dir)) == sorted([str(a), str(renamed), str(d), str(copy)])


def test_an_open_index_sees_changed_and_deleted_files_after_the_next_run(source: Path, index_dir: Path) -> None:
    """A long-running server keeps one SpeechIndex open across index runs: a deleted file and the
    old text of a changed one must be gone from it, not only from a newly opened index."""
    a = factory.write_docx(source / "a.docx", lines("安全生产"))
    b = factory.write_docx(source / "b.docx", lines("乡村振兴"))
    factory.write_docx(source / "c.docx", lines("营商环境"))
    run_index([source], index_dir)
    with open_index(index_dir) as archive:
        def found(phrase: str) -> set[str]:
            return {hit.document.path for hit in archive.search(f'"{phrase}"', limit=None).hits}

        assert found("扎实推进") == {str(source / name) for name in ("a.docx", "b.docx", "c.docx")}
        assert found("安全生产") == {str(a)}  # warms the open readers' caches
        factory.write_docx(a, lines("疫情防控"))
        b.unlink()
        run_index([source], index_dir)
        assert found("安全生产") == set()
        assert found("疫情防控") == {str(a)}
        assert found("乡村振兴") == set()
        assert found("扎实推进") == {str(a), str(source / "c.docx")}
        assert sorted(doc["path"] for doc in archive.documents()) == [str(a), str(source / "c.docx")]


def test_unchanged_folder_reads_no_file_contents(source: Path, index_dir: Path) -> None:
    path = factory.write_saved_page(source / "a.txt", "讲话", lines("安全生产"))
    run_index([source], index_dir)
    stat = path.stat()
    # Other content of the same size under the same modification time: a run that opened the file
    # would index 乡村振兴; a run that trusts size and time (as it must, to be fast) keeps 安全生产.
    other = factory.saved_page("讲话", lines("乡村振兴")).encode("utf-8")
    assert len(other) == stat.st_size
    path.write_bytes(other)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    again = run_index([source], index_dir)
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 1)
    assert paths_found(index_dir, "安全生产") == {str(path)} and paths_found(index_dir, "乡村振兴") == set()


def test_touched_but_identical_file_counts_as_unchanged(source: Path, index_dir: Path) -> None:
    path = factory.write_docx(source / "a.docx", lines("安全生产"))
    run_index([source], index_dir)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    again = run_index([source], index_dir)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 1)
    third = run_index([source], index_dir)
    assert third.unchanged == 1 and listed(index_dir) == [str(path)]


def test_other_folders_in_the_index_are_left_alone(tmp_path: Path, index_dir: Path) -> None:
    one = factory.write_docx(tmp_path / "one" / "a.docx", lines("安全生产"))
    two = factory.write_docx(tmp_path / "two" / "b.docx", lines("乡村振兴"))
    run_index([tmp_path / "one"], index_dir)
    run_index([tmp_path / "two"], index_dir)
    assert sorted(listed(index_dir)) == sorted([str(one), str(two)])


def test_second_index_run_is_refused_while_one_runs(source: Path, index_dir: Path) -> None:
    factory.write_docx(source / "a.docx", lines("安全生产"))
    run_index([source], index_dir)
    holder = open_update(index_dir)
    try:
        with pytest.raises(IndexBusy):
            run_index([source], index_dir)
    finally:
        holder.cancel()
    assert run_index([source], index_dir).unchanged == 1


def _kill_all(process: subprocess.Popen) -> None:
    """kill -9 the run and its worker processes, and wait until every one is gone: a worker forked
    from the run holds the index's lock (it shares the run's open files) until it has died."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.time() + 30
    while True:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        assert time.time() < deadline, "the killed run's workers did not go"
        time.sleep(0.05)


def _start_index(source: Path, index_dir: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "archive", "index", str(source), "--index", str(index_dir)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def test_killed_run_leaves_last_index_searchable_and_next_run_finishes(source: Path, index_dir: Path) -> None:
    first = factory.write_docx(source / "first.docx", lines("安全生产"))
    run_index([source], index_dir)
    made = factory.make_folder(source / "more", 300, chars=1500)
    for delay in (0.5, 1.5, 3.0):  # kill it at several moments of the run
        process = _start_index(source, index_dir)
        time.sleep(delay)
        _kill_all(process)
        assert str(first) in paths_found(index_dir, "安全生产")  # the last good index answers
    final = run_index([source], index_dir)
    assert not final.failed
    documents = listed(index_dir)
    assert len(documents) == len(set(documents)) == 301
    some = made[7]
    assert str(some[0]) in paths_found(index_dir, some[1].paragraphs[0][:12])


def test_search_answers_while_an_index_run_is_under_way(source: Path, index_dir: Path) -> None:
    first = factory.write_docx(source / "first.docx", lines("安全生产"))
    run_index([source], index_dir)
    factory.make_folder(source / "more", 200, chars=1500)
    process = _start_index(source, index_dir)
    try:
        answers = 0
        while process.poll() is None:  # each read sees some commit: the run may commit between two
            assert str(first) in engine_found(index_dir, "安全生产")
            assert str(first) in command_found(index_dir, "安全生产")
            answers += 1
            time.sleep(0.1)
        assert answers > 0 and process.returncode == 0, process.stderr.read()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert len(listed(index_dir)) == 201


def test_new_extractor_version_re_reads_documents_without_deleting_the_index(source: Path, index_dir: Path,
                                                                             monkeypatch) -> None:
    import archive.ingest.extractor

    path = factory.write_docx(source / "a.docx", lines("安全生产"))
    factory.write_docx(source / "b.docx", lines("乡村振兴"))
    assert run_index([source], index_dir).added == 2
    # the writer (this process) stamps the version, so this holds whatever start method workers use
    monkeypatch.setattr(archive.ingest.extractor, "EXTRACTOR_VERSION", archive.ingest.extractor.EXTRACTOR_VERSION + 1)
    report = run_index([source], index_dir)
    assert (report.updated, report.unchanged, report.reused) == (2, 0, 0)
    assert run_index([source], index_dir).unchanged == 2
    assert paths_found(index_dir, "安全生产") == {str(path)}


@pytest.mark.embedded_only("the folder of another version; tests/test_postgres.py has the database's")
def test_index_of_another_schema_version_is_rebuilt_not_misread(source: Path, index_dir: Path, cli) -> None:
    path = factory.write_docx(source / "a.docx", lines("安全生产"))
    old = index_dir / "whoosh-v0"
    old.mkdir(parents=True)
    (old / "MAIN_1.toc").write_bytes(b"an index written by an older archive")
    result = cli("search", '"安全生产"', expect=1)
    assert "another version" in result.stderr and "archive index" in result.stderr
    report = cli.json("index", str(source))
    assert report["added"] == 1 and report["rebuilt"] is True and not old.exists()
    assert paths_found(index_dir, "安全生产") == {str(path)}


def test_a_large_run_stays_exact(source: Path, index_dir: Path) -> None:
    """Hundreds of documents in one commit, with two workers; then a large run that changes and
    deletes most of them: every document once, phrases exact."""
    import random

    from archive.normalize import normalise
    rng = random.Random(11)
    truth: dict[str, str] = {}
    for number in range(320):
        item = factory.speech(rng, chars=300)
        path = factory.write_saved_page(source / f"{number // 100}" / f"{number}.txt", item.title, item.lines())
        truth[str(path)] = normalise("".join(item.lines()))
    report = run_index([source], index_dir, workers=2)
    assert report.added == len(truth) and not report.failed

    def check() -> None:
        with open_index(index_dir) as archive:
            assert sorted(doc["path"] for doc in archive.documents()) == sorted(truth)
            for phrase in ("营商环境", "务实奉献", "达到65.3%", "扎实推进"):
                expected = {path for path, text in truth.items() if normalise(phrase) in text}
                results = archive.search(f'"{phrase}"', limit=None)
                assert {hit.document.path for hit in results.hits} == expected and results.total == len(expected)

    check()

    changed = sorted(truth)  # a large second run: changes, and deletions
    for path in changed[:5]:
        Path(path).unlink()
        del truth[path]
    for path in changed[5:]:
        item = factory.speech(rng, chars=300)
        factory.write_saved_page(Path(path), item.title, item.lines())
        truth[path] = normalise("".join(item.lines()))
    second = run_index([source], index_dir, workers=2)
    assert (second.removed, second.updated) == (5, len(changed) - 5)
    check()


def test_an_unchanged_run_writes_nothing(source: Path, index_dir, engine: str) -> None:
    factory.write_docx(source / "a.docx", lines("安全生产"))
    (source / "bad.pdf").write_bytes(b"%PDF-1.4 broken")
    run_index([source], index_dir)
    before = _state(index_dir, engine)
    report = run_index([source], index_dir)
    assert (report.unchanged, report.added, report.updated, report.removed) == (1, 0, 0, 0)
    assert [item["path"] for item in report.failed] == [str(source / "bad.pdf")] and report.failed[0]["reason"]
    assert _state(index_dir, engine) == before


def _state(index_dir, engine: str):
    """What a run could have written: every file of the index folder, or the database's generation."""
    if engine == "postgres":
        import psycopg

        with psycopg.connect(index_dir) as connection:
            return connection.execute("SELECT value::text FROM archive_meta WHERE key = 'generation'").fetchone()
    return {path.name: path.read_bytes() for path in sorted(Path(index_dir).rglob("*")) if path.is_file()}


@pytest.mark.embedded_only("plants a stale snapshot file")
def test_a_stale_snapshot_is_not_trusted(source: Path, index_dir: Path) -> None:
    """A snapshot left by an older commit (a run killed between its commit and the snapshot) must not
    hide a change: here a file the newer commit added, then deleted from the folder."""
    from archive.search import snapshot

    factory.write_docx(source / "a.docx", lines("安全生产"))
    run_index([source], index_dir)
    old = (snapshot.data_dir(index_dir) / snapshot.SNAPSHOT_FILE).read_text("utf-8")
    added = factory.write_docx(source / "b.docx", lines("乡村振兴"))
    run_index([source], index_dir)
    (snapshot.data_dir(index_dir) / snapshot.SNAPSHOT_FILE).write_text(old, "utf-8")
    added.unlink()
    assert run_index([source], index_dir).removed == 1
    assert paths_found(index_dir, "乡村振兴") == set()


def test_stats_are_counted_again_after_a_commit_not_before(tmp_path: Path, index_dir: Path) -> None:
    """A reader counts once per commit: what it answers follows the index, and changing an answer
    it gave does not change the next."""
    folder = tmp_path / "speeches"
    factory.make_folder(folder, 4, chars=300)
    run_index([folder], index_dir)
    with open_index(index_dir) as archive:
        first = archive.stats()
        first["by_year"].clear()
        assert archive.stats()["by_year"] and archive.stats()["documents"] == 4
        factory.write_docx(folder / "新的.docx", ["在新会议上的讲话", "（2031年5月6日）", "同志们：今天开会。"])
        (folder / "坏的.pdf").write_bytes(b"%PDF-1.4 truncated")
        run_index([folder], index_dir)
        now = archive.stats()
        assert (now["documents"], now["failed"], now["by_year"].get("2031")) == (5, 1, 1)
        # a document of the first run goes: what the reader kept of its segment must not count it
        next(path for path in sorted(folder.rglob("*.*")) if path.name not in ("新的.docx", "坏的.pdf")).unlink()
        (folder / "坏的.pdf").unlink()
        run_index([folder], index_dir)
        now = archive.stats()
        listed = archive.documents()
        assert (now["documents"], now["failed"], len(listed)) == (4, 0, 4)
        assert now["by_year"] == dict(sorted(Counter((d.get("date") or "")[:4] or "unknown" for d in listed).items()))
        assert now["by_format"] == dict(Counter(d["format"] for d in listed).most_common())
        with open_index(index_dir) as fresh:
            assert fresh.stats() == now


def test_equal_scores_stand_in_path_order_whatever_order_files_were_indexed_in(source: Path, index_dir: Path) -> None:
    """whoosh numbers documents as they are read, and a later run appends: files whose paths sort
    first, added in a second run, must still come first among equal scores, in the engine and in a
    command's quick search, by relevance and by date (where an exact match keeps its exact score)."""
    def speech(path: Path, topic: str) -> None:
        factory.write_docx(path, [f"在{topic}会议上的讲话", "（2021年3月4日）", "同志们：",
                                  "我们要务实奉献，推进营商环境建设。"])

    speech(source / "乙" / "z.docx", "安全生产")
    speech(source / "b.docx", "乡村振兴")
    assert run_index([source], index_dir).added == 2
    speech(source / "a.docx", "经济工作")
    speech(source / "甲.docx", "项目建设")
    speech(source / "乙" / "a.docx", "廉政建设")
    assert run_index([source], index_dir).added == 3
    in_path_order = sorted(str(path) for path in source.rglob("*.docx"))
    assert in_path_order[0].endswith("/a.docx") and in_path_order[-1].endswith("/甲.docx")
    for query in ('"务实奉献"', "营商环境建设", '"务实奉献" title:讲话', '"务实奉献" OR "营商环境"'):
        for sort in ("relevance", "date"):
            with open_index(index_dir) as archive:
                hits = archive.search(query, filters=Filters(sort=sort), limit=None).hits
                relevance = {hit.document.path: hit.score
                             for hit in archive.search(query, limit=None).hits}
            assert [hit.document.path for hit in hits] == in_path_order, (query, sort)
            assert len({hit.score for hit in hits}) == 1
            assert all(hit.score == relevance[hit.document.path] for hit in hits), (query, sort)
            with open_for_search(index_dir, query, Filters(sort=sort)) as searching:
                assert [hit.document.path for hit in searching.search(query, limit=None).hits] == in_path_order
