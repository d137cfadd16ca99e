"""Bad input is normal in a shared folder: each bad file gets a one-line reason, none stops the run."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from archive.ingest.pipeline import run_index
from archive.search import open_index
from tests import factory

pytestmark = pytest.mark.both_engines

GOOD_LINES = ["在全市安全生产工作会议上的讲话", "同志们：", "我们要扎实推进安全生产工作，切实做好应急管理各项任务。"]


def index_with_good_neighbour(source: Path, index_dir: Path, **options):
    """Index a folder that also holds one good speech, which must always be found."""
    factory.write_docx(source / "good.docx", GOOD_LINES)
    report = run_index([source], index_dir, **options)
    with open_index(index_dir) as archive:
        assert archive.search('"应急管理各项任务"').total == 1
    return report


def reason_for(report, path: Path) -> str:
    reasons = [item["reason"] for item in report.failed if item["path"] == str(path)]
    assert len(reasons) == 1, report.failed
    assert "\n" not in reasons[0]
    return reasons[0]


def test_empty_files(source: Path, index_dir: Path) -> None:
    paths = [source / name for name in ("empty.docx", "empty.pdf", "empty.txt")]
    for path in paths:
        path.touch()
    report = index_with_good_neighbour(source, index_dir)
    for path in paths:
        assert "empty" in reason_for(report, path)


def test_random_bytes_named_pdf_and_docx(source: Path, index_dir: Path) -> None:
    noise = random.Random(1).randbytes(5000)
    (source / "noise.pdf").write_bytes(noise)
    (source / "noise.docx").write_bytes(noise)
    report = index_with_good_neighbour(source, index_dir)
    assert "not a valid PDF" in reason_for(report, source / "noise.pdf")
    assert "not a Word document" in reason_for(report, source / "noise.docx")


def test_truncated_docx(source: Path, index_dir: Path, tmp_path: Path) -> None:
    whole = factory.write_docx(tmp_path / "whole.docx", GOOD_LINES * 50).read_bytes()
    (source / "truncated.docx").write_bytes(whole[: len(whole) // 2])
    report = index_with_good_neighbour(source, index_dir)
    assert "corrupt .docx" in reason_for(report, source / "truncated.docx")


def test_truncated_pdf(source: Path, index_dir: Path, tmp_path: Path) -> None:
    whole = factory.write_pdf(tmp_path / "whole.pdf", GOOD_LINES * 50).read_bytes()
    (source / "truncated.pdf").write_bytes(whole[: len(whole) // 3])
    report = index_with_good_neighbour(source, index_dir)
    failed = [item["reason"] for item in report.failed if item["path"].endswith("truncated.pdf")]
    # pdfium may recover the pages it can; either way the run goes on and says what happened
    if failed:
        assert len(failed) == 1 and "PDF" in failed[0] and "\n" not in failed[0], failed
    else:
        with open_index(index_dir) as archive:
            listed = [doc for doc in archive.documents() if doc["path"] == str(source / "truncated.pdf")]
        assert len(listed) == 1 and listed[0]["pages"], "recovered, so listed with the pages it kept"


def test_docx_whose_xml_inflates_to_a_gibibyte(source: Path, index_dir: Path, tmp_path: Path) -> None:
    template = factory.write_docx(tmp_path / "t.docx", GOOD_LINES)
    bomb = source / "bomb.docx"
    with zipfile.ZipFile(template) as original, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as target:
        for item in original.infolist():
            if item.filename != "word/document.xml":
                target.writestr(item, original.read(item.filename))
        with target.open("word/document.xml", "w", force_zip64=True) as stream:
            chunk = b" " * (1024 * 1024)
            for _ in range(1024):
                stream.write(chunk)
    assert bomb.stat().st_size < 5 * 1024 * 1024
    report = index_with_good_neighbour(source, index_dir)
    assert "zip bomb" in reason_for(report, bomb)


def test_encrypted_pdf(source: Path, index_dir: Path) -> None:
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen import canvas

    path = source / "secret.pdf"
    pdf = canvas.Canvas(str(path), encrypt=StandardEncryption("user-password", "owner-password"))
    pdf.setFont(factory.cjk_font(), 12)
    pdf.drawString(72, 700, "机密讲话")
    pdf.save()
    report = index_with_good_neighbour(source, index_dir)
    assert reason_for(report, path) == "encrypted PDF: needs a password"


def test_password_protected_word_file(source: Path, index_dir: Path) -> None:
    # Word saves a password-protected .docx as an OLE compound file, not a zip
    (source / "protected.docx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096))
    report = index_with_good_neighbour(source, index_dir)
    assert "password-protected" in reason_for(report, source / "protected.docx")


def test_pdf_with_a_drawing_and_no_text(source: Path, index_dir: Path) -> None:
    from reportlab.pdfgen import canvas

    path = source / "drawing.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.rect(100, 100, 300, 300, fill=1)
    pdf.save()
    report = index_with_good_neighbour(source, index_dir)
    assert reason_for(report, path) == "no text in the document"


def test_blank_scan_says_ocr_found_nothing(source: Path, index_dir: Path) -> None:
    from PIL import Image

    path = source / "blank-scan.pdf"
    Image.new("L", (1240, 1754), 255).save(path, resolution=150)
    report = index_with_good_neighbour(source, index_dir)
    assert "OCR read nothing" in reason_for(report, path)


def test_word_lock_files_are_skipped(source: Path, index_dir: Path) -> None:
    lock = source / "~$讲话.docx"
    lock.write_bytes(b"\x05lock owner")
    report = index_with_good_neighbour(source, index_dir)
    assert report.skipped == [{"path": str(lock), "reason": "Word lock file"}]
    assert not report.failed


def test_broken_link(source: Path, index_dir: Path) -> None:
    (source / "gone.pdf").symlink_to(source / "nowhere.pdf")
    report = index_with_good_neighbour(source, index_dir)
    assert "broken link" in reason_for(report, source / "gone.pdf")


def test_file_that_takes_too_long_is_stopped_and_reported(source: Path, index_dir: Path) -> None:
    """About ten times the bound for the big file (1.6 s to read here) and a hundredth of it for its
    good neighbour, so the outcome does not depend on the machine's load."""
    slow = factory.write_pdf(source / "huge.pdf", GOOD_LINES * 40000, per_page=40)
    report = index_with_good_neighbour(source, index_dir, timeout=0.5)
    assert "took longer than 0.5 s" in reason_for(report, slow)


