"""A real watcher (`archive watch`, a process of its own) on a real folder: every change is searchable
within seconds, a burst is indexed once, a file still being written waits, a restart catches up."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from archive.search import open_index
from archive.watch import read_status
from tests import factory

ROOT = Path(__file__).resolve().parents[1]
BOUND = 20.0  # seconds a change may take to show up here (the target is a few: CI machines are slow)


class Follower:
    """`archive watch --json` in the background; its runs' reports collected as they come."""

    def __init__(self, source: Path, index_dir: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "archive", "watch", str(source), "--index", str(index_dir), "--json",
             "--settle", "0.8", "--rescan", "120"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.reports: list[dict] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:  # type: ignore[union-attr]
            self.reports.append(json.loads(line))

    def stop(self, sig: int = signal.SIGTERM) -> None:
        self.process.send_signal(sig)
        self.process.wait(timeout=30)
        self._reader.join(timeout=5)

    def total(self, key: str) -> int:
        return sum(report[key] for report in self.reports)


def eventually(check: Callable[[], bool], what: str, bound: float = BOUND) -> float:
    started = time.monotonic()
    while time.monotonic() - started < bound:
        if check():
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"not within {bound} s: {what}")


def found(index_dir: Path, phrase: str) -> set[str]:
    try:
        with open_index(index_dir) as archive:
            return {Path(hit.document.path).name for hit in archive.search(f'"{phrase}"', limit=None).hits}
    except Exception:
        return set()


@pytest.fixture
def follower(source: Path, index_dir: Path):
    factory.write_docx(source / "start.docx", ["在全市经济工作会议上的讲话", "同志们：", "开始时就有的讲话。"])
    running = Follower(source, index_dir)
    try:
        eventually(lambda: found(index_dir, "开始时就有的讲话") == {"start.docx"}, "the catch-up run at start")
        eventually(lambda: running.total("added") == 1, "the catch-up run's report")
        yield running
    finally:
        if running.process.poll() is None:
            running.stop()


def test_new_changed_renamed_and_deleted_files_show_up(follower: Follower, source: Path, index_dir: Path) -> None:
    path = factory.write_docx(source / "新.docx", ["在全市安全生产工作会议上的讲话", "第一版的内容在这里。"])
    eventually(lambda: found(index_dir, "第一版的内容") == {"新.docx"}, "a new file")
    factory.write_docx(path, ["在全市安全生产工作会议上的讲话", "第二版改写了内容。"])
    eventually(lambda: found(index_dir, "第二版改写了内容") == {"新.docx"} and not found(index_dir, "第一版的内容"),
               "a changed file")
    path.rename(source / "改名.docx")
    eventually(lambda: found(index_dir, "第二版改写了内容") == {"改名.docx"}, "a renamed file")
    (source / "改名.docx").unlink()
    eventually(lambda: not found(index_dir, "第二版改写了内容"), "a deleted file")
    eventually(lambda: (read_status(index_dir) or {}).get("pending") == 0, "nothing left waiting")
    assert read_status(index_dir)["last_run"]


def test_a_burst_of_copies_is_indexed_once_and_bad_files_do_not_stop_it(follower: Follower, source: Path,
                                                                        index_dir: Path) -> None:
    original = factory.write_docx(source.parent / "original.docx", ["在全市项目建设推进会上的讲话", "复制了两百份的讲话。"])
    before = follower.total("added")
    (source / "批量").mkdir()
    for number in range(200):
        shutil.copy(original, source / "批量" / f"{number:03d}.docx")
    (source / "批量" / "~$000.docx").write_bytes(b"\x05owner")
    (source / "批量" / "坏的.pdf").write_bytes(b"%PDF-1.4 truncated")
    eventually(lambda: len(found(index_dir, "复制了两百份的讲话")) == 200, "a burst of 200 copies")
    time.sleep(2)  # anything indexed twice would show in the reports by now
    assert follower.total("added") - before == 200
    assert follower.process.poll() is None
    assert any(item["path"].endswith("坏的.pdf") for report in follower.reports for item in report["failed"])


def test_a_file_written_slowly_is_read_once_after_it_settles(follower: Follower, source: Path, index_dir: Path) -> None:
    lines = ["在全市乡村振兴工作会议上的讲话", "同志们："] + [f"第{n}段，慢慢写完的讲话。" for n in range(8)]
    page = factory.saved_page(lines[0], lines[1:])
    runs_before = len(follower.reports)
    path = source / "慢慢写.txt"
    with path.open("w", encoding="utf-8") as handle:
        for start in range(0, len(page), len(page) // 6 + 1):
            handle.write(page[start : start + len(page) // 6 + 1])
            handle.flush()
            time.sleep(0.3)  # shorter than --settle: the watcher waits for the end
    eventually(lambda: found(index_dir, "第7段，慢慢写完的讲话") == {"慢慢写.txt"}, "the slowly written file")
    time.sleep(2)
    later = follower.reports[runs_before:]
    assert sum(report["added"] for report in later) == 1 and sum(report["updated"] for report in later) == 0


def test_a_stopped_watcher_catches_up_when_it_starts_again(follower: Follower, source: Path, index_dir: Path) -> None:
    follower.stop(signal.SIGKILL)
    factory.write_docx(source / "停机时新增.docx", ["在办公室例会上的讲话", "停机期间新增的文件。"])
    (source / "start.docx").unlink()
    again = Follower(source, index_dir)
    try:
        eventually(lambda: found(index_dir, "停机期间新增的文件") == {"停机时新增.docx"}
                   and not found(index_dir, "开始时就有的讲话"), "catching up after a restart")
    finally:
        again.stop()


def test_serve_watch_keeps_the_page_up_to_date(source: Path, index_dir: Path) -> None:
    import socket

    import httpx

    factory.write_docx(source / "a.docx", ["在全市经济工作会议上的讲话", "已经索引的讲话。"])
    subprocess.run([sys.executable, "-m", "archive", "index", str(source), "--index", str(index_dir)], cwd=ROOT,
                   check=True, capture_output=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "archive", "serve", "--watch", "--index", str(index_dir),
                               "--port", str(port), "--workers", "1"], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"

    def api(path: str, **params) -> dict:
        try:
            return httpx.get(f"{base}{path}", params=params, timeout=5).json()
        except httpx.HTTPError:
            return {}

    try:
        eventually(lambda: (api("/api/stats").get("watch") or {}).get("last_run") is not None, "the server's watcher")
        watcher_pid = read_status(index_dir)["pid"]
        factory.write_docx(source / "b.docx", ["在全市安全生产工作会议上的讲话", "服务运行时新增的讲话。"])
        eventually(lambda: api("/api/search", q='"服务运行时新增的讲话"').get("total") == 1, "a new file, over HTTP")
        stats = api("/api/stats")
        assert stats["documents"] == 2 and stats["updated"] and stats["watch"]["state"] in ("idle", "waiting", "indexing")
    finally:
        server.terminate()
        server.wait(timeout=30)
    eventually(lambda: read_status(index_dir) is None, "the watcher stopping with the server")
    eventually(lambda: not _running(watcher_pid), "no watcher left behind")


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")
