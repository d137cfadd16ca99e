"""What an export holds: passages grouped by document, each with the citations of every file it is in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archive.document import Document
from archive.normalize import normalise
from archive.search import SearchResults


@dataclass(frozen=True)
class Citation:
    title: str | None
    speaker: str | None
    role: str | None
    date: str | None
    meeting: str | None
    page: int | None
    path: str

    def text(self, *, with_page: bool = True) -> str:
        """《title》 role speaker · date · meeting · 第N页 · path, leaving out what is unknown."""
        parts = [f"《{self.title or '无标题'}》"]
        who = " ".join(v for v in (self.role, self.speaker) if v)
        parts += [v for v in (who, self.date, self.meeting) if v]
        if self.page and with_page:
            parts.append(f"第{self.page}页")
        parts.append(self.path)
        return " · ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "speaker": self.speaker, "role": self.role, "date": self.date,
                "meeting": self.meeting, "page": self.page, "path": self.path}


@dataclass
class ExportPassage:
    text: str
    highlights: list[tuple[int, int]]
    citations: list[Citation]  # the first is the document it is listed under; more where copies hold it too

    def source_note(self, gap: str = " ") -> str:
        """（第N页） and 另见：… for the other files holding it; empty when there is nothing to say."""
        page = self.citations[0].page
        where = f"（第{page}页）" if page else ""
        return where + "".join(f"{gap}另见：{c.text()}" for c in self.citations[1:])


@dataclass
class ExportDocument:
    document: Document
    passages: list[ExportPassage] = field(default_factory=list)


@dataclass
class Export:
    query: str
    exported_at: str
    documents: list[ExportDocument]

    @property
    def passage_count(self) -> int:
        return sum(len(d.passages) for d in self.documents)

    def records(self) -> list[dict[str, Any]]:
        """One flat record per passage: the rows of CSV and JSON exports."""
        rows = []
        for document in self.documents:
            for passage in document.passages:
                first = passage.citations[0]
                row = first.to_dict()
                row["passage"] = passage.text
                row["highlights"] = [list(h) for h in passage.highlights]
                row["also_in"] = [c.to_dict() for c in passage.citations[1:]]
                rows.append(row)
        return rows


def _final_versions_first(hits: list[Any]) -> list[Any]:
    """Hits in their order, but within a group of versions of one speech the final version comes
    first, so a passage all of them hold is cited from the final version, the others listed after."""
    first_seen: dict[str, int] = {}
    for position, hit in enumerate(hits):
        first_seen.setdefault(hit.final or hit.document.path, position)
    return sorted(hits, key=lambda hit: (first_seen[hit.final or hit.document.path],
                                         hit.document.path != (hit.final or hit.document.path)))


def build(results: SearchResults, exported_at: str) -> Export:
    """Group search hits into an export; a passage seen in an earlier document is cited there, not repeated."""
    seen: dict[str, ExportPassage] = {}
    documents: list[ExportDocument] = []
    for hit in _final_versions_first(results.hits):
        speech = hit.document
        document = ExportDocument(speech)
        for passage in hit.passages:
            citation = Citation(speech.title, speech.speaker, speech.role, speech.date, speech.meeting, passage.page,
                                speech.path)
            key = normalise(passage.text)
            if key in seen:
                if citation not in seen[key].citations:
                    seen[key].citations.append(citation)
                continue
            exported = ExportPassage(passage.text, list(passage.highlights), [citation])
            seen[key] = exported
            document.passages.append(exported)
        if document.passages:
            documents.append(document)
    return Export(results.query, exported_at, documents)
