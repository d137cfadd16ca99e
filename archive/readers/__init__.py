"""Reading files: one module per format behind one small interface, `read(path) -> Extracted`."""

from __future__ import annotations

import importlib
from pathlib import Path

from archive.document import Extracted
from archive.kinds import SUPPORTED_SUFFIXES, file_format, skip_reason
from archive.readers.base import Reader, UnreadableFile
from archive.readers.cleanup import clean

# suffix -> the module (archive.readers.<name>) whose `read` reads it. Imported when first needed:
# python-docx, pypdfium2 and the OCR engine cost a command that reads no such file a tenth of a second.
READERS: dict[str, str] = {
    ".docx": "word", ".docm": "word",
    ".doc": "legacy", ".wps": "legacy", ".rtf": "legacy",
    ".pdf": "pdf",
    ".ofd": "ofd",
    ".txt": "webpage", ".htm": "webpage", ".html": "webpage",
    ".jpg": "image", ".jpeg": "image", ".png": "image", ".tif": "image", ".tiff": "image", ".bmp": "image",
}
assert frozenset(READERS) == SUPPORTED_SUFFIXES, "archive.kinds names the formats READERS reads"

__all__ = ["READERS", "SUPPORTED_SUFFIXES", "UnreadableFile", "file_format", "read", "reader_for", "skip_reason"]


TOO_LARGE = "too large to read within the memory limit (a zip bomb or a huge file?)"


def reader_for(path: Path) -> Reader:
    module = READERS.get(path.suffix.lower())
    if module is None:
        raise UnreadableFile(f"unsupported file type {path.suffix or '(none)'}")
    read_file: Reader = importlib.import_module(f"archive.readers.{module}").read
    return read_file


def read(path: Path) -> Extracted:
    """Read one file; raises UnreadableFile with a one-line reason."""
    reader = reader_for(path)
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
