"""Index-speed benchmark: make an N-document folder and index it from scratch (and again, unchanged).

    python tests/bench/bench_index.py --docs 1000 [--recoll] [--vocabulary varied|small|office]

Documents are ≈3,000 characters: 40% docx, 40% pdf, 20% saved pages (tests/factory.py). Prints
documents/s, characters/s and peak memory (this process and its workers); with --recoll, also times
`recollindex -z` on the same folder for comparison. Not part of the test run: timings are noisy.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import contextlib

from archive.ingest.pipeline import run_index
from tests.factory import make_folder


def peak_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def recoll(folder: Path, work: Path) -> float:
    config = work / "recoll"
    config.mkdir()
    (config / "recoll.conf").write_text(f"topdirs = {folder}\n")
    started = time.perf_counter()
    subprocess.run(["recollindex", "-c", str(config), "-z"], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--folder", type=Path, help="reuse (or make) the document folder here")
    parser.add_argument("--recoll", action="store_true", help="also time recollindex on the same folder")
    parser.add_argument("--vocabulary", choices=["small", "office", "varied"], default="varied",
                        help="varied (default): a quarter office phrases, the rest words drawn from jieba's "
                             "dictionary by frequency: 0.55 distinct bigrams per character, nearer a real speech "
                             "(the seed page: 0.73) than small: speeches made of a few dozen phrases (0.23)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="archive-bench-"))
    folder = args.folder or work / "speeches"
    if not folder.exists() or not any(folder.rglob("*.*")):
        started = time.perf_counter()
        made = make_folder(folder, args.docs, vocabulary=args.vocabulary)
        print(f"made {len(made)} documents in {time.perf_counter() - started:.1f} s: {folder}")
    files = [p for p in folder.rglob("*") if p.is_file()]
    chars = sum(len(p.read_bytes()) for p in files if p.suffix == ".txt") // 3  # rough for pages only
    from archive import readers

    text_chars = 0
    for path in files:
        with contextlib.suppress(readers.UnreadableFile):
            text_chars += sum(len(p.text) for p in readers.read(path).paragraphs)
    del chars

    index = work / "index"
    started = time.perf_counter()
    report = run_index([folder], index)
    full = time.perf_counter() - started
    count = report.added
    print(f"full index: {count} documents in {full:.2f} s = {count / full:.1f} docs/s, "
          f"{text_chars / full / 1000:.0f} k chars/s ({len(report.failed)} failed)")
    started = time.perf_counter()
    again = run_index([folder], index)
    rerun = time.perf_counter() - started
    print(f"unchanged re-run: {rerun:.2f} s ({100 * rerun / full:.1f}% of the full run; {again.unchanged} unchanged)")
    own, children = peak_mb()
    print(f"peak memory: main process {own:.0f} MB, largest worker {children:.0f} MB")
    size = sum(f.stat().st_size for f in index.rglob("*") if f.is_file())
    print(f"index size: {size / 1e6:.1f} MB")
    if args.recoll:
        if shutil.which("recollindex"):
            seconds = recoll(folder, work)
            print(f"recollindex -z: {seconds:.2f} s = {count / seconds:.1f} docs/s (archive/recoll time: {full / seconds:.2f})")
        else:
            print("recollindex not installed (apt-get install recoll)")
    if not args.folder:
        shutil.rmtree(work, ignore_errors=True)
    else:
        shutil.rmtree(index, ignore_errors=True)
    os.sync()


if __name__ == "__main__":
    main()
