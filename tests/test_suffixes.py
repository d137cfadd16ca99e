"""Suffix files: every occurrence of any string, exactly; written after each commit, never trusted
when not whole, rewritten by the next run, and dropped with the segments they belong to."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive.ingest.pipeline import run_index
from archive.normalize import normalise
from archive.search import open_index, suffixes
from archive.search.store import data_dir
from tests import factory

# 乡 is U+4E61 and 䡡 U+4861: in UTF-16LE 乡䡡 is 61 4E 61 48, which holds 4E 61, the bytes of U+614E
# (慎) at an odd offset: a match that straddles two characters must not count.
WORDS = ["高质量发展", "营商环境", "乡村振兴", "的", "了", "，", "。", "改革", "a1", "𠀋𠀍", "發展", "乡䡡"]
TEXTS = st.lists(st.lists(st.sampled_from(WORDS), max_size=40).map("".join), min_size=1, max_size=30)


def truth(texts: list[str], needle: str) -> dict[int, int]:
    return {docnum: text.count(needle) for docnum, text in enumerate(texts) if needle in text}


@settings(max_examples=120, deadline=None)
@given(texts=TEXTS, data=st.data(), chunk_units=st.sampled_from([1, 7, 64, suffixes.CHUNK_UNITS]),
       bulk_from=st.sampled_from([0, 3, 10**9]))
def test_counts_every_occurrence_of_any_string_in_every_document(tmp_path_factory, texts, data, chunk_units,
                                                                bulk_from) -> None:
    """Documents cut into chunks of any size, occurrences mapped to documents in Python or numpy:
    the counts are the texts' own, for strings that stand in them and strings that do not."""
    path = tmp_path_factory.mktemp("sfx") / "segment.sfx"
    texts = [text * data.draw(st.sampled_from([1, 60])) for text in texts]  # and speeches of thousands of units
    suffixes.write(path, texts, chunk_units=chunk_units)
    opened = suffixes.SuffixFile(path)
    assert opened.doc_count == len(texts)
    assert [opened.text(docnum) for docnum in range(len(texts))] == texts
    joined = "".join(texts) or "的"
    start = data.draw(st.integers(0, len(joined) - 1))
    needles = [joined[start : start + data.draw(st.integers(1, 12))], data.draw(st.sampled_from(WORDS)),
               "环境乡", "𠀋", "不在其中", "改革改", "的的", "慎"]
    original = suffixes.NUMPY_FROM
    suffixes.NUMPY_FROM = bulk_from
    try:
        for needle in needles:
            held = truth(texts, needle)
            assert opened.counts(needle) == held, needle
            assert opened.documents(needle) == sum(1 << docnum for docnum in held), needle
            assert [opened.holds(needle, docnum) for docnum in range(len(texts))] == [
                docnum in held for docnum in range(len(texts))], needle
            assert opened.occurrences(needle) == sum(
                text[start:].startswith(needle) for text in texts for start in range(len(text))), needle
    finally:
        suffixes.NUMPY_FROM = original
    for needle in needles[:3]:  # the text around occurrences, as "did you mean" reads it
        reach = data.draw(st.integers(0, 5))
        starts = [(docnum, start) for docnum, text in enumerate(texts) for start in range(len(text))
                  if text.startswith(needle, start)]
        every = opened.windows(needle, reach, len(starts) + 1)
        assert len(every) == len(starts), needle
        for docnum, window in every:
            assert needle in window and window in texts[docnum], needle
        if all(ord(char) < 0x10000 for char in "".join(texts)):  # reach counts code units
            assert sorted(every) == sorted((docnum, texts[docnum][max(0, start - reach) : start + len(needle) + reach])
                                           for docnum, start in starts), needle
        limit = data.draw(st.integers(1, 5))
        sampled = opened.windows(needle, reach, limit)
        assert len(sampled) == min(limit, len(starts)) and all(place in every for place in sampled), needle


