"""Quoted phrases find exactly the documents whose text holds them: recall and precision 1.000.

Documents are real .docx, .pdf and saved pages made from generated speeches; what a document
contains is computed from the text the test wrote, never from the index. Every test runs on both
engines (the embedded whoosh index and PostgreSQL), and the engines must give the same sets.
"""

from __future__ import annotations

import random
import re
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archive.ingest.pipeline import run_index
from archive.normalize import normalise
from archive.search import Filters, SpeechIndex, open_index, records, suffixes
from tests import factory, postgres_server
from tests.conftest import ENGINES


@pytest.fixture(scope="module")
def corpus_files(tmp_path_factory: pytest.TempPathFactory):
    """24 speeches as docx, pdf (narrow lines, many page breaks; half of them with a space between
    every two characters, as some producers write) and saved pages, indexed once."""
    root = tmp_path_factory.mktemp("corpus")
    rng = random.Random(2024)
    truth: dict[str, str] = {}
    for number in range(24, 32):  # the same kinds in traditional script, and pages with pinyin notes
        item = factory.speech(rng, chars=900)
        if number % 2 == 0:
            lines = [factory.traditional(line) for line in item.lines()]
            path = (factory.write_docx(root / "繁體" / f"{number}.docx", lines) if number % 4 == 0 else
                    factory.write_saved_page(root / "繁體" / f"{number}.txt", lines[0], lines))
        else:
            lines = item.lines()
            annotated = [factory.with_pinyin(line, rng) for line in lines]
            path = factory.write_saved_page(root / "拼音" / f"{number}.txt", annotated[0], annotated[1:])
        truth[str(path)] = normalise("".join(lines))
    for number in range(24):
        item = factory.speech(rng, chars=900)
        kind = number % 3
        if kind == 0:
            path = factory.write_docx(root / "docx" / f"{number}.docx", item.lines())
        elif kind == 1:
            path = factory.write_pdf(root / "pdf" / f"{number}.pdf", item.lines(), per_line=22, per_page=10,
                                     spaced=number % 2 == 0)
        else:
            path = factory.write_saved_page(root / "页面" / f"{number}.txt", item.title, item.lines())
        truth[str(path)] = normalise("".join(item.lines()))
    return root, truth


# The embedded index answers from its side files (suffix and records files); without them (an index
# written before they existed, a run killed before writing them) it counts phrases in every text and
# reads whoosh's columns: both exact, in the same order.
VARIANTS = [*ENGINES, "whoosh-without-side-files"]


@pytest.fixture(scope="module")
def indexes(corpus_files, tmp_path_factory: pytest.TempPathFactory):
    """The corpus indexed once into each engine: variant -> open SpeechIndex."""
    root, _ = corpus_files
    database = postgres_server.new_database()
    locations = {"whoosh": tmp_path_factory.mktemp("corpus-index"), "postgres": database}  # never inside the folder
    opened = {}
    for engine, location in locations.items():
        report = run_index([root], location)
        assert report.added == 32 and not report.failed
        opened[engine] = open_index(location)
    assert list(locations["whoosh"].rglob(f"*{suffixes.SUFFIX}"))
    without = tmp_path_factory.mktemp("corpus-index-copy") / "index"
    shutil.copytree(locations["whoosh"], without)
    for path in [*without.rglob(f"*{suffixes.SUFFIX}"), *without.rglob(f"*{records.SUFFIX}")]:
        path.unlink()
    opened["whoosh-without-side-files"] = open_index(without)
    yield opened
    for archive in opened.values():
        archive.close()
    postgres_server.drop_database(database)


@pytest.fixture(scope="module", params=VARIANTS)
def corpus(request, indexes, corpus_files):
    return indexes[request.param], corpus_files[1]


def expected(truth: dict[str, str], phrase: str) -> set[str]:
    needle = normalise(phrase)
    return {path for path, text in truth.items() if needle in text}


