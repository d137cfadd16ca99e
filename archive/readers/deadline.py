"""Time bounds inside a worker process: one for reading a file, and one per OCR'd page.

The pool's own timeout is per task, fixed when the file is scheduled, before anyone knows it is a
40-page scan. So the worker keeps its own deadline, which the OCR reader moves on at every page
(each page gets OCR_PAGE_SECONDS), and a watchdog thread ends the worker with EXIT_CODE when the
deadline passes; the pipeline reports that as a time-out. Pages OCR'd before are in the page cache.
"""

from __future__ import annotations

import os
import threading
import time

EXIT_CODE = 86
_state: dict[str, float | None] = {"deadline": None, "seconds": None}
_lock = threading.Lock()


def start(seconds: float | None) -> None:
    """Reading a file begins: it may take `seconds` (None: no bound)."""
    with _lock:
        _state["seconds"] = seconds
        _state["deadline"] = None if seconds is None else time.monotonic() + seconds


def page(seconds: float) -> None:
    """An OCR page begins: it gets `seconds` of its own, on top of whatever time is left."""
    with _lock:
        if _state["deadline"] is not None:
            _state["deadline"] = max(_state["deadline"], time.monotonic() + seconds)


def clear() -> None:
    with _lock:
        _state["deadline"] = None


def watch(interval: float = 0.05) -> None:
    """Start the watchdog thread (once per worker process)."""

    def run() -> None:
        while True:
            time.sleep(interval)
            with _lock:
                deadline = _state["deadline"]
            if deadline is not None and time.monotonic() > deadline:
                os._exit(EXIT_CODE)

    threading.Thread(target=run, name="deadline", daemon=True).start()
