"""`.docx`: body paragraphs and tables in reading order; headers and footers stay out of the body.

A .docx is a zip of XML. Before python-docx parses anything, the zip's own directory is checked so a
zip bomb or a password-protected file (an OLE container, not a zip) is refused with a clear reason.
"""

from __future__ import annotations

import math
import re
import zipfile
from pathlib import Path

import docx
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph as DocxParagraph

from archive.document import Extracted, Paragraph
from archive.readers.base import UnreadableFile, check_not_empty

MAX_INFLATED_BYTES = 200 * 1024 * 1024  # what all of a speech's XML may inflate to
MAX_RATIO = 200  # a compression ratio beyond this is a bomb, not a document
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

_PAGE_BREAK_TAGS = (qn("w:lastRenderedPageBreak"), qn("w:br"))


def read(path: Path) -> Extracted:
    check_not_empty(path)
    _check_container(path)
    try:
        document = docx.Document(str(path))
    except KeyError as error:
        raise UnreadableFile(f"not a Word document: the .docx has no {error.args[0] if error.args else 'main part'}") from None
    except zipfile.BadZipFile:
        raise UnreadableFile("corrupt .docx: the zip archive is damaged (truncated copy?)") from None
    except Exception as error:  # lxml and python-docx raise many kinds for broken XML
        raise UnreadableFile(f"corrupt .docx: {_short(error)}") from None

    paragraphs, breaks_seen, rendered = _body_paragraphs(document)
    properties = _core_properties(document)
    stated_pages, stated_chars = _app_statistics(path)
    text_chars = sum(len(re.sub(r"\s", "", p.text)) for p in paragraphs)

    if stated_pages and stated_chars and abs(stated_chars - text_chars) <= max(20, 0.05 * text_chars):
        pages, estimated = stated_pages, False
    elif rendered:
        pages, estimated = breaks_seen + 1, False
    else:
        pages, estimated = estimate_pages(document, paragraphs), True
        _estimate_paragraph_pages(document, paragraphs)
    return Extracted(paragraphs=paragraphs, pages=pages, pages_estimated=estimated, properties=properties)


def _check_container(path: Path) -> None:
    with path.open("rb") as handle:
        magic = handle.read(8)
    if magic == _OLE_MAGIC:
        raise UnreadableFile("password-protected Word file (or an old .doc renamed .docx): save it unprotected as .docx")
    if not magic.startswith(b"PK"):
        raise UnreadableFile("not a Word document: the file is not a .docx (zip) at all")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile:
        raise UnreadableFile("corrupt .docx: the zip archive is damaged (truncated copy?)") from None
    inflated = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members) or 1
    if inflated > MAX_INFLATED_BYTES or (inflated > 20 * 1024 * 1024 and inflated / packed > MAX_RATIO):
        raise UnreadableFile(f"zip bomb: the .docx would inflate to {inflated // (1024 * 1024)} MB; not read")
    if not any(m.filename == "word/document.xml" for m in members):
        raise UnreadableFile("not a Word document: the zip has no word/document.xml")


def _short(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:120]


def _body_paragraphs(document: docx.document.Document) -> tuple[list[Paragraph], int, bool]:
    """Paragraphs in reading order with the page each starts on, as far as Word recorded it.

    Word writes `w:lastRenderedPageBreak` where its layout broke pages; explicit page breaks count too.
    Returns the paragraphs, the number of page breaks seen and whether Word's layout marks exist.
    """
    paragraphs: list[Paragraph] = []
    page = 1
    rendered = False

    def visit(block: DocxParagraph | Table) -> None:
        nonlocal page, rendered
        if isinstance(block, DocxParagraph):
            element = block._p
            if block.paragraph_format.page_break_before and paragraphs:
                page += 1
            start_page = page
            for node in element.iter(*_PAGE_BREAK_TAGS):
                if node.tag == _PAGE_BREAK_TAGS[0]:
                    rendered = True
                    page += 1
                elif node.get(qn("w:type")) == "page":
                    page += 1
            text = block.text.strip()
            if text:
                paragraphs.append(Paragraph(text=text, page=start_page if not rendered else start_page))
            return
        for row in block.rows:
            cells: list[str] = []
            for cell in row.cells:
                for inner in cell.iter_inner_content():
                    if isinstance(inner, Table):
                        visit(inner)
                cell_text = "\n".join(p.text.strip() for p in cell.paragraphs if p.text.strip())
                if cell_text and (not cells or cells[-1] != cell_text):  # merged cells repeat
                    cells.append(cell_text)
            if cells:
                paragraphs.append(Paragraph(text="\t".join(cells), page=page))

    for block in document.iter_inner_content():
        visit(block)
    breaks = page - 1
    return paragraphs, breaks, rendered


def _core_properties(document: docx.document.Document) -> dict[str, str | None]:
    core = document.core_properties
    return {
        "title": (core.title or "").strip() or None,
        "author": (core.author or "").strip() or None,
        "created": core.created.isoformat() if core.created else None,
    }


