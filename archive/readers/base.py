"""The one small interface every reader implements, and the error it raises."""

from __future__ import annotations

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
