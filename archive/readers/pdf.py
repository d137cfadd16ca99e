"""`.pdf`: text per page with pypdfium2 (many times faster than pdfminer on CJK PDFs).

pdfium reports text as rectangles with their position on the page, so lines are rejoined into
paragraphs by geometry, not guesswork: a line that stops short of the right edge ends its paragraph,
an indented line starts one. Running headers and footers (第 3 页 共 7 页, - 3 -, 内部资料, a title
repeated on every page) are taken out, so they never cut a sentence that goes on over the page break;
every paragraph keeps the page it starts on and where it runs onto the next.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium

from archive.document import Extracted, Paragraph
from archive.readers.base import UnreadableFile, check_not_empty
from archive.readers.layout import display_width, join_pieces, squeeze_cjk_spaces

# Page-number lines, whatever the page they stand on.
_PAGE_NUMBER = re.compile(
    r"^(第\s*\d+\s*页\s*[,，/、]?\s*(共\s*\d+\s*页)?|共\s*\d+\s*页\s*[,，/、]?\s*第\s*\d+\s*页"
    r"|[-—–－]\s*\d+\s*[-—–－]|page\s*\d+(\s*of\s*\d+)?|\d+\s*/\s*\d+)$",
    re.IGNORECASE,
)
_EDGE_LINES = 2  # how many lines at the top and bottom of a page can be running headers or footers


@dataclass
class _Line:
    text: str
    left: float
    right: float
    top: float
    bottom: float
    page_width: float

    @property
    def height(self) -> float:
        return max(self.top - self.bottom, 1.0)


def read(path: Path) -> Extracted:
    check_not_empty(path)
    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as error:
        raise UnreadableFile(_reason(str(error))) from None
    try:
        pages = [_page_lines(pdf, index) for index in range(len(pdf))]
        properties = _properties(pdf)
    finally:
        pdf.close()
    _drop_running_lines(pages)
    return Extracted(paragraphs=_paragraphs(pages), pages=len(pages), properties=properties)


def _reason(message: str) -> str:
    lowered = message.lower()
    if "password" in lowered:
        return "encrypted PDF: needs a password"
    if "format" in lowered or "header" in lowered:
        return "not a valid PDF (corrupt, truncated, or another kind of file)"
    if "file" in lowered:
        return "cannot open the PDF file"
    return f"PDF could not be read: {message.splitlines()[0][:120]}"


def _clean(text: str) -> str:
    text = text.replace("\r", "").replace("\n", "").replace("\x02", "").replace("\ufffe", "")
    return squeeze_cjk_spaces(text.strip())


def _page_lines(pdf: pdfium.PdfDocument, index: int) -> list[_Line]:
    """The page's text lines, top to bottom, each with its extent on the page.

    pdfium's text has one character per character index, with the line breaks it generates; the
    boxes of a line's first and last visible characters give the line's extent.
    """
    page = pdf[index]
    try:
        textpage = page.get_textpage()
        try:
            text = textpage.get_text_range()
            lines: list[_Line] = []
            start = 0
            for raw in text.split("\n"):
                stripped = raw.rstrip("\r")
                first = len(stripped) - len(stripped.lstrip())
                last = len(stripped.rstrip()) - 1
                if last >= first:
                    left, bottom1, _, top1 = textpage.get_charbox(start + first)
                    _, bottom2, right, top2 = textpage.get_charbox(start + last)
                    lines.append(_Line(_clean(stripped), left, right, max(top1, top2), min(bottom1, bottom2),
                                       page.get_width()))
                start += len(raw) + 1
        finally:
            textpage.close()
    finally:
        page.close()
    lines = [line for line in lines if line.text]
    lines.sort(key=lambda line: -line.top)
    return lines


def _properties(pdf: pdfium.PdfDocument) -> dict[str, str | None]:
    try:
        info = pdf.get_metadata_dict(skip_empty=True)
    except Exception:
        info = {}
    return {"title": info.get("Title"), "author": info.get("Author"), "created": info.get("CreationDate")}


def _key(text: str) -> str:
    """A line with its numbers blanked: running headers differ only in their page numbers."""
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))


def _drop_running_lines(pages: list[list[_Line]]) -> None:
    """Remove page numbers, and short lines repeated at the top or bottom of many pages, in place."""
    body_width = max((display_width(line.text) for lines in pages for line in lines), default=0.0)
    counts: Counter[str] = Counter()
    for lines in pages:
        counts.update({_key(line.text) for line in lines[:_EDGE_LINES] + lines[-_EDGE_LINES:]})
    threshold = max(2, (len(pages) + 1) // 2)
    for number, lines in enumerate(pages, start=1):
        edges = set(range(min(_EDGE_LINES, len(lines)))) | set(range(max(0, len(lines) - _EDGE_LINES), len(lines)))
        drop = set()
        for i in edges:
            text = lines[i].text
            repeated = (len(pages) >= 2 and counts[_key(text)] >= threshold
                        and display_width(text) < 0.7 * body_width)
            if _PAGE_NUMBER.match(text) or text == str(number) or repeated:
                drop.add(i)
        if drop:
            lines[:] = [line for i, line in enumerate(lines) if i not in drop]


def _paragraphs(pages: list[list[_Line]]) -> list[Paragraph]:
    """Paragraphs over all pages; one that runs to the foot of a page continues on the next."""
    all_lines = [line for lines in pages for line in lines]
    if not all_lines:
        return []
    em = statistics.median(line.height for line in all_lines) * 0.85
    widest = max(line.right - line.left for line in all_lines)
    wide = [line for line in all_lines if line.right - line.left > 0.5 * widest]
    left_edge = min(line.left for line in wide)
    right_edge = max(line.right for line in wide)
    if sum(line.right >= right_edge - em for line in all_lines) < 3:
        # Too few full lines to see the text width: assume margins as wide on the right as on the left.
        right_edge = max(right_edge, statistics.median(line.page_width for line in all_lines) - left_edge)

    def short(line: _Line) -> bool:
        return line.right < right_edge - 1.5 * em

    def indented(line: _Line) -> bool:
        return line.left > left_edge + 0.8 * em

    paragraphs: list[Paragraph] = []
    current: Paragraph | None = None
    previous: _Line | None = None
    for number, lines in enumerate(pages, start=1):
        for position, line in enumerate(lines):
            starts = current is None or previous is None or short(previous) or indented(line)
            if starts:
                current = Paragraph(text=line.text, page=number)
                paragraphs.append(current)
            else:
                if position == 0:
                    current.page_breaks.append((len(current.text), number))
                current.text = join_pieces(current.text, line.text)
            previous = line
    return paragraphs