def found(archive: SpeechIndex, query: str) -> set[str]:
    results = archive.search(query, limit=None, max_passages=None)
    assert results.total == len(results.hits)
    return {hit.document.path for hit in results.hits}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_quoted_substring_finds_exactly_the_documents_holding_it(corpus, data) -> None:
    archive, truth = corpus
    path = data.draw(st.sampled_from(sorted(truth)))
    text = truth[path]
    length = data.draw(st.integers(min_value=1, max_value=24))
    start = data.draw(st.integers(min_value=0, max_value=len(text) - length))
    phrase = text[start : start + length]
    if '"' in phrase:
        return
    assert found(archive, f'"{phrase}"') == expected(truth, phrase)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_either_script_finds_exactly_the_documents_holding_it_in_either_script(corpus, data) -> None:
    """A phrase typed in simplified or in traditional characters (OpenCC's phrase conversion, as a
    person would type it) finds every document holding it in either script, and no other."""
    archive, truth = corpus
    path = data.draw(st.sampled_from(sorted(truth)))
    text = truth[path]
    length = data.draw(st.integers(min_value=2, max_value=16))
    start = data.draw(st.integers(min_value=0, max_value=len(text) - length))
    phrase = text[start : start + length]
    if '"' in phrase:
        return
    for query in (phrase, factory.traditional(phrase)):
        result = found(archive, f'"{query}"')
        assert path in result, query
        assert result == expected(truth, query)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_altered_phrase_finds_only_documents_that_really_hold_it(corpus, data) -> None:
    archive, truth = corpus
    path = data.draw(st.sampled_from(sorted(truth)))
    text = truth[path]
    start = data.draw(st.integers(min_value=0, max_value=len(text) - 8))
    phrase = list(text[start : start + 8])
    phrase[data.draw(st.integers(0, 7))] = data.draw(st.sampled_from(list("的了在是我有和人这中大为上个国")))
    phrase = "".join(phrase)
    assert found(archive, f'"{phrase}"') == expected(truth, phrase)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_speaker_and_title_phrases_find_exactly_the_documents_holding_them(corpus, data) -> None:
    """speaker: and title: match text in those fields (indexed with positions), exactly, for any
    part of a name, role or title, and so do --speaker filters."""
    archive, truth = corpus
    documents = archive.documents()
    people = {d["path"]: normalise(f"{d.get('speaker') or ''}|{d.get('role') or ''}") for d in documents}
    titles = {d["path"]: normalise(d.get("title") or "") for d in documents}
    document = data.draw(st.sampled_from(documents))
    field = data.draw(st.sampled_from(["speaker", "role", "title"]))
    source = normalise(document.get(field) or "")
    if not source:
        return
    length = data.draw(st.integers(min_value=1, max_value=len(source)))
    start = data.draw(st.integers(min_value=0, max_value=len(source) - length))
    needle = source[start : start + length]
    if field == "title":
        assert found(archive, f'title:"{needle}"') == {p for p, text in titles.items() if needle in text}
    else:
        holding = {p for p, text in people.items() if needle in text}
        assert found(archive, f'speaker:"{needle}"') == holding
        filtered = archive.search('"同志们"', filters=Filters(speaker=needle), limit=None).hits
        assert {hit.document.path for hit in filtered} == holding & expected(truth, "同志们")


def test_phrases_across_pdf_line_wraps_and_page_breaks(corpus) -> None:
    archive, truth = corpus
    pdfs = [path for path in truth if path.endswith(".pdf")]
    for path in pdfs:
        # per_line=22, per_page=10: characters around every wrap and page break of the body
        text = truth[path]
        for start in range(100, len(text) - 12, 97):
            phrase = text[start : start + 12]
            assert path in found(archive, f'"{phrase}"'), phrase
            assert found(archive, f'"{phrase}"') == expected(truth, phrase)


def test_layout_spaces_full_width_forms_and_case_do_not_count(corpus) -> None:
    archive, truth = corpus
    _path, text = next((p, t) for p, t in truth.items() if "gdp" in t)
    start = text.index("gdp")
    phrase = text[max(0, start - 6) : start + 5]
    variants = [phrase.upper(), " ".join(phrase), phrase.replace("2", "２").replace("g", "Ｇ"), phrase[:3] + "\n" + phrase[3:]]
    for variant in variants:
        assert found(archive, f'"{variant}"') == expected(truth, phrase)


def test_unquoted_query_ranks_every_exact_match_first(corpus) -> None:
    archive, truth = corpus
    query = "营商环境"
    results = archive.search(query, limit=None)
    exact = expected(truth, query)
    tiers = [hit.tier for hit in results.hits]
    assert tiers == sorted(tiers, key=lambda t: t != "exact")
    assert {hit.document.path for hit in results.hits if hit.tier == "exact"} == exact
    words_only = {path for path, text in truth.items() if "营商" in text and "环境" in text} - exact
    assert {hit.document.path for hit in results.hits if hit.tier == "words"} == words_only


