"""Reading files: one module per format behind one small interface, `read(path) -> Extracted`."""

from __future__ import annotations

from pathlib import Path

from archive.document import Extracted
from archive.readers import pdf, webpage, word
from archive.readers.base import Reader, UnreadableFile

READERS: dict[str, Reader] = {
    ".docx": word.read,
    ".pdf": pdf.read,
    ".txt": webpage.read,
    ".htm": webpage.read,
    ".html": webpage.read,
}
SUPPORTED_SUFFIXES = frozenset(READERS)

__all__ = ["READERS", "SUPPORTED_SUFFIXES", "UnreadableFile", "file_format", "read", "skip_reason"]


def file_format(path: Path) -> str:
    """The format name shown to users: docx, pdf or page (a saved document page)."""
    suffix = path.suffix.lower()
    return {".docx": "docx", ".pdf": "pdf"}.get(suffix, "page")


def skip_reason(path: Path) -> str | None:
    """Why a file in the folder is not a speech at all (reported as skipped, not failed)."""
    if path.name.startswith("~$"):
        return "Word lock file"
    return None


def read(path: Path) -> Extracted:
    """Read one file; raises UnreadableFile with a one-line reason."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise UnreadableFile(f"unsupported file type {path.suffix or '(none)'}")
    try:
        return reader(path)
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
