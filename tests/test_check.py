"""文稿查重 over a real index with planted reuse: every planted sentence is found with its source,
and no sentence that stands nowhere is flagged."""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import docx
import pytest
from fastapi.testclient import TestClient

from archive.check import check, split_sentences
from archive.ingest.pipeline import run_index
from archive.search import open_index
from archive.web import create_app
from tests import factory

pytestmark = pytest.mark.both_engines


def sentences_of(paragraphs: list[str]) -> list[str]:
    return [s for p in paragraphs for s in re.findall(r"[^。；]+[。；]", p) if len(s) >= 16]


def change_characters(sentence: str, rng: random.Random, count: int) -> str:
    chars = list(sentence)
    for position in rng.sample([i for i, c in enumerate(chars) if "\u4e00" <= c <= "\u9fff"], count):
        chars[position] = "塬" if chars[position] != "塬" else "垚"
    return "".join(chars)


def repunctuate(sentence: str) -> str:
    return sentence.replace("，", "、").rstrip("。；") + "！"


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("check")
    rng = random.Random(31)
    speeches = [factory.speech(rng, chars=1500, vocabulary="varied") for _ in range(18)]
    paths = []
    for number, item in enumerate(speeches):
        kind = number % 3
        if kind == 0:
            paths.append(factory.write_docx(root / "archive" / f"{number}.docx", item.lines()))
        elif kind == 1:
            paths.append(factory.write_pdf(root / "archive" / f"{number}.pdf", item.lines()))
        else:
            paths.append(factory.write_saved_page(root / "archive" / f"{number}.txt", item.title, item.lines()[1:]))
    index = root / "index"
    run_index([root / "archive"], index)

    plan: list[tuple[str, str, str | None]] = []  # (draft sentence, kind, source path)
    for number, kind in enumerate(["exact", "changed1", "changed2", "punctuation", "traditional"] * 3):
        source = number % len(speeches)
        sentence = rng.choice(sentences_of(speeches[source].paragraphs))
        draft = {"exact": sentence, "changed1": change_characters(sentence, rng, 1),
                 "changed2": change_characters(sentence, rng, 2), "punctuation": repunctuate(sentence),
                 "traditional": factory.traditional(sentence)}[kind]
        plan.append((draft, kind, str(paths[source])))
    unseen = [factory.speech(random.Random(900 + n), chars=400, vocabulary="varied") for n in range(4)]
    for sentence in [s for item in unseen for s in sentences_of(item.paragraphs)][:15]:
        plan.append((sentence, "nowhere", None))
    rng.shuffle(plan)
    text = "同志们：\n" + "\n".join(draft for draft, _, _ in plan) + "\n谢谢大家！"
    with open_index(index) as archive:
        yield archive, text, plan, root


def test_every_planted_sentence_is_found_and_no_other(planted) -> None:
    archive, text, plan, _ = planted
    report = check(archive, text)
    by_sentence = {match.sentence.strip("\n"): match for match in report.matches}
    for draft, kind, source in plan:
        match = by_sentence.get(draft)
        if kind == "nowhere":
            assert match is None, (draft, [s.text for s in match.sources])
            continue
        assert match is not None, (kind, draft)
        assert source in {s.path for s in match.sources} or match.documents > len(match.sources), (kind, draft)
        assert match.exact == (kind in ("exact", "traditional", "punctuation")), (kind, draft, match.similarity)
        assert text[match.start : match.end] == match.sentence
    assert report.sentences == len(plan) + 2
    assert "同志们：" not in by_sentence and "谢谢大家！" not in by_sentence


def test_sources_show_the_past_sentence_as_it_stands(planted) -> None:
    archive, text, _plan, _ = planted
    report = check(archive, text)
    for match in report.matches:
        best = match.sources[0]
        if best.exact:
            assert best.similarity == 1.0
        assert best.title and best.date and best.text
        assert 0 < best.similarity <= 1


def test_sentences_are_cut_with_offsets_into_the_text() -> None:
    text = "同志们：\n第一句话。第二句话！  第三句？\n最后一句没有句号"
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == ["同志们：", "第一句话。", "第二句话！", "第三句？", "最后一句没有句号"]


def test_check_command_json_terminal_and_word_report(planted, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from archive.cli import app

    archive, text, plan, _root = planted
    draft = tmp_path / "新稿.txt"
    draft.write_text(text, encoding="gb18030")
    runner = CliRunner()
    result = runner.invoke(app, ["check", str(draft), "--index", str(archive.location), "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["sentences"] == len(plan) + 2 and data["reused"] == sum(1 for _, kind, _ in plan if kind != "nowhere")
    assert {"sentence", "start", "end", "sources"} <= data["matches"][0].keys()
    assert {"path", "title", "speaker", "date", "page", "text", "similarity", "exact"} <= data["matches"][0]["sources"][0].keys()

    report_path = tmp_path / "查重报告.docx"
    result = runner.invoke(app, ["check", str(draft), "--index", str(archive.location), "-o", str(report_path)])
    assert result.exit_code == 0 and "sentences appear in past speeches" in result.stdout
    document = docx.Document(str(report_path))
    highlighted = [run.text for p in document.paragraphs for run in p.runs if run.font.highlight_color is not None]
    assert len(highlighted) == data["reused"]
    with zipfile.ZipFile(report_path) as package:
        comments = package.read("word/comments.xml").decode("utf-8")
    assert comments.count("<w:comment ") == data["reused"] and "《" in comments

    assert shutil.which("soffice"), "LibreOffice is needed (apt-get install libreoffice-writer-nogui)"
    subprocess.run(["soffice", "--headless", "--convert-to", "odt", "--outdir", str(tmp_path), str(report_path)],
                   check=True, capture_output=True, timeout=180)
    with zipfile.ZipFile(report_path.with_suffix(".odt")) as package:
        content = package.read("content.xml").decode("utf-8")
    assert len(re.findall(r"<office:annotation[ >]", content)) == data["reused"]  # LibreOffice reads every citation


def test_check_over_http_with_text_and_with_a_file(planted, tmp_path: Path) -> None:
    archive, text, plan, _ = planted
    reused = sum(1 for _, kind, _ in plan if kind != "nowhere")
    with TestClient(create_app(archive.location)) as client:
        answer = client.post("/api/check", json={"text": text}).json()
        assert answer["reused"] == reused and answer["text"] == text
        upload = factory.write_docx(tmp_path / "draft.docx", text.split("\n"))
        answer = client.post("/api/check", params={"filename": "draft.docx"}, content=upload.read_bytes()).json()
        assert answer["reused"] == reused
        bad = client.post("/api/check", content=b"not json")
        assert bad.status_code == 400 and "JSON" in bad.json()["error"]