@pytest.mark.parametrize("sort", ["relevance", "date"])
def test_pages_across_both_tiers_add_up_to_all_hits(corpus, sort: str) -> None:
    """A query with an exact tier and a words tier, read page by page in every page size: the pages
    are the whole list, each page's total the whole count."""
    archive, _truth = corpus
    filters = Filters(sort=sort)
    query = next(phrase for phrase in factory.PHRASES  # one whose words also stand apart in some speeches
                 if {"exact", "words"} <= {hit.tier for hit in archive.search(phrase, limit=None, max_passages=0).hits})
    everything = archive.search(query, filters=filters, limit=None)
    rows = [(hit.document.path, hit.tier, hit.score) for hit in everything.hits]
    for size in (1, 2, 5):
        pages = []
        for offset in range(0, everything.total, size):
            page = archive.search(query, filters=filters, limit=size, offset=offset)
            assert page.total == everything.total
            pages += [(hit.document.path, hit.tier, hit.score) for hit in page.hits]
        assert pages == rows, size


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_unquoted_total_and_pages_agree_with_all_hits(corpus, data) -> None:
    """The words tier is counted without ranking it (and PostgreSQL ranks each page on the server);
    every page must still add up to that count, in either order, for words and quoted phrases."""
    archive, _truth = corpus
    words = data.draw(st.lists(st.sampled_from(factory.PHRASES + factory.FILLERS), min_size=1, max_size=3))
    if data.draw(st.booleans()):
        words[0] = f'"{words[0]}"'
    operator = data.draw(st.sampled_from([" ", " OR ", " -"]))
    query = operator.join(words) if len(words) > 1 else words[0]
    filters = Filters(sort=data.draw(st.sampled_from(["relevance", "date"])))
    size = data.draw(st.sampled_from([1, 3, 7]))
    everything = archive.search(query, filters=filters, limit=None)
    assert everything.total == len(everything.hits)
    assert archive.search(query, filters=filters, limit=0).total == everything.total
    pages, offset = [], 0
    while offset < everything.total:
        page = archive.search(query, filters=filters, limit=size, offset=offset)
        assert page.total == everything.total
        pages += [(hit.document.path, hit.tier, hit.score) for hit in page.hits]
        offset += size
    assert pages == [(hit.document.path, hit.tier, hit.score) for hit in everything.hits]
    assert archive.search(query, filters=filters, limit=size, offset=everything.total + 5).hits == []


def test_or_not_and_minus(corpus) -> None:
    archive, truth = corpus
    a, b = "乡村振兴", "疫情防控"
    assert found(archive, f'"{a}" OR "{b}"') == expected(truth, a) | expected(truth, b)
    assert found(archive, f'"{a}" "{b}"') == expected(truth, a) & expected(truth, b)
    assert found(archive, f'"{a}" -"{b}"') == expected(truth, a) - expected(truth, b)
    assert found(archive, f'"{a}" NOT "{b}"') == expected(truth, a) - expected(truth, b)
    assert found(archive, f'-"{b}"') == set(truth) - expected(truth, b)


def test_passages_highlight_the_whole_phrase_with_page(corpus) -> None:
    archive, truth = corpus
    results = archive.search('"马克思主义"', limit=None, max_passages=None, window=None)
    assert results.total == len(expected(truth, "马克思主义")) > 0
    for hit in results.hits:
        assert hit.passages
        for passage in hit.passages:
            for start, end in passage.highlights:
                assert normalise(passage.text[start:end]) == "马克思主义"
            if hit.document.format == "pdf":
                assert passage.page is not None and 1 <= passage.page <= hit.document.pages
        count = sum(len(p.highlights) for p in hit.passages)
        assert count == truth[hit.document.path].count("马克思主义")


PASSAGE_WORDS = ["乡村振兴", "振兴", "乡村", "哈哈", "哈", "，", "發展", "发展", "𠀋"]


@settings(max_examples=200, deadline=None)
@given(paragraphs=st.lists(st.lists(st.sampled_from(PASSAGE_WORDS), max_size=12).map("".join), min_size=1, max_size=8),
       needles=st.lists(st.sampled_from(PASSAGE_WORDS), min_size=1, max_size=3), limit=st.integers(1, 4))
def test_a_pages_first_passages_are_the_first_of_all(paragraphs, needles, limit) -> None:
    """Passages asked for a few at a time (a page shows three) are the first of all of them; one
    needle's are those found beside a needle that stands nowhere (the way several are looked for)."""
    from archive.document import Paragraph
    from archive.search.passages import DocumentText

    def text() -> DocumentText:
        return DocumentText([Paragraph(paragraph) for paragraph in paragraphs])

    everything = text().passages(needles)
    assert text().passages(needles, limit=limit) == everything[:limit]
    assert text().passages(needles[:1]) == text().passages([needles[0], "鑫鑫"])
    assert text().passages(needles[:1], limit=limit) == text().passages([needles[0], "鑫鑫"])[:limit]


