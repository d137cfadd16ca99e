"""A phrase through the years, and "did you mean": counts computed from the texts the test wrote."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from fastapi.testclient import TestClient

from archive.ingest.pipeline import run_index
from archive.normalize import normalise
from archive.search import open_index
from archive.timeline import timeline
from archive.web import create_app
from tests import factory

pytestmark = pytest.mark.both_engines


@pytest.fixture(scope="module")
def dated(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("timeline")
    rng = random.Random(8)
    truth = []
    for number in range(30):
        item = factory.speech(rng, chars=800)
        kind = number % 3
        if kind == 0:
            path = factory.write_docx(root / "src" / f"{number}.docx", item.lines())
        elif kind == 1:
            path = factory.write_pdf(root / "src" / f"{number}.pdf", item.lines())
        else:
            path = factory.write_saved_page(root / "src" / f"{number}.txt", item.title, item.lines()[1:])
        truth.append((str(path), item, normalise("".join(item.lines()))))
    index = root / "index"
    run_index([root / "src"], index)
    with open_index(index) as archive:
        yield archive, truth


@pytest.mark.parametrize("phrase", ["营商环境", "安全生产", "马克思主义", "务实奉献"])
def test_timeline_counts_are_the_texts_counts(dated, phrase: str) -> None:
    archive, truth = dated
    holding = [(path, item, text) for path, item, text in truth if phrase in text]
    result = timeline(archive, f'"{phrase}"').to_dict()
    assert result["total"] == len(holding)
    years = Counter(int(item.date[:4]) for _, item, _ in holding)
    uses = Counter()
    for _, item, text in holding:
        uses[int(item.date[:4])] += text.count(phrase)
    assert result["years"] == [{"year": year, "documents": years[year], "occurrences": uses[year]} for year in sorted(years)]
    speakers = Counter(item.speaker for _, item, _ in holding)
    most = sorted(speakers.items(), key=lambda item: (-item[1], item[0]))[:10]
    assert [(row["speaker"], row["documents"]) for row in result["speakers"]] == most
    if holding:
        first = min(holding, key=lambda entry: (entry[1].date, entry[0]))
        latest = max(holding, key=lambda entry: (entry[1].date, entry[0]))
        assert (result["first"]["path"], result["latest"]["path"]) == (first[0], latest[0])
        assert phrase in normalise(result["first"]["passages"][0]["text"])


def test_timeline_over_the_cli_and_http_is_the_same_document(dated, cli) -> None:
    archive, _ = dated
    cli.index_dir = archive.location
    from_cli = cli.json("timeline", '"营商环境"', "--since", "2018")
    with TestClient(create_app(archive.location)) as client:
        assert client.get("/api/timeline", params={"q": '"营商环境"', "since": "2018"}).json() == from_cli
    assert all(row["year"] >= 2018 for row in from_cli["years"])
    assert "营商环境" in cli("timeline", '"营商环境"').stdout


def test_did_you_mean_offers_the_phrases_that_are_there(dated, cli) -> None:
    archive, truth = dated
    cli.index_dir = archive.location
    holding = sum(1 for _, _, text in truth if "高质量发展" in text)
    assert holding
    typed = cli.json("search", '"高质量发屏"')
    assert typed["total"] == 0
    assert typed["suggestions"][0] == {"query": '"高质量发展"', "total": holding}
    assert '"高质量发展"' in cli("search", '"高质量发屏"').stderr
    found = cli.json("search", '"高质量发展"')
    assert found["total"] == holding and "suggestions" not in found
    with TestClient(create_app(archive.location)) as client:
        assert client.get("/api/search", params={"q": '"高质量发屏"'}).json()["suggestions"] == typed["suggestions"]
