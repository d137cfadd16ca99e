"""Every file an office keeps: .doc and .wps, OFD, scans and page photos, pages in GBK, Big5 and
UTF-16, traditional script, pinyin notes, tracked changes. Real files, made here; the real index."""

from __future__ import annotations

import random
import shutil
import zipfile
from pathlib import Path

import pytest
from rapidfuzz.distance import Levenshtein

from archive.document import Extracted, Paragraph
from archive.ingest.pipeline import run_index
from archive.normalize import normalise
from archive.readers import UnreadableFile, legacy, office, read
from archive.search import open_index
from tests import factory


def speech(seed: int, chars: int = 1200) -> factory.Speech:
    return factory.speech(random.Random(seed), chars=chars)


def same_text(extracted: Extracted, lines: list[str]) -> bool:
    return normalise(extracted.text) == normalise("".join(lines))


# --- .doc and .wps -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def legacy_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, list[str]]]:
    """A long and a very short speech as .doc, and the long one as .wps (WPS Writer's binary
    format is Word's), all converted by LibreOffice in one call."""
    root = tmp_path_factory.mktemp("legacy")
    long_speech = speech(11, 3000)
    short_lines = ["在办公室例会上的讲话", "同志们：", "今天的会就开到这里。"]
    table = [["项目", "完成率"], ["财政收入", "达到65.3%"]]
    drafts = [factory.write_docx(root / "docx" / "long.docx", long_speech.lines(), table=table),
              factory.write_docx(root / "docx" / "short.docx", short_lines)]
    long_doc, short_doc = factory.to_legacy(drafts, root / "doc")
    wps = factory.to_legacy(drafts[:1], root / "wps", suffix=".wps")[0]
    lines = [*long_speech.lines(), "项目\t完成率", "财政收入\t达到65.3%"]
    return {"long": (long_doc, lines), "short": (short_doc, short_lines), "wps": (wps, lines)}


@pytest.mark.parametrize("name", ["long", "short", "wps"])
def test_doc_and_wps_read_whole(legacy_files, name: str) -> None:
    path, lines = legacy_files[name]
    extracted = read(path)
    assert same_text(extracted, lines)
    assert extracted.pages and extracted.pages >= 1


def test_antiword_fast_path_reads_a_real_doc_exactly(legacy_files) -> None:
    """The fast path is exact where it answers; where it does not (antiword refuses very short
    files), LibreOffice does, as the test above shows for the short file."""
    path, lines = legacy_files["long"]
    fast = legacy._with_antiword(path)
    assert fast is not None and same_text(fast, lines)
    assert fast.pages_estimated
    assert legacy._with_antiword(legacy_files["short"][0]) is None


def test_libreoffice_converts_doc_to_docx(legacy_files) -> None:
    path, _ = legacy_files["long"]
    converted = office.convert_to_docx(path)
    assert converted[:2] == b"PK"


def test_doc_that_is_really_a_docx_rtf_or_page_is_read_by_its_content(tmp_path: Path) -> None:
    lines = speech(12, 300).lines()
    docx_named_doc = factory.write_docx(tmp_path / "x.docx", lines).rename(tmp_path / "really-docx.doc")
    page_named_doc = tmp_path / "page.doc"
    page_named_doc.write_text("<html><body>" + "<br/>".join(lines) + "</body></html>", encoding="utf-8")
    rtf = tmp_path / "saved.rtf"
    rtf.write_text("{\\rtf1\\ansi\\ansicpg936 {\\fonttbl{\\f0 SimSun;}}\\f0 " +
                   "\\par ".join("".join(f"\\u{ord(c)}?" for c in line) for line in lines) + "}", encoding="ascii")
    for path in (docx_named_doc, page_named_doc, rtf):
        assert same_text(read(path), lines), path


def test_garbled_old_word_text_is_refused_not_indexed() -> None:
    """A Word 6/95 file in GBK read in a Western code page comes out as Latin-1 letters: refused."""
    mojibake = "ÔÚÈ«ÊÐ°²È«Éú²ú¹¤×÷»áÒéÉÏµÄ½²»°" * 3
    with pytest.raises(UnreadableFile, match="garbled"):
        legacy._checked(Extracted(paragraphs=[Paragraph(mojibake)]), old_word=True)
    clean = Extracted(paragraphs=[Paragraph("在全市安全生产工作会议上的讲话 Café")])
    assert legacy._checked(clean) is clean


def test_other_ole_files_named_doc_get_a_reason(tmp_path: Path) -> None:
    import olefile  # noqa: F401  (the reader's dependency; a file it cannot parse is "damaged")

    junk = tmp_path / "junk.doc"
    junk.write_bytes(legacy.OLE_MAGIC + bytes(600))
    with pytest.raises(UnreadableFile, match=r"damaged|not a Word"):
        read(junk)
    binary = tmp_path / "binary.wps"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(UnreadableFile, match="not a Word or WPS"):
        read(binary)