def test_a_file_that_is_not_whole_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "segment.sfx"
    suffixes.write(path, ["营商环境建设", "高质量发展"])
    whole = path.read_bytes()
    for damaged in (whole[: len(whole) // 2], whole[:-1], b"", b"x" * len(whole)):
        path.write_bytes(damaged)
        with pytest.raises((ValueError, OSError)):
            suffixes.SuffixFile(path)


def _folder(source: Path, count: int, seed: int = 5) -> dict[str, str]:
    rng = random.Random(seed)
    texts = {}
    for number in range(count):
        item = factory.speech(rng, chars=600)
        path = factory.write_saved_page(source / f"{number}.txt", item.title, item.lines())
        texts[str(path)] = normalise("".join(item.lines()))
    return texts


def _sfx(index_dir: Path) -> list[Path]:
    return sorted(data_dir(index_dir).glob(f"*{suffixes.SUFFIX}"))


def _segments(index_dir: Path) -> set[str]:
    return {path.stem for path in data_dir(index_dir).glob("*.trm")}


def _found(index_dir: Path, needle: str) -> set[str]:
    with open_index(index_dir) as archive:
        return {hit.document.path for hit in archive.search(f'"{needle}"', limit=None, max_passages=0).hits}


def test_each_segment_gets_one_and_merged_ones_lose_theirs(source: Path, index_dir: Path) -> None:
    texts = _folder(source, 12)
    run_index([source], index_dir)
    assert {path.stem for path in _sfx(index_dir)} == _segments(index_dir)
    for round_ in range(4):  # small runs add segments; whoosh merges them
        texts.update(_folder(source / f"more{round_}", 3, seed=round_))
        run_index([source], index_dir)
        assert {path.stem for path in _sfx(index_dir)} == _segments(index_dir)
    needle = next(iter(texts.values()))[10:16]
    assert _found(index_dir, needle) == {path for path, text in texts.items() if needle in text}


def test_files_written_while_committing_hold_their_segments_texts(source: Path, index_dir: Path, monkeypatch) -> None:
    """Each commit's new segment gets its file from a thread started before whoosh commits
    (suffixes.WrittenAhead): from the texts the writer added, or, when older segments were merged
    into it, from the segment read back. A checkpoint every two files makes merges; changed and
    deleted files and a file that could not be read make deleted documents and empty texts. Every
    segment's file is whole and holds exactly its column's texts, and phrases are found as they stand."""
    from archive.ingest import pipeline
    from archive.search import store

    monkeypatch.setattr(pipeline, "CHECKPOINT_DOCS", 2)
    texts = _folder(source, 9)
    (source / "broken.pdf").write_bytes(b"%PDF-1.4 broken")
    run_index([source], index_dir)
    changed = sorted(texts)[:2]
    texts.update(_folder(source / "more", 4, seed=3))
    for path in changed:
        Path(path).unlink()
        del texts[path]
    run_index([source], index_dir)
    gone = sorted(texts)[-1]
    Path(gone).unlink()
    del texts[gone]
    texts.update(_folder(source / "last", 1, seed=4))
    run_index([source], index_dir)  # one document more, one deleted from a segment merges made

    ix = store.open_for_reading(index_dir)
    with ix.reader() as reader:
        leaves = [leaf for leaf, _ in reader.leaf_readers()]
        assert 1 < len(leaves) < 5  # of a dozen commits: merged
        assert any(leaf.has_deletions() for leaf in leaves)
        for leaf in leaves:
            column = leaf.column_reader("normalised")
            stored = suffixes.whole(suffixes.path_for(data_dir(index_dir), leaf.segment().segment_id()), leaf.doc_count_all())
            assert stored is not None
            assert [stored.text(docnum) for docnum in range(leaf.doc_count_all())] == [
                column[docnum].decode("utf-8") for docnum in range(leaf.doc_count_all())]
    assert {path.stem for path in _sfx(index_dir)} == _segments(index_dir)
    assert not list(data_dir(index_dir).glob("*.tmp"))
    assert store.verify(index_dir) == len(texts) + 1  # the checksums are of the files that stayed
    for text in list(texts.values())[::3]:
        needle = text[25:30]
        assert _found(index_dir, needle) == {path for path, t in texts.items() if needle in t}


def test_a_damaged_or_half_written_file_is_not_used_and_the_next_run_writes_it_again(source: Path,
                                                                                       index_dir: Path, cli) -> None:
    texts = _folder(source, 10)
    run_index([source], index_dir)
    [sfx] = _sfx(index_dir)
    needle = next(iter(texts.values()))[20:25]
    expected = {path for path, text in texts.items() if needle in text}
    whole = sfx.read_bytes()
    sfx.write_bytes(whole[: len(whole) // 2])  # a disk that filled up, a copy cut short
    sfx.with_name(sfx.name + ".tmp").write_bytes(whole[:100])  # a run killed while writing one
    assert _found(index_dir, needle) == expected  # confirmed from the postings instead
    assert cli("index", "--check", expect=1)  # the checksum names it
    texts.update(_folder(source / "new", 1, seed=9))
    run_index([source], index_dir)
    assert [path.name for path in _sfx(index_dir)] == [f"{segment}{suffixes.SUFFIX}" for segment in sorted(_segments(index_dir))]
    assert not list(data_dir(index_dir).glob("*.tmp"))
    for path in _sfx(index_dir):
        suffixes.SuffixFile(path)  # whole again
    assert _found(index_dir, needle) == {path for path, text in texts.items() if needle in text}


def test_deleted_documents_are_not_found_through_their_segments_file(source: Path, index_dir: Path) -> None:
    texts = _folder(source, 8)
    run_index([source], index_dir)
    gone = sorted(texts)[:3]
    for path in gone:
        Path(path).unlink()
        del texts[path]
    run_index([source], index_dir)
    for text in list(texts.values())[:2]:
        needle = text[30:34]
        assert _found(index_dir, needle) == {path for path, t in texts.items() if needle in t}
    common = normalise("，")
    assert _found(index_dir, common) == {path for path, t in texts.items() if common in t}


def test_an_index_from_before_suffix_files_gets_them_from_the_next_run_over_an_unchanged_folder(
        source: Path, index_dir: Path) -> None:
    texts = _folder(source, 6)
    run_index([source], index_dir)
    for path in _sfx(index_dir):  # as an older version left it: no suffix files, its snapshot says nothing of them
        path.unlink()
    snapshot = data_dir(index_dir) / "manifest.json"
    saved = json.loads(snapshot.read_text("utf-8"))
    del saved["side_files"]
    snapshot.write_text(json.dumps(saved), "utf-8")
    report = run_index([source], index_dir)
    assert report.unchanged == 6 and not report.added
    assert {path.stem for path in _sfx(index_dir)} == _segments(index_dir)
    needle = next(iter(texts.values()))[40:45]
    assert _found(index_dir, needle) == {path for path, text in texts.items() if needle in text}


def test_a_character_in_every_line_of_a_few_documents_is_found_in_each(source: Path, index_dir: Path) -> None:
    """More occurrences than 64 per document: too many to map one by one for so few documents, but
    nothing narrows them down first, so every document is still asked about."""
    texts = {}
    for number in range(3):
        lines = [f"第{number}份讲话", *["我们的工作，我们的责任，我们的担当。"] * 40]
        path = factory.write_saved_page(source / f"{number}.txt", lines[0], lines)
        texts[str(path)] = normalise("".join(lines))
    factory.write_saved_page(source / "other.txt", "通知", ["请各单位按时参加会议。"] * 5)
    run_index([source], index_dir)
    assert _found(index_dir, "的") == set(texts)
    with open_index(index_dir) as archive:
        for query in ('"会议" -"的"', '"份" -"的"', "第1份 的"):
            results = archive.search(query, limit=None, max_passages=0)
            assert {hit.document.path for hit in results.hits} == (
                {str(source / "other.txt")} if "会议" in query else set() if "-" in query else {str(source / "1.txt")})
