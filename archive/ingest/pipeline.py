"""The index run: scan the folders, decide what changed, read in worker processes, write once.

Unchanged files (same size, modification time and extractor version) are not opened. Changed and new
files that another file matches in size are hashed first: content the index already holds (a renamed
or copied file) is not read again, and copies in the folder are read once; the workers hash the rest.
Everything else is read by worker processes on every core, each file with a time and memory bound;
one writer adds the results, committing every few thousand documents so a killed run keeps them.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archive.errors import NO_SPACE, ArchiveError
from archive.ingest import extractor
from archive.ingest.scan import FoundFile, Scan, os_path_of, readable_name, resolve_roots, scan, under
from archive.search import (
    Location,
    ManifestEntry,
    Snapshot,
    is_database,
    last_snapshot,
    open_index,
    open_update,
    shown_location,
    state_dir,
)

if TYPE_CHECKING:
    from archive.document import Document
    from archive.ingest.prepare import Prepared
    from archive.search import IndexUpdate

# An unchanged re-run (the usual one) imports none of what reads files: the readers, the worker
# pool, archive.ingest.prepare and archive.versions are imported by the functions that use them.

DEFAULT_TIMEOUT = 120.0  # seconds one file may take to read
CHECKPOINT_DOCS = 2000
CHECKPOINT_CHARS = 20_000_000  # the writer holds uncommitted postings in memory: bound them
CHECKPOINT_SECONDS = 120.0

OCR_FORMATS = frozenset({"pdf", "image"})  # formats whose reading may include OCR, page by page
OCR_BACKSTOP_SECONDS = 4 * 3600.0
# Files handed to the pool ahead of the workers: enough that none waits for the next, few enough that
# a run over 100,000 files neither holds 100,000 futures nor pays for each finished one in all of them.
IN_FLIGHT_PER_WORKER = 8
# Files a reading worker reads before it is replaced: a safety net for memory a reader library might
# leak (none measured: 3,000 speeches of every format left a worker at 52 MB), rare enough that
# replacing one (a fork, the readers imported again, their caches refilled) stays out of a run's
# time: every 500 cost a 1,000-speech run 10%.
TASKS_PER_WORKER = 5000
PROGRESS_SECONDS = 1.0  # how often the progress bar hears of OCR'd pages while a long scan is read

Progress = Callable[[int, int, int], None]  # (files done, files in all, pages read by OCR so far)


@dataclass
class IndexReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    reused: int = 0  # renamed or copied files whose content was already indexed: not read again
    seconds: float = 0.0
    failed: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    index: str = ""
    rebuilt: bool = False
    ocr_pages: int = 0  # pages read by OCR in this run (from the page cache included)

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added, "updated": self.updated, "removed": self.removed, "unchanged": self.unchanged,
            "reused": self.reused, "seconds": round(self.seconds, 2), "failed": self.failed,
            "skipped": self.skipped, "index": self.index, "rebuilt": self.rebuilt, "ocr_pages": self.ocr_pages,
        }


@dataclass
class _Work:
    """One distinct content (in one format) to prepare, and every path that holds it."""

    sha256: str | None  # None: not hashed by the plan (no other file has its size); the worker hashes it
    file_format: str
    files: list[FoundFile]
    reuse: Document | None


def run_index(paths: list[Path], location: Location, *, timeout: float = DEFAULT_TIMEOUT, workers: int | None = None,
              retry_failed: bool = False, progress: Progress | None = None) -> IndexReport:
    started = time.perf_counter()
    roots = resolve_roots(paths)
    local = state_dir(location)
    for root in roots:
        if under(os.path.realpath(local), [os.path.realpath(os_path_of(root))]):
            raise ArchiveError(f"the index ({local}) would be written inside the folder being indexed ({root}), "
                               "which is only ever read: give --index DIR outside it (or set ARCHIVE_INDEX)")
    found = scan(roots, exclude=[] if is_database(location) else [str(location)])
    report = IndexReport(skipped=found.skipped, failed=list(found.failed), index=shown_location(location))
    if not retry_failed:
        known = last_snapshot(location)
        if known is not None and _nothing_changed(known, roots, found, report):
            report.seconds = time.perf_counter() - started
            return report

    from archive.ingest.prepare import cpu_count

    update: IndexUpdate | None = None
    try:
        with _reading_pool(workers or cpu_count(), local / "ocr-cache") as reading:
            update = open_update(location)  # refused while another run writes: the pool is stopped
            report.rebuilt = update.rebuilt
            work = _plan(update, roots, found.files, report, retry_failed, keep=found.unreadable)
            _execute(update, work, report, reading, timeout=timeout, progress=progress)
            reading.pool.close()  # every file is read: the workers leave (pebble takes a tenth of a second) while it commits
            update.commit(roots, then=functools.partial(_group_versions, location, update, report))
    except OSError as error:
        if update is not None:
            _cancel(update)
        if error.errno in NO_SPACE:
            raise ArchiveError(f"no space left to write the index at {shown_location(location)}: free some space "
                               "(or give --index on another disk) and run again; the index is as it was at its "
                               "last commit") from None
        raise
    except BaseException:
        if update is not None:
            _cancel(update)
        raise
    finally:
        if update is not None:
            update.close()
    report.seconds = time.perf_counter() - started
    return report


def _same_file(entry: ManifestEntry | None, found_file: FoundFile) -> bool:
    """Whether a file is as the index remembers it: same size, modification time and extractor."""
    return (entry is not None and entry.size == found_file.size and entry.mtime_ns == found_file.mtime_ns
            and entry.extractor == extractor.EXTRACTOR_VERSION)


def _gone(indexed: Iterable[str], roots: list[str], files: list[FoundFile], keep: list[str]) -> list[str]:
    """Indexed paths under `roots` whose files are no longer there. Documents under a folder that could
    not be listed this time (`keep`: permissions changed for a moment, a share that dropped) stay: a
    folder we cannot see is not a folder emptied."""
    present = {f.path for f in files}
    return [path for path in indexed if under(path, roots) and path not in present and not under(path, keep)]


def _nothing_changed(known: Snapshot, roots: list[str], found: Scan, report: IndexReport) -> bool:
    """Whether the folders are as the last commit left them (no file added, removed or changed, by
    size and modification time); if so, the report says so without the index being opened."""
    if not known.version_groups or any(root not in known.folders for root in roots):
        return False
    if _gone(known.entries, roots, found.files, found.unreadable):
        return False
    failed = []
    for found_file in found.files:
        entry = known.entries.get(found_file.path)
        if entry is None or not _same_file(entry, found_file):
            return False
        if entry.kind == "failed":
            failed.append({"path": found_file.path, "reason": known.reasons.get(found_file.path, "could not be read")})
    report.unchanged = len(found.files) - len(failed)
    report.failed.extend(failed)
    return True


def _group_versions(location: Location, update: IndexUpdate, report: IndexReport) -> None:
    """Versions of one speech (archive.versions), worked out over the whole index after a run that
    changed something (or over an index that has none yet)."""
    if not (report.added or report.updated or report.removed or not update.has_version_groups()):
        return
    with open_index(location) as index:
        sketches, listing = index.sketches()
    from archive import versions

    update.save_version_groups(versions.group(sketches, listing))


def _cancel(update: IndexUpdate) -> None:
    """Drop the run's uncommitted work; a failure here (the disk still full) must not hide the
    error that stopped the run."""
    with contextlib.suppress(Exception):
        update.cancel()


def _plan(update: IndexUpdate, roots: list[str], files: list[FoundFile], report: IndexReport,
          retry_failed: bool, keep: list[str]) -> list[_Work]:
    """Sort files into unchanged, removed (see _gone) and work to do; hash only what may have changed."""
    from archive.ingest.prepare import sha256_of
    from archive.readers import file_format

    manifest = update.manifest
    for path in _gone(manifest, roots, files, keep):
        update.delete(path)
        report.removed += 1

    failure_reasons: dict[str, str] | None = None
    to_read: list[FoundFile] = []
    for found_file in files:
        entry = manifest.get(found_file.path)
        same_file = _same_file(entry, found_file)
        kind = entry.kind if entry is not None else None
        if same_file and kind == "failed" and not retry_failed:
            if failure_reasons is None:
                failure_reasons = update.failure_reasons()
            report.failed.append({"path": found_file.path, "reason": failure_reasons.get(found_file.path, "could not be read")})
            continue
        if same_file and kind == "doc":
            report.unchanged += 1
            continue
        to_read.append(found_file)

    # Content already indexed (a renamed or copied file, one only touched) or read twice in this run
    # (copies) can only be in a file whose size another file has: only those are hashed here. The
    # rest (on a first run, nearly every file) are hashed by the workers, in parallel.
    current = [e for e in manifest.values() if e.kind == "doc" and e.extractor == extractor.EXTRACTOR_VERSION]
    sizes = Counter(f.size for f in to_read) + Counter({e.size for e in current})
    work: list[_Work] = []
    by_content: dict[tuple[str, str], _Work] = {}
    for found_file in to_read:
        found_format = file_format(Path(found_file.path))
        if sizes[found_file.size] == 1:  # a content of its own
            work.append(_Work(None, found_format, [found_file], None))
            continue
        try:
            sha = sha256_of(os_path_of(found_file.path))
        except OSError as error:  # as ReadAgainNextRun: reported, not recorded; the index keeps what it had
            report.failed.append({"path": found_file.path, "reason": f"cannot read the file: {error.strerror}"})
            continue
        if (sha, found_format) not in by_content:
            by_content[sha, found_format] = _Work(sha, found_format, [], None)
            work.append(by_content[sha, found_format])
        by_content[sha, found_format].files.append(found_file)

    indexed = {e.sha256 for e in current}
    for item in by_content.values():
        if item.sha256 in indexed:
            item.reuse = update.document_by_content(item.sha256, item.file_format)
    return work


@dataclass
class _ReadingPool:
    """The worker processes that read files, and how many pages they read by OCR."""

    pool: Any  # pebble's ProcessPool
    workers: int
    ocr_pages: Any  # a multiprocessing.Value the workers add to


@contextlib.contextmanager
def _reading_pool(workers: int, ocr_cache: Path) -> Iterator[_ReadingPool]:
    """The reading workers, started before the index is opened and the plan hashes new files: each
    imports the readers meanwhile (a quarter of a second), so the first files find them ready. Left
    with an error, the workers are stopped at once, not waited for."""
    import multiprocessing

    from pebble import ProcessPool  # only a run with files to read needs the pool

    from archive.ingest.prepare import init_worker, warm_up

    ocr_pages = multiprocessing.Value("i", 0)
    pool = ProcessPool(max_workers=workers, max_tasks=TASKS_PER_WORKER, initializer=init_worker,
                       initargs=(str(ocr_cache), ocr_pages))
    try:
        for _ in range(workers):
            pool.schedule(warm_up)
        yield _ReadingPool(pool, workers, ocr_pages)
    except BaseException:
        pool.stop()
        pool.join()
        raise
    pool.close()
    pool.join()


def _execute(update: IndexUpdate, work: list[_Work], report: IndexReport, reading: _ReadingPool, *,
             timeout: float, progress: Progress | None) -> None:
    total = sum(len(item.files) for item in work)
    done = 0
    since_checkpoint, chars_since, last_checkpoint = 0, 0, time.monotonic()
    docs_limit, chars_limit = ((None, update.checkpoint_chars) if update.checkpoint_chars
                               else (CHECKPOINT_DOCS, CHECKPOINT_CHARS))
    if progress:
        progress(0, total, 0)
    if not work:
        return
    import queue

    from archive.ingest.prepare import file_facts, prepare

    pool, workers, ocr_pages = reading.pool, reading.workers, reading.ocr_pages
    finished: queue.SimpleQueue[Any] = queue.SimpleQueue()  # futures, as they finish
    waiting = iter(work)
    pending: dict[Any, _Work] = {}

    def schedule(item: _Work) -> None:
        first = item.files[0]
        facts = file_facts(Path(first.path), first.size, first.mtime_ns, item.sha256)
        # The worker keeps the real bounds (the file's, and one per OCR'd page); the pool's own
        # time-out is only a backstop for a worker that hangs where the watchdog cannot see it.
        backstop = timeout + OCR_BACKSTOP_SECONDS if item.file_format in OCR_FORMATS else timeout
        future = pool.schedule(prepare, args=(first.path, facts, item.reuse, timeout),
                               timeout=backstop)
        pending[future] = item
        future.add_done_callback(finished.put)

    for item in itertools.islice(waiting, IN_FLIGHT_PER_WORKER * workers):
        schedule(item)
    while pending:
        try:
            future = finished.get(timeout=PROGRESS_SECONDS)
        except queue.Empty:
            future = None
        if future is not None:
            item = pending.pop(future)
            if (following := next(waiting, None)) is not None:
                schedule(following)
            chars_since += _collect(update, item, future, report, timeout)
            done += len(item.files)
            since_checkpoint += len(item.files)
            if done < total and ((docs_limit is not None and since_checkpoint >= docs_limit) or chars_since >= chars_limit
                                 or time.monotonic() - last_checkpoint > CHECKPOINT_SECONDS):
                update.checkpoint()
                since_checkpoint, chars_since, last_checkpoint = 0, 0, time.monotonic()
        if progress:
            progress(done, total, ocr_pages.value)
    report.ocr_pages = ocr_pages.value


def _collect(update: IndexUpdate, item: _Work, future: Any, report: IndexReport, timeout: float) -> int:
    """Store a finished file's document, or its failure with a one-line reason; the characters stored."""
    from concurrent.futures import TimeoutError as FutureTimeout

    from pebble import ProcessExpired

    from archive.ingest.prepare import ReadAgainNextRun
    from archive.readers import UnreadableFile, deadline

    try:
        prepared = future.result()
    except ReadAgainNextRun as error:  # not recorded: the next run reads it again; the index keeps what it had
        report.failed.extend({"path": f.path, "reason": str(error)} for f in item.files)
    except UnreadableFile as error:
        _record_failure(update, item, str(error), report)
    except FutureTimeout:
        _record_failure(update, item, f"took longer than {timeout:g} s to read (a file that makes the reader spin?)", report)
    except ProcessExpired as error:
        if error.exitcode == deadline.EXIT_CODE:
            from archive.readers.ocr import OCR_PAGE_SECONDS

            _record_failure(update, item, f"took longer than {timeout:g} s to read, or an OCR page longer than "
                            f"{OCR_PAGE_SECONDS:g} s (pages read are kept: `--retry-failed` goes on)", report)
        else:
            _record_failure(update, item, f"the reader crashed on this file (exit code {error.exitcode})", report)
    else:
        _store(update, item, prepared, report)
        return len(prepared.normalised) * len(item.files)
    return 0


