"""A damaged index is never a dead end: every command says what to run, and that command repairs it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from archive.ingest.pipeline import run_index
from archive.search import open_index
from archive.search.store import data_dir
from tests import factory

LINES = ["在全市安全生产工作会议上的讲话", "同志们：", "我们要扎实推进安全生产工作，切实做好应急管理各项任务。"]


@pytest.fixture
def indexed(source: Path, index_dir: Path) -> Path:
    for number in range(6):
        factory.write_docx(source / f"{number}.docx", [*LINES, f"第{number}号文件的内容，务实奉献、追求卓越。" * 40])
    run_index([source], index_dir)
    return source


def _segment_files(index_dir: Path) -> list[Path]:
    """Each segment's terms file: every reader opens it."""
    return sorted(data_dir(index_dir).glob("MAIN_*.trm"))


def _toc(index_dir: Path) -> Path:
    return next(data_dir(index_dir).glob("_MAIN_*.toc"))


def _truncate(index_dir: Path) -> None:
    segment = _segment_files(index_dir)[0]
    segment.write_bytes(segment.read_bytes()[: segment.stat().st_size // 3])


def _delete(index_dir: Path) -> None:
    _segment_files(index_dir)[0].unlink()


def _empty_toc(index_dir: Path) -> None:
    _toc(index_dir).write_bytes(b"")


def _garbage_toc(index_dir: Path) -> None:
    _toc(index_dir).write_bytes(os.urandom(300))


def _zero_block(index_dir: Path) -> None:
    segment = _segment_files(index_dir)[0]
    data = bytearray(segment.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4096] = bytes(min(4096, len(data) - middle))
    segment.write_bytes(bytes(data))


def _overwritten_record(index_dir: Path) -> None:
    """Bytes of a stored record overwritten with other valid text of the same length: it still
    unpickles, as another speech; only its checksum tells."""
    records = next(data_dir(index_dir).glob("MAIN_*.rec"))
    data = records.read_bytes()
    assert "务实奉献".encode() in data
    records.write_bytes(data.replace("务实奉献".encode(), "追求卓越".encode(), 1))


@pytest.mark.parametrize("damage", [_truncate, _delete, _empty_toc, _garbage_toc, _zero_block, _overwritten_record])
def test_damage_is_named_and_repaired_by_the_command_the_error_names(indexed: Path, index_dir: Path, cli, damage) -> None:
    damage(index_dir)
    checked = cli("index", "--check", expect=1)
    assert "archive index --rebuild" in checked.stderr and "Traceback" not in checked.stderr
    assert len(checked.stderr.strip().splitlines()) == 1
    if damage is not _zero_block:  # a zeroed block inside postings shows only where it is read
        searched = cli("search", '"务实奉献"', expect=1)
        assert "archive index --rebuild" in searched.stderr and len(searched.stderr.strip().splitlines()) == 1
    cli("index", "--rebuild")
    assert cli.json("search", '"务实奉献"', "--limit", "0")["total"] == 6
    assert cli.json("index", "--check")["documents"] == 6


def test_two_first_runs_at_once_do_not_trip_over_each_other(source: Path, index_dir: Path) -> None:
    factory.write_docx(source / "a.docx", LINES)
    command = [sys.executable, "-m", "archive", "index", str(source), "--index", str(index_dir), "--json"]
    results: list[subprocess.CompletedProcess[str]] = []

    def run() -> None:
        results.append(subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).parents[1]))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        assert "Traceback" not in result.stderr
        assert result.returncode == 0 or "another `archive index` run" in result.stderr, result.stderr
    assert any(result.returncode == 0 for result in results)
    with open_index(index_dir) as archive:
        assert archive.search('"应急管理各项任务"').total == 1


def test_a_full_disk_during_a_run_is_one_line_and_the_next_run_finishes(source: Path, index_dir: Path) -> None:
    """RLIMIT_FSIZE makes writes past a size fail (EFBIG) as a full disk would (ENOSPC)."""
    for number in range(30):
        factory.write_docx(source / f"{number}.docx", [*LINES, f"第{number}号：" + "统筹发展和安全，推进高质量发展。" * 400])
    limited = ("import resource, sys, signal; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
               "resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000)); "
               "from archive.cli import main; sys.argv = ['archive'] + sys.argv[1:]; main()")
    failed = subprocess.run([sys.executable, "-c", limited, "index", str(source), "--index", str(index_dir)],
                            capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert failed.returncode == 1, failed.stderr
    assert "no space left" in failed.stderr and "Traceback" not in failed.stderr
    assert len([line for line in failed.stderr.splitlines() if line.startswith("error")]) == 1
    report = run_index([source], index_dir)
    assert report.added == 30 and not report.failed
    kept = {"MAIN_WRITELOCK", "checksums.json", "manifest.json", "segments.json"}
    with open_index(index_dir) as archive:  # every segment and suffix file left is one the index uses
        used = {segment.segment_id() for segment in archive._ix._segments()}
    leftovers = [p for p in data_dir(index_dir).iterdir()
                 if p.suffix != ".toc" and p.name not in kept and p.name.split(".")[0] not in used]
    assert leftovers == []
    assert {p.stem for p in data_dir(index_dir).glob("*.trm")} == used
    assert {p.stem for p in data_dir(index_dir).glob("*.sfx")} == used
    assert {p.stem for p in data_dir(index_dir).glob("*.rec")} == used
