"""Does each use of whoosh's private attributes earn its cost? Each one against its public fallback.

    python tests/bench/bench_private.py --docs 3000

1. writing: archive's bulk writer (it overrides SegmentWriter internals) vs whoosh's own SegmentWriter;
2. reading postings (archive.search.phrase): whole W3 blocks of ids vs the matcher's public
   all_ids()/all_items().
At commit 5daf096 it also measured filling W3 posting blocks directly (1.3x over the public
FieldWriter.add) and writing a commit as two segments at once in a forked process (1.1x): both were
dropped for not earning 2x.
Times are medians of three runs, in-process, over generated office-vocabulary speeches. Not part of
the test run.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from archive.document import (
    Paragraph,
    doc_id,
    paragraphs_to_rows,
)
from archive.normalize import normalise
from archive.search import phrase
from archive.search.embedded import WhooshIndex, WhooshUpdate, body_terms
from tests import factory


def documents(count: int) -> list[tuple[dict, str]]:
    rng = random.Random(3)
    made = []
    for number in range(count):
        item = factory.speech(rng, chars=3000)
        lines = item.lines()
        path = f"/bench/{number}.docx"
        record = {"path": path, "id": doc_id(path), "sha256": f"{number:064x}", "size": 1, "extractor": 2,
                  "format": "docx", "title": item.title, "speaker": "张三", "role": "市长", "date": "2021-03-04",
                  "paragraphs": paragraphs_to_rows([Paragraph(line, 1) for line in lines])}
        made.append((record, normalise("".join(lines))))
    return made


def write(folder: Path, docs: list[tuple[dict, str]], *, terms: bool = True) -> float:
    # the body's terms are made in worker processes in a real run: not timed here
    prepared = [(record, text, body_terms(text) if terms else None) for record, text in docs]
    started = time.perf_counter()
    update = WhooshUpdate(folder)
    for record, text, terms in prepared:
        update.put(record, text, mtime_ns=1, prepared=terms)
    update.commit([])
    return time.perf_counter() - started


def read_all_postings(folder: Path, blocks: bool) -> float:
    index = WhooshIndex(folder)
    reader = index._fresh().reader()
    terms = list(reader.lexicon("text"))[:20000]
    original = phrase._block_matcher

    def public_only(*args):
        matcher, excluded, _ = original(*args)
        return matcher, excluded, False

    started = time.perf_counter()
    with mock.patch.object(phrase, "_block_matcher", original if blocks else public_only):
        for term in terms:
            phrase._live_ids(reader, "text", term.decode("utf-8") if isinstance(term, bytes) else term)
    took = time.perf_counter() - started
    index.close()
    return took


def median(function, runs: int = 3) -> float:
    return statistics.median(function() for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=3000)
    args = parser.parse_args()
    docs = documents(args.docs)
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(1000))

        def fresh() -> Path:
            return Path(tmp) / f"ix{next(counter)}"

        bulk = median(lambda: write(fresh(), docs))
        from whoosh.writing import SegmentWriter

        from archive.search import store

        def stock(ix):
            return SegmentWriter(ix, codec=store._codec())

        with mock.patch.object(store, "writer", stock):
            whoosh_own = median(lambda: write(fresh(), docs, terms=False))
        print(f"1. write {args.docs} documents: archive's bulk writer {bulk:.2f} s, whoosh's own SegmentWriter "
              f"{whoosh_own:.2f} s ({whoosh_own / bulk:.1f}x)")
        folder = fresh()
        write(folder, docs)
        blocks = median(lambda: read_all_postings(folder, True))
        public = median(lambda: read_all_postings(folder, False))
        print(f"2. read every body term's postings: by block {blocks:.2f} s, public all_ids {public:.2f} s "
              f"({public / blocks:.1f}x)")


if __name__ == "__main__":
    main()