@pytest.mark.parametrize("size", ["its neighbour's", "its own"])
def test_unreadable_file(source: Path, index_dir: Path, size: str) -> None:
    """chmod 000. Root reads any file, so as root the run drops the capabilities that allow it. A
    file that has another's size is hashed by the plan, one with a size of its own by a worker: the
    same reason either way, not recorded, so the file is read once its permissions are fixed."""
    import json

    factory.write_docx(source / "good.docx", GOOD_LINES)
    locked = factory.write_docx(source / "locked.docx", GOOD_LINES if size == "its neighbour's" else GOOD_LINES[:2])
    assert (locked.stat().st_size == (source / "good.docx").stat().st_size) == (size == "its neighbour's")
    locked.chmod(0)
    command = [sys.executable, "-m", "archive", "index", str(source), "--index", str(index_dir), "--json"]
    if os.geteuid() == 0:
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]
    result = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert result.returncode == 0, result.stderr

    report = json.loads(result.stdout)
    assert report["added"] == 1
    assert [item["reason"] for item in report["failed"]] == ["cannot read the file: Permission denied"]
    locked.chmod(0o644)
    again = run_index([source], index_dir)
    assert (again.added, again.unchanged, again.failed) == (1, 1, [])


def test_failed_files_are_reported_again_without_being_read_again(source: Path, index_dir: Path) -> None:
    (source / "noise.pdf").write_bytes(b"%PDF-1.4 broken")
    first = index_with_good_neighbour(source, index_dir)
    second = run_index([source], index_dir)
    assert second.failed == first.failed and second.unchanged == 1 and second.added == 0
    (source / "noise.pdf").unlink()
    factory.write_pdf(source / "noise.pdf", GOOD_LINES)
    third = run_index([source], index_dir)
    assert not third.failed and third.updated == 1


