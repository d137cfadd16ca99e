"""Export as a Word document a drafter can work in: headings, citations, highlighted matches, Chinese fonts.

python-docx's `font.name` sets only the Latin font; Word and LibreOffice pick East Asian text's font
from `w:eastAsia` (and headings from theme fonts), so both are set explicitly here.
"""

from __future__ import annotations

import re
from typing import BinaryIO

import docx
from docx.enum.text import WD_COLOR_INDEX
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor

from archive.export.model import Export

BODY_FONT = "仿宋"
HEADING_FONT = "黑体"
CITATION_FONT = "宋体"
MAX_PROPERTY = 255  # Word's limit on a core property such as the title
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """Text Word's XML can hold: characters XML 1.0 forbids (a stray \\x08 or ESC from a copied
    page) are dropped. Applied to each piece after highlights are cut, so offsets stay right."""
    return _NOT_XML.sub("", text)


def set_font(style_or_run, name: str, size: float | None = None) -> None:
    """Set Latin and East Asian fonts, overriding theme fonts."""
    font = style_or_run.font
    font.name = name
    if size:
        font.size = Pt(size)
    r_pr = style_or_run.element.get_or_add_rPr()
    fonts = r_pr.get_or_add_rFonts()
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), name)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)


def write(export: Export, stream: BinaryIO) -> None:
    document = docx.Document()
    set_font(document.styles["Normal"], BODY_FONT, 14)
    for level, size in ((0, 20), (1, 16), (2, 14)):
        style = document.styles["Title" if level == 0 else f"Heading {level}"]
        set_font(style, HEADING_FONT, size)
        style.font.color.rgb = RGBColor(0, 0, 0)

    title = xml_safe(f"检索结果：{export.query}")
    document.core_properties.title = title if len(title) <= MAX_PROPERTY else title[: MAX_PROPERTY - 1] + "…"
    document.core_properties.author = "讲稿库 archive"
    document.add_heading(title, level=0)
    summary = document.add_paragraph(
        f"导出时间 {export.exported_at} · {len(export.documents)} 篇讲话 · {export.passage_count} 段")
    set_font(summary.runs[0], CITATION_FONT, 10.5)

    for document_part in export.documents:
        speech = document_part.document
        document.add_heading(xml_safe(f"《{speech.title or '无标题'}》"), level=1)
        citation = document.add_paragraph()
        run = citation.add_run(xml_safe(document_part.passages[0].citations[0].text(with_page=False)))
        set_font(run, CITATION_FONT, 10.5)
        run.font.color.rgb = RGBColor(0x59, 0x59, 0x59)
        for passage in document_part.passages:
            paragraph = document.add_paragraph()
            paragraph.paragraph_format.first_line_indent = Pt(28)
            position = 0
            for start, end in passage.highlights:
                if start > position:
                    paragraph.add_run(xml_safe(passage.text[position:start]))
                match = paragraph.add_run(xml_safe(passage.text[start:end]))
                match.bold = True
                match.font.highlight_color = WD_COLOR_INDEX.YELLOW
                position = end
            if position < len(passage.text):
                paragraph.add_run(xml_safe(passage.text[position:]))
            note = passage.source_note(gap="　")
            if not note:
                continue
            source = document.add_paragraph()
            source.paragraph_format.left_indent = Pt(28)
            run = source.add_run(xml_safe(note))
            set_font(run, CITATION_FONT, 10.5)
            run.font.color.rgb = RGBColor(0x59, 0x59, 0x59)
    document.save(stream)
