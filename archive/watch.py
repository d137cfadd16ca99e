"""Follow the shared folder: every change goes through the same incremental run as `archive index`.

Events come from the operating system (inotify, through watchdog); since network shares often send
none, a periodic rescan is the safety net. Changes are batched: a run starts once the folder has
been quiet for `settle` seconds, so a file still being written, or a burst of copies, is read once,
after it settles. One writer at a time: while a manual `archive index` holds the index, the watcher
waits and tries again. A watcher that was stopped catches up at start (its first run is a full,
incremental run), so nothing that changed while it was down is missed.

The status (`watch.json` in the index folder: last run, files waiting, the watcher's pid) is what
the web page shows as "last updated" and "waiting".

Each run is an `archive index` process of its own: the watcher, which waits most of the time,
keeps only itself in memory (tens of MB), not the readers' and the index's libraries.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archive.errors import ArchiveError
from archive.ingest.scan import resolve_roots
from archive.kinds import SUPPORTED_SUFFIXES, skip_reason
from archive.search import Location, state_dir

STATUS_FILE = "watch.json"
DEFAULT_SETTLE = 2.0
DEFAULT_RESCAN = 300.0
BUSY_RETRY = 5.0


@dataclass
class WatchStatus:
    """What the watcher tells the page: when the index was last brought up to date, what is waiting."""

    folders: list[str]
    pid: int = field(default_factory=os.getpid)
    last_run: str | None = None
    last_report: dict[str, Any] | None = None
    pending: int = 0
    state: str = "starting"  # starting, idle, waiting (for changes to settle), indexing, busy (another run)

    def save(self, location: Path) -> None:
        """Best effort: a status that cannot be written (the index folder removed) only goes unseen."""
        try:
            location.mkdir(parents=True, exist_ok=True)
            temporary = location / f"{STATUS_FILE}.{os.getpid()}.tmp"
            temporary.write_text(json.dumps(self.__dict__, ensure_ascii=False), "utf-8")
            os.replace(temporary, location / STATUS_FILE)
        except OSError:
            pass


def read_status(location: Path) -> dict[str, Any] | None:
    """The watcher's status, if a watcher is running for this index (its pid is alive)."""
    try:
        status = json.loads((location / STATUS_FILE).read_text("utf-8"))
        pid = int(status["pid"])
        os.kill(pid, 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if status.get("state") == "stopped" or _exited(pid):
        return None
    return status


def _exited(pid: int) -> bool:
    """A process that has exited but not been reaped yet (a zombie) still answers kill(pid, 0)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return False  # not Linux, or gone: kill(pid, 0) already said it is there
    return fields[0] in ("Z", "X")


def _relevant(path: str) -> bool:
    """A change worth a run: a file the archive reads (not an editor's lock or temporary file), or
    a folder (a renamed or deleted folder moves or removes every file in it)."""
    suffix = os.path.splitext(path)[1].lower()
    if not suffix:
        return True
    return suffix in SUPPORTED_SUFFIXES and skip_reason(path) is None


class Watcher:
    """Runs `run_index` over `paths` whenever they change (and every `rescan` seconds)."""

    def __init__(self, paths: list[Path], location: Location, *, settle: float = DEFAULT_SETTLE,
                 rescan: float = DEFAULT_RESCAN, on_run: Callable[[dict[str, Any]], None] | None = None,
                 timeout: float | None = None, workers: int | None = None) -> None:
        self.roots = resolve_roots(paths)
        self.paths = [Path(root) for root in self.roots]
        self.location = location
        self.state = state_dir(location)  # where the status is kept (the index folder, for a folder)
        self.settle = settle
        self.rescan = rescan
        self.on_run = on_run
        self.options = [*(["--timeout", str(timeout)] if timeout else []), *(["--workers", str(workers)] if workers else [])]
        self.status = WatchStatus(folders=self.roots)
        self._changed: set[str] = set()
        self._last_event = 0.0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()

    # -- events -------------------------------------------------------------------------------
    def notice(self, *paths: str) -> None:
        """A change at these paths (called from the observer's thread)."""
        relevant = [path for path in paths if path and _relevant(path)]
        if not relevant:
            return
        with self._lock:
            self._changed.update(relevant)
            self._last_event = time.monotonic()
        self._wake.set()

    def _observe(self):
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event) -> None:
                if event.event_type in ("opened", "closed_no_write"):
                    return
                watcher.notice(os.fsdecode(event.src_path), os.fsdecode(getattr(event, "dest_path", "") or ""))

        observer = Observer()
        for root in self.paths:
            if root.is_dir():
                observer.schedule(Handler(), str(root), recursive=True)
        observer.daemon = True
        observer.start()
        return observer

    # -- runs ---------------------------------------------------------------------------------
    def run_once(self) -> dict[str, Any] | None:
        """One incremental run (`archive index --json`, a process of its own); its report, or None
        when another run holds the index (try again later)."""
        with self._lock:
            pending, self._changed = self._changed, set()
        self.status.state, self.status.pending = "indexing", len(pending)
        self.status.save(self.state)
        done = subprocess.run([sys.executable, "-m", "archive", "index", *self.roots, "--index", str(self.location),
                               "--json", *self.options], stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if done.returncode != 0:
            with self._lock:
                self._changed |= pending
            busy = "another `archive index` run" in done.stderr
            self.status.state = "busy" if busy else "failed"
            self.status.save(self.state)
            if not busy:  # the index itself failed (a full disk, a damaged index): say so, try again later
                sys.stderr.write(done.stderr.strip().splitlines()[-1] + "\n" if done.stderr.strip() else "")
            return None
        try:
            report = json.loads(done.stdout)
        except ValueError:
            raise ArchiveError(f"archive index answered something that is not its report: {done.stdout[:100]}") from None
        self.status.last_run = dt.datetime.now().isoformat(timespec="seconds")
        self.status.last_report = {k: v for k, v in report.items() if k not in ("failed", "skipped")}
        with self._lock:
            self.status.pending = len(self._changed)
        self.status.state = "idle" if not self.status.pending else "waiting"
        self.status.save(self.state)
        if self.on_run:
            self.on_run(report)
        return report

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def run_forever(self) -> None:
        """Catch up, then follow the folders until stop() (or Ctrl-C)."""
        observer = self._observe()
        try:
            self._loop()
        finally:
            observer.stop()
            observer.join(timeout=5)
            self.status.state = "stopped"
            self.status.save(self.state)

    def _loop(self) -> None:
        due = 0.0  # a run now: catch up with what changed while no watcher ran
        last_run = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            with self._lock:
                changed, quiet_for = bool(self._changed), now - self._last_event
            if changed and quiet_for < self.settle:
                if self.status.state != "waiting":
                    self.status.state, self.status.pending = "waiting", len(self._changed)
                    self.status.save(self.state)
                self._sleep(self.settle - quiet_for)
                continue
            if changed or now >= due or now - last_run >= self.rescan:
                report = self.run_once()
                last_run = time.monotonic()
                due = last_run + (BUSY_RETRY if report is None else self.rescan)
                continue
            self._sleep(min(due, last_run + self.rescan) - now)

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(timeout=max(0.05, seconds))
        self._wake.clear()
