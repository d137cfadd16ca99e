"""The stored record of a document: what `list`, `show`, passages and exports are made from.

A record is a plain dict (whoosh pickles it into the index). Paragraphs are kept as
[text, page, page_breaks] lists to keep the index small.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archive.document import Paragraph, doc_id, paragraphs_to_rows

__all__ = ["EXTRA_KEYS", "PUBLIC_KEYS", "doc_id", "paragraphs_of", "paragraphs_to_rows", "public"]

PUBLIC_KEYS = (
    "path", "format", "title", "speaker", "role", "date", "pages", "pages_estimated", "size", "sha256",
    "published", "uploader",
)
EXTRA_KEYS = ("id", "meeting", "modified", "stated_size", "compilation", "title_source", "ocr")


class _Paragraphs(Sequence[Paragraph]):
    """A record's paragraphs, each made when first asked for: a search shows a few of a document's."""

    def __init__(self, rows: list[list[Any]]) -> None:
        self._rows = rows
        self._made: dict[int, Paragraph] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self._rows)
        if index not in self._made:
            text, page, breaks = self._rows[index]
            self._made[index] = Paragraph(text, page, [tuple(b) for b in breaks])
        return self._made[index]


def paragraphs_of(record: dict[str, Any]) -> Sequence[Paragraph]:
    return _Paragraphs(record["paragraphs"])


def public(record: dict[str, Any]) -> dict[str, Any]:
    """The document as `archive list --json` shows it (contract keys first, then ours)."""
    shown = {key: record.get(key) for key in PUBLIC_KEYS}
    shown.update({key: record.get(key) for key in EXTRA_KEYS})
    return shown
