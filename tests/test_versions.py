"""Versions of one speech found at index time: a draft, its revision, its final version and their
prints form one group; different speeches on the same topic never do."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive import versions
from archive.ingest.pipeline import run_index
from tests import factory

pytestmark = pytest.mark.both_engines


def revise(lines: list[str], rng: random.Random) -> list[str]:
    """A revision: a few words added, a sentence re-punctuated, a paragraph dropped."""
    revised = lines[:]
    for _ in range(3):
        index = rng.randrange(4, len(revised))
        cut = rng.randrange(1, max(2, len(revised[index]) - 1))
        revised[index] = revised[index][:cut] + "进一步" + revised[index][cut:]
    revised[5] = revised[5].replace("。", "；", 1)
    del revised[rng.randrange(6, len(revised))]
    return revised


@pytest.fixture
def folder(source: Path):
    rng = random.Random(12)
    speech = factory.speech(rng, chars=2500, vocabulary="office")
    draft = speech.lines()
    revision = revise(draft, rng)
    final = revise(revision, rng)
    versions = [factory.write_docx(source / "2021" / "讲话（初稿）.docx", draft),
                factory.write_docx(source / "2021" / "讲话（修改稿）.docx", revision),
                factory.write_docx(source / "2021" / "讲话（定稿）.docx", final),
                factory.write_pdf(source / "2021" / "印发" / "讲话.pdf", final)]
    same_topic = []
    for number in range(4):  # the same meeting and vocabulary, different speeches
        other = factory.speech(random.Random(100 + number), chars=2500, vocabulary="office")
        other.meeting, other.title = speech.meeting, speech.title
        same_topic.append(factory.write_docx(source / "其他" / f"同主题{number}.docx", other.lines()))
    return versions, same_topic


def test_versions_form_one_group_and_same_topic_speeches_none(folder, source: Path, index_dir: Path, cli) -> None:
    versions, same_topic = folder
    run_index([source], index_dir)
    listed = {d["path"]: d for d in cli.json("list")}
    groups = {listed[str(path)]["group"] for path in versions}
    assert len(groups) == 1 and None not in groups
    assert all(listed[str(path)]["group"] is None for path in same_topic)

    shown = cli.json("list", "--versions")
    assert len(shown) == 1
    members = [member["path"] for member in shown[0]["members"]]
    assert sorted(members) == sorted(map(str, versions))
    assert members[0] == str(versions[2])  # 定稿 first
    assert all(0.5 <= member["similarity"] <= 1 for member in shown[0]["members"])

    hits = cli.json("search", '"同志们"', "--limit", "20")["hits"]
    for hit in hits:
        expected = {str(p) for p in versions} - {hit["path"]} if hit["path"] in map(str, versions) else set()
        assert {other["path"] for other in hit["versions"]} == expected
    shown_doc = cli.json("show", str(versions[0]))
    assert {other["path"] for other in shown_doc["versions"]} == {str(p) for p in versions[1:]}
    printed = cli("search", '"同志们"', "--limit", "20").stdout
    assert "另有 3 个版本" in printed and str(versions[2]) in printed  # the 定稿 stands for its group
    assert not any(str(path) in printed for path in (versions[0], versions[1], versions[3]))
    assert {hit["final"] for hit in hits if hit["path"] in map(str, versions)} == {str(versions[2])}


@pytest.mark.embedded_only("the index folder's versions.json")
def test_grouping_costs_nothing_on_an_unchanged_rerun(folder, source: Path, index_dir: Path) -> None:
    run_index([source], index_dir)
    stamp = (index_dir / "versions.json").stat().st_mtime_ns
    report = run_index([source], index_dir)
    assert report.unchanged == 8 and (index_dir / "versions.json").stat().st_mtime_ns == stamp
    (source / "2021" / "讲话（初稿）.docx").unlink()
    run_index([source], index_dir)
    assert (index_dir / "versions.json").stat().st_mtime_ns != stamp


def test_an_export_cites_the_final_version_and_lists_the_others(folder, source: Path, index_dir: Path, cli,
                                                               tmp_path: Path) -> None:
    import json

    versions, _ = folder
    run_index([source], index_dir)
    out = tmp_path / "摘录.json"
    cli("export", '"同志们"', "-o", str(out), "--sort", "relevance")
    rows = json.loads(out.read_text("utf-8"))
    shared = [row for row in rows if row["path"] in map(str, versions) and row["also_in"]]
    assert shared and all(row["path"] == str(versions[2]) for row in shared)  # 定稿
    others = {str(p) for p in versions} - {str(versions[2])}
    assert any(others <= {c["path"] for c in row["also_in"]} for row in shared)  # the other versions listed


def test_similar_pairs_are_those_a_pairwise_count_finds(monkeypatch) -> None:
    """The pairs counted document by document are the pairs every two documents' sketches give
    when compared directly: at least SIMILAR * SKETCH / 2 shared hashes, each held by 2..COMMON
    documents."""
    import numpy as np

    from archive import versions

    monkeypatch.setattr(versions, "COMMON", 6)  # so that some shared hashes are stock phrases
    rng = random.Random(7)
    speeches = [sorted(rng.sample(range(1, 10**12), versions.SKETCH)) for _ in range(30)]
    sketches = {}
    for number in range(160):  # revisions: a speech's sketch with some of its hashes replaced
        hashes = list(speeches[rng.randrange(len(speeches))])
        for index in rng.sample(range(versions.SKETCH), rng.randrange(versions.SKETCH)):
            hashes[index] = rng.randrange(1, 10**12)
        sketches[f"/讲话稿/{number}.docx"] = np.array(sorted(hashes), dtype="<u8").tobytes()
    sketches["/讲话稿/短.docx"] = b""
    held: dict[bytes, set[str]] = {}
    for path, value in sketches.items():
        for index in range(0, len(value), 8):
            held.setdefault(value[index : index + 8], set()).add(path)
    evidence = {value for value, paths in held.items() if 1 < len(paths) <= versions.COMMON}
    expected = set()
    for first in sketches:
        for second in sketches:
            if first < second:
                mine = {sketches[first][i : i + 8] for i in range(0, len(sketches[first]), 8)}
                theirs = {sketches[second][i : i + 8] for i in range(0, len(sketches[second]), 8)}
                if len(mine & theirs & evidence) >= versions.SIMILAR * versions.SKETCH / 2:
                    expected.add((first, second))
    found = {tuple(sorted(pair)) for pair in versions._similar_pairs(sketches)}
    assert found == expected and expected


@settings(max_examples=200, deadline=None)
@given(alphabet=st.sampled_from(["ab", "abcdefgh", "中国人民政府发展改革建设", "务实奉献追求卓越、。12"]),
       length=st.integers(min_value=0, max_value=3000), seed=st.integers(0, 2**32))
def test_a_sketch_is_the_smallest_distinct_shingle_hashes(alphabet: str, length: int, seed: int) -> None:
    """Found by a partition, not a sort of every hash: the same as sorting them all, also for texts
    whose smallest hashes repeat (few distinct shingles)."""
    import numpy as np

    rng = random.Random(seed)
    text = "".join(rng.choice(alphabet) for _ in range(length))
    hashes = versions.shingle_hashes(text)
    expected = b"" if len(hashes) <= versions.MIN_SHINGLES else np.unique(hashes)[: versions.SKETCH].astype("<u8").tobytes()
    assert versions.sketch(text) == expected
