"""How fresh the archive stays: seconds from a file's last write to its text being searchable, and
what a watcher costs when nothing changes.

    python tests/bench/bench_watch.py --docs 1000 --changes 100 [--settle 2]

Makes a folder (tests/factory.make_folder), indexes it, starts `archive watch` on it, then writes
`--changes` new speeches one at a time and waits for each to be found by a quoted search. Prints
the median and p95 latency, then the watcher's CPU (share of one core) and memory over an idle
minute. Not part of the test run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from archive.search import open_index
from tests import factory


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--settle", type=float, default=2.0)
    parser.add_argument("--idle", type=float, default=60.0)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="archive-bench-watch-"))
    folder, index = work / "speeches", work / "index"
    factory.make_folder(folder, args.docs)
    subprocess.run([sys.executable, "-m", "archive", "index", str(folder), "--index", str(index)], check=True,
                   capture_output=True)
    watcher = subprocess.Popen([sys.executable, "-m", "archive", "watch", str(folder), "--index", str(index),
                                "--settle", str(args.settle)], stderr=subprocess.DEVNULL)
    try:
        time.sleep(5)
        latencies = []
        with open_index(index) as archive:
            for number in range(args.changes):
                phrase = f"第{number}次新增的讲话内容{number * 7919}"
                factory.write_docx(folder / "新增" / f"{number:03d}.docx", ["在办公室例会上的讲话", phrase])
                written = time.monotonic()
                while archive.search(f'"{phrase}"', limit=0).total == 0:
                    time.sleep(0.05)
                latencies.append(time.monotonic() - written)
        latencies.sort()
        p95 = latencies[max(0, int(0.95 * len(latencies)) - 1)]
        print(f"write → searchable over {len(latencies)} changes (settle {args.settle:g} s): "
              f"median {statistics.median(latencies):.2f} s, p95 {p95:.2f} s, max {latencies[-1]:.2f} s")
        time.sleep(3)
        before = cpu_seconds(watcher.pid)
        time.sleep(args.idle)
        used = cpu_seconds(watcher.pid) - before
        print(f"idle for {args.idle:g} s: {100 * used / args.idle:.2f}% of one core, {rss_mb(watcher.pid):.0f} MB resident")
    finally:
        watcher.terminate()
        watcher.wait(timeout=30)


if __name__ == "__main__":
    main()