QUERY_PARTS = st.sampled_from(factory.PHRASES + factory.FILLERS + ["改革", "发展", "会", "同志", "营商环境建设"])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_both_engines_answer_every_query_with_the_same_documents(indexes, corpus_files, data) -> None:
    """Quoted, unquoted, OR, NOT, parentheses, fields and filters: the same hits in the same order,
    with the same tiers and scores (ties in path order, though whoosh numbers documents as they
    were read; a hit in the exact tier scores as the exact tier does, whatever the sort)."""
    _, truth = corpus_files
    text = data.draw(st.sampled_from(sorted(truth.values())))
    length = data.draw(st.integers(1, 12))
    start = data.draw(st.integers(0, len(text) - length))
    pieces = [f'"{text[start : start + length]}"', *data.draw(st.lists(QUERY_PARTS, min_size=1, max_size=3))]
    operator = data.draw(st.sampled_from([" ", " OR ", " -", " AND ", " NOT "]))
    query = operator.join(pieces)
    if data.draw(st.booleans()):
        query = f"({query}) {data.draw(st.sampled_from(['year:2020', 'date:2019..2021', 'title:讲话', 'speaker:市长', '']))}"
    filters = Filters(speaker=data.draw(st.sampled_from([None, "市长", "张"])),
                      since=data.draw(st.sampled_from([None, "2019", "2021-03"])),
                      sort=data.draw(st.sampled_from(["relevance", "date"])))
    answers = []
    for archive in indexes.values():
        results = archive.search(query, filters=filters, limit=None, max_passages=1)
        assert results.total == len(results.hits)
        answers.append([(hit.document.path, hit.tier, round(hit.score, 9)) for hit in results.hits])
    assert answers[0] == answers[1] == answers[2], query
    matches = [sorted(summary["path"] for summary, _ in archive.matches(query, filters=filters))
               for archive in indexes.values()]
    assert matches[0] == matches[1] == matches[2] == sorted(path for path, _, _ in answers[0])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_did_you_mean_finds_the_same_variants_in_every_engine(indexes, corpus_files, data) -> None:
    """The variants of a phrase one or two characters off, as "did you mean" looks for them (around
    occurrences of a fixed part in suffix files, in whole texts otherwise): the same in every
    engine, each standing in exactly the documents it is said to, when nothing limits the search."""
    from archive.suggest import _patterns

    _, truth = corpus_files
    text = data.draw(st.sampled_from(sorted(truth.values())))
    length = data.draw(st.integers(3, 8))
    start = data.draw(st.integers(0, len(text) - length))
    phrase = text[start : start + length]
    for pattern, anchor, _ in data.draw(st.lists(st.sampled_from(_patterns(phrase)), min_size=1, max_size=4)):
        if len(anchor) < 2:
            continue
        answers = [archive.variants(re.compile(pattern), anchor, reach=len(phrase) + 1) for archive in indexes.values()]
        assert answers[0] == answers[1] == answers[2], pattern
        for variant, paths in answers[0].items():
            assert paths <= {path for path, body in truth.items() if variant in body}, variant


@pytest.fixture(scope="module")
def libreoffice_corpus(tmp_path_factory: pytest.TempPathFactory):
    """Speeches printed to PDF by LibreOffice: another producer, its own fonts, wraps and spacing."""
    import shutil
    import subprocess

    assert shutil.which("soffice"), "LibreOffice is needed (apt-get install libreoffice-writer-nogui)"
    root = tmp_path_factory.mktemp("libreoffice")
    rng = random.Random(77)
    truth: dict[str, str] = {}
    drafts = []
    for number in range(6):
        item = factory.speech(rng, chars=2500)
        drafts.append(factory.write_docx(root / "docx" / f"{number}.docx", item.lines()))
        truth[str(root / "pdf" / f"{number}.pdf")] = normalise("".join(item.lines()))
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(root / "pdf"), *map(str, drafts)],
                   check=True, capture_output=True, timeout=300)
    index = root / "index"
    report = run_index([root / "pdf"], index)
    assert report.added == 6 and not report.failed
    with open_index(index) as archive:
        yield archive, truth


def test_libreoffice_pdfs_find_every_substring_exactly(libreoffice_corpus) -> None:
    archive, truth = libreoffice_corpus
    rng = random.Random(5)
    for text in truth.values():
        for _ in range(25):
            length = rng.randint(2, 30)
            start = rng.randint(0, len(text) - length)
            phrase = text[start : start + length]
            assert found(archive, f'"{phrase}"') == expected(truth, phrase), phrase
    for hit in archive.search('"营商环境"', limit=None, max_passages=None).hits:
        assert all(p.page and 1 <= p.page <= hit.document.pages for p in hit.passages)
