"""The one small interface every reader implements, and the error it raises."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Protocol

from archive.document import Extracted


class UnreadableFile(Exception):
    """The file cannot be read as a speech; the message is the one-line reason shown to users."""


class Reader(Protocol):
    def __call__(self, path: Path) -> Extracted: ...


def check_not_empty(path: Path) -> None:
    if path.stat().st_size == 0:
        raise UnreadableFile("empty file (0 bytes)")


MAX_INFLATED_BYTES = 200 * 1024 * 1024  # what all of a document's XML may inflate to
MAX_RATIO = 200  # a compression ratio beyond this is a bomb, not a document


def check_zip(path: Path, kind: str) -> list[zipfile.ZipInfo]:
    """The members of a zip-based document (.docx, .ofd), refused with a reason when it is damaged
    or a zip bomb, before anything is inflated."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile:
        raise UnreadableFile(f"corrupt {kind}: the zip archive is damaged (truncated copy?)") from None
    check_zip_members(members, kind)
    return members


def check_zip_members(members: list[zipfile.ZipInfo], kind: str) -> None:
    """Refuse a zip bomb by what its members say they inflate to, before anything is inflated."""
    inflated = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members) or 1
    if inflated > MAX_INFLATED_BYTES or (inflated > 20 * 1024 * 1024 and inflated / packed > MAX_RATIO):
        raise UnreadableFile(f"zip bomb: the {kind} would inflate to {inflated // (1024 * 1024)} MB; not read")
