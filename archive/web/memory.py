"""How a server process's C allocator gives back the memory its searches free.

Why: a search over PostgreSQL's positional postings holds arrays and database results of a few
megabytes, freed when it answers, on whichever of the server's request threads ran it. glibc's
allocator gives each such thread a heap of its own (up to eight per core) and, once it has seen a
large block freed, serves the next ones from those heaps, which it seldom returns: at 100,000
speeches a process answering eight requests at once grew from 125 to 260 MB and stayed there
(eight heaps of 15 MB). Two heaps, and large blocks always mapped (returned when freed), kept it at
150 MB for the same requests, no slower. glibc reads these settings when a process starts, so
`archive serve` sets them for its worker processes, and a server of one process sets them itself.
Even so, the small blocks that searches free are scattered among those that stay (what a process
keeps of recent searches): glibc returns such pages only when asked (`malloc_trim`), which a
`Trimmer` does once a second while requests come (3 ms each time at 100,000 speeches; 15 MB
returned after 1,000 searches). Elsewhere than glibc all of this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from collections.abc import Callable

SETTINGS = {"MALLOC_ARENA_MAX": 2, "MALLOC_MMAP_THRESHOLD_": 64 * 1024, "MALLOC_TRIM_THRESHOLD_": 128 * 1024}
_MALLOPT = {"MALLOC_ARENA_MAX": -8, "MALLOC_MMAP_THRESHOLD_": -3, "MALLOC_TRIM_THRESHOLD_": -1}


def for_worker_processes() -> None:
    """Worker processes started from here on read the settings (unless a user set their own)."""
    for name, value in SETTINGS.items():
        os.environ.setdefault(name, str(value))


def _libc_function(name: str) -> Callable[..., int] | None:
    try:
        found: Callable[..., int] = getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    except (OSError, AttributeError):
        return None
    return found


class Trimmer:
    """Every `every` seconds in which requests were served (`note`), give freed pages back to the
    system (glibc's malloc_trim): a server at rest holds what it keeps, not what its last searches
    freed. A thread of its own, so no request waits for it."""

    def __init__(self, every: float = 1.0) -> None:
        self.every = every
        self.trims = 0
        self._served = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._trim = _libc_function("malloc_trim")

    def note(self) -> None:
        """A request was served (called from the event loop: no lock needed for a counter it alone writes)."""
        self._served += 1

    def start(self) -> None:
        if self._trim is not None and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="archive-trimmer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        trimmed_at = 0
        while not self._stop.wait(self.every):
            if self._served != trimmed_at and self._trim is not None:
                trimmed_at = self._served
                self._trim(0)
                self.trims += 1


def in_this_process() -> None:
    """The same settings for this process, from now on (before its request threads start)."""
    mallopt = _libc_function("mallopt")
    if mallopt is None:
        return
    for name, value in SETTINGS.items():
        if name not in os.environ:
            mallopt(_MALLOPT[name], value)
