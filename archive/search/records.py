"""The stored record of a document: what `list`, `show`, passages and exports are made from.

A record is a plain dict (whoosh pickles it into the index). Paragraphs are kept as
[text, page, page_breaks] lists to keep the index small.
"""

from __future__ import annotations

import hashlib
from typing import Any

from archive.document import Paragraph

PUBLIC_KEYS = (
    "path", "format", "title", "speaker", "role", "date", "pages", "pages_estimated", "size", "sha256",
    "published", "uploader",
)
EXTRA_KEYS = ("id", "meeting", "modified", "stated_size", "compilation", "title_source")


def doc_id(path: str) -> str:
    """A short stable id for a document, for URLs: paths never travel in requests."""
    return hashlib.sha1(path.encode("utf-8")).hexdigest()[:16]


def paragraphs_to_rows(paragraphs: list[Paragraph]) -> list[list[Any]]:
    return [[p.text, p.page, [list(b) for b in p.page_breaks]] for p in paragraphs]


def paragraphs_of(record: dict[str, Any]) -> list[Paragraph]:
    return [Paragraph(text, page, [tuple(b) for b in breaks]) for text, page, breaks in record["paragraphs"]]


def public(record: dict[str, Any]) -> dict[str, Any]:
    """The document as `archive list --json` shows it (contract keys first, then ours)."""
    shown = {key: record.get(key) for key in PUBLIC_KEYS}
    shown.update({key: record.get(key) for key in EXTRA_KEYS})
    return shown
