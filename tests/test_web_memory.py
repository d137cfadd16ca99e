"""A server process gives back what its searches freed (archive.web.memory.Trimmer)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from archive.ingest.pipeline import run_index
from archive.web import create_app, memory
from tests import factory

glibc = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim is glibc's")


def _resident_mb() -> float:
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        if line.startswith("Rss:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no Rss line")


@glibc
def test_freed_blocks_among_kept_ones_go_back_to_the_system() -> None:
    """Blocks freed between blocks that stay are not returned by free() alone; the trimmer returns them."""
    import numpy as np

    trimmer = memory.Trimmer(every=0.05)
    assert trimmer._trim is not None
    blocks = [np.ones(4000) for _ in range(6000)]  # 32 KB each, below the mapping threshold: the heap's
    kept = blocks[::16]
    del blocks
    freed = _resident_mb()
    trimmer.start()
    try:
        trimmer.note()
        deadline = time.time() + 5
        while trimmer.trims == 0 and time.time() < deadline:
            time.sleep(0.02)
    finally:
        trimmer.stop()
    assert trimmer.trims == 1
    assert _resident_mb() < freed - 100, "the freed blocks' pages stayed with the process"
    assert sum(int(block[0]) for block in kept) == len(kept)


@glibc
def test_the_server_trims_while_requests_come_and_not_at_rest(source: Path, index_dir: Path) -> None:
    factory.write_docx(source / "a.docx", ["在全市优化营商环境大会上的讲话", "我们要持续优化营商环境。"])
    run_index([source], index_dir)
    app = create_app(index_dir)
    trimmer: memory.Trimmer = app.state.trimmer
    trimmer.every = 0.1
    with TestClient(app) as client:
        assert client.get("/api/search", params={"q": '"营商环境"'}).json()["total"] == 1
        deadline = time.time() + 5
        while trimmer.trims == 0 and time.time() < deadline:
            time.sleep(0.02)
        assert trimmer.trims == 1
        time.sleep(0.5)  # no requests since: nothing more to give back
        assert trimmer.trims == 1
        client.get("/api/stats")
        deadline = time.time() + 5
        while trimmer.trims == 1 and time.time() < deadline:
            time.sleep(0.02)
        assert trimmer.trims == 2
