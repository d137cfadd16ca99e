"""`.pdf`: text per page with pypdfium2 (many times faster than pdfminer on CJK PDFs); scanned
pages (no text layer, an image instead) are read by OCR.

pdfium reports text as rectangles with their position on the page, so lines are rejoined into
paragraphs by geometry, not guesswork (archive.readers.pagelines): a line that stops short of the
right edge ends its paragraph, an indented line starts one. Running headers and footers (第 3 页 共 7
页, - 3 -, 内部资料, a title repeated on every page) are taken out, so they never cut a sentence that
goes on over the page break; every paragraph keeps the page it starts on and where it runs onto the
next. A PDF with some text pages and some scanned pages gets both; a text page is never OCR'd.
"""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from archive.document import Extracted
from archive.readers import ocr
from archive.readers.base import UnreadableFile, check_not_empty
from archive.readers.layout import squeeze_cjk_spaces
from archive.readers.pagelines import Line, drop_running_lines, lines_from_pieces, paragraphs_of_pages

SCANNED_BELOW = 20  # a page with fewer text-layer characters than this and an image on it is a scan


def read(path: Path) -> Extracted:
    check_not_empty(path)
    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as error:
        raise UnreadableFile(_reason(str(error))) from None
    try:
        pages: list[list[Line]] = []
        scanned = 0
        for index in range(len(pdf)):
            lines = _page_lines(pdf, index)
            if sum(len(line.text) for line in lines) < SCANNED_BELOW and _has_image(pdf, index):
                lines = _ocr_page(pdf, index)
                scanned += 1
            pages.append(lines)
        properties = _properties(pdf)
    finally:
        pdf.close()
    drop_running_lines(pages)
    return Extracted(paragraphs=paragraphs_of_pages(pages), pages=len(pages), properties=properties,
                     ocr_pages=scanned)


def _has_image(pdf: pdfium.PdfDocument, index: int) -> bool:
    page = pdf[index]
    try:
        return any(True for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2))
    finally:
        page.close()


def _ocr_page(pdf: pdfium.PdfDocument, index: int) -> list[Line]:
    """A scanned page's lines, in the PDF's own units (points), from OCR of the page rendered at
    ocr.RENDER_DPI."""
    scale = ocr.RENDER_DPI / 72
    page = pdf[index]
    try:
        width, height = page.get_size()
        if width * height * scale * scale > ocr.MAX_PIXELS:
            scale = (ocr.MAX_PIXELS / (width * height)) ** 0.5
        image = page.render(scale=scale, grayscale=True).to_pil()
    finally:
        page.close()
    return lines_from_pieces(ocr.page_pieces(image, pixels_per_unit=scale))


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


def _page_lines(pdf: pdfium.PdfDocument, index: int) -> list[Line]:
    """The page's text lines, top to bottom, each with its extent on the page.

    pdfium's text has one character per character index, with the line breaks it generates; the
    boxes of a line's first and last visible characters give the line's extent.
    """
    page = pdf[index]
    try:
        textpage = page.get_textpage()
        try:
            text = textpage.get_text_range()
            width = page.get_width()
            lines: list[Line] = []
            start = 0
            for raw in text.split("\n"):
                stripped = raw.rstrip("\r")
                first = len(stripped) - len(stripped.lstrip())
                last = len(stripped.rstrip()) - 1
                if last >= first:
                    left, bottom1, _, top1 = textpage.get_charbox(start + first)
                    _, bottom2, right, top2 = textpage.get_charbox(start + last)
                    lines.append(Line(_clean(stripped), left, right, max(top1, top2), min(bottom1, bottom2), width))
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