# --- OFD ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("per_character", [False, True])
def test_ofd_text_in_reading_order_with_pages(tmp_path: Path, per_character: bool) -> None:
    item = speech(13, 2000)
    path = factory.write_ofd(tmp_path / "a.ofd", item.lines(), per_character=per_character, title=item.title)
    extracted = read(path)
    assert same_text(extracted, item.lines())
    assert extracted.pages > 1 and extracted.paragraphs[-1].page == extracted.pages
    assert [" ".join(p.text.split()) for p in extracted.paragraphs[:4]] == [item.title, f"{item.role} {item.speaker}",
                                                         f"（{item.date_cn}）", "同志们："]


def test_a_scan_kept_as_ofd_is_read_by_ocr(tmp_path: Path) -> None:
    item = speech(21, 400)
    extracted = read(factory.write_scanned_ofd(tmp_path / "扫描.ofd", item.lines()))
    assert extracted.ocr_pages == 1 and extracted.pages == 1
    assert extracted.paragraphs[0].text == item.title
    assert accuracy(extracted, item.lines()) >= 0.97


def test_damaged_ofd_gets_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "bad.ofd"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("OFD.xml", "<ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'><ofd:DocBody>")
    with pytest.raises(UnreadableFile, match="damaged OFD"):
        read(path)


# --- scans and photos ---------------------------------------------------------------------------------


def accuracy(extracted: Extracted, lines: list[str]) -> float:
    truth = normalise("".join(lines))
    return 1 - Levenshtein.distance(normalise(extracted.text), truth) / len(truth)


def test_scanned_pdf_is_read_by_ocr_with_pages(tmp_path: Path) -> None:
    item = speech(14, 1200)
    path = factory.write_scanned_pdf(tmp_path / "scan.pdf", item.lines())
    extracted = read(path)
    assert extracted.ocr_pages == extracted.pages >= 2
    assert accuracy(extracted, item.lines()) >= 0.99
    assert extracted.paragraphs[0].text == item.title
    assert extracted.paragraphs[-1].page == extracted.pages


def test_pdf_with_text_and_scanned_pages_gets_both(tmp_path: Path) -> None:
    item = speech(15, 1500)
    path = factory.write_scanned_pdf(tmp_path / "mixed.pdf", item.lines(), text_pages={1})
    extracted = read(path)
    assert extracted.pages >= 3 and extracted.ocr_pages == extracted.pages - 1
    assert accuracy(extracted, item.lines()) >= 0.99


def test_photo_of_a_page_is_read(tmp_path: Path) -> None:
    item = speech(16, 400)
    for suffix in (".png", ".jpg"):
        extracted = read(factory.write_page_image(tmp_path / f"page{suffix}", item.lines(),
                                                     running_header=None, page_numbers=False))
        assert extracted.ocr_pages == 1
        first_page = normalise(extracted.text)
        assert first_page.startswith(normalise(item.title + item.role + item.speaker))


# --- encodings ---------------------------------------------------------------------------------------


def page_source(item: factory.Speech, *, lines: list[str] | None = None, charset: str | None = None) -> str:
    body = factory.saved_page(item.title, lines or item.lines()[1:]).replace("•", "·").replace("¥", "")
    meta = f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">' if charset else ""
    return f"<html><head>{meta}<title>x</title></head><body>{body.replace(chr(10), '<br/>')}</body></html>"


@pytest.mark.parametrize(("encoding", "suffix", "declared", "bom"), [
    ("gbk", ".txt", None, b""),
    ("gb18030", ".htm", "gb2312", b""),
    ("gbk", ".htm", "gb2312", b""),
    ("utf-8", ".htm", "gb2312", b""),  # saved by a browser as UTF-8, old declaration kept
    ("utf-16-le", ".txt", None, b""),
    ("utf-16-be", ".txt", None, b""),
    ("utf-16-le", ".txt", None, b"\xff\xfe"),
    ("utf-8", ".txt", None, b"\xef\xbb\xbf"),
])
def test_pages_in_every_encoding_read_right(tmp_path: Path, encoding: str, suffix: str, declared: str | None,
                                            bom: bytes) -> None:
    item = speech(17, 800)
    path = tmp_path / f"page{suffix}"
    path.write_bytes(bom + page_source(item, charset=declared).encode(encoding))
    assert normalise("".join(item.paragraphs)) in normalise(read(path).text)


@pytest.mark.parametrize("declared", ["big5", None])
def test_big5_pages_read_as_traditional_text_not_gbk_garbage(tmp_path: Path, declared: str | None) -> None:
    item = speech(18, 800)
    lines = [factory.traditional(line) for line in item.lines()[1:]]
    path = tmp_path / "big5.htm"
    path.write_bytes(page_source(item, lines=lines, charset=declared).encode("big5hkscs", "replace"))
    text = read(path).text
    assert factory.traditional(item.paragraphs[0])[:40] in text


def test_one_bad_byte_does_not_reject_a_utf8_page(tmp_path: Path) -> None:
    item = speech(19, 800)
    raw = page_source(item).encode("utf-8")
    middle = raw.index("同志们".encode()) + 9
    path = tmp_path / "damaged.txt"
    path.write_bytes(raw[:middle] + b"\xff" + raw[middle:])
    assert normalise(item.paragraphs[-1]) in normalise(read(path).text)


