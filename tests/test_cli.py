"""The command line as the contract writes it: every command, every --json shape, exit codes."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archive.cli import app
from tests import factory

pytestmark = pytest.mark.both_engines

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = sorted(command.name for command in app.registered_commands)
LINES = ["在全市优化营商环境大会上的讲话", "市政府秘书长  张三", "（2021年3月5日）", "同志们：",
         "我们要坚持“务实奉献、追求卓越”，持续优化营商环境，2020年GDP达到65.3%。"]


@pytest.fixture
def indexed(cli, source: Path):
    factory.write_docx(source / "2021" / "营商环境.docx", LINES)
    factory.write_pdf(source / "2021" / "营商环境.pdf", LINES)
    factory.write_saved_page(source / "页面.txt", LINES[0], LINES[1:])
    (source / "~$营商环境.docx").write_bytes(b"lock")
    (source / "broken.pdf").write_bytes(b"not a pdf")
    report = cli.json("index", str(source))
    return source, report


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_and_is_in_the_readme(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0 and "--index" in result.stdout
    assert f"archive {command}" in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_is_documented_in_the_readme(command: str) -> None:
    """As sqlite-utils' test_docs does: an option a user can type is an option the README explains."""
    import typer.main

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    click_command = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    for parameter in click_command.params:
        for option in getattr(parameter, "opts", []):
            if option.startswith("--") and option != "--help":
                assert f"`{option}" in readme or f" {option}" in readme, (command, option)


def test_every_command_line_in_the_readme_parses() -> None:
    """Each `archive …` line of the README, as a user copies it (up to a shell redirection or pipe;
    placeholders written with … left out), is one the command line accepts: options, values, arguments."""
    import shlex

    import typer.main

    group = typer.main.get_command(app)
    checked = 0
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        text = line.strip().split(" #")[0]
        if not text.startswith("archive ") or "…" in text:
            continue
        words = shlex.split(text)[1:]
        words = list(itertools.takewhile(lambda word: word not in ("<", ">", "|", "&&"), words))
        if words and words[0] in group.commands:  # type: ignore[attr-defined]
            group.commands[words[0]].make_context(words[0], words[1:])  # type: ignore[attr-defined]
            checked += 1
    assert checked >= 20


def test_every_serve_command_in_the_readme_is_one_the_server_accepts() -> None:
    """The README's `archive serve` lines, as a user copies them: their options are accepted (a
    token too short for the server's own rule made every one of them fail)."""
    import shlex

    from archive.web import policy

    lines = [line.split("#")[0] for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
             if line.strip().startswith("archive serve")]
    assert len(lines) >= 3
    for line in lines:
        words = shlex.split(line)
        options = {word: words[number + 1] for number, word in enumerate(words[:-1]) if word.startswith("--")}
        allowed = [words[n + 1] for n, word in enumerate(words[:-1]) if word == "--allow-host"]
        policy.decide(options.get("--host", "127.0.0.1"), 8000, options.get("--token"), "--no-auth" in words, allowed)


def test_index_json_shape(indexed) -> None:
    source, report = indexed
    assert {"added", "updated", "removed", "unchanged", "seconds", "failed", "skipped"} <= report.keys()
    assert report["added"] == 3 and report["unchanged"] == 0
    assert report["failed"] == [{"path": str(source / "broken.pdf"),
                                 "reason": "not a valid PDF (corrupt, truncated, or another kind of file)"}]
    assert report["skipped"] == [{"path": str(source / "~$营商环境.docx"), "reason": "Word lock file"}]


def test_search_json_shape(cli, indexed) -> None:
    data = cli.json("search", '"务实奉献、追求卓越"', "--limit", "2")
    assert data["query"] == '"务实奉献、追求卓越"' and data["total"] == 3 and len(data["hits"]) == 2
    for hit in data["hits"]:
        assert {"path", "title", "speaker", "role", "date", "pages", "score", "passages"} <= hit.keys()
        assert Path(hit["path"]).is_absolute()
        assert hit["title"] == LINES[0] and hit["speaker"] == "张三" and hit["date"] == "2021-03-05"
        for passage in hit["passages"]:
            assert {"text", "page", "highlights"} <= passage.keys()
            for start, end in passage["highlights"]:
                assert passage["text"][start:end] == "务实奉献、追求卓越"


def test_search_filters(cli, indexed) -> None:
    assert cli.json("search", "营商环境", "--speaker", "张三")["total"] == 3
    assert cli.json("search", "营商环境", "--speaker", "李四")["total"] == 0
    assert cli.json("search", "营商环境", "--since", "2021-03")["total"] == 3
    assert cli.json("search", "营商环境", "--until", "2021-03-04")["total"] == 0
    assert cli.json("search", "营商环境", "--year", "2021")["total"] == 3
    assert cli.json("search", "营商环境 year:2020")["total"] == 0
    assert cli.json("search", "营商环境 date:2021-01-01..2021-06-30")["total"] == 3
    assert cli.json("search", "speaker:张三 title:营商")["total"] == 3


def test_list_json_shape(cli, indexed) -> None:
    documents = cli.json("list")
    assert len(documents) == 3
    keys = {"path", "format", "title", "speaker", "role", "date", "pages", "pages_estimated", "size", "sha256",
            "published", "uploader"}
    for doc in documents:
        assert keys <= doc.keys() and Path(doc["path"]).is_absolute()
    by_format = {doc["format"]: doc for doc in documents}
    assert by_format["pdf"]["pages"] == 1 and by_format["pdf"]["pages_estimated"] is False
    assert by_format["page"]["published"] == "2023-01-16 12:41:30" and by_format["page"]["uploader"] == "U-7265"
    assert by_format["docx"]["published"] is None


