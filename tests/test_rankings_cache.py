"""Recent rankings are kept per process for paging and repeats, bounded in rows whatever the
archive's size, and a kept ranking gives the pages a fresh search gives."""

from __future__ import annotations

import random
from pathlib import Path

from archive.ingest.pipeline import run_index
from archive.search import SpeechIndex, open_index
from tests import factory


def test_kept_rankings_stay_within_their_row_budget_and_page_as_fresh_ones(source: Path, index_dir: Path,
                                                                          monkeypatch) -> None:
    rng = random.Random(3)
    for number in range(12):
        item = factory.speech(rng, chars=500)
        factory.write_saved_page(source / f"{number}.txt", item.title, item.lines())
    run_index([source], index_dir)
    queries = ['"发展"', "改革 发展", '"的"', "会议", '"工作"', "安全 生产"]
    with open_index(index_dir) as fresh:
        expected = {query: [hit.document.path for hit in fresh.search(query, limit=None, max_passages=0).hits]
                    for query in queries}
    monkeypatch.setattr(SpeechIndex, "CACHED_ROWS", 15)
    with open_index(index_dir) as archive:
        for _ in range(2):
            for query in queries:
                pages = [archive.search(query, offset=offset, limit=4, max_passages=0) for offset in range(0, 12, 4)]
                assert [hit.document.path for page in pages for hit in page.hits] == expected[query]
                held = archive._ranked._items.values()
                assert sum(weight for _, weight in held) <= 15 or len(held) == 1