def _store(update: IndexUpdate, item: _Work, prepared: Prepared, report: IndexReport) -> None:
    from archive.ingest.prepare import file_facts

    sha256 = prepared.document.sha256  # the plan's, or (unhashed there) the worker's
    for found_file in item.files:
        facts = file_facts(Path(found_file.path), found_file.size, found_file.mtime_ns, sha256)
        this = replace(prepared.document, **facts, extractor=extractor.EXTRACTOR_VERSION)  # stamped here, not in the worker
        if this.title_source == "filename":
            this.title = Path(readable_name(found_file.path)).stem
        known = update.manifest.get(found_file.path)
        update.put(this, prepared.normalised, mtime_ns=found_file.mtime_ns, sketch=prepared.sketch)
        if known is None:
            report.added += 1
            if item.reuse is not None:
                report.reused += 1
        elif known.sha256 == sha256 and known.kind == "doc" and known.extractor == extractor.EXTRACTOR_VERSION:
            report.unchanged += 1  # touched, same content
        else:
            report.updated += 1


def _record_failure(update: IndexUpdate, item: _Work, reason: str, report: IndexReport) -> None:
    sha256 = item.sha256 if item.sha256 is not None else _content_hash(item.files[0].path)
    for found_file in item.files:
        update.put_failed(found_file.path, size=found_file.size, mtime_ns=found_file.mtime_ns,
                          sha256=sha256, extractor=extractor.EXTRACTOR_VERSION, reason=reason)
        report.failed.append({"path": found_file.path, "reason": reason})


def _content_hash(path: str) -> str:
    """A failed file's content hash, when the plan did not hash it; empty if it cannot be read now."""
    from archive.ingest.prepare import sha256_of

    try:
        return sha256_of(os_path_of(path))
    except OSError:
        return ""
