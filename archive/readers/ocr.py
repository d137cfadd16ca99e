"""OCR of page images (scanned PDF pages, photos of pages) with RapidOCR's PP-OCR models.

The models ship inside the `rapidocr-onnxruntime` wheel and load offline. One engine per worker
process, with one inference thread: the pool already runs a worker per core. Recognised text comes
back as positioned pieces, so a scanned page goes through the same line and paragraph rebuilding as
a PDF's text layer (archive.readers.pagelines), and the spaces OCR puts between Chinese characters
are removed there.

Each page's result is cached on disk by the hash of its pixels (`set_cache_folder`), so a run that
is killed or times out in the middle of a long scan keeps the pages already read.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from archive.readers import deadline, memory
from archive.readers.pagelines import Line

OCR_PAGE_SECONDS = 90.0  # one page's own time bound (see archive.readers.deadline)
ENGINE_VERSION = "rapidocr-1.4-ppocrv4-1"  # part of the page cache key: a new engine reads pages again
MIN_SCORE = 0.5  # recognised pieces below this confidence are noise (stains, stamps, ruled lines)
RENDER_DPI = 200  # scanned pages are rendered at this resolution for OCR
MAX_PIXELS = 40_000_000  # an image larger than this is scaled down first (memory stays bounded)
OCR_MEMORY = 1536 * 1024 * 1024  # address space the OCR networks may map beyond a file's usual bound

_cache_folder: Path | None = None
_pages_read: Any = None  # a multiprocessing.Value shared with the pipeline: OCR'd pages, for progress


def set_cache_folder(folder: Path | None, pages_read: Any = None) -> None:
    """Where page results are kept between runs (the index's folder; None keeps nothing), and a
    shared counter of pages read by OCR, which the progress bar shows."""
    global _cache_folder, _pages_read
    _cache_folder = folder
    _pages_read = pages_read


def _count_page() -> None:
    if _pages_read is not None:
        with _pages_read.get_lock():
            _pages_read.value += 1


@cache
def _engine() -> Any:
    memory.raise_bound(OCR_MEMORY)
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1, print_verbose=False, use_cls=False)


def _cached(key: str) -> list[Line] | None:
    if _cache_folder is None:
        return None
    try:
        rows = json.loads((_cache_folder / key[:2] / f"{key}.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return [Line(*row) for row in rows]


def _store(key: str, lines: list[Line]) -> None:
    if _cache_folder is None:
        return
    folder = _cache_folder / key[:2]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        rows = [[ln.text, ln.left, ln.right, ln.top, ln.bottom, ln.page_width] for ln in lines]
        handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(rows, out, ensure_ascii=False)
        os.replace(temporary, folder / f"{key}.json")
    except OSError:
        pass  # a cache that cannot be written only costs time


def page_pieces(image: Any, pixels_per_unit: float = 1.0) -> list[Line]:
    """The text pieces OCR finds on one page image (a PIL image), in page units.

    `pixels_per_unit` converts pixels to the units of the rest of the document (a PDF page rendered
    at 200 dpi has 200/72 pixels per point). The y axis is flipped (top > bottom, as in PDF) so
    pagelines can treat every format alike.
    """
    import numpy as np

    image = image.convert("RGB")
    if image.width * image.height > MAX_PIXELS:
        scale = (MAX_PIXELS / (image.width * image.height)) ** 0.5
        image = image.resize((max(1, int(image.width * scale)), max(1, int(image.height * scale))))
    pixels = np.asarray(image)
    key = hashlib.sha256(ENGINE_VERSION.encode() + pixels.tobytes()).hexdigest()
    found = _cached(key)
    if found is None:
        deadline.page(OCR_PAGE_SECONDS)
        found = _recognise(pixels, float(image.width))
        _store(key, found)
    _count_page()
    if pixels_per_unit == 1.0:
        return found
    return [Line(p.text, p.left / pixels_per_unit, p.right / pixels_per_unit, p.top / pixels_per_unit,
                 p.bottom / pixels_per_unit, p.page_width / pixels_per_unit) for p in found]


def _recognise(pixels: Any, width: float) -> list[Line]:
    result, _ = _engine()(pixels[:, :, ::-1])  # RapidOCR takes OpenCV's BGR order
    pieces: list[Line] = []
    for box, text, score in result or []:
        if float(score) < MIN_SCORE or not text.strip():
            continue
        xs = [point[0] for point in box]
        ys = [point[1] for point in box]
        pieces.append(Line(text.strip(), float(min(xs)), float(max(xs)), -float(min(ys)), -float(max(ys)), width))
    return pieces
