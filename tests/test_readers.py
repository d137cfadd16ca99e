"""Each reader on real files: what a person reads is what comes out, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from archive.normalize import normalise
from archive.readers import UnreadableFile, read
from archive.readers.webpage import parse
from tests import factory

# A page in the shape of a document-sharing site's (chrome, <br /> wraps mid-phrase, entities, footer),
# written by us from generated text: tests/make_samples.py writes the same page into samples/.
SAVED_PAGE = Path(__file__).resolve().parent / "data" / "saved_page.txt"

LINES = [
    "在全市政府系统办公室工作会议上的讲话",
    "市政府秘书长  张三",
    "同志们：",
    "我履职市政府秘书长到现在三个月时间，总的来讲有三点感受：一是办公室高效运转。市政府办公室作为政府系统的运转中心和枢纽，在市政府的坚强领导下运转有序、非常高效。",
    "第一、倡导“务实奉献、追求卓越”的价值取向。务实是一种态度，要坚持务实为要，让务实成为我们做人做事的一种自觉。2020年GDP达到65.3%，人民群众获得感不断增强。",
]


def test_docx_body_and_tables_in_reading_order_without_headers(tmp_path: Path) -> None:
    path = factory.write_docx(tmp_path / "a.docx", LINES[:3], header="页眉不是正文", footer="页脚第1页",
                              table=[["单位", "完成率"], ["市政府办公室", "达到65.3%"]])
    extracted = read(path)
    texts = [p.text for p in extracted.paragraphs]
    assert texts[:3] == LINES[:3]
    assert texts[3] == "单位\t完成率" and texts[4] == "市政府办公室\t达到65.3%"
    assert "页眉" not in extracted.text and "页脚" not in extracted.text


def test_pdf_rejoins_wrapped_lines_and_drops_running_headers_and_page_numbers(tmp_path: Path) -> None:
    body = [LINES[0], LINES[1], LINES[2]] + [LINES[3] + LINES[4]] * 6
    path = factory.write_pdf(tmp_path / "a.pdf", body, per_line=24, per_page=12)
    extracted = read(path)
    assert extracted.pages > 2
    assert normalise(extracted.text) == normalise("".join(body))  # no header, footer or page number left
    assert extracted.paragraphs[0].text == LINES[0]
    long_paragraphs = [p for p in extracted.paragraphs if len(p.text) > 100]
    assert long_paragraphs, "wrapped lines were not rejoined into paragraphs"
    assert {p.page for p in extracted.paragraphs} == set(range(1, extracted.pages + 1))


def test_pdf_paragraph_continuing_over_a_page_break_keeps_page_of_each_part(tmp_path: Path) -> None:
    paragraph = LINES[3] * 5
    path = factory.write_pdf(tmp_path / "a.pdf", [LINES[0], paragraph], per_line=20, per_page=6)
    extracted = read(path)
    joined = [p for p in extracted.paragraphs if len(p.text) > 100]
    assert len(joined) == 1 and joined[0].page == 1 and joined[0].page_breaks
    offset, page = joined[0].page_breaks[0]
    assert page == 2 and joined[0].page_at(offset) == 2 and joined[0].page_at(0) == 1


def test_pdf_spaces_between_chinese_characters_are_dropped(tmp_path: Path) -> None:
    path = factory.write_pdf(tmp_path / "a.pdf", LINES[:3], spaced=True, running_header=None)
    paragraphs = read(path).paragraphs
    assert [normalise(p.text) for p in paragraphs] == [normalise(line) for line in LINES[:3]]
    assert paragraphs[0].text == LINES[0]


def test_saved_page_in_seed_shape(tmp_path: Path) -> None:
    path = factory.write_saved_page(tmp_path / "a.txt", LINES[0], LINES, published="2023-01-16 12:41:30", pages=7,
                                    size="45.94 KB", uploader="U-7265")
    extracted = read(path)
    assert normalise(extracted.text) == normalise("".join(LINES))
    assert extracted.paragraphs[0].text == LINES[0]
    assert "“务实奉献、追求卓越”" in extracted.text  # entities decoded
    assert extracted.footer == {"published": "2023-01-16 12:41:30", "pages": "7", "stated_size": "45.94 KB",
                                "uploader": "U-7265", "price": "¥3"}
    assert extracted.pages == 7


def test_a_saved_site_page_in_the_repository() -> None:
    extracted = read(SAVED_PAGE)
    assert extracted.paragraphs[0].text == "2020年在办公室集体学习会上的讲话"
    text = extracted.text
    for chrome in ("首页", "资源预览", "剩余5页未读", "版权提示", "温馨提示", "文档下载", "推荐特供", "MORE", "1/7"):
        assert chrome not in text
    assert "务实奉献、追求卓越" in text and "运转中心和枢纽" in text
    assert extracted.footer["published"] == "2023-01-16 12:41:30" and extracted.footer["uploader"] == "U-7265"


@pytest.mark.parametrize("chrome", [
    "正文复制",
    "目录/提纲:……",
    "提纲：一、总体要求……二、重点任务……",
    "预览结束，喜欢就下载吧！",
    "试读结束，请下载后查看",
    "本文档共37页",
    "第1页共21页",
    "某某范文网 2024-10-28 07:01:24",
    "发表时间:2025/8/15 15:21:57",
])
def test_chrome_lines_of_other_sites_are_dropped_and_speech_text_kept(chrome: str) -> None:
    page = f"{LINES[0]}\n{chrome}\n{LINES[3]}<br />{LINES[4]}\n"
    extracted = parse(page)
    assert normalise(extracted.text) == normalise(LINES[0] + LINES[3] + LINES[4])


@pytest.mark.parametrize("marker", ["(未完,全文共6606字,当前仅显示2320字…)", "[repy]3[/repy]", "@page { size: 21cm 29.7cm; margin: 2cm }"])
def test_chrome_markers_inside_text_are_removed(marker: str) -> None:
    extracted = parse(f"{LINES[0]}\n{LINES[3][:30]}{marker}{LINES[3][30:]}\n")
    assert normalise(extracted.text) == normalise(LINES[0] + LINES[3])


def test_posting_time_is_published_not_text() -> None:
    extracted = parse(f"{LINES[0]}\n发表时间:2025/8/15 15:21:57\n{LINES[3]}\n")
    assert extracted.footer["published"] == "2025-08-15 15:21:57"


def test_html_page_tags_scripts_and_entities(tmp_path: Path) -> None:
    page = ("<html><head><title>x</title><style>p{color:red}</style></head><body><div>首页</div>"
            f"<h1>{LINES[0]}</h1><p>{LINES[2]}</p><p>&nbsp;&nbsp;{LINES[3][:40]}<br />{LINES[3][40:]}</p>"
            "<script>alert('x')</script><p>&ldquo;务实奉献&rdquo;</p></body></html>")
    path = tmp_path / "a.html"
    path.write_text(page, encoding="utf-8")
    extracted = read(path)
    assert [p.text for p in extracted.paragraphs] == [LINES[0], LINES[2], LINES[3], "“务实奉献”"]


def test_gb18030_saved_page(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(f"{LINES[0]}\n{LINES[3]}\n".encode("gb18030"))
    assert read(path).paragraphs[1].text == LINES[3]


def test_unsupported_suffix_is_a_reason() -> None:
    with pytest.raises(UnreadableFile):
        read(Path("x.doc"))


def test_docx_styles_are_read_by_id_whatever_word_calls_them(tmp_path: Path) -> None:
    """Chinese Word names the default paragraph style "a": sizes come through it and basedOn."""
    from archive.readers.word import _Layout

    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    styles = f'''<w:styles xmlns:w="{w}">
      <w:docDefaults><w:rPrDefault><w:rPr><w:sz w:val="21"/></w:rPr></w:rPrDefault></w:docDefaults>
      <w:latentStyles w:count="3"><w:lsdException w:name="Normal"/></w:latentStyles>
      <w:style w:type="paragraph" w:default="1" w:styleId="a"><w:name w:val="Normal"/>
        <w:rPr><w:sz w:val="32"/></w:rPr></w:style>
      <w:style w:type="paragraph" w:styleId="1"><w:name w:val="heading 1"/><w:basedOn w:val="a"/>
        <w:pPr><w:spacing w:before="240" w:after="120" w:line="480" w:lineRule="exact"/></w:pPr></w:style>
    </w:styles>'''.encode()
    layout = _Layout(None, styles)
    assert layout.style(None).size == 16  # the default paragraph style "a": 三号
    heading = layout.style("1")
    assert (heading.size, heading.line, heading.before, heading.after) == (16, ("exact", 24.0), 12.0, 6.0)
    assert _Layout(None, None).style(None).size == 10.5  # no styles part at all


def test_docx_text_inside_content_controls_is_read(tmp_path: Path) -> None:
    """Word wraps cover pages and template fields in w:sdt blocks: their paragraphs are text too."""
    import docx
    from docx.oxml import parse_xml

    document = docx.Document()
    document.add_paragraph(LINES[0])
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    sdt = parse_xml(f'<w:sdt xmlns:w="{w}"><w:sdtPr/><w:sdtContent><w:p><w:r><w:t>{LINES[1]}</w:t></w:r></w:p>'
                    f'</w:sdtContent></w:sdt>')
    document.element.body.sectPr.addprevious(sdt)
    document.add_paragraph(LINES[3])
    path = tmp_path / "sdt.docx"
    document.save(str(path))
    assert [p.text for p in read(path).paragraphs] == [LINES[0], LINES[1], LINES[3]]


def test_docx_text_box_is_read_once(tmp_path: Path) -> None:
    """Word writes a text box twice (mc:Choice and mc:Fallback); its text must count once."""
    import docx
    from docx.oxml import parse_xml

    document = docx.Document()
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    mc = "http://schemas.openxmlformats.org/markup-compatibility/2006"
    box = f"<w:txbxContent><w:p><w:r><w:t>{LINES[0]}</w:t></w:r></w:p></w:txbxContent>"
    paragraph = parse_xml(
        f'<w:p xmlns:w="{w}" xmlns:mc="{mc}"><w:r><mc:AlternateContent>'
        f'<mc:Choice Requires="wps"><w:drawing>{box}</w:drawing></mc:Choice>'
        f"<mc:Fallback><w:pict>{box}</w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>")
    document.element.body.sectPr.addprevious(paragraph)
    document.add_paragraph(LINES[2])
    path = tmp_path / "box.docx"
    document.save(str(path))
    assert [p.text for p in read(path).paragraphs] == [LINES[0], LINES[2]]
