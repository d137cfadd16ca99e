"""The shapes that pass between readers, metadata, the index and the front ends."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any


def doc_id(path: str) -> str:
    """A short stable id for a document, for URLs: paths never travel in requests."""
    return hashlib.sha1(path.encode("utf-8")).hexdigest()[:16]


@dataclass
class Paragraph:
    """A paragraph as a reader sees it, with the page it starts on (1-based; None if unknown)."""

    text: str
    page: int | None = None
    page_breaks: list[tuple[int, int]] = field(default_factory=list)  # (offset in text, page) where a later page begins

    def page_at(self, offset: int) -> int | None:
        """The page the character at `offset` stands on."""
        page = self.page
        for start, next_page in self.page_breaks:
            if offset >= start:
                page = next_page
        return page


@dataclass
class Extracted:
    """What a reader gets out of one file: paragraphs in reading order plus what the file states."""

    paragraphs: list[Paragraph]
    pages: int | None = None  # a page count the file states exactly (PDF, a saved page's 页数)
    pages_estimated: bool = False
    properties: dict[str, Any] = field(default_factory=dict)  # title/author/created from the file's own properties
    footer: dict[str, Any] = field(default_factory=dict)  # a saved page's footer: published, pages, size, uploader
    ocr_pages: int = 0  # pages whose text was read by OCR (a scan): it may hold misread characters

    @property
    def text(self) -> str:
        return "\n".join(p.text for p in self.paragraphs)


@dataclass
class Metadata:
    """What an office wants to know about a speech. Unknown values are None, never a guess."""

    title: str | None = None
    title_source: str | None = None  # "text", "property", "filename"
    date: str | None = None  # ISO 8601 at the precision the text gives: 2020, 2020-03, 2020-03-05
    speaker: str | None = None
    role: str | None = None
    meeting: str | None = None
    pages: int | None = None
    pages_estimated: bool = False
    published: str | None = None  # a saved page's 发布时间, "2023-01-16 12:41:30"
    uploader: str | None = None  # a saved page's 文章作者 (not the speaker)
    stated_size: str | None = None  # a saved page's 大小, as written ("45.94 KB")
    compilation: bool = False  # the file holds several speeches; metadata is the first one's
    ocr: bool = False  # some of the text was read from page images by OCR

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def paragraphs_to_rows(paragraphs: list[Paragraph]) -> list[list[Any]]:
    """Paragraphs as a record keeps them: [text, page, page_breaks] lists (small to store)."""
    return [[p.text, p.page, [list(b) for b in p.page_breaks]] for p in paragraphs]