def test_show(cli, indexed) -> None:
    source, _ = indexed
    path = source / "2021" / "营商环境.pdf"
    doc = cli.json("show", str(path))
    assert doc["path"] == str(path) and "务实奉献" in doc["text"]
    assert cli("show", str(path)).stdout.startswith(f"《{LINES[0]}》")
    assert cli.json("show", doc["id"])["path"] == str(path)


def test_show_unknown_document_is_a_user_error(cli, indexed) -> None:
    result = cli("show", "/nowhere.docx", expect=1)
    assert "not in the index" in result.stderr and "Traceback" not in result.stderr


def test_stats(cli, indexed) -> None:
    stats = cli.json("stats")
    assert stats["documents"] == 3 and stats["by_year"] == {"2021": 3} and stats["by_format"]["pdf"] == 1
    assert "█" in cli("stats").stdout


def test_human_output(cli, indexed) -> None:
    out = cli("search", '"营商环境"').stdout
    assert "3 documents match" in out and "《在全市优化营商环境大会上的讲话》" in out
    assert "张三" in cli("list").stdout


def test_a_terminal_sees_the_phrase_highlighted_and_a_pipe_sees_plain_text(cli, indexed) -> None:
    """Styles go to a terminal only; a document's own control characters never do."""
    piped = cli("search", '"营商环境"').stdout
    assert "\x1b" not in piped
    result = CliRunner().invoke(app, ["search", '"营商环境"', "--index", str(cli.index_dir)], color=True)
    assert result.exit_code == 0
    highlighted = re.findall(r"\x1b\[1m\x1b\[7m(.*?)\x1b\[0m", result.stdout)
    assert highlighted and set(highlighted) == {"营商环境"}
    assert re.sub(r"\x1b\[[0-9;]*m", "", result.stdout) == piped


@pytest.mark.parametrize("args, message", [
    (["search", '"unclosed'], "unclosed quote"),
    (["search", "x", "--since", "March"], "not a date"),
    (["search", "x", "--sort", "size"], "unknown sort"),
])
def test_bad_queries_are_one_line_errors(cli, indexed, args, message) -> None:
    result = cli(*args, expect=1)
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_missing_index_and_missing_folder(cli, tmp_path: Path) -> None:
    result = cli("search", "x", expect=1)
    assert "no index" in result.stderr and "archive index" in result.stderr
    result = cli("index", str(tmp_path / "nowhere"), expect=1)
    assert "no such folder" in result.stderr


def test_usage_error_exits_2(cli) -> None:
    assert cli("search", "x", "--no-such-option", expect=2).exit_code == 2


def test_index_location_from_environment(tmp_path: Path, source: Path, monkeypatch) -> None:
    factory.write_docx(source / "a.docx", LINES)
    monkeypatch.setenv("ARCHIVE_INDEX", str(tmp_path / "elsewhere"))
    runner = CliRunner()
    assert runner.invoke(app, ["index", str(source)]).exit_code == 0
    assert (tmp_path / "elsewhere").is_dir()
    result = runner.invoke(app, ["list", "--json"])
    assert len(json.loads(result.stdout)) == 1


def test_python_dash_m_and_json_stdout_is_one_document(tmp_path: Path, source: Path) -> None:
    factory.write_docx(source / "a.docx", LINES)
    run = [sys.executable, "-m", "archive"]
    index = ["--index", str(tmp_path / "ix")]
    result = subprocess.run([*run, "index", str(source), *index, "--json"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0 and json.loads(result.stdout)["added"] == 1
    result = subprocess.run([*run, "search", "营商环境", *index, "--json"], capture_output=True, text=True, cwd=ROOT)
    assert json.loads(result.stdout)["total"] == 1
    result = subprocess.run([*run, "search", '"x', *index], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert re.match(r"^error: ", result.stderr)


def test_output_cut_short_by_a_pipe_is_no_error(tmp_path: Path, source: Path) -> None:
    """`archive show … | head -1`: the reader leaves after one line; no error, no traceback."""
    factory.write_docx(source / "long.docx", [LINES[0], *(LINES[4] * 3 for _ in range(800))])
    run, index = [sys.executable, "-m", "archive"], ["--index", str(tmp_path / "ix")]
    subprocess.run([*run, "index", str(source), *index], check=True, capture_output=True, cwd=ROOT)
    shown = subprocess.Popen([*run, "show", str(source / "long.docx"), *index], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, cwd=ROOT)
    assert shown.stdout is not None and shown.stderr is not None
    assert "在全市优化营商环境大会上的讲话" in shown.stdout.readline().decode("utf-8")
    shown.stdout.close()
    assert shown.wait(timeout=60) == 1 and shown.stderr.read() == b""


def test_index_without_folders_reindexes_the_known_ones(cli, source: Path) -> None:
    assert "give the folder" in cli("index", expect=1).stderr
    factory.write_docx(source / "a.docx", LINES)
    cli("index", str(source))
    factory.write_docx(source / "b.docx", LINES)
    assert cli.json("index")["added"] == 1


def test_a_title_taken_from_the_file_name_is_marked_as_such(cli, source: Path) -> None:
    factory.write_docx(source / "2019年讲话.docx", ["同志们：", "今天召开这次会议，主要任务是总结工作、部署任务。"], title="")
    cli("index", str(source))
    document = cli.json("list")[0]
    assert (document["title"], document["title_source"]) == ("2019年讲话", "filename")
    listed = cli("list")
    assert "2019年讲话 †" in listed.stdout and "the text states no title" in listed.stderr