# --- tracked changes and comments ----------------------------------------------------------------------

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def test_docx_tracked_changes_read_as_accepted_and_comments_left_out(tmp_path: Path) -> None:
    import docx
    from docx.oxml import parse_xml

    path = factory.write_docx(tmp_path / "revised.docx", ["placeholder"])
    document = docx.Document(str(path))
    paragraph = document.paragraphs[0]._p
    for child in list(paragraph):
        if child.tag.endswith("}r"):
            paragraph.remove(child)
    runs = (f'<w:r xmlns:w="{_W}"><w:t>我们要</w:t></w:r>',
            f'<w:ins xmlns:w="{_W}" w:id="1" w:author="张三" w:date="2021-01-01T00:00:00Z"><w:r><w:t>坚定不移地</w:t></w:r></w:ins>',
            f'<w:del xmlns:w="{_W}" w:id="2" w:author="张三" w:date="2021-01-01T00:00:00Z"><w:r><w:delText>大概</w:delText></w:r></w:del>',
            f'<w:moveFrom xmlns:w="{_W}" w:id="3" w:author="张三" w:date="2021-01-01T00:00:00Z"><w:r><w:t>挪走的话</w:t></w:r></w:moveFrom>',
            f'<w:r xmlns:w="{_W}"><w:t>推进安全生产</w:t></w:r>',
            f'<w:moveTo xmlns:w="{_W}" w:id="4" w:author="张三" w:date="2021-01-01T00:00:00Z"><w:r><w:t>挪走的话</w:t></w:r></w:moveTo>')
    for run in runs:
        paragraph.append(parse_xml(run))
    document.add_comment(document.paragraphs[0].runs[0], text="批注：这里要改", author="李四")
    document.save(str(path))
    assert [p.text for p in read(path).paragraphs] == ["我们要坚定不移地推进安全生产挪走的话"]


# --- pinyin notes and extraction spaces -----------------------------------------------------------------


def test_pinyin_notes_and_digit_spaces_are_not_text(tmp_path: Path) -> None:
    item = speech(20, 600)
    annotated = [factory.with_pinyin(line, random.Random(1)) for line in item.lines()]
    assert annotated != item.lines()
    path = factory.write_saved_page(tmp_path / "pinyin.txt", annotated[0], annotated[1:])
    extracted = read(path)
    assert extracted.paragraphs[0].text == item.title
    assert normalise(extracted.text) == normalise("".join(item.lines()))
    spaced = factory.write_pdf(tmp_path / "spaced.pdf", ["2014 年在全市经济工作会议上的讲话", "（2020 年 3 月 10 日）"],
                               running_header=None)
    assert [p.text for p in read(spaced).paragraphs] == ["2014年在全市经济工作会议上的讲话", "（2020年3月10日）"]


# --- one folder of all of them, through the real index ------------------------------------------------------


def test_a_folder_of_every_kind_is_indexed_and_found_in_either_script(tmp_path: Path, legacy_files) -> None:
    source = tmp_path / "讲话稿"
    items = {name: speech(30 + i, 900) for i, name in enumerate(["scan", "ofd", "big5", "utf16", "traditional"])}
    factory.write_scanned_pdf(source / "2019" / "扫描件.pdf", items["scan"].lines())
    factory.write_ofd(source / "2020" / "印发稿.ofd", items["ofd"].lines())
    big5_lines = [factory.traditional(line) for line in items["big5"].lines()]
    (source / "2021").mkdir(parents=True)
    (source / "2021" / "繁體頁面.htm").write_bytes(
        page_source(items["big5"], lines=big5_lines[1:], charset="big5").encode("big5hkscs", "replace"))
    (source / "2021" / "utf16.txt").write_bytes(page_source(items["utf16"]).encode("utf-16"))
    factory.write_docx(source / "2022" / "繁體講話.docx", [factory.traditional(line) for line in items["traditional"].lines()])
    (source / "2018").mkdir()
    for name in ("long", "wps"):
        shutil.copy(legacy_files[name][0], source / "2018" / legacy_files[name][0].name)
    (source / "2018" / "~$long.doc").write_bytes(b"\x05owner")
    index = tmp_path / "index"
    report = run_index([source], index)
    assert not report.failed and report.added == 7
    assert [item["reason"] for item in report.skipped] == ["Word lock file"]

    with open_index(index) as archive:
        listed = {Path(d["path"]).name: d for d in archive.documents()}
        assert listed["扫描件.pdf"]["ocr"] is True and listed["印发稿.ofd"]["ocr"] is False
        assert {d["format"] for d in listed.values()} == {"pdf", "ofd", "page", "docx", "doc", "wps"}
        for name, item in items.items():
            phrase = item.paragraphs[1][5:17]
            for query in (phrase, factory.traditional(phrase)):
                paths = {Path(hit.document.path).name for hit in archive.search(f'"{query}"', limit=None).hits}
                assert len(paths) >= 1, (name, query)
        legacy_phrase = legacy_files["long"][1][6][3:15]
        hits = archive.search(f'"{factory.traditional(legacy_phrase)}"', limit=None).hits
        assert {Path(hit.document.path).suffix for hit in hits} == {".doc", ".wps"}
