"""Export real search results to every format and read them back."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import docx
import pytest
from docx.enum.text import WD_COLOR_INDEX
from docx.oxml.ns import qn

from tests import factory

PHRASE = "务实奉献、追求卓越"
FIRST = ["在全市政府系统办公室工作会议上的讲话", "市政府秘书长  张明", "（2019年3月5日）", "同志们：",
         f"第一，倡导“{PHRASE}”的价值取向。务实是一种态度，奉献是一种境界。",
         "第二，提高办文办会办事水平。文稿是办公室的门面，要做到精益求精。",
         f"第三，坚持{PHRASE}，加强督查督办，做到件件有着落、事事有回音。"]
SECOND = ["在全市优化营商环境大会上的讲话", "常务副市长  李强", "（2021年4月12日）", "同志们：",
          "优化营商环境就是解放生产力、提高竞争力。",
          f"下一步，要坚持“{PHRASE}”，把优化营商环境作为一把手工程。"]


@pytest.fixture
def archive_with_copies(cli, source: Path):
    """Two speeches; the first as 定稿 and 修改稿 (one paragraph changed), so passages repeat."""
    final = factory.write_docx(source / "2019" / "讲话（定稿）.docx", FIRST)
    draft_lines = [*FIRST[:-1], f"第三，坚持{PHRASE}，加强督查督办。"]
    draft = factory.write_docx(source / "2019" / "讲话（修改稿）.docx", draft_lines)
    second = factory.write_pdf(source / "2021" / "营商环境.pdf", SECOND)
    cli("index", str(source))
    return final, draft, second


def export(cli, tmp_path: Path, name: str, *args: str, query: str = f'"{PHRASE}"') -> Path:
    path = tmp_path / "out" / name
    path.parent.mkdir(exist_ok=True)
    cli("export", query, "-o", str(path), *args)
    return path


def test_json_every_match_once_with_citation_and_duplicates_merged(cli, tmp_path, archive_with_copies) -> None:
    final, draft, second = archive_with_copies
    records = json.loads(export(cli, tmp_path, "a.json").read_text("utf-8"))
    texts = [r["passage"] for r in records]
    assert len(texts) == len(set(texts)) == 4  # 第一 (in both copies, once), 第三 twice (changed), 下一步
    merged = next(r for r in records if r["passage"].startswith("第一"))
    assert {merged["path"], *(c["path"] for c in merged["also_in"])} == {str(final), str(draft)}
    newest = records[0]
    assert (newest["path"], newest["title"], newest["speaker"], newest["role"], newest["date"], newest["page"]) == (
        str(second), SECOND[0], "李强", "常务副市长", "2021-04-12", 1)
    assert newest["meeting"] == "全市优化营商环境大会"
    for record in records:
        for start, end in record["highlights"]:
            assert record["passage"][start:end] == PHRASE


def test_docx_export_reads_back_with_highlights_citations_and_chinese_fonts(cli, tmp_path, archive_with_copies) -> None:
    path = export(cli, tmp_path, "摘录.docx")
    document = docx.Document(str(path))
    text = "\n".join(p.text for p in document.paragraphs)
    assert document.paragraphs[0].text == f'检索结果："{PHRASE}"'
    highlighted = [run.text for p in document.paragraphs for run in p.runs
                   if run.font.highlight_color == WD_COLOR_INDEX.YELLOW]
    assert highlighted == [PHRASE] * 4
    assert f"《{FIRST[0]}》" in text and f"《{SECOND[0]}》" in text and "市政府秘书长 张明" in text
    assert "2019-03-05" in text and "（第1页）" in text and "另见" in text
    normal = document.styles["Normal"].element.rPr.rFonts
    assert normal.get(qn("w:eastAsia")) == "仿宋"
    heading = document.styles["Heading 1"].element.rPr.rFonts
    assert heading.get(qn("w:eastAsia")) == "黑体" and heading.get(qn("w:eastAsiaTheme")) is None


def test_docx_export_opens_cleanly_in_libreoffice(cli, tmp_path, archive_with_copies) -> None:
    assert shutil.which("soffice"), "LibreOffice is needed (apt-get install libreoffice-writer-nogui)"
    path = export(cli, tmp_path, "摘录.docx")
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(path.parent), str(path)],
                   check=True, capture_output=True, timeout=180)
    from archive.readers import read

    converted = read(path.with_suffix(".pdf"))
    assert converted.text.count(PHRASE) >= 4


def test_markdown_bold_matches_and_citations(cli, tmp_path, archive_with_copies) -> None:
    text = export(cli, tmp_path, "摘录.md").read_text("utf-8")
    assert text.count(f"**{PHRASE}**") == 4
    assert f"## 《{SECOND[0]}》" in text and "> 《" in text and "常务副市长 李强 · 2021-04-12" in text


def test_csv_one_row_per_passage_with_bom(cli, tmp_path, archive_with_copies) -> None:
    path = export(cli, tmp_path, "摘录.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(path.read_text("utf-8-sig").splitlines()))
    assert list(rows[0])[:8] == ["title", "speaker", "role", "date", "meeting", "page", "path", "passage"]
    assert len(rows) == 4 and all(PHRASE in row["passage"] for row in rows)
    assert sum(bool(row["also_in"]) for row in rows) == 1


def test_format_option_and_context(cli, tmp_path, archive_with_copies) -> None:
    path = export(cli, tmp_path, "out.txt", "--format", "json", "--context", "1")
    records = json.loads(path.read_text("utf-8"))
    first = next(r for r in records if "价值取向" in r["passage"])
    assert first["passage"].startswith("同志们") and "文稿是办公室的门面" in first["passage"]


def test_relevance_order_and_filters(cli, tmp_path, archive_with_copies) -> None:
    records = json.loads(export(cli, tmp_path, "a.json", "--speaker", "李强").read_text("utf-8"))
    assert {r["speaker"] for r in records} == {"李强"}
    records = json.loads(export(cli, tmp_path, "b.json", "--until", "2020").read_text("utf-8"))
    assert {r["date"] for r in records} == {"2019-03-05"}


def test_no_match_is_exit_1_and_no_file(cli, tmp_path, archive_with_copies) -> None:
    path = tmp_path / "none.docx"
    result = cli("export", '"没有这句话"', "-o", str(path), expect=1)
    assert "no passage matches" in result.stderr and not path.exists()


def test_existing_file_is_replaced_only_with_force(cli, tmp_path, archive_with_copies) -> None:
    path = tmp_path / "摘录.md"
    path.write_text("keep me", "utf-8")
    result = cli("export", f'"{PHRASE}"', "-o", str(path), expect=1)
    assert "--force" in result.stderr and path.read_text("utf-8") == "keep me"
    cli("export", f'"{PHRASE}"', "-o", str(path), "--force")
    assert PHRASE in path.read_text("utf-8")


def test_never_written_inside_an_indexed_folder_without_force(cli, source, archive_with_copies) -> None:
    path = source / "2019" / "摘录.docx"
    result = cli("export", f'"{PHRASE}"', "-o", str(path), expect=1)
    assert "indexed folder" in result.stderr and not path.exists()
    cli("export", f'"{PHRASE}"', "-o", str(path), "--force")
    assert path.exists()


def test_unknown_format_is_a_user_error(cli, tmp_path, archive_with_copies) -> None:
    result = cli("export", f'"{PHRASE}"', "-o", str(tmp_path / "a.pdf"), expect=1)
    assert "unknown export format" in result.stderr
