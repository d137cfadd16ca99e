"""Did you mean, on an archive where the phrase's fixed part stands in more documents than the
variants' sample takes: the variants shown are the archive's most used, counted exactly, in every
engine (each samples its own way)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from archive.ingest.pipeline import run_index
from archive.search import open_index
from archive.suggest import DISCOVER, suggestions
from tests import factory

pytestmark = pytest.mark.both_engines

VERBS = ["加强", "统筹", "拓展", "巩固", "完善", "健全", "推进", "深化", "提升", "优化",
         "强化", "规范", "落实", "做好", "抓好", "夯实", "筑牢", "织密", "补齐", "兜牢"]
ANCHORS = ["医疗卫生服务", "基础设施建设"]


def test_the_variants_shown_are_the_most_used_counted_exactly(source: Path, index_dir: Path) -> None:
    """Each verb stands before each anchor in a few documents fewer than the verb before it
    (30, 29, 28, …: close enough that a sample of the documents orders them wrongly); a mistyped
    phrase two characters off every "verb + anchor" is offered the three most used, with their
    exact counts."""
    rng = random.Random(8)
    uses = {anchor: [verb for rank, verb in enumerate(VERBS) for _ in range(30 - rank)] for anchor in ANCHORS}
    for each in uses.values():
        rng.shuffle(each)
    documents = max(len(each) for each in uses.values())
    assert documents > DISCOVER  # more than the sample looks at
    for number in range(documents):
        lines = ["在全市民生工作会议上的讲话", "同志们："]
        lines += [f"{factory.sentence(rng)}我们要{each[number]}{anchor}。" for anchor, each in uses.items() if number < len(each)]
        (source / f"{number:03d}.txt").write_text("\n".join(lines), encoding="utf-8")
    assert run_index([source], index_dir).added == documents
    with open_index(index_dir) as archive:
        for anchor, each in uses.items():
            counts = {verb: each.count(verb) for verb in VERBS}
            expected = [{"query": f'"{verb}{anchor}"', "total": counts[verb]}
                        for verb in sorted(VERBS, key=lambda verb: -counts[verb])[:3]]
            assert suggestions(archive, f'"和障{anchor}"') == expected