def _app_statistics(path: Path) -> tuple[int | None, int | None]:
    """Pages and characters from docProps/app.xml: real only when Word (or LibreOffice) computed them."""
    try:
        with zipfile.ZipFile(path) as archive:
            xml = archive.read("docProps/app.xml")[:65536].decode("utf-8", "replace")
    except (KeyError, zipfile.BadZipFile, OSError):
        return None, None

    def number(tag: str) -> int | None:
        match = re.search(rf"<(?:\w+:)?{tag}>(\d+)</", xml)
        return int(match.group(1)) if match else None

    return number("Pages"), number("Characters")


# --- page estimates -----------------------------------------------------------------------------
# Without Word's own layout the page count is estimated from the document's page setup and font
# size: Chinese characters are square, one em wide; a line is about 1.3 em high at single spacing.

_EMU_PER_PT = 12700


class _Layout:
    def __init__(self, document: docx.document.Document) -> None:
        section = document.sections[0] if document.sections else None

        def pt(value, default: float) -> float:
            return value / _EMU_PER_PT if value else default

        width = pt(section.page_width if section else None, 595.3)
        height = pt(section.page_height if section else None, 841.9)
        left = pt(section.left_margin if section else None, 90.0)
        right = pt(section.right_margin if section else None, 90.0)
        top = pt(section.top_margin if section else None, 72.0)
        bottom = pt(section.bottom_margin if section else None, 72.0)
        self.text_width = max(width - left - right, 72.0)
        self.text_height = max(height - top - bottom, 72.0)
        self.default_size = _default_font_size(document)

    def paragraph_height(self, block: DocxParagraph, text: str) -> float:
        size = self.default_size
        style_font = block.style.font.size if block.style is not None else None
        if style_font:
            size = style_font.pt
        run_sizes = [r.font.size.pt for r in block.runs if r.font.size]
        if run_sizes:
            size = max(run_sizes)
        fmt = block.paragraph_format
        style_fmt = block.style.paragraph_format if block.style is not None else None
        spacing = fmt.line_spacing or (style_fmt.line_spacing if style_fmt else None)
        if spacing is None:
            line_height = size * 1.3
        elif isinstance(spacing, float):
            line_height = size * 1.3 * spacing
        else:
            line_height = spacing.pt
        indent = (fmt.first_line_indent.pt if fmt.first_line_indent else 0.0)
        ems = sum(1.0 if ord(c) > 0x2e80 else 0.55 for c in text) + indent / size
        per_line = max(self.text_width / size, 1.0)
        lines = max(1, math.ceil(ems / per_line))
        before = fmt.space_before or (style_fmt.space_before if style_fmt else None)
        after = fmt.space_after or (style_fmt.space_after if style_fmt else None)
        return lines * line_height + (before.pt if before else 0.0) + (after.pt if after else 0.0)


def _default_font_size(document: docx.document.Document) -> float:
    normal = document.styles["Normal"] if "Normal" in [s.name for s in document.styles] else None
    if normal is not None and normal.font.size:
        return normal.font.size.pt
    defaults = document.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        size = defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:sz')}")
        if size is not None and size.get(qn("w:val"), "").isdigit():
            return int(size.get(qn("w:val"))) / 2
    return 10.5


def _walk_layout(document: docx.document.Document):
    """Yield (paragraph text, height in pt, forced page break before) for every body paragraph."""
    layout = _Layout(document)
    for block in document.iter_inner_content():
        if isinstance(block, DocxParagraph):
            text = block.text.strip()
            forced = bool(block.paragraph_format.page_break_before) or any(
                n.get(qn("w:type")) == "page" for n in block._p.iter(qn("w:br"))
            )
            yield text, layout.paragraph_height(block, text), forced, layout.text_height
        else:
            for row in block.rows:
                text = "".join(c.text for c in row.cells)
                yield text, layout.default_size * 1.3 * max(1, text.count("\n") + 1) + 4, False, layout.text_height


def _page_plan(document: docx.document.Document) -> list[tuple[str, int]]:
    """(paragraph text, estimated page) for every body paragraph."""
    plan: list[tuple[str, int]] = []
    page, used = 1, 0.0
    for text, height, forced, page_height in _walk_layout(document):
        if forced and used > 0:
            page, used = page + 1, 0.0
        if used + height > page_height and used > 0:
            overflow = used + height - page_height
            plan.append((text, page))
            page += 1 + int(overflow // page_height)
            used = overflow % page_height
            continue
        plan.append((text, page))
        used += height
    return plan


def estimate_pages(document: docx.document.Document, paragraphs: list[Paragraph]) -> int:
    plan = _page_plan(document)
    if not plan:
        return 1
    last_page = plan[-1][1]
    return max(1, last_page)


def _estimate_paragraph_pages(document: docx.document.Document, paragraphs: list[Paragraph]) -> None:
    """Give each paragraph its estimated page (same walk, matched by text in order)."""
    plan = [(text.strip(), page) for text, page in _page_plan(document) if text.strip()]
    cursor = 0
    for paragraph in paragraphs:
        for index in range(cursor, len(plan)):
            if plan[index][0] and plan[index][0][:20] == paragraph.text.replace("\t", "")[:20]:
                paragraph.page = plan[index][1]
                cursor = index + 1
                break
