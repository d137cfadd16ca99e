"""Benchmark of the readers an office's older and scanned files need.

    python tests/bench/bench_formats.py doc --docs 200 [--recoll]      # .doc/.wps: documents/s
    python tests/bench/bench_formats.py ocr --pages 20 [--tesseract]   # OCR: s/page, accuracy
    python tests/bench/bench_formats.py mixed --docs 1000 [--recoll]   # 20% .doc/.wps, 5% scans

`doc` times indexing a folder of .doc and .wps files from scratch (antiword's fast path, LibreOffice
for what it refuses) and, with --recoll, `recollindex -z` on the same folder. `ocr` renders
generated speeches into scanned pages and reports our OCR's seconds per page and character accuracy
and, with --tesseract, tesseract's (chi_sim) on the same page images. `mixed` is the office folder
of tests/factory.make_folder with a fifth of its files as .doc/.wps and a twentieth as scans.
Whole-process times; not part of the test run.
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

from tests import factory


def run(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def archive_index(folder: Path, work: Path) -> float:
    index = work / f"index-{time.monotonic_ns()}"
    return run([sys.executable, "-m", "archive", "index", str(folder), "--index", str(index), "--json"])


def recoll(folder: Path, work: Path) -> float:
    config = work / f"recoll-{time.monotonic_ns()}"
    config.mkdir()
    (config / "recoll.conf").write_text(f"topdirs = {folder}\n")
    return run(["recollindex", "-c", str(config), "-z"])


def side_by_side(folder: Path, work: Path, args: argparse.Namespace, ours_note: str = "", theirs_note: str = "") -> None:
    """`archive index` and, with --recoll, `recollindex -z` on the same folder, `--runs` times each."""
    ours = [archive_index(folder, work) for _ in range(args.runs)]
    rate = args.docs / statistics.median(ours)
    print(f"archive index: median {statistics.median(ours):.2f} s ({rate:.0f} documents/s) "
          f"runs {[round(t, 2) for t in ours]} {ours_note}")
    if args.recoll:
        theirs = [recoll(folder, work) for _ in range(args.runs)]
        print(f"recollindex -z: median {statistics.median(theirs):.2f} s runs {[round(t, 2) for t in theirs]}; "
              f"ratio {statistics.median(ours) / statistics.median(theirs):.2f} {theirs_note}")


def legacy_folder(folder: Path, count: int, seed: int = 3) -> list[Path]:
    """`count` speeches as .doc (and every third as .wps), converted by LibreOffice in one call."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as drafts:
        docx = [factory.write_docx(Path(drafts) / f"{n:04d}.docx", factory.speech(rng).lines()) for n in range(count)]
        made = factory.to_legacy(docx, folder)
    for n, path in enumerate(made):
        if n % 3 == 2:
            made[n] = path.rename(path.with_suffix(".wps"))
    return made


def bench_doc(args: argparse.Namespace, work: Path) -> None:
    folder = work / "legacy"
    started = time.perf_counter()
    legacy_folder(folder, args.docs)
    print(f"made {args.docs} .doc/.wps in {time.perf_counter() - started:.1f} s")
    side_by_side(folder, work, args)


def bench_ocr(args: argparse.Namespace, work: Path) -> None:
    from rapidfuzz.distance import Levenshtein

    from archive.normalize import normalise
    from archive.readers import ocr, pagelines

    rng = random.Random(5)
    images, truths = [], []
    for number in range(args.pages):
        lines = factory.speech(rng, chars=480).lines()  # one page: about 24 lines of 30 characters
        path = factory.write_page_image(work / f"page{number}.png", lines, dpi=args.dpi, running_header=None,
                                        page_numbers=False, per_page=40)
        images.append(path)
        truths.append(normalise("".join(lines)))

    def score(texts: list[str]) -> float:
        errors = sum(Levenshtein.distance(normalise(text), truth) for text, truth in zip(texts, truths, strict=True))
        return 1 - errors / sum(len(truth) for truth in truths)

    from PIL import Image

    ocr._engine()
    started = time.perf_counter()
    texts = []
    for path in images:
        with Image.open(path) as image:
            lines = pagelines.lines_from_pieces(ocr.page_pieces(image))
        texts.append("".join(line.text for line in lines))
    ours = (time.perf_counter() - started) / len(images)
    print(f"RapidOCR (one thread): {ours:.2f} s/page, character accuracy {score(texts):.4f}")
    if args.tesseract:
        started = time.perf_counter()
        texts = [subprocess.run(["tesseract", str(path), "-", "-l", "chi_sim"], capture_output=True, text=True,
                                check=True, env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"}).stdout
                 for path in images]
        theirs = (time.perf_counter() - started) / len(images)
        print(f"tesseract chi_sim (one thread): {theirs:.2f} s/page, character accuracy {score(texts):.4f}; "
              f"ratio {ours / theirs:.2f}")


def bench_mixed(args: argparse.Namespace, work: Path) -> None:
    folder = work / "mixed"
    started = time.perf_counter()
    made = factory.make_folder(folder, args.docs, vocabulary="varied")
    rng = random.Random(9)
    legacy_count, scan_count = args.docs // 5, args.docs // 20
    victims = rng.sample(made, legacy_count + scan_count)
    for path, _ in victims:
        path.unlink()
    legacy_folder(folder / "旧文件", legacy_count)
    for number, (_, item) in enumerate(victims[legacy_count:]):
        factory.write_scanned_pdf(folder / "扫描件" / f"{number:04d}.pdf", item.lines()[:20])
    print(f"made {args.docs} documents ({legacy_count} .doc/.wps, {scan_count} scans) in "
          f"{time.perf_counter() - started:.1f} s")
    side_by_side(folder, work, args, "(each run a new index, so every run OCRs afresh)", "(no OCR: scans unread)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["doc", "ocr", "mixed"])
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--dpi", type=int, default=150, help="resolution of the generated scans")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--recoll", action="store_true")
    parser.add_argument("--tesseract", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="archive-bench-formats-"))
    try:
        {"doc": bench_doc, "ocr": bench_ocr, "mixed": bench_mixed}[args.what](args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
