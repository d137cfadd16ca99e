"""What a new quoted phrase costs the PostgreSQL engine at least, part by part, and the p95 that sets.

    python tests/bench/bench_postings.py postgresql://…/bench100k [--phrases 150] [--clients 8] [--cores 2]

On an index made by bench_http.py (office vocabulary: the hard case), for phrases drawn as its
searches draw them, each counted once from nothing (as a server counts a phrase it has not seen
since the last commit): the bytes of positions read, the database backend's CPU to read them, and
this process's CPU to receive them, decode, intersect and count per speech; then the CPU of a search
whose counts are kept (a page's paths, texts and passages, and ranking). From those, a lower bound on
latency: clients that always have a search waiting keep every core busy, so each waits about
clients / cores searches' CPU; the HTTP layer and the clients' own CPU (about 1.8 ms a search,
bench_http.py) come on top. Not part of the test run.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg
from bench_http import queries

from archive.search import Filters, open_index, postgres, trigrams
from archive.search import postgres_phrases as phrases
from archive.search.engine import needle_of


def backend_seconds(pid: int) -> float:
    """CPU seconds a database backend (on this machine) has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("index", help="a postgresql:// URL of an index bench_http.py made")
    parser.add_argument("--phrases", type=int, default=150)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()

    connection = psycopg.connect(args.index, autocommit=True)
    backend = connection.execute("SELECT pg_backend_pid()").fetchone()[0]
    generation = connection.execute(f"SELECT value FROM {postgres.META} WHERE key = 'generation'").fetchone()[0]
    view = phrases._load(connection, generation)
    drawn = [needle_of(q.strip('"')) for q in queries(random.Random(3), 20 * args.phrases)
             if q.startswith('"') and q.count('"') == 2]
    needles = list(dict.fromkeys(drawn))[: args.phrases]
    blocks = phrases._KeptSpans()  # as a server holds them: the blocks of common keys come back
    for needle in needles[:20]:
        phrases._counts(connection, view, [needle], kept_spans=blocks)

    read_bytes, positions, found = [], [], []
    database, receiving, working = 0.0, 0.0, 0.0
    for needle in needles:
        started = own_seconds()
        located = phrases._locate(connection, view, {needle: trigrams.parts(needle) or []}, kept=blocks)
        working += own_seconds() - started
        spans = [span for spans in located.values() for span in spans]
        positions.append(sum(span[3] - span[2] for span in spans))
        read_bytes.append(sum((span[3] - span[2]) * (4 if span[1] else 2) + (span[5] - span[4]) * 4 for span in spans))
        before_backend, started = backend_seconds(backend), own_seconds()
        fetched = list(phrases._fetched(connection, located))
        database += backend_seconds(backend) - before_backend
        receiving += own_seconds() - started
        started = own_seconds()
        occurrences = 0
        for chunk, slices in fetched:
            spans_here = located[(needle, chunk)]
            if spans_here[0][1]:
                continue
            at = phrases._occurrences(spans_here, slices)
            trigrams.counts(at, view.starts[chunk], needle)
            occurrences += len(at)
        working += own_seconds() - started
        found.append(occurrences)
    count = len(needles)
    per = {"database reads the positions": database / count * 1000,
           "the reader receives them": receiving / count * 1000,
           "the reader finds, intersects and counts": working / count * 1000}

    with open_index(args.index) as archive:
        kept = f'"{needles[0]}"'
        for _ in range(20):
            archive.search(kept, filters=Filters(), limit=10).to_dict()
        pids = [row[0] for row in psycopg.connect(args.index, autocommit=True).execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
        before_backend, started, rounds = sum(map(backend_seconds, pids)), own_seconds(), 200
        for _ in range(rounds):
            archive.search(kept, filters=Filters(), limit=10).to_dict()
        fixed = ((own_seconds() - started) + (sum(map(backend_seconds, pids)) - before_backend)) / rounds * 1000

    print(f"{count} new quoted phrases at {view.documents} speeches: median {statistics.median(positions):,.0f} "
          f"positions ({statistics.median(read_bytes) / 1e6:.2f} MB) read for a median "
          f"{statistics.median(found):,.0f} occurrences")
    for what, ms in per.items():
        print(f"  {what}: {ms:.2f} ms of CPU")
    print(f"  a search whose counts are kept (paths, texts, passages, ranking; reader and database): {fixed:.2f} ms")
    floor = sum(per.values()) + fixed
    print(f"a new quoted phrase: at least {floor:.1f} ms of CPU before HTTP; {args.clients} clients on "
          f"{args.cores} cores each wait about {args.clients / args.cores * floor:.0f} ms a search if every search "
          f"were one")


if __name__ == "__main__":
    main()
