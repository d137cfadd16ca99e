"""`.docx`: body paragraphs and tables in reading order; headers and footers stay out of the body.

A .docx is a zip of XML. Before python-docx parses anything, the zip's own directory is checked so a
zip bomb or a password-protected file (an OLE container, not a zip) is refused with a clear reason.
"""

from __future__ import annotations

import math
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from docx.oxml.ns import nsmap, qn
from docx.oxml.parser import element_class_lookup
from docx.oxml.parser import parse_xml as parse_small_xml
from docx.table import Table
from lxml import etree

from archive.document import Extracted, Paragraph
from archive.readers.base import UnreadableFile, check_not_empty, check_zip_members

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

_PAGE_BREAK_TAGS = (qn("w:lastRenderedPageBreak"), qn("w:br"))
_PPR, _BREAK_BEFORE, _VAL = qn("w:pPr"), qn("w:pageBreakBefore"), qn("w:val")
_PARAGRAPH, _TABLE, _TEXT, _TAB = qn("w:p"), qn("w:tbl"), qn("w:t"), qn("w:tab")
_LINE_BREAK, _CARRIAGE = qn("w:br"), qn("w:cr")
_SDT, _SDT_CONTENT, _CUSTOM_XML = qn("w:sdt"), qn("w:sdtContent"), qn("w:customXml")
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_MOVE_FROM = qn("w:moveFrom")
_RUN, _RUN_SIZE = qn("w:r"), f"{qn('w:rPr')}/{qn('w:sz')}"
_PARAGRAPH_STYLE, _INDENT = qn("w:pStyle"), qn("w:ind")
_FIRST_LINE, _FIRST_LINE_CHARS = qn("w:firstLine"), qn("w:firstLineChars")
_NARROW = re.compile("[\x00-\u2e80]")  # characters about half an em wide in a Chinese text

