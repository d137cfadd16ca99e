"""The bulk writer writes the index whoosh's own SegmentWriter would: same terms, postings, block
statistics, field lengths, stored fields and columns, for new documents, replacements and merges."""

from __future__ import annotations

import random
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec
from whoosh.writing import SegmentWriter

from archive.search.bulkwriter import BulkSegmentWriter
from archive.search.schema import build_schema
from tests.factory import body, speech


def _documents(count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    documents = []
    for number in range(count):
        made = speech(rng, chars=600)
        text = "".join(body(rng, 600))
        documents.append(dict(
            path=f"/speeches/{number}.docx", doc_id=f"d{number}", kind="doc", sha256=f"{number:064x}",
            size=len(text), mtime_ns=number, extractor=1, text=text, normalised=text.encode("utf-8"),
            title=made.title, people=f"{made.speaker}|{made.role}", date_key=20200101 + number,
            record={"n": number}, summary=b"{}",
        ))
    return documents


def _build(folder: Path, writer_class, batches: list[list[dict]], *, deletions: list[str], optimize: bool) -> None:
    ix = whoosh_index.create_in(str(folder), build_schema(), indexname="MAIN")
    for number, batch in enumerate(batches):
        writer = writer_class(ix, codec=W3Codec(compression=0))
        if number == len(batches) - 1:
            for path in deletions:
                writer.delete_by_term("path", path)
        for document in batch:
            writer.update_document(**document)
        writer.commit(optimize=optimize and number == len(batches) - 1, merge=False)


def _postings(matcher) -> list[tuple]:
    found = []
    while matcher.is_active():
        found.append((matcher.id(), matcher.weight(), matcher.value()))
        matcher.next()
    return found


def _snapshot(folder: Path) -> dict:
    ix = whoosh_index.open_dir(str(folder), indexname="MAIN")
    snapshot: dict = {}
    with ix.reader() as reader:
        snapshot["docs"] = sorted(reader.all_doc_ids())
        snapshot["stored"] = [reader.stored_fields(d) for d in snapshot["docs"]]
        for name in ("path", "normalised", "date_key", "size"):
            column = reader.column_reader(name)
            snapshot[f"column {name}"] = [column[d] for d in snapshot["docs"]]
        for fieldname in ("text", "title", "people", "path", "date_key"):
            snapshot[f"lengths {fieldname}"] = [reader.doc_field_length(d, fieldname) for d in snapshot["docs"]]
            for term in reader.lexicon(fieldname):
                info = reader.term_info(fieldname, term)
                key = f"{fieldname} {term!r}"
                snapshot[key] = (
                    info.doc_frequency(), info.weight(), info.min_length(), info.max_length(), info.max_weight(),
                    _postings(reader.postings(fieldname, term)),
                )
    return snapshot


def _compare(tmp_path: Path, batches: list[list[dict]], *, deletions: list[str] = (), optimize: bool = False,
             writer_class=BulkSegmentWriter) -> None:
    _build(tmp_path / "whoosh", SegmentWriter, batches, deletions=list(deletions), optimize=optimize)
    _build(tmp_path / "bulk", writer_class, batches, deletions=list(deletions), optimize=optimize)
    expected, written = _snapshot(tmp_path / "whoosh"), _snapshot(tmp_path / "bulk")
    assert expected.keys() == written.keys()
    different = [key for key in expected if expected[key] != written[key]]
    assert not different, f"{len(different)} differ, first: {different[0]}"
    assert any(len(value[5]) > 128 for key, value in expected.items() if key.startswith("text ")), \
        "a term must span more than one posting block"


def _folders(tmp_path: Path) -> None:
    for name in ("whoosh", "bulk"):
        (tmp_path / name).mkdir()


def test_one_segment_matches_whoosh(tmp_path: Path) -> None:
    _folders(tmp_path)
    _compare(tmp_path, [_documents(300, seed=1)])


def test_replacements_deletions_and_a_merge_match_whoosh(tmp_path: Path) -> None:
    _folders(tmp_path)
    first, second = _documents(200, seed=2), _documents(160, seed=3)
    replaced = [dict(doc, text="替换后的正文" + doc["text"][:200]) for doc in first[:40]]
    _compare(tmp_path, [first, second[100:], replaced + second[:30]],
             deletions=["/speeches/150.docx", "/speeches/199.docx"], optimize=True)


def test_postings_read_by_block_are_whooshs_public_postings(tmp_path: Path) -> None:
    """archive.search.phrase reads W3 posting blocks through whoosh's private matcher attributes
    (2.6x faster, tests/bench/bench_private.py) and falls back to the public all_items() for any
    other matcher (one over several segments): both give whoosh's answer, deleted documents left out."""
    from archive.search import phrase

    _folders(tmp_path)
    _build(tmp_path / "bulk", BulkSegmentWriter, [_documents(150, seed=4), _documents(100, seed=5)],
           deletions=["/speeches/7.docx"], optimize=False)
    ix = whoosh_index.open_dir(str(tmp_path / "bulk"), indexname="MAIN")
    kinds = set()
    with ix.reader() as whole:
        for reader in [whole, *(leaf for leaf, _ in whole.leaf_readers())]:
            for fieldname in ("text", "people"):
                for term in list(reader.lexicon(fieldname))[:400]:
                    text = term.decode("utf-8")
                    public = dict(reader.postings(fieldname, term).all_items())
                    assert phrase.postings(reader, fieldname, text) == public
                    assert sorted(phrase._live_ids(reader, fieldname, text)) == sorted(public)
                    kinds.add(phrase._block_matcher(reader, fieldname, text)[2])
    assert kinds == {True, False}, "both the block reads and the fallback must have run"
