"""Export as Markdown (matches in bold), CSV (one row per passage, BOM for Excel) and JSON (the same rows)."""

from __future__ import annotations

import csv
import io
import json
from typing import BinaryIO

from archive.export.model import Export

CSV_COLUMNS = ("title", "speaker", "role", "date", "meeting", "page", "path", "passage", "also_in")


def _bold(text: str, highlights: list[tuple[int, int]]) -> str:
    out, position = [], 0
    for start, end in highlights:
        out.append(text[position:start])
        out.append(f"**{text[start:end]}**")
        position = end
    out.append(text[position:])
    return "".join(out)


def write_markdown(export: Export, stream: BinaryIO) -> None:
    lines = [f"# 检索结果：{export.query}", "",
             f"导出时间 {export.exported_at} · {len(export.documents)} 篇讲话 · {export.passage_count} 段", ""]
    for document in export.documents:
        first = document.passages[0].citations[0]
        lines += [f"## 《{document.document.title or '无标题'}》", "",
                  "> " + first.text(with_page=False), ""]
        for passage in document.passages:
            for paragraph in _bold(passage.text, passage.highlights).split("\n"):
                lines += [paragraph, ""]
            note = passage.source_note()
            if note:
                lines += [f"*{note}*", ""]
    stream.write("\n".join(lines).encode("utf-8"))


def _cell(value: object) -> object:
    """A cell Excel will not run: text starting with = + - @ (or a tab or carriage return, which
    can hide them) is a formula to Excel, so it gets a leading apostrophe (OWASP's advice)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_csv(export: Export, stream: BinaryIO) -> None:
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(CSV_COLUMNS)
    for row in export.records():
        also = "; ".join(f"《{c['title']}》 第{c['page']}页 {c['path']}" if c["page"] else f"《{c['title']}》 {c['path']}"
                         for c in row["also_in"])
        writer.writerow([_cell(value) for value in (row["title"], row["speaker"], row["role"], row["date"],
                                                     row["meeting"], row["page"], row["path"], row["passage"], also)])
    stream.write(text.getvalue().encode("utf-8-sig"))


def write_json(export: Export, stream: BinaryIO) -> None:
    stream.write(json.dumps(export.records(), ensure_ascii=False, indent=2).encode("utf-8"))