# python-docx's own parser, but with lxml's huge_tree: a yearbook's 4-million-character paragraph is
# one text node of 12 MB, past lxml's default 10 MB limit.
_PARSER = etree.XMLParser(remove_blank_text=True, resolve_entities=False, huge_tree=True, no_network=True)
_PARSER.set_element_class_lookup(element_class_lookup)
# ISO 29500 Strict documents name the same elements under other namespaces.
_STRICT = ((b"http://purl.oclc.org/ooxml/wordprocessingml/main", b"http://schemas.openxmlformats.org/wordprocessingml/2006/main"),
           (b"http://purl.oclc.org/ooxml/officeDocument/relationships", b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"),
           (b"http://purl.oclc.org/ooxml/drawingml/main", b"http://schemas.openxmlformats.org/drawingml/2006/main"))


def parse_xml(xml: bytes):
    """An XML part as python-docx's element classes; Strict namespaces read as the usual ones."""
    if b"purl.oclc.org/ooxml" in xml[:4096]:
        for strict, transitional in _STRICT:
            xml = xml.replace(strict, transitional)
    return etree.fromstring(xml, _PARSER)


def read(path: Path) -> Extracted:
    check_not_empty(path)
    _check_magic(path)
    # Only the parts we read are parsed, with python-docx's own XML classes: opening the whole
    # package (styles, settings, themes, numbering…) costs several times more than the text.
    try:
        with zipfile.ZipFile(path) as archive:  # opened once: checked, then read
            check_zip_members(archive.infolist(), ".docx")
            parts = {name: _member(archive, name) for name in _PARTS}
        document = parts["word/document.xml"]
        if document is None:
            raise UnreadableFile("not a Word document: the zip has no word/document.xml")
        body = parse_xml(document).body
    except UnreadableFile:
        raise
    except zipfile.BadZipFile:
        raise UnreadableFile("corrupt .docx: the zip archive is damaged (truncated copy?)") from None
    except Exception as error:  # lxml raises many kinds for broken XML
        raise UnreadableFile(f"corrupt .docx: {_short(error)}") from None
    if body is None:
        raise UnreadableFile("not a Word document: word/document.xml has no body")

    properties = _core_properties(parts["docProps/core.xml"])
    stated_pages, stated_chars = _app_statistics(parts["docProps/app.xml"])
    rendered = bool(body.xpath(".//w:lastRenderedPageBreak"))
    layout = None if rendered else _Layout(body.sectPr, parts["word/styles.xml"])
    paragraphs, pages = _body_paragraphs(body, layout)
    text_chars = sum(len(re.sub(r"\s", "", p.text)) for p in paragraphs)

    if stated_pages and stated_chars and abs(stated_chars - text_chars) <= max(20, 0.05 * text_chars):
        pages, estimated = stated_pages, False  # Word (or LibreOffice) counted them
    else:
        estimated = not rendered
    return Extracted(paragraphs=paragraphs, pages=pages, pages_estimated=estimated, properties=properties)


_PARTS = ("word/document.xml", "word/styles.xml", "docProps/core.xml", "docProps/app.xml")


def _member(archive: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        return archive.read(name)
    except KeyError:
        return None


def _check_magic(path: Path) -> None:
    with path.open("rb") as handle:
        magic = handle.read(8)
    if magic == _OLE_MAGIC:
        raise UnreadableFile("password-protected Word file (or an old .doc renamed .docx): save it unprotected as .docx")
    if not magic.startswith(b"PK"):
        raise UnreadableFile("not a Word document: the file is not a .docx (zip) at all")


def _short(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:120]


def _body_paragraphs(body, layout: _Layout | None) -> tuple[list[Paragraph], int]:
    """Body paragraphs and table rows in reading order, each with the page it starts on.

    Pages come from Word's own layout marks (`w:lastRenderedPageBreak`) and explicit page breaks when
    the file has them (`layout` is None); otherwise from laying the text out with `layout`.
    """
    paragraphs: list[Paragraph] = []
    page, used = 1, 0.0

    def advance(block: _Block) -> None:
        """Lay a paragraph out line by line: a line that does not fit goes to the next page."""
        nonlocal page, used
        assert layout is not None
        if used > 0:
            used += block.before
        for _ in range(block.lines):
            if used + block.line_height > layout.text_height + 0.5:
                page, used = page + 1, 0.0
            used += block.line_height
        used += block.after

    for element in _blocks(body):
        if element.tag == _PARAGRAPH:
            properties = element.find(_PPR)
            marker = properties.find(_BREAK_BEFORE) if properties is not None else None
            breaks_before = marker is not None and marker.get(_VAL) not in ("0", "false")
            if breaks_before and layout is not None and (paragraphs or used > 0):
                page, used = page + 1, 0.0
            start_page = page
            text = _paragraph_text(element).strip()
            if layout is not None:
                advance(layout.height(element, text))
            # Word marks where its layout broke pages, manual breaks included; without those marks,
            # only explicit page breaks are known and the layout estimate does the rest.
            for node in element.iter(*_PAGE_BREAK_TAGS):
                if (node.tag == _PAGE_BREAK_TAGS[0]) if layout is None else node.get(qn("w:type")) == "page":
                    page, used = page + 1, 0.0
            if text:
                paragraphs.append(Paragraph(text=text, page=start_page))
            continue
        for row in _rows(Table(element, None)):  # type: ignore[arg-type]  # no parent: only its cells are read
            paragraphs.append(Paragraph(text=row, page=page))
            if layout is not None:
                advance(layout.height(None, row))
    if layout is not None and used == 0 and page > 1:
        page -= 1
    return paragraphs, page


def _blocks(parent):
    """Paragraphs and tables in reading order, also those wrapped in content controls (w:sdt: cover
    pages, templates' fields) or custom XML: their text is the speech's too."""
    for element in parent.iterchildren(_PARAGRAPH, _TABLE, _SDT, _CUSTOM_XML):
        if element.tag in (_PARAGRAPH, _TABLE):
            yield element
        elif element.tag == _SDT:
            content = element.find(_SDT_CONTENT)
            if content is not None:
                yield from _blocks(content)
        else:
            yield from _blocks(element)


def _paragraph_text(element) -> str:
    """A paragraph's visible text: runs, tabs and line breaks (not deleted text or field codes).

    Text boxes come twice in Word's XML (mc:Choice and an mc:Fallback copy for old readers): the
    fallback copy is dropped so their text is read once. Tracked changes read as if accepted:
    insertions (w:ins) are text, deletions are not (their text is w:delText, never read), and moved
    text counts at its new place only (w:moveFrom is dropped). Comments live in another part.
    """
    for dropped in list(element.iter(_MC_FALLBACK, _MOVE_FROM)):
        dropped.getparent().remove(dropped)
    parts: list[str] = []
    for node in element.iter(_TEXT, _TAB, _LINE_BREAK, _CARRIAGE):
        if node.tag == _TEXT:
            parts.append(node.text or "")
        elif node.tag == _TAB:
            parts.append("\t")
        elif node.tag == _CARRIAGE or node.get(qn("w:type")) in (None, "textWrapping"):
            parts.append("\n")
    return "".join(parts)


def _rows(table: Table) -> list[str]:
    """A table's rows as lines of tab-separated cells (nested tables' rows follow their row)."""
    rows: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        nested: list[str] = []
        for cell in row.cells:
            for inner in cell.tables:
                nested.extend(_rows(inner))
            cell_text = "\n".join(p.text.strip() for p in cell.paragraphs if p.text.strip())
            if cell_text and (not cells or cells[-1] != cell_text):  # merged cells repeat
                cells.append(cell_text)
        if cells:
            rows.append("\t".join(cells))
        rows.extend(nested)
    return rows


def _core_properties(xml: bytes | None) -> dict[str, str | None]:
    """Title, author and created date from docProps/core.xml (python-docx's CT_CoreProperties)."""
    empty: dict[str, str | None] = {"title": None, "author": None, "created": None}
    if not xml:
        return empty
    try:
        core = parse_xml(xml)
        created = core.created_datetime
        return {
            "title": (core.title_text or "").strip() or None,
            "author": (core.author_text or "").strip() or None,
            "created": created.isoformat() if created else None,
        }
    except Exception:  # a broken property part does not make the speech unreadable
        return empty


def _app_statistics(data: bytes | None) -> tuple[int | None, int | None]:
    """Pages and characters from docProps/app.xml: real only when Word (or LibreOffice) computed them."""
    if not data:
        return None, None
    xml = data[:65536].decode("utf-8", "replace")

    def number(tag: str) -> int | None:
        match = re.search(rf"<(?:\w+:)?{tag}>(\d+)</", xml)
        return int(match.group(1)) if match else None

    return number("Pages"), number("Characters")


# --- page estimates -----------------------------------------------------------------------------
# Without Word's own layout the page count is estimated from the document's page setup, styles and
# font sizes: Chinese characters are square (one em wide, Latin half that), a line is about 1.3 em
# high at single spacing. Styles are read from the XML once per style id: python-docx's style lookup
# per paragraph costs more than reading the whole document.

_EMU_PER_PT = 12700
_LINE_FACTOR = 1.3


def _number(value: str | None) -> float | None:
    """A numeric attribute as Word and WPS write it (`240`, `2.5`, `-120`); None if it is not one."""
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _twips(value: str | None) -> float | None:
    number = _number(value)
    return number / 20 if number is not None else None


def _half_points(value: str | None) -> float | None:
    """A font size (w:sz, in half points); None for a missing, zero or nonsense one."""
    number = _number(value)
    return number / 2 if number is not None and number > 0 else None


class _Style:
    def __init__(self, size: float | None = None, line: tuple[str, float] | None = None,
                 before: float | None = None, after: float | None = None) -> None:
        self.size, self.line, self.before, self.after = size, line, before, after

    def under(self, parent: _Style) -> _Style:
        return _Style(self.size or parent.size, self.line or parent.line,
                      self.before if self.before is not None else parent.before,
                      self.after if self.after is not None else parent.after)


def _style_of(properties) -> _Style:
    """Size, line spacing and paragraph spacing set directly on a style or paragraph element."""
    style = _Style()
    if properties is None:
        return style
    size = properties.find(f".//{qn('w:sz')}")
    if size is not None:
        style.size = _half_points(size.get(qn("w:val")))
    spacing = properties.find(f".//{qn('w:spacing')}")
    if spacing is not None and spacing.getparent().tag == qn("w:pPr"):
        line, rule = _number(spacing.get(qn("w:line"))), spacing.get(qn("w:lineRule")) or "auto"
        if line is not None and line > 0:
            style.line = ("multiple", line / 240) if rule == "auto" else ("exact", line / 20)
        style.before = _twips(spacing.get(qn("w:before")))
        style.after = _twips(spacing.get(qn("w:after")))
    return style


@dataclass
class _Block:
    lines: int
    line_height: float
    before: float
    after: float


class _StylesPart:
    """The style definitions a layout needs, cut out of styles.xml on demand.

    styles.xml is mostly latent-style lists (350 KB in python-docx's template); parsing it whole
    takes longer than reading the speech. Word writes one `w:style` element per style, never nested,
    so each needed one (and `w:docDefaults`) is found by pattern and parsed alone.
    """

    _WRAP = f'<w:root xmlns:w="{nsmap["w"]}">'.encode()

    def __init__(self, xml: bytes | None) -> None:
        xml = xml or b""
        if b"purl.oclc.org/ooxml" in xml[:4096]:
            for strict, transitional in _STRICT:
                xml = xml.replace(strict, transitional)
        self._xml = xml

    def _parse(self, snippet: bytes):
        return parse_small_xml(self._WRAP + snippet + b"</w:root>")[0]

    def defaults(self):
        match = re.search(rb"<w:docDefaults\b.*?</w:docDefaults>", self._xml, re.DOTALL)
        return self._parse(match.group(0)) if match else None

    def default_paragraph_style(self) -> str | None:
        for tag in re.finditer(rb"<w:style\b[^>]*>", self._xml):
            attributes = tag.group(0)
            if b'w:type="paragraph"' in attributes and re.search(rb'w:default="(1|true|on)"', attributes):
                found = re.search(rb'w:styleId="([^"]+)"', attributes)
                return found.group(1).decode() if found else None
        return None

    def style(self, style_id: str):
        pattern = rb'<w:style\b[^>]*w:styleId="' + re.escape(style_id.encode()) + rb'".*?</w:style>'
        match = re.search(pattern, self._xml, re.DOTALL)
        return self._parse(match.group(0)) if match else None


class _Layout:
    def __init__(self, section, styles_xml: bytes | None) -> None:
        def pt(value, default: float) -> float:
            return value / _EMU_PER_PT if value else default

        width = pt(section.page_width if section is not None else None, 595.3)
        height = pt(section.page_height if section is not None else None, 841.9)
        left = pt(section.left_margin if section is not None else None, 90.0)
        right = pt(section.right_margin if section is not None else None, 90.0)
        top = pt(section.top_margin if section is not None else None, 72.0)
        bottom = pt(section.bottom_margin if section is not None else None, 72.0)
        self.text_width = max(width - left - right, 72.0)
        self.text_height = max(height - top - bottom, 72.0)
        self._styles = _StylesPart(styles_xml)
        self._default = _style_of(self._styles.defaults()).under(_Style(10.5, None, 0.0, 0.0))
        self._cache: dict[str | None, _Style] = {}
        self._default_id = self._styles.default_paragraph_style()

    def style(self, style_id: str | None, depth: int = 0) -> _Style:
        style_id = style_id or self._default_id
        if style_id in self._cache:
            return self._cache[style_id]
        element = self._styles.style(style_id) if style_id else None
        if element is None or depth > 10:
            resolved = self._default
        else:
            based = element.find(qn("w:basedOn"))
            parent = self.style(based.get(qn("w:val")), depth + 1) if based is not None else self._default
            resolved = _style_of(element).under(parent)
        self._cache[style_id] = resolved
        return resolved

    def height(self, element, text: str) -> _Block:
        """How many lines a paragraph takes, how high they are, and the space around it."""
        properties = element.find(_PPR) if element is not None else None
        style_id = None
        if properties is not None:
            style_ref = properties.find(_PARAGRAPH_STYLE)
            style_id = style_ref.get(_VAL) if style_ref is not None else None
        style = _style_of(properties).under(self.style(style_id))
        run_sizes = []
        if element is not None:
            for run in element.iterchildren(_RUN):
                size_element = run.find(_RUN_SIZE)
                run_size = _half_points(size_element.get(_VAL)) if size_element is not None else None
                if run_size:
                    run_sizes.append(run_size)
        size = max(run_sizes) if run_sizes else (style.size or 10.5)
        if style.line is None:
            line_height = size * _LINE_FACTOR
        elif style.line[0] == "multiple":
            line_height = size * _LINE_FACTOR * style.line[1]
        else:
            line_height = style.line[1]
        indent = 0.0
        if properties is not None and (ind := properties.find(_INDENT)) is not None:
            indent = _twips(ind.get(_FIRST_LINE)) or 0.0
            chars = _number(ind.get(_FIRST_LINE_CHARS))
            if chars is not None:
                indent = chars / 100 * size
        narrow = len(_NARROW.findall(text))
        ems = (len(text) - narrow) + 0.55 * narrow + indent / size
        per_line = max(math.floor(self.text_width / size + 0.05), 1)  # a character that does not fit wraps
        lines = max(1, math.ceil(ems / per_line - 0.01))
        return _Block(lines, line_height, style.before or 0.0, style.after or 0.0)
