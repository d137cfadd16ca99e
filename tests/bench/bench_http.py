"""HTTP query latency under concurrent load: p50/p95 of /api/search at N documents.

    python tests/bench/bench_http.py --docs 10000 --clients 8 --requests 800 [--folder DIR] [--warmup 200]
    python tests/bench/bench_http.py --docs 10000 --index postgresql://…/bench   # the PostgreSQL engine

Makes (or reuses) an N-document folder, indexes it (into a folder, or a database with --index URL),
starts `archive serve` on a loopback port, sends --warmup searches one by one (a server in use has
seen its office's words before; --warmup 0 measures a cold start), then sends the measured searches
from several client threads at once. Prints p50/p95 of all searches and of quoted phrases alone,
and each server process's memory (resident; proportional: shared pages divided among the
processes that map them; anonymous: the process's own heap). Not part of the test run.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from archive.ingest.pipeline import run_index
from archive.search import location_of
from tests.factory import FILLERS, PHRASES, make_folder, office_phrase


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def memory(parent: int) -> list[tuple[int, float, float, float]]:
    """(pid, resident MB, proportional MB, anonymous MB) of the server's worker processes (its
    children). Anonymous memory is each process's own (its heap); the rest of resident memory is
    mapped files (the index's suffix files and segments), pages of the cache that every process
    shares: proportional memory divides those among the processes that map them."""
    found = []
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    for pid in children or [str(parent)]:
        fields = {}
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
            name, value, *_ = line.split()
            fields[name.rstrip(":")] = int(value) / 1024
        found.append((int(pid), fields.get("Rss", 0.0), fields.get("Pss", 0.0), fields.get("Anonymous", 0.0)))
    return found


def busy_seconds(parent: int) -> tuple[float, float]:
    """(CPU seconds the server's processes have used, CPU seconds the whole machine has used): what
    a run used beyond the server's own is the database's (and the clients')."""
    ticks = os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split() or [str(parent)]
    server = sum(sum(map(int, Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13]))
                 for pid in children)
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    machine = sum(fields) - fields[3] - fields[4]  # all but idle and waiting for the disk
    return server / ticks, machine / ticks


def wait_until_started(parent: int, quiet: float = 0.3, limit: float = 60.0) -> None:
    """Until every server process has finished starting (its CPU time stops growing): a process
    still loading when the clients connect leaves all their kept-alive connections to the other."""

    def cpu() -> dict[str, int]:
        children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split() or [str(parent)]
        return {pid: sum(map(int, Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13]))
                for pid in children}

    deadline = time.time() + limit
    before = cpu()
    while time.time() < deadline:
        time.sleep(quiet)
        now = cpu()
        if now == before:
            return
        before = now


def queries(rng: random.Random, count: int) -> list[str]:
    """Phrases people remember, drawn as often as they are used: quoted, unquoted, with exclusions."""
    made = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.4:
            made.append(f'"{office_phrase(rng)}"')
        elif kind < 0.55:
            made.append(f'"{rng.choice(PHRASES)}"')  # the common phrases: in many speeches
        elif kind < 0.7:
            made.append(f'"{rng.choice(FILLERS)}{office_phrase(rng)}"')
        elif kind < 0.9:
            made.append(office_phrase(rng))
        else:
            made.append(f'"{office_phrase(rng)}" -"{rng.choice(PHRASES)}"')
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=10000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=800)
    parser.add_argument("--warmup", type=int, default=200,
                        help="searches (other than the measured ones) sent first, as a server that has been in use has seen")
    parser.add_argument("--folder", type=Path, help="reuse (or make) the document folder here")
    parser.add_argument("--index", help="reuse (or make) the index here: a folder or a postgresql:// URL")
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--vocabulary", choices=["office", "varied"], default="office",
                        help="office: every speech made of a few hundred office phrases, so nearly every bigram "
                             "is in most speeches (the hard case); varied: a quarter office phrases, the rest "
                             "words drawn from jieba's dictionary by frequency")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="archive-http-"))
    folder = args.folder or work / "speeches"
    if not folder.exists() or not any(folder.rglob("*.*")):
        started = time.perf_counter()
        make_folder(folder, args.docs, chars=3000, vocabulary=args.vocabulary)
        print(f"made {args.docs} documents in {time.perf_counter() - started:.0f} s")
    index = args.index or str(work / "index")
    started = time.perf_counter()
    report = run_index([folder], location_of(index, "index"))
    took = time.perf_counter() - started
    print(f"index: {report.added} added, {report.unchanged} unchanged in {took:.1f} s "
          f"({(report.added or 1) / took:.0f} documents/s)")

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "archive", "serve", "--index", str(index), "--port", str(port),
                               "--workers", str(args.workers)], stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while True:
            try:
                httpx.get(f"{base}/api/stats", timeout=5).raise_for_status()
                break
            except httpx.HTTPError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        wait_until_started(server.pid)
        work_items = queries(random.Random(3), args.requests)
        for query in queries(random.Random(4), args.warmup):
            httpx.get(f"{base}/api/search", params={"q": query}, timeout=30)
        latencies: list[float] = []
        quoted: list[float] = []
        unquoted: list[float] = []
        lock = threading.Lock()
        cursor = iter(work_items)

        def client() -> None:
            # the standard library's client: a third of httpx's CPU per request, and the load
            # generator shares this machine's two cores with the server it measures
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            while True:
                with lock:
                    query = next(cursor, None)
                if query is None:
                    connection.close()
                    return
                started = time.perf_counter()
                connection.request("GET", "/api/search?" + urllib.parse.urlencode({"q": query, "limit": 10}))
                response = connection.getresponse()
                response.read()
                elapsed = time.perf_counter() - started
                if response.status != 200:
                    raise RuntimeError(f"{query}: HTTP {response.status}")
                with lock:
                    latencies.append(elapsed)
                    if query.startswith('"') and query.count('"') == 2:
                        quoted.append(elapsed)
                    elif '"' not in query:
                        unquoted.append(elapsed)

        started = time.perf_counter()
        busy_before = busy_seconds(server.pid)
        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        busy_after = busy_seconds(server.pid)
        latencies.sort()
        p50 = statistics.median(latencies) * 1000
        p95 = latencies[int(0.95 * (len(latencies) - 1))] * 1000
        print(f"{len(latencies)} searches, {args.clients} clients, {report.added + report.unchanged} documents: "
              f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, {len(latencies) / wall:.0f} requests/s")
        quoted.sort()
        print(f"  quoted phrases alone ({len(quoted)}): p50 {statistics.median(quoted) * 1000:.1f} ms, "
              f"p95 {quoted[int(0.95 * (len(quoted) - 1))] * 1000:.1f} ms")
        unquoted.sort()
        print(f"  unquoted words alone ({len(unquoted)}): p50 {statistics.median(unquoted) * 1000:.1f} ms, "
              f"p95 {unquoted[int(0.95 * (len(unquoted) - 1))] * 1000:.1f} ms")
        server_cpu, machine_cpu = (after - before for after, before in zip(busy_after, busy_before, strict=True))
        print(f"  CPU per search: {machine_cpu / len(latencies) * 1000:.1f} ms, of which the server processes' "
              f"{server_cpu / len(latencies) * 1000:.1f} ms (the rest: the database, the clients)")
        for pid, rss, pss, anonymous in memory(server.pid):
            print(f"  server process {pid}: resident {rss:.0f} MB, proportional {pss:.0f} MB, "
                  f"its own (anonymous) {anonymous:.0f} MB")
        time.sleep(2)  # at rest: what a process keeps, its last searches' memory given back (archive.web.memory)
        for pid, rss, _, anonymous in memory(server.pid):
            print(f"  two seconds later, at rest: server process {pid}: resident {rss:.0f} MB, "
                  f"its own (anonymous) {anonymous:.0f} MB")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
