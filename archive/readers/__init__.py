"""Reading files: one module per format behind one small interface, `read(path) -> Extracted`."""

from __future__ import annotations

import re
from pathlib import Path

from archive.document import Extracted
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
SUPPORTED_SUFFIXES = frozenset(READERS)
_FORMATS = {".docx": "docx", ".docm": "docx", ".doc": "doc", ".wps": "wps", ".rtf": "rtf", ".pdf": "pdf",
            ".ofd": "ofd", ".jpg": "image", ".jpeg": "image", ".png": "image", ".tif": "image", ".tiff": "image",
            ".bmp": "image"}
# Files an editor keeps beside the one being edited: Word's and WPS's owner files (~$x.docx), WPS's
# backups (x.docx.bak, ~x.wps), LibreOffice's lock files (.~lock.x.docx#), temporary saves (~WRL1234.tmp).
_EDITOR_FILES = re.compile(r"^(~\$|\.~lock\.|~WR[LD]\d+|~\w{2,}\.tmp$)|\.(tmp|bak|wbk|asd)$", re.IGNORECASE)

__all__ = ["READERS", "SUPPORTED_SUFFIXES", "UnreadableFile", "file_format", "read", "skip_reason"]


def file_format(path: Path) -> str:
    """The format name shown to users: docx, doc, wps, rtf, pdf, ofd, image or page (a saved page)."""
    return _FORMATS.get(path.suffix.lower(), "page")


def skip_reason(path: Path) -> str | None:
    """Why a file in the folder is not a speech at all (reported as skipped, not failed)."""
    if path.name.startswith("~$"):
        return "Word lock file"
    if _EDITOR_FILES.search(path.name):
        return "an editor's lock, backup or temporary file"
    return None


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
        raise UnreadableFile("too large to read within the memory limit") from None
    except OSError as error:
        raise UnreadableFile(f"cannot read the file: {error.strerror or error}") from None
