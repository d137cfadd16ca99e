"""A command's quoted search answered from the segment side files alone (archive.search.quick).

It must give exactly what the embedded engine gives, byte for byte in JSON, on an index of several
segments with deleted documents and a file that could not be read; leave every other query, and
any index whose newest commit lacks side files, to the engine; and never import whoosh.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archive.ingest.pipeline import run_index
from archive.normalize import normalise
from archive.search import Filters, open_for_search, open_index, records, snapshot
from archive.search.engine import SpeechIndex
from archive.search.quick import QuickIndex
from archive.suggest import suggestions
from tests import factory


@pytest.fixture(scope="module")
def archive_folder(tmp_path_factory: pytest.TempPathFactory):
    """Speeches indexed in two runs (the second changes, removes and adds files: two segments, the
    first with deleted documents), a corrupt file among them. Returns (index, texts by path)."""
    root = tmp_path_factory.mktemp("quick") / "讲话稿"
    made = factory.make_folder(root, 20, seed=11, chars=700)
    (root / "坏文件.docx").write_bytes(b"PK\x03\x04 not a whole zip")
    index = tmp_path_factory.mktemp("quick-index") / "index"
    first = run_index([root], index)
    assert first.added == 20 and len(first.failed) == 1
    rng = random.Random(5)
    for path, _ in made[:3]:
        path.unlink()
    for path in [path for path, _ in made[3:] if path.suffix == ".docx"][:3]:  # changed: deleted in its segment
        factory.write_docx(path, factory.speech(rng, chars=700).lines())
    for number in range(4):
        item = factory.speech(rng, chars=700)
        factory.write_docx(root / "新增" / f"新{number}.docx", item.lines())
    second = run_index([root], index)
    assert (second.added, second.updated, second.removed) == (4, 3, 3)
    segments = snapshot.last_segments(index)
    assert segments is not None and len(segments[1]) >= 2 and any(entry.deleted for entry in segments[1])
    with open_index(index) as engine:
        texts = engine.normalised_texts([document["path"] for document in engine.documents()])
    return index, texts


def _same(index: Path, query: str, filters: Filters, limit: int | None = 10, offset: int = 0) -> dict:
    quick = open_for_search(index, query, filters)
    assert isinstance(quick, QuickIndex), query
    with quick, open_index(index) as engine:
        assert isinstance(engine, SpeechIndex) and not isinstance(engine, QuickIndex)
        ours = quick.search(query, filters=filters, limit=limit, offset=offset).to_dict()
        theirs = engine.search(query, filters=filters, limit=limit, offset=offset).to_dict()
    assert json.dumps(ours, ensure_ascii=False) == json.dumps(theirs, ensure_ascii=False), query
    return ours


def _phrase(data: st.DataObject, texts: dict[str, str]) -> str:
    text = texts[data.draw(st.sampled_from(sorted(texts)))]
    length = data.draw(st.integers(min_value=1, max_value=12))
    start = data.draw(st.integers(min_value=0, max_value=len(text) - length))
    return '"' + text[start : start + length].replace('"', "") + '"'


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_quoted_searches_give_what_the_engine_gives(archive_folder, data) -> None:
    index, texts = archive_folder
    phrases = [_phrase(data, texts) for _ in range(3)]
    phrases = [p for p in phrases if p != '""'] or ['"的"']
    a, b, c = (phrases * 3)[:3]
    query = data.draw(st.sampled_from([
        a, f"{a} {b}", f"{a} OR {b}", f"{a} -{b}", f"-{a}", f"NOT {a} NOT {b}", f"({a} OR {b}) {c}",
        f"{a} year:{data.draw(st.integers(2015, 2024))}", f"{a} OR date:2019..2021-06", f"{a} -({b} OR {c})",
        f"{a} OR -{b}", f"({a} -{b}) OR {c}", f"-({a} OR -{b})",
    ]))
    year = data.draw(st.sampled_from([None, 2018, 2021]))
    since = data.draw(st.sampled_from([None, "2017", "2020-03-01"]))
    filters = Filters(since=since, year=year, sort=data.draw(st.sampled_from(["relevance", "date"])))
    _same(index, query, filters, limit=data.draw(st.sampled_from([10, None])), offset=data.draw(st.sampled_from([0, 3])))


def test_a_common_phrase_pages_and_passages_match(archive_folder) -> None:
    index, texts = archive_folder
    common = max("同志们", "发展", key=lambda word: sum(word in text for text in texts.values()))
    shown = _same(index, f'"{common}"', Filters(), limit=None)
    assert shown["total"] == sum(normalise(common) in text for text in texts.values()) > 5
    assert all(hit["passages"] for hit in shown["hits"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_did_you_mean_and_holding_give_what_the_engine_gives(archive_folder, data) -> None:
    """A phrase with one character changed, left out or doubled: the same suggestions, counted the
    same; and the same documents hold each piece of text."""
    index, texts = archive_folder
    text = texts[data.draw(st.sampled_from(sorted(texts)))]
    start = data.draw(st.integers(min_value=0, max_value=len(text) - 8))
    piece = text[start : start + data.draw(st.integers(min_value=3, max_value=8))]
    at = data.draw(st.integers(min_value=1, max_value=len(piece) - 2))
    typo = data.draw(st.sampled_from([piece[:at] + "鑫" + piece[at + 1 :], piece[:at] + piece[at + 1 :],
                                      piece[:at] + piece[at] + piece[at:]]))
    query = f'"{typo}"'
    quick = open_for_search(index, query, Filters())
    assert isinstance(quick, QuickIndex)
    with quick, open_index(index) as engine:
        assert suggestions(quick, query) == suggestions(engine, query)
        assert sorted(quick.holding(piece)) == sorted(engine.holding(piece))


@pytest.mark.parametrize("query, filters", [
    ("营商环境", Filters()),  # unquoted: jieba's words tier
    ('"营商环境" speaker:张三', Filters()),
    ('title:"讲话"', Filters()),
    ('"营商环境"', Filters(speaker="张三")),
])
def test_other_queries_go_to_the_engine(archive_folder, query, filters) -> None:
    index, _ = archive_folder
    with open_for_search(index, query, filters) as found:
        assert not isinstance(found, QuickIndex)
        found.search(query, filters=filters)


def _copy(index: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "index"
    shutil.copytree(index, copy)
    return copy


def test_an_index_without_whole_side_files_goes_to_the_engine(archive_folder, tmp_path) -> None:
    """A records file cut short, or missing, or a segments list of an older commit: the engine answers."""
    index, _ = archive_folder
    query = '"同志们"'
    with open_index(index) as engine:
        expected = engine.search(query).to_dict()
    cut = _copy(index, tmp_path / "cut")
    first = next(snapshot.data_dir(cut).glob(f"*{records.SUFFIX}"))
    first.write_bytes(first.read_bytes()[:-100])
    missing = _copy(index, tmp_path / "missing")
    next(snapshot.data_dir(missing).glob(f"*{records.SUFFIX}")).unlink()
    stale = _copy(index, tmp_path / "stale")
    listed = snapshot.data_dir(stale) / snapshot.SEGMENTS_FILE
    saved = json.loads(listed.read_text())
    listed.write_text(json.dumps({**saved, "generation": saved["generation"] - 1}))
    for copy in (cut, missing, stale):
        with open_for_search(copy, query, Filters()) as found:
            assert not isinstance(found, QuickIndex)
            assert found.search(query).to_dict() == expected


def test_side_files_of_an_older_format_are_written_again_by_the_next_run(tmp_path) -> None:
    """After an upgrade that changed a side file's format, searching reads whoosh (the old file is
    not whole to today's reader), and the next `archive index`, over an unchanged folder too,
    writes them again."""
    from archive.search import suffixes

    assert f"{suffixes.MAGIC.decode()}+{records.MAGIC.decode()}" == snapshot.SIDE_FILES  # bumped with either
    root = tmp_path / "讲话稿"
    factory.make_folder(root, 3, seed=2, chars=300)
    index = tmp_path / "index"
    run_index([root], index)
    folder = snapshot.data_dir(index)
    for path in folder.glob(f"*{records.SUFFIX}"):
        path.write_bytes(b"ARCHREC2" + path.read_bytes()[8:])  # as the version before wrote them
    saved = json.loads((folder / snapshot.SNAPSHOT_FILE).read_text("utf-8"))
    (folder / snapshot.SNAPSHOT_FILE).write_text(json.dumps({**saved, "side_files": "ARCHSFX1+ARCHREC2"}), "utf-8")
    with open_for_search(index, '"同志们"', Filters()) as found:
        assert not isinstance(found, QuickIndex)
        assert found.search('"同志们"').total == 3
    report = run_index([root], index)
    assert (report.unchanged, report.added) == (3, 0)
    with open_for_search(index, '"同志们"', Filters()) as found:
        assert isinstance(found, QuickIndex)
        assert found.search('"同志们"').total == 3


def test_a_checkpoint_without_side_files_goes_to_the_engine(tmp_path) -> None:
    """A run killed after a checkpoint: the newest commit has no side files yet."""
    root = tmp_path / "讲话稿"
    factory.make_folder(root, 3, seed=2, chars=300)
    index = tmp_path / "index"
    run_index([root], index)
    assert isinstance(open_for_search(index, '"同志们"', Filters()), QuickIndex)
    from archive.search import open_update

    with open_update(index) as update:
        update.delete(sorted(update.manifest)[0])
        update.checkpoint()
        update.cancel()
    with open_for_search(index, '"同志们"', Filters()) as found:
        assert not isinstance(found, QuickIndex)
        assert found.search('"同志们"').total == 2


def test_the_command_imports_no_whoosh(archive_folder) -> None:
    """What makes the command fast: whoosh is never imported for a quoted phrase (and is for a word)."""
    index, _ = archive_folder
    probe = ("import json, runpy, sys\n"
             "sys.argv = ['archive', 'search', sys.argv[1], '--index', sys.argv[2], '--json']\n"
             "try:\n    runpy.run_module('archive', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('whoosh', 'jieba'))), file=sys.stderr)\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    for query, loaded, total in (('"同志们" -"发展"', False, True), ('"同志鑫们"', False, False), ("同志们", True, True)):
        shown = subprocess.run([sys.executable, "-c", probe, query, str(index)], capture_output=True, text=True,
                               env=env, check=True)
        assert bool(json.loads(shown.stdout)["total"]) is total
        modules = json.loads(shown.stderr.strip().splitlines()[-1])
        assert bool(modules) is loaded, (query, modules)
