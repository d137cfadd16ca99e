"""The shapes that pass between readers, metadata, the index and the front ends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, overload


def doc_id(path: str) -> str:
    """A short stable id for a document, for URLs: paths never travel in requests."""
    import hashlib  # here: a cold search never needs it (4 ms of a command's start)

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


# The keys of a document as `archive list --json` shows it: the contract's first, then ours.
PUBLIC_KEYS = (
    "path", "format", "title", "speaker", "role", "date", "pages", "pages_estimated", "size", "sha256",
    "published", "uploader",
)
EXTRA_KEYS = ("id", "meeting", "modified", "stated_size", "compilation", "title_source", "ocr")


class _Paragraphs(Sequence[Paragraph]):
    """Stored paragraph rows, each made a Paragraph when first asked for: a search shows a few of a
    document's paragraphs, not all of them."""

    def __init__(self, rows: list[list[Any]]) -> None:
        self.rows = rows
        self._made: dict[int, Paragraph] = {}

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> Paragraph: ...

    @overload
    def __getitem__(self, index: slice) -> list[Paragraph]: ...

    def __getitem__(self, index: int | slice) -> Paragraph | list[Paragraph]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self.rows)
        if index not in self._made:
            text, page, breaks = self.rows[index]
            self._made[index] = Paragraph(text, page, [(start, after) for start, after in breaks])
        return self._made[index]


@dataclass(kw_only=True)
class Document(Metadata):
    """One readable file as the archive keeps it: its metadata, the file's facts and its paragraphs.

    The worker (archive.ingest.prepare) makes it, an index engine stores it (`to_record`, a plain dict that
    whoosh pickles and PostgreSQL keeps as JSON) and gives it back (`from_record`), and the front ends
    show it (`listing`, the JSON shape of `archive list --json`).
    """

    path: str
    id: str
    format: str
    size: int
    sha256: str
    modified: str | None = None
    extractor: int = 0  # the extractor version that read it (archive.ingest.extractor.EXTRACTOR_VERSION)
    paragraphs: Sequence[Paragraph] = ()
    normalised_lengths: list[int] | None = None  # each paragraph's normalised length (passages skip normalising)

    @property
    def text(self) -> str:
        return "\n".join(p.text for p in self.paragraphs)

    def listing(self) -> dict[str, Any]:
        """The document as `archive list --json` shows it."""
        return {key: getattr(self, key) for key in (*PUBLIC_KEYS, *EXTRA_KEYS)}

    def to_record(self) -> dict[str, Any]:
        record = {name: getattr(self, name) for name in _FIELDS if name != "paragraphs"}
        paragraphs = self.paragraphs
        record["paragraphs"] = paragraphs.rows if isinstance(paragraphs, _Paragraphs) else paragraphs_to_rows(list(paragraphs))
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Document:
        """A stored record as a Document (keys it does not know, from older or newer versions, are left)."""
        known = {name: record[name] for name in _FIELDS if name in record and name != "paragraphs"}
        return cls(**known, paragraphs=_Paragraphs(record.get("paragraphs") or []))


_FIELDS = tuple(f.name for f in fields(Document))
