"""Cold commands, as a person meets them: whole processes, beside Recoll's on the same folder.

    python tests/bench/bench_cold.py --folder DIR [--runs 7]

Run it with the Python of an installation (`pip install .` in a fresh venv: no editable-install
hooks at start-up); it times that installation's `archive` console script. Indexes DIR with
`archive index` and `recollindex` once (not timed), then times, as separate
processes, medians of --runs: `archive --version`; `archive search` of a quoted phrase asked for the
first time in that process (`--json`, nothing drawn) beside `recollq`; `archive index` over the
unchanged folder beside `recollindex` (incremental); with --scratch N, N runs each of `archive index`
and `recollindex -z` from scratch, taking turns (the machine's load falls on both alike), and the
ratio of their medians. Not part of the test run.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.factory import office_phrase


def timed(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--scratch", type=int, default=0, help="also index from scratch this many times, beside recollindex -z")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="archive-cold-"))
    index = str(work / "index")
    config = work / "recoll"
    config.mkdir()
    (config / "recoll.conf").write_text(f"topdirs = {args.folder.resolve()}\n")
    subprocess.run([sys.executable, "-m", "archive", "index", str(args.folder), "--index", index], check=True,
                   capture_output=True)
    subprocess.run(["recollindex", "-c", str(config), "-z"], check=True, capture_output=True)
    phrases = [office_phrase(random.Random(seed)) for seed in range(args.runs)]
    script = Path(sys.executable).parent / "archive"  # the console script, as a person types it
    archive = [str(script)] if script.exists() else [sys.executable, "-m", "archive"]
    print(f"{args.folder}: medians of {args.runs} runs, whole processes")
    print(f"  archive --version                 {timed([*archive, '--version'], args.runs):6.0f} ms")
    print(f"  python -c pass                    {timed([sys.executable, '-c', 'pass'], args.runs):6.0f} ms")
    searches, recoll = [], []
    for phrase in phrases:  # a new phrase each time: nothing of it cached in the process
        searches.append(timed([*archive, "search", f'"{phrase}"', "--index", index, "--json"], 1))
        recoll.append(timed(["recollq", "-c", str(config), f'"{phrase}"'], 1))
    print(f"  archive search '\"…\"'              {statistics.median(searches):6.0f} ms   "
          f"recollq {statistics.median(recoll):6.0f} ms")
    unchanged = timed([*archive, "index", str(args.folder), "--index", index, "--json"], args.runs)
    recoll_unchanged = timed(["recollindex", "-c", str(config)], args.runs)
    print(f"  archive index (unchanged folder)  {unchanged:6.0f} ms   recollindex {recoll_unchanged:6.0f} ms")
    if args.scratch:
        ours, theirs = [], []
        for run in range(args.scratch):
            fresh = work / f"scratch{run}"
            (fresh / "recoll").mkdir(parents=True)
            (fresh / "recoll" / "recoll.conf").write_text(f"topdirs = {args.folder.resolve()}\n")
            ours.append(timed([*archive, "index", str(args.folder), "--index", str(fresh / "index"), "--json"], 1))
            theirs.append(timed(["recollindex", "-c", str(fresh / "recoll"), "-z"], 1))
            shutil.rmtree(fresh)
        print(f"  archive index (from scratch)      {statistics.median(ours):6.0f} ms   recollindex -z "
              f"{statistics.median(theirs):6.0f} ms   ratio {statistics.median(ours) / statistics.median(theirs):.2f}"
              f"  (archive {' '.join(f'{t / 1000:.1f}' for t in ours)} s; recoll {' '.join(f'{t / 1000:.1f}' for t in theirs)} s)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
