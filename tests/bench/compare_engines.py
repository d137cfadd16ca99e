"""Index one folder into both engines and compare their answers, in order, with scores.

    python tests/bench/compare_engines.py FOLDER postgresql://…/db [--queries 400] [--seed 1] [--index DIR]

What the held-out check of issue #12 does: any folder (a copy of an office's share is best), indexed
into an embedded index (a temporary folder, or --index) and into the database given (emptied first:
`--rebuild`), then random searches cut from the archive's own texts (quoted pieces of 1–10
characters, unquoted pieces, -"…", OR, year:, title:, speaker:, date: ranges, with and without
--speaker/--since and by date) compared hit by hit: path, tier and score, ties included; and the
documents each query matches (what a timeline counts), with how often. Prints each difference and a
count; exits 1 if there is one. Not part of the test run (it is as slow as the folder is large).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from archive.errors import QueryError
from archive.ingest.pipeline import run_index
from archive.search import Filters, SpeechIndex, location_of, open_index, remove_index

QUOTES_AND_BRACKETS = '"“”「」『』()（）'  # the query language's own marks: a piece holding one is not a search


def queries(rng: random.Random, texts: list[str], count: int) -> list[str]:
    """Searches made of the archive's own text, in every form the query language has."""
    made: list[str] = []
    while len(made) < count:
        text = rng.choice(texts)
        start = rng.randrange(max(1, len(text) - 10))
        piece = text[start : start + rng.choice([1, 2, 2, 3, 4, 5, 7, 10])].strip()
        other = rng.choice(texts)[5:8]
        if not piece or not other or any(mark in piece + other for mark in QUOTES_AND_BRACKETS):
            continue
        made.append(rng.choice([
            f'"{piece}"', f'"{piece}"', piece, f'"{piece}" -"{other[:2]}"', f'"{piece}" OR "{other}"',
            f'"{piece}" year:{rng.randint(2015, 2024)}', f"{piece} title:{rng.choice(['讲话', '会议', '工作'])}",
            f'"{piece}" speaker:{rng.choice(["市长", "书记", "主任", "张"])}',
            f'({piece} OR "{other}") date:2018..2022',
        ]))
    return made


def answer(archive: SpeechIndex, query: str, filters: Filters) -> tuple[int, list[tuple[str, str, float]]]:
    results = archive.search(query, filters=filters, limit=None, max_passages=0)
    return results.total, [(hit.document.path, hit.tier, round(hit.score, 9)) for hit in results.hits]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("database", help="postgresql://… (its archive tables are rebuilt)")
    parser.add_argument("--index", type=Path, help="the embedded index (default: a temporary folder)")
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    embedded = args.index or Path(tempfile.mkdtemp(prefix="archive-compare-")) / "index"
    for location in (location_of(str(embedded), "index"), location_of(args.database, "index")):
        remove_index(location)
        report = run_index([args.folder], location)
        print(f"{location}: {report.added} added, {len(report.failed)} failed")
    differences = 0
    with open_index(location_of(str(embedded), "index")) as one, \
            open_index(location_of(args.database, "index")) as other:
        paths = [document["path"] for document in one.documents()]
        rng = random.Random(args.seed)
        texts = [text for text in one.normalised_texts(rng.sample(paths, min(400, len(paths)))).values() if text]
        for query in queries(rng, texts, args.queries):
            for filters in (Filters(), Filters(sort="date"),
                            Filters(speaker=rng.choice([None, "市长", "主任"]), since=rng.choice([None, "2019", "2021-03"]),
                                    sort=rng.choice(["relevance", "date"]))):
                try:
                    answers = [answer(archive, query, filters) for archive in (one, other)]
                except QueryError as error:  # (a piece the query language reads otherwise, e.g. a lone -)
                    print(f"  not a query: {error}")
                    break
                if answers[0] != answers[1]:
                    differences += 1
                    (total, hits), (other_total, other_hits) = answers
                    first = next((n for n, (a, b) in enumerate(zip(hits, other_hits, strict=False)) if a != b),
                                 min(len(hits), len(other_hits)))
                    print(f"DIFFERENT {query} {filters}: totals {total} / {other_total}; first at hit {first}: "
                          f"{hits[first:first + 1]} / {other_hits[first:first + 1]}")
            try:
                matched = [sorted((summary["path"], count) for summary, count in archive.matches(query))
                           for archive in (one, other)]
            except QueryError:
                continue
            if matched[0] != matched[1]:
                differences += 1
                print(f"DIFFERENT matches of {query}: {len(matched[0])} / {len(matched[1])}")
    print(f"{args.queries} queries: {differences} differences")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
