"""Photos and scans of pages (`.jpg`, `.png`, `.tif`, `.bmp`): text by OCR.

A multi-page TIFF (how many office scanners save) gives one page per frame. Pillow refuses images
larger than its decompression-bomb limit, which bounds memory.
"""

from __future__ import annotations

from pathlib import Path

from archive.document import Extracted
from archive.readers import ocr
from archive.readers.base import UnreadableFile, check_not_empty
from archive.readers.pagelines import drop_running_lines, lines_from_pieces, paragraphs_of_pages

MAX_FRAMES = 500


def read(path: Path) -> Extracted:
    from PIL import Image, ImageSequence, UnidentifiedImageError

    check_not_empty(path)
    try:
        with Image.open(path) as image:
            pages = []
            for number, frame in enumerate(ImageSequence.Iterator(image)):
                if number >= MAX_FRAMES:
                    break
                pages.append(lines_from_pieces(ocr.page_pieces(frame.copy())))
    except Image.DecompressionBombError:
        raise UnreadableFile("image too large to read (a decompression bomb?)") from None
    except (UnidentifiedImageError, SyntaxError):
        raise UnreadableFile("not a readable image (corrupt, truncated, or another kind of file)") from None
    except OSError as error:
        raise UnreadableFile(f"image could not be read: {str(error)[:120]}") from None
    drop_running_lines(pages)
    return Extracted(paragraphs=paragraphs_of_pages(pages), pages=len(pages), ocr_pages=len(pages))