@pytest.mark.parametrize("name", ["讲话.docx", "讲话.pdf"])
def test_source_folder_is_never_written(source: Path, index_dir: Path, name: str) -> None:
    factory.write_docx(source / "a.docx", GOOD_LINES)
    factory.write_pdf(source / "b.pdf", GOOD_LINES)
    before = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in source.rglob("*")}
    source.chmod(0o555)
    try:
        run_index([source], index_dir)
    finally:
        source.chmod(0o755)
    assert {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in source.rglob("*")} == before


# --- readable documents that used to be lost with a wrong reason ------------------------------------------


def _rewrite_document_xml(path: Path, change) -> None:
    """Rewrite word/document.xml of a .docx in place (the rest of the package unchanged)."""
    with zipfile.ZipFile(path) as original:
        parts = {info.filename: original.read(info.filename) for info in original.infolist()}
    parts["word/document.xml"] = change(parts["word/document.xml"].decode("utf-8")).encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as rewritten:
        for name, data in parts.items():
            rewritten.writestr(name, data)


@pytest.mark.parametrize("change", [
    lambda xml: xml.replace("<w:r>", '<w:r><w:rPr><w:sz w:val="0"/></w:rPr>', 1),  # a zero font size
    lambda xml: xml.replace("<w:p>", '<w:p><w:pPr><w:ind w:firstLineChars="2.5" w:firstLine="12.5"/></w:pPr>', 1),
    lambda xml: xml.replace("http://schemas.openxmlformats.org/wordprocessingml/2006/main",
                            "http://purl.oclc.org/ooxml/wordprocessingml/main"),  # ISO 29500 Strict
], ids=["zero-font-size", "fractional-indent", "strict-ooxml"])
def test_unusual_but_valid_docx_is_read(source: Path, index_dir: Path, change) -> None:
    path = factory.write_docx(source / "unusual.docx", [*GOOD_LINES[:2], "优化营商环境，推进数字政府建设。"])
    _rewrite_document_xml(path, change)
    index_with_good_neighbour(source, index_dir)
    with open_index(index_dir) as archive:
        assert [hit.document.path for hit in archive.search('"推进数字政府建设"').hits] == [str(path)]


def test_a_yearbook_with_a_four_million_character_paragraph_is_indexed(source: Path, index_dir: Path) -> None:
    rng = random.Random(4)
    text = "".join(factory.sentence(rng, "varied") for _ in range(200_000)).replace("应急管理", "应急处置")
    paragraph = text[:4_000_000]  # not the good neighbour's phrase, which the helper counts
    path = factory.write_docx(source / "年鉴.docx", ["某市年鉴", paragraph])
    index_with_good_neighbour(source, index_dir)
    with open_index(index_dir) as archive:
        assert archive.search(f'"{paragraph[3_000_000:3_000_012]}"').hits[0].document.path == str(path)


def test_a_19_mb_saved_page_does_not_stop_the_run(source: Path, index_dir: Path) -> None:
    rng = random.Random(5)
    body = "".join(factory.sentence(rng, "varied") for _ in range(390_000)).replace("应急管理", "应急处置")
    path = factory.write_saved_page(source / "大页面.htm", "某市年鉴全文", [body[i : i + 5000] for i in range(0, len(body), 5000)])
    assert path.stat().st_size > 18 * 1024 * 1024
    report = index_with_good_neighbour(source, index_dir)
    assert report.added == 2 and not report.failed
