"""How a server process's C allocator gives back the memory its searches free.

Why: a search over PostgreSQL's positional postings holds arrays and database results of a few
megabytes, freed when it answers, on whichever of the server's request threads ran it. glibc's
allocator gives each such thread a heap of its own (up to eight per core) and, once it has seen a
large block freed, serves the next ones from those heaps, which it seldom returns: at 100,000
speeches a process answering eight requests at once grew from 125 to 260 MB and stayed there
(eight heaps of 15 MB). Two heaps, and large blocks always mapped (returned when freed), kept it at
150 MB for the same requests, no slower. glibc reads these settings when a process starts, so
`archive serve` sets them for its worker processes, and a server of one process sets them itself.
Elsewhere than glibc both do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

SETTINGS = {"MALLOC_ARENA_MAX": 2, "MALLOC_MMAP_THRESHOLD_": 64 * 1024, "MALLOC_TRIM_THRESHOLD_": 128 * 1024}
_MALLOPT = {"MALLOC_ARENA_MAX": -8, "MALLOC_MMAP_THRESHOLD_": -3, "MALLOC_TRIM_THRESHOLD_": -1}


def for_worker_processes() -> None:
    """Worker processes started from here on read the settings (unless a user set their own)."""
    for name, value in SETTINGS.items():
        os.environ.setdefault(name, str(value))


def in_this_process() -> None:
    """The same settings for this process, from now on (before its request threads start)."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return
    for name, value in SETTINGS.items():
        if name not in os.environ:
            mallopt(_MALLOPT[name], value)
