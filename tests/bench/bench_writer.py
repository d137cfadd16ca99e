"""The writer's desk at archive scale: draft check, timeline, "did you mean", version grouping.

    python tests/bench/bench_writer.py --docs 1000 [--docs 10000]

Makes (or reuses with --folder) a folder of generated speeches (tests/factory.make_folder, office
vocabulary), indexes it, then times: checking a 5,000-character draft made half of archive sentences
(some changed) and half new ones, warm in the library and as a cold `archive check` command; a
timeline of a common and a rare phrase; suggestions for a mistyped phrase; and what grouping versions
adds to the full index run. Not part of the test run.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from archive import versions
from archive.check import check
from archive.ingest.pipeline import run_index
from archive.search import open_index
from archive.suggest import suggestions
from archive.timeline import timeline
from tests import factory


def timed(function, runs: int = 5) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--folder", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="archive-bench-writer-"))
    folder = args.folder or work / "speeches"
    if not folder.exists():
        factory.make_folder(folder, args.docs, vocabulary="office")
    index = work / "index"
    started = time.perf_counter()
    run_index([folder], index)
    full = time.perf_counter() - started
    with open_index(index) as archive:
        sketches, listing = archive.sketches()
        grouping, _ = timed(lambda: versions.group(sketches, listing), runs=3)
        print(f"{len(sketches)} speeches indexed in {full:.1f} s; grouping versions {grouping:.2f} s "
              f"({100 * grouping / full:.1f}% of the run)")

        rng = random.Random(4)
        paragraphs = [p.text for document in archive.documents()[:200] if (found := archive.text_of(document["path"]))
                      for p in found[1].paragraphs]
        archived = [s for p in paragraphs for s in re.findall(r"[^。；]+[。；]", p) if len(s) >= 12]
        fresh = [s for n in range(40) for p in factory.speech(random.Random(5000 + n), 300, "varied").paragraphs
                 for s in re.findall(r"[^。；]+[。；]", p)]
        sentences, length = [], 0
        while length < 5000:
            sentence = rng.choice(archived) if rng.random() < 0.5 and archived else rng.choice(fresh)
            sentences.append(sentence)
            length += len(sentence)
        draft = "\n".join(sentences)
        warm, report = timed(lambda: check(archive, draft), runs=3)
        print(f"check a {len(draft)}-character draft ({report.sentences} sentences, {report.reused} reused): "
              f"{warm * 1000:.0f} ms warm")
        for phrase in ('"营商环境"', '"务实奉献"', '"运转中心和枢纽"'):
            took, result = timed(lambda phrase=phrase: timeline(archive, phrase))
            print(f"timeline {phrase}: {took * 1000:.1f} ms ({result.total} speeches)")
        for typed in ('"优化营商环竟"', '"追求卓跃"'):
            took, result = timed(lambda typed=typed: suggestions(archive, typed))
            print(f"suggestions for {typed}: {took * 1000:.1f} ms → {result}")
    draft_file = work / "draft.txt"
    draft_file.write_text(draft, encoding="utf-8")
    colds = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "archive", "check", str(draft_file), "--index", str(index), "--json"],
                       check=True, capture_output=True)
        colds.append(time.perf_counter() - started)
    print(f"`archive check` as a command: median {statistics.median(colds):.2f} s")


if __name__ == "__main__":
    main()
