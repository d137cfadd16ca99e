"""Reading files: one module per format behind one small interface, `read(path) -> Extracted`."""

from __future__ import annotations

from pathlib import Path

from archive.document import Extracted
from archive.kinds import SUPPORTED_SUFFIXES, file_format, skip_reason
from archive.readers import image, legacy, ofd, pdf, webpage, word
from archive.readers.base import Reader, UnreadableFile
from archive.readers.cleanup import clean

READERS: dict[str, Reader] = {
    ".docx": word.read,
    ".docm": word.read,
    ".doc": legacy.read,
    ".wps": legacy.read,
    ".rtf": legacy.read,
    ".pdf": pdf.read,
    ".ofd": ofd.read,
    ".txt": webpage.read,
    ".htm": webpage.read,
    ".html": webpage.read,
    ".jpg": image.read,
    ".jpeg": image.read,
    ".png": image.read,
    ".tif": image.read,
    ".tiff": image.read,
    ".bmp": image.read,
}
assert frozenset(READERS) == SUPPORTED_SUFFIXES, "archive.kinds names the formats READERS reads"

__all__ = ["READERS", "SUPPORTED_SUFFIXES", "UnreadableFile", "file_format", "read", "skip_reason"]


TOO_LARGE = "too large to read within the memory limit (a zip bomb or a huge file?)"

def read(path: Path) -> Extracted:
    """Read one file; raises UnreadableFile with a one-line reason."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise UnreadableFile(f"unsupported file type {path.suffix or '(none)'}")
    try:
        extracted = reader(path)
        extracted.paragraphs = clean(extracted.paragraphs)
        return extracted
    except UnreadableFile:
        raise
    except PermissionError:
        raise UnreadableFile("cannot read the file: permission denied") from None
    except FileNotFoundError:
        raise UnreadableFile("the file disappeared while being read (or is a broken link)") from None
    except MemoryError:
        raise UnreadableFile(TOO_LARGE) from None
    except OSError as error:
        raise UnreadableFile(f"cannot read the file: {error.strerror or error}") from None
