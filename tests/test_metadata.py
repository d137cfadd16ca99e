"""Metadata the way an office reads a speech, over every layout offices use, on real files."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archive.metadata import extract
from archive.readers import read
from tests import factory

BODY = [
    "同志们：",
    "今天召开这次会议，主要任务是总结工作、部署任务。市政府办公室作为政府系统的运转中心和枢纽，要坚持务实奉献、追求卓越，不断提高办文办会办事水平。",
    "各级各部门要真抓实干、担当作为，确保各项目标任务圆满完成。",
]

# (case id, lines, expected fields)
CASES = [
    ("role-name-under-title", ["在全市政府系统办公室工作会议上的讲话", "市政府秘书长  张三", "（2020年3月5日）", *BODY],
     dict(title="在全市政府系统办公室工作会议上的讲话", speaker="张三", role="市政府秘书长", date="2020-03-05",
          meeting="全市政府系统办公室工作会议")),
    ("name-tongzhi-in-title", ["李四同志在全市安全生产工作会议上的讲话", "（2021年6月18日）", *BODY],
     dict(title="李四同志在全市安全生产工作会议上的讲话", speaker="李四", role=None, date="2021-06-18",
          meeting="全市安全生产工作会议")),
    ("role-name-in-title", ["市长王磊在全市经济工作会议上的讲话", "2022.01.08", *BODY],
     dict(speaker="王磊", role="市长", date="2022-01-08", meeting="全市经济工作会议")),
    ("chinese-numeral-date", ["在全市经济工作会议上的讲话", "常务副市长 赵刚", "二〇二二年一月八日", *BODY],
     dict(speaker="赵刚", role="常务副市长", date="2022-01-08")),
    ("dashed-date", ["在全市项目建设推进会上的讲话", "副市长  陈静", "2019-3-5", *BODY],
     dict(date="2019-03-05", speaker="陈静", role="副市长")),
    ("slash-date-in-brackets", ["在全市项目建设推进会上的讲话", "（2019/11/25）", "副市长  陈静", *BODY],
     dict(date="2019-11-25")),
    ("date-at-the-end", ["在全市乡村振兴工作会议上的讲话", "县委书记  周涛", *BODY, "2023年2月14日"],
     dict(date="2023-02-14", speaker="周涛", role="县委书记")),
    ("year-only-in-title", ["2020年在办公室集体学习会上的讲话", *BODY],
     dict(title="2020年在办公室集体学习会上的讲话", date="2020", speaker=None, meeting="办公室集体学习会")),
    ("self-reference-role", ["2020年在办公室集体学习会上的讲话", "同志们：",
                             "我履职市政府秘书长到现在三个月时间，总的来讲有三点感受。", *BODY[1:]],
     dict(role="市政府秘书长", speaker=None)),
    ("title-on-two-lines", ["在全市政府系统办公室主任暨信息督查", "工作会议上的讲话", "市政府办公室主任  孙伟", *BODY],
     dict(title="在全市政府系统办公室主任暨信息督查工作会议上的讲话", speaker="孙伟", role="市政府办公室主任")),
    ("slogan-with-subtitle", ["务实奉献  追求卓越", "——在2019年全市政府系统办公室工作会议上的讲话", "市政府秘书长  张明", *BODY],
     dict(title="务实奉献 追求卓越——在2019年全市政府系统办公室工作会议上的讲话", speaker="张明", date="2019",
          meeting="2019年全市政府系统办公室工作会议")),
    ("withheld-name", ["在全市安全生产工作会议上的讲话", "州委常委、常务副州长", "***", *BODY],
     dict(speaker=None, role="州委常委、常务副州长")),
    ("withheld-x", ["在全市安全生产工作会议上的讲话", "市政府秘书长  XX", *BODY],
     dict(speaker=None, role="市政府秘书长")),
    ("placeholder-year-is-not-a-date", ["在20XX年全市安全生产工作会议上的讲话", *BODY],
     dict(date=None)),
    ("mangled-year-is-not-a-date", ["在22年度全市安全生产工作会议上的讲话", *BODY],
     dict(date=None)),
    ("name-line-after-title", ["在全市优化营商环境大会上的讲话", "张华", "（2021年4月12日）", *BODY],
     dict(speaker="张华", date="2021-04-12")),
    ("spaced-two-character-name", ["在全市优化营商环境大会上的讲话", "市委书记  王  强", *BODY],
     dict(speaker="王强", role="市委书记")),
    ("traditional-characters", ["市長張華在全市經濟工作會議上的講話", "（2021年4月12日）", "同志們：", *BODY[1:]],
     dict(speaker="張華", role="市長", date="2021-04-12")),
    ("name-with-role-in-brackets", ["在全市经济工作会议上的讲话", "王磊（市长）", *BODY], dict(speaker="王磊", role="市长")),
    ("role-with-name-in-brackets", ["在全市经济工作会议上的讲话", "市政府秘书长（张明）", *BODY],
     dict(speaker="张明", role="市政府秘书长")),
    ("dash-and-colon", ["在全市经济工作会议上的讲话", "——市政府秘书长：张明", *BODY], dict(speaker="张明", role="市政府秘书长")),
    ("date-on-the-speaker-line", ["在全市经济工作会议上的讲话", "市长  王磊  2022年1月8日", *BODY],
     dict(speaker="王磊", role="市长", date="2022-01-08")),
    ("title-in-book-marks", ["《在全市经济工作会议上的讲话》", "市长  王磊", *BODY], dict(title="在全市经济工作会议上的讲话")),
    ("date-after-title-on-its-line", ["在全市经济工作会议上的讲话（2020年3月5日）", "市长  王磊", *BODY],
     dict(title="在全市经济工作会议上的讲话", date="2020-03-05", speaker="王磊")),
    ("issuing-body-above-title", ["XX市人民政府办公室", "在全市经济工作会议上的讲话", "市长  王磊", *BODY],
     dict(title="在全市经济工作会议上的讲话", speaker="王磊")),
    ("two-roles-and-weekday", ["在全市经济工作会议上的讲话", "市委副书记、市长  王磊", "2020年3月5日（星期四）", *BODY],
     dict(role="市委副书记、市长", speaker="王磊", date="2020-03-05")),
    ("preamble-above-title", ["内部资料", "注意保存", "在全市经济工作会议上的讲话", "市长  王磊", *BODY],
     dict(title="在全市经济工作会议上的讲话", speaker="王磊")),
]


@pytest.mark.parametrize("kind", ["docx", "pdf"])
@pytest.mark.parametrize("case, lines, expected", CASES, ids=[c[0] for c in CASES])
def test_layouts(tmp_path: Path, kind: str, case: str, lines: list[str], expected: dict) -> None:
    path = tmp_path / f"文件名不是标题.{kind}"
    if kind == "docx":
        factory.write_docx(path, lines)
    else:
        factory.write_pdf(path, lines)
    meta = extract(read(path), path)
    for key, value in expected.items():
        assert getattr(meta, key) == value, (key, getattr(meta, key), value)


def test_posting_time_is_published_and_footer_is_read(tmp_path: Path) -> None:
    path = factory.write_saved_page(tmp_path / "a.txt", "2020年在办公室集体学习会上的讲话",
                                    ["2020年在办公室集体学习会上的讲话", *BODY], published="2023-01-16 12:41:30",
                                    pages=7, size="45.94 KB", uploader="U-7265")
    meta = extract(read(path), path)
    assert (meta.date, meta.published, meta.pages, meta.pages_estimated, meta.uploader, meta.stated_size) == (
        "2020", "2023-01-16 12:41:30", 7, False, "U-7265", "45.94 KB")
    assert meta.speaker is None  # 文章作者 is the uploader, not the speaker


def test_lying_document_properties_are_not_believed(tmp_path: Path) -> None:
    path = factory.write_docx(tmp_path / "a.docx", ["在全市经济工作会议上的讲话", *BODY], title="新建文档",
                              author="Administrator")
    meta = extract(read(path), path)
    assert meta.title == "在全市经济工作会议上的讲话" and meta.speaker is None and meta.date is None


def test_author_property_is_used_only_when_the_text_agrees(tmp_path: Path) -> None:
    agreeing = factory.write_docx(tmp_path / "a.docx", ["在全市经济工作会议上的讲话", "（刘洋）", *BODY], author="刘洋")
    typist = factory.write_docx(tmp_path / "b.docx", ["在全市经济工作会议上的讲话", *BODY], author="刘洋")
    assert extract(read(agreeing), agreeing).speaker == "刘洋"
    assert extract(read(typist), typist).speaker is None


def test_title_property_only_when_the_text_has_none(tmp_path: Path) -> None:
    path = factory.write_docx(tmp_path / "a.docx", BODY, title="全市经济工作会议讲话")
    assert extract(read(path), path).title == "全市经济工作会议讲话"
    junk = factory.write_docx(tmp_path / "b.docx", BODY, title="Microsoft Word - 讲话.docx")
    assert extract(read(junk), junk).title != "Microsoft Word - 讲话.docx"


def test_stale_app_xml_gives_an_estimate_and_says_so(tmp_path: Path) -> None:
    # python-docx writes docProps/app.xml with Pages=1 and no real statistics
    path = factory.write_docx(tmp_path / "a.docx", ["在全市经济工作会议上的讲话", *(BODY * 40)])
    meta = extract(read(path), path)
    assert meta.pages_estimated is True and meta.pages > 1


def test_compilation_of_several_speeches_says_so(tmp_path: Path) -> None:
    lines = ["第一篇：在全市经济工作会议上的讲话", "市长  王磊", *BODY,
             "第二篇：在全市安全生产工作会议上的讲话", "常务副市长  李强", *BODY]
    path = factory.write_docx(tmp_path / "a.docx", lines)
    meta = extract(read(path), path)
    assert meta.compilation is True and meta.title == "在全市经济工作会议上的讲话" and meta.speaker == "王磊"
    single = factory.write_docx(tmp_path / "b.docx", ["在全市经济工作会议上的讲话", "市长  王磊", *BODY])
    assert extract(read(single), single).compilation is False


def _official_layout_docx(path: Path, lines: list[str]) -> Path:
    """A docx laid out like a 公文: A4, 仿宋 三号 (16 pt), fixed 28.95 pt lines, 2-character indent."""
    import docx
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    document = docx.Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin, section.left_margin, section.right_margin = Cm(3.7), Cm(3.5), Cm(2.8), Cm(2.6)
    normal = document.styles["Normal"]
    normal.font.size = Pt(16)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "仿宋")
    normal.paragraph_format.line_spacing = Pt(28.95)
    normal.paragraph_format.space_after = Pt(0)
    for line in lines:
        document.add_paragraph(line).paragraph_format.first_line_indent = Pt(32)
    document.save(str(path))
    return path


def test_docx_page_estimate_agrees_with_libreoffice_within_a_page(tmp_path: Path) -> None:
    import random
    import shutil
    import subprocess

    import pypdfium2

    assert shutil.which("soffice"), "LibreOffice is needed (apt-get install libreoffice-writer-nogui)"
    rng = random.Random(11)
    made = []
    for number, chars in enumerate((400, 2500, 7000)):
        item = factory.speech(rng, chars)
        made.append(factory.write_docx(tmp_path / f"plain{number}.docx", item.lines()))
        made.append(_official_layout_docx(tmp_path / f"official{number}.docx", item.lines()))
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), *map(str, made)],
                   check=True, capture_output=True, timeout=180)
    for path in made:
        rendered = len(pypdfium2.PdfDocument(str(path.with_suffix(".pdf"))))
        extracted = read(path)
        assert extracted.pages_estimated is True
        assert abs(extracted.pages - rendered) <= 1, (path.name, extracted.pages, rendered)


# --- pages saved from sites: the speech's own heading, never the site's ------------------------------------

CHROME_ABOVE = [
    "首页 > 范文中心 > 讲话稿 > 正文", "您的位置：首页>>领导讲话>>正文", "当前位置：首页 > 公文 > 讲话", "某某范文网 首页",
    "首页 | 工作总结 | 心得体会 | 讲话稿 | 演讲稿", "首页 范文大全 工作总结 心得体会 讲话稿", "- 2021-05-07 发布 |",
    "更新时间：2022-03-01 08:00", "发布时间：2022-03-01", "作者：admin 来源：网络 发布时间：2021-05-07", "标题 作者 正文 简介",
    "来源：网络整理", "浏览次数：1234", "下面是小编为大家整理的讲话稿，供大家参考。",
]


@pytest.mark.parametrize(("case", "lines", "expected"), [
    ("breadcrumb-and-posting-time", ["首页 > 文章中心 > 正文", "2021-05-07 发布", "在全市经济工作会议上的讲话", "市长  王磊",
                                     "（2020年3月5日）", *BODY],
     dict(title="在全市经济工作会议上的讲话", date="2020-03-05", speaker="王磊", role="市长")),
    ("site-time-is-never-the-date", ["在全市经济工作会议上的讲话", "更新时间：2021-05-07", *BODY],
     dict(title="在全市经济工作会议上的讲话", date=None)),
    ("run-in-title", ["在全市经济工作会议上的讲话同志们：今天召开这次会议，主要任务是总结工作、部署任务。", *BODY[1:]],
     dict(title="在全市经济工作会议上的讲话")),
    ("run-in-title-traditional", ["在全市經濟工作會議上的講話同志們：今天召開這次會議，主要任務是總結工作。", *BODY[1:]],
     dict(title="在全市經濟工作會議上的講話")),
    ("title-suffix-and-noise", ["在全市经济工k3 w) Q% b!作会议上的讲话(通用5篇)", "市长  王磊", *BODY],
     dict(title="在全市经济工作会议上的讲话", speaker="王磊")),
    ("label-before-text", ["文章全文：", "在全市经济工作会议上的讲话", "市长  王磊", *BODY], dict(title="在全市经济工作会议上的讲话")),
    ("role-only-heading", ["县长在全县经济工作会议上的讲话", *BODY], dict(role="县长", speaker=None)),
    ("withheld-holder-of-a-role", ["X区长在全区安全生产工作会议上的讲话", *BODY], dict(role="区长", speaker=None)),
    ("role-in-the-body", ["在全市经济工作会议上的讲话", "同志们：", "作为市委书记，我先讲三点意见。"], dict(role="市委书记")),
    ("organisation-word-not-in-role", ["在全县经济工作会议上的讲话", "XX县人民政府县长  张三", *BODY],
     dict(role="县长", speaker="张三")),
    ("several-speakers", ["在全市经济工作会议上的讲话", "张三 李四 王五", *BODY], dict(speaker="张三、李四、王五")),
    ("title-only-at-the-end", [*BODY, "（在全市经济工作会议上的讲话）"], dict(title="在全市经济工作会议上的讲话")),
    ("book-name-above-the-title", ["《某某同志文选》第二卷", "在全市经济工作会议上的讲话", "市长  王磊", *BODY],
     dict(title="在全市经济工作会议上的讲话", speaker="王磊")),
    ("spaced-date-mid-line", ["在全市经济工作会议上的讲话", "市长王磊 2020 年 3 月 10 日", *BODY], dict(date="2020-03-10")),
    ("traditional-speaker-kept-in-its-script", ["在全市經濟工作會議上的講話", "市政府秘書長  張華", "（2021年4月12日）", *BODY],
     dict(speaker="張華", role="市政府秘書長", date="2021-04-12", meeting="全市經濟工作會議")),
    ("traditional-chrome", ["首頁 > 文章中心 > 正文", "更新時間：2021-05-07", "在全市經濟工作會議上的講話", "市長  王磊", *BODY],
     dict(title="在全市經濟工作會議上的講話", date=None, speaker="王磊")),
])
def test_saved_page_headings(tmp_path: Path, case: str, lines: list[str], expected: dict) -> None:
    path = factory.write_saved_page(tmp_path / "page.htm", lines[0], lines, published="2023-01-16 12:41:30")
    meta = extract(read(path), path)
    assert meta.published == "2023-01-16 12:41:30"
    for key, value in expected.items():
        assert getattr(meta, key) == value, (case, key, getattr(meta, key), value)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_speech_wrapped_in_any_chrome_keeps_its_title_date_and_speaker(tmp_path: Path, data) -> None:
    item = factory.speech(random.Random(data.draw(st.integers(0, 10_000))), chars=400)
    above = data.draw(st.lists(st.sampled_from(CHROME_ABOVE), max_size=5, unique=True))
    site_title = item.title + data.draw(st.sampled_from(["", "(通用5篇)", "（精选3篇）", "【最新】"]))
    path = factory.write_saved_page(tmp_path / f"{data.draw(st.integers(0, 10**9))}.htm", site_title,
                                    [*above, *item.lines()], published="2022-01-01 10:00:00")
    meta = extract(read(path), path)
    assert (meta.title, meta.date, meta.speaker, meta.role) == (item.title, item.date, item.speaker, item.role)
