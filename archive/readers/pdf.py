"""`.pdf`: text per page with pypdfium2 (many times faster than pdfminer on CJK PDFs).

Lines the PDF wrapped inside a sentence are rejoined; running headers and footers (第 3 页 共 7 页,
- 3 -, 内部资料, a title repeated on every page) are taken out so they never cut a sentence that goes
on over the page break; every paragraph keeps the page it starts on.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pypdfium2 as pdfium

from archive.document import Extracted, Paragraph
from archive.readers.base import UnreadableFile, check_not_empty
from archive.readers.layout import join_pieces, paragraphs_from_lines, squeeze_cjk_spaces, text_width

# Page-number lines, whatever the page they stand on.
_PAGE_NUMBER = re.compile(
    r"^(第\s*\d+\s*页\s*[,，/、]?\s*(共\s*\d+\s*页)?|共\s*\d+\s*页\s*[,，/、]?\s*第\s*\d+\s*页"
    r"|[-—–－]\s*\d+\s*[-—–－]|page\s*\d+(\s*of\s*\d+)?|\d+\s*/\s*\d+)$",
    re.IGNORECASE,
)
_EDGE_LINES = 2  # how many lines at the top and bottom of a page can be running headers or footers


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


def _page_lines(pdf: pdfium.PdfDocument, index: int) -> list[str]:
    page = pdf[index]
    try:
        textpage = page.get_textpage()
        try:
            text = textpage.get_text_range()
        finally:
            textpage.close()
    finally:
        page.close()
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x02", "").replace("\ufffe", "")
    return [squeeze_cjk_spaces(line.rstrip()) for line in text.split("\n")]


def _properties(pdf: pdfium.PdfDocument) -> dict[str, str | None]:
    try:
        info = pdf.get_metadata_dict(skip_empty=True)
    except Exception:
        info = {}
    return {"title": info.get("Title"), "author": info.get("Author"), "created": info.get("CreationDate")}


def _key(line: str) -> str:
    """A line with its numbers blanked: running headers differ only in their page numbers."""
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", line))


def _drop_running_lines(pages: list[list[str]]) -> None:
    """Remove page numbers and lines repeated at the same edge of many pages, in place."""
    edge_counts: Counter[str] = Counter()
    for lines in pages:
        content = [line for line in lines if line.strip()]
        edges = set(content[:_EDGE_LINES] + content[-_EDGE_LINES:])
        edge_counts.update({_key(line) for line in edges})
    threshold = max(2, (len(pages) + 1) // 2)
    repeated = {key for key, count in edge_counts.items() if count >= threshold and len(pages) >= 2}

    for number, lines in enumerate(pages, start=1):
        content_indexes = [i for i, line in enumerate(lines) if line.strip()]
        edges = content_indexes[:_EDGE_LINES] + content_indexes[-_EDGE_LINES:]
        drop = set()
        for i in edges:
            stripped = lines[i].strip()
            if _PAGE_NUMBER.match(stripped) or stripped == str(number) or _key(stripped) in repeated:
                drop.add(i)
        if drop:
            lines[:] = [line for i, line in enumerate(lines) if i not in drop]


def _paragraphs(pages: list[list[str]]) -> list[Paragraph]:
    """Paragraphs over all pages; one that runs to the foot of a page continues on the next."""
    width = text_width([line for lines in pages for line in lines])
    paragraphs: list[Paragraph] = []
    open_paragraph: Paragraph | None = None
    for number, lines in enumerate(pages, start=1):
        grouped = paragraphs_from_lines(lines, width)
        for position, (text, ends_open) in enumerate(grouped):
            if position == 0 and open_paragraph is not None and not lines[_first_content(lines)].startswith(("\u3000", "  ")):
                open_paragraph.page_breaks.append((len(open_paragraph.text), number))
                open_paragraph.text = join_pieces(open_paragraph.text, text)
            else:
                open_paragraph = Paragraph(text=text, page=number)
                paragraphs.append(open_paragraph)
            if position == len(grouped) - 1:
                open_paragraph = open_paragraph if ends_open else None
        if not grouped:
            continue
    return paragraphs


def _first_content(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        if line.strip():
            return index
    return 0
