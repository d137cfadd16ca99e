"""The draft check as a Word document: the draft itself, each reused sentence highlighted (yellow
where it stands as it is in a past speech, turquoise where it nearly does) with a comment citing its
sources, so a writer can go through it in Word or WPS."""

from __future__ import annotations

from typing import Any, BinaryIO

import docx
from docx.enum.text import WD_COLOR_INDEX

from archive.export.word import BODY_FONT, set_font, xml_safe

AUTHOR = "讲稿库 查重"


def _citation(source: Any) -> str:
    who = "，".join(v for v in (source.speaker, source.date) if v)
    page = f"，第{source.page}页" if source.page else ""
    closeness = "原文照用" if source.exact else f"相似度 {source.similarity:.0%}"
    return f"《{source.title or '无标题'}》（{who}{page}）{closeness}：{source.text}\n{source.path}"


def write(report: Any, stream: BinaryIO) -> None:
    """`report` is an archive.check.CheckReport."""
    document = docx.Document()
    set_font(document.styles["Normal"], BODY_FONT, 14)
    document.core_properties.title = "文稿查重报告"
    document.core_properties.author = AUTHOR
    summary = document.add_paragraph()
    summary.add_run(f"查重结果：{report.summary_chinese()}").bold = True
    matches = iter(report.matches)
    match = next(matches, None)
    position = 0
    for line in report.text.split("\n"):
        paragraph = document.add_paragraph()
        line_end = position + len(line)
        cursor = position
        while match is not None and match.start < line_end:
            start, end = max(match.start, cursor), min(match.end, line_end)
            if start > cursor:
                paragraph.add_run(xml_safe(report.text[cursor:start]))
            run = paragraph.add_run(xml_safe(report.text[start:end]))
            run.font.highlight_color = WD_COLOR_INDEX.YELLOW if match.exact else WD_COLOR_INDEX.TURQUOISE
            cursor = end
            if match.end <= line_end:
                text = "\n".join(_citation(source) for source in match.sources)
                more = match.documents - len(match.sources)
                if more > 0:
                    text += f"\n另有 {more} 篇讲话也用过这句话"
                document.add_comment(run, text=xml_safe(text), author=AUTHOR, initials="查重")
                match = next(matches, None)
            else:
                break
        if cursor < line_end:
            paragraph.add_run(xml_safe(report.text[cursor:line_end]))
        position = line_end + 1
    document.save(stream)
