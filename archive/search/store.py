"""The on-disk index: where it lives, its schema version, opening it to read and to write.

Layout (documented in index/README.md): `<index>/whoosh-v<SCHEMA_VERSION>/` holds the whoosh index.
whoosh commits atomically (a new table of contents is written last), so a run killed at any moment
leaves the last committed index readable; readers never wait for a writer.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pickle
import re
import shutil
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec
from whoosh.index import EmptyIndexError, LockError
from whoosh.index import IndexError as WhooshIndexError
from whoosh.reading import MultiReader
from whoosh.searching import Searcher
from whoosh.writing import SegmentWriter

from archive.errors import IndexBusy, IndexDamaged, IndexMissing
from archive.search import records, snapshot, suffixes
from archive.search.schema import build_schema
from archive.search.snapshot import INDEX_NAME, ROOTS_FILE, VERSIONS_FILE, ManifestEntry, SegmentEntry, data_dir

_VERSION_DIR = re.compile(r"^whoosh-v(\d+)$")


def other_versions(location: Path) -> list[Path]:
    if not location.is_dir():
        return []
    return [p for p in location.iterdir() if _VERSION_DIR.match(p.name) and p.name != data_dir(location).name]


# What reading damaged index files raises (a truncated segment, a deleted one, a zeroed block, a
# garbage table of contents): whoosh does not check its files, so these surface as they come.
CORRUPTION = (EOFError, struct.error, zlib.error, pickle.UnpicklingError, UnicodeDecodeError, ValueError, IndexError,
              TypeError, KeyError, AttributeError, OSError, MemoryError, OverflowError, WhooshIndexError)
damaged = snapshot.damaged  # IndexDamaged for an error met reading the index's files


@contextlib.contextmanager
def errors(location: Path) -> Iterator[None]:
    """Damaged files give one message that says how to repair them (a missing index says so)."""
    try:
        yield
    except (IndexMissing, IndexBusy, IndexDamaged):
        raise
    except CORRUPTION as error:
        if isinstance(error, FileNotFoundError) and not data_dir(location).exists():
            raise IndexMissing(f"no index at {location}: run `archive index FOLDER` first") from None
        raise damaged(location, error) from error


def open_for_reading(location: Path) -> whoosh_index.Index:
    folder = data_dir(location)
    try:
        return whoosh_index.open_dir(str(folder), indexname=INDEX_NAME)
    except EmptyIndexError as error:
        if folder.is_dir() and any(folder.glob(f"_{INDEX_NAME}_*.toc")):
            raise damaged(location, error) from None
        return _missing(location)
    except FileNotFoundError:
        return _missing(location)
    except CORRUPTION as error:
        raise damaged(location, error) from None


def _missing(location: Path) -> whoosh_index.Index:
    if other_versions(location):
        raise IndexMissing(
            f"the index at {location} was built by another version of archive: "
            "run `archive index` (with your folders) to rebuild it"
        )
    raise IndexMissing(f"no index at {location}: run `archive index FOLDER` first (or pass --index DIR)")


@contextlib.contextmanager
def _creating(location: Path) -> Iterator[None]:
    """One process at a time decides whether the index exists and creates it: two first runs at
    once would both create it, and whoosh refuses the second's table of contents."""
    with open(location / ".create.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def open_for_writing(location: Path) -> whoosh_index.Index:
    """Open the index, creating it (and its folder) on first use."""
    folder = data_dir(location)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise IndexMissing(f"cannot create the index at {location}: {error.strerror}") from None
    with _creating(location):
        try:
            if any(folder.glob(f"_{INDEX_NAME}_*.toc")):
                return whoosh_index.open_dir(str(folder), indexname=INDEX_NAME)
            return whoosh_index.create_in(str(folder), build_schema(), indexname=INDEX_NAME)
        except CORRUPTION as error:
            raise damaged(location, error) from None


CHECKSUMS = "checksums.json"


SEGMENT_FILE = snapshot.SEGMENT_FILE  # whoosh's segment files and the side files beside them


def record_checksums(location: Path) -> None:
    """After a commit: the SHA-256 of every segment file and suffix file. whoosh never rewrites a
    segment file (a deletion goes into the table of contents), nor is a suffix file rewritten, so
    only new files are hashed; `verify` then finds damage that decodes without an error (a zeroed
    block inside postings, text or suffixes)."""
    folder = data_dir(location)
    known = _checksums(location)
    current = {}
    for segment in sorted(path for path in folder.iterdir() if SEGMENT_FILE.match(path.name)):
        current[segment.name] = known.get(segment.name) or _sha256(segment)
    temporary = folder / f"{CHECKSUMS}.tmp"
    temporary.write_text(json.dumps(current, indent=0), "utf-8")
    os.replace(temporary, folder / CHECKSUMS)


def _checksums(location: Path) -> dict[str, str]:
    try:
        return json.loads((data_dir(location) / CHECKSUMS).read_text("utf-8"))
    except (OSError, ValueError):
        return {}


def _sha256(path: Path) -> str:
    import hashlib

    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


version_groups = snapshot.version_groups  # the versions file beside the index


def save_version_groups(location: Path, groups: dict[str, Any]) -> None:
    temporary = location / f"{VERSIONS_FILE}.{os.getpid()}.tmp"
    temporary.write_text(json.dumps(groups, ensure_ascii=False), "utf-8")
    os.replace(temporary, location / VERSIONS_FILE)


def last_commit(location: Path) -> str | None:
    """When the index was last committed (its newest table of contents), ISO, local time."""
    import datetime as dt

    tocs = list(data_dir(location).glob(f"_{INDEX_NAME}_*.toc"))
    if not tocs:
        return None
    newest = max(toc.stat().st_mtime for toc in tocs)
    return dt.datetime.fromtimestamp(newest).isoformat(timespec="seconds")


def remove_index(location: Path) -> None:
    """Delete the index's data (for a rebuild); the OCR page cache and the folder list stay."""
    shutil.rmtree(data_dir(location), ignore_errors=True)


def verify(location: Path) -> int:
    """Read every part of the index once (tables of contents, columns, records, postings);
    the number of documents, or IndexDamaged naming the first damage found."""
    for name, expected in _checksums(location).items():
        segment = data_dir(location) / name
        if segment.exists() and _sha256(segment) != expected:
            raise damaged(location, ValueError(f"{name} is not what was written (checksum differs)"))
    try:
        ix = open_for_reading(location)
        documents = 0
        with ix.reader() as reader:
            for sub, _ in reader.leaf_readers():
                for name in ("path", "kind", "sha256", "size", "mtime_ns", "extractor", "normalised", "summary", "date_key"):
                    column = sub.column_reader(name)
                    for docnum in range(sub.doc_count_all()):
                        column[docnum]
                stored = sub.column_reader("record")
                for docnum in sub.all_doc_ids():
                    records.decoded(stored[docnum])
                    documents += 1
                for fieldname, term in sub.all_terms():
                    for _ in sub.postings(fieldname, term).all_ids():
                        pass
        return documents
    except (IndexMissing, IndexDamaged):
        raise
    except CORRUPTION as error:
        raise damaged(location, error) from None


indexed_folders = snapshot.indexed_folders  # the folders `archive index` was given
has_version_groups = snapshot.has_version_groups


def remember_folders(location: Path, roots: list[str]) -> None:
    known = indexed_folders(location)
    merged = known + [root for root in roots if root not in known]
    if merged != known:
        temporary = location / f"{ROOTS_FILE}.tmp"
        temporary.write_text(json.dumps(merged, ensure_ascii=False, indent=1), "utf-8")
        os.replace(temporary, location / ROOTS_FILE)


def write_side_files(location: Path, ix: whoosh_index.Index) -> None:
    """After a commit: a suffix file (archive.search.suffixes) and a records file
    (archive.search.records) for each segment that has no whole one, and none for segments merged
    away. A run killed while one is written leaves a temporary file (removed here next time);
    searching meanwhile asks whoosh, and confirms candidates without suffix files."""
    folder = data_dir(location)
    with ix.reader() as reader:
        segments = {leaf.segment().segment_id(): leaf for leaf, _ in reader.leaf_readers() if leaf.segment() is not None}
        for segment_id, leaf in segments.items():
            path = suffixes.path_for(folder, segment_id)
            if suffixes.whole(path, leaf.doc_count_all()) is None:
                suffixes.write(path, _normalised_texts(leaf))
            path = records.path_for(folder, segment_id)
            if records.whole(path, leaf.doc_count_all()) is None:
                records.write(path, _record_rows(leaf))
    side = (suffixes.SUFFIX, records.SUFFIX)
    for path in folder.iterdir():
        stale = path.name.endswith(tuple(end + ".tmp" for end in side)) or (
            path.suffix in side and path.stem not in segments)
        if stale:
            path.unlink(missing_ok=True)


def segment_texts(ix: whoosh_index.Index, segment_id: str) -> list[str]:
    """The normalised texts of a committed segment's documents, in docnum order."""
    with ix.reader() as reader:
        for leaf, _ in reader.leaf_readers():
            if leaf.segment() is not None and leaf.segment().segment_id() == segment_id:
                return list(_normalised_texts(leaf))
    return []


def _normalised_texts(leaf: Any) -> Iterator[str]:
    """A segment's normalised texts in docnum order, deleted documents' too (a suffix file holds
    every docnum's)."""
    column = leaf.column_reader("normalised")
    for docnum in range(leaf.doc_count_all()):
        yield column[docnum].decode("utf-8")


def _record_rows(leaf: Any) -> Iterator[tuple[str, bool, int, bytes]]:
    """(path, readable, date key, encoded record) of each of a segment's documents, deleted ones too."""
    columns = [leaf.column_reader(name) for name in ("path", "kind", "date_key", "record")]
    paths, kinds, dates, stored = columns
    for docnum in range(leaf.doc_count_all()):
        yield paths[docnum], kinds[docnum] == "doc", int(dates[docnum]), stored[docnum]


def drop_other_versions(location: Path) -> None:
    """After the current version's index is committed, indexes of other versions are dead weight."""
    for folder in other_versions(location):
        shutil.rmtree(folder, ignore_errors=True)


def _codec() -> W3Codec:
    """whoosh's codec without zlib on posting blocks: commits take a third less time (and queries
    decode faster) for an index about twice the size, a few hundred MB at 10,000 speeches."""
    return W3Codec(compression=0)


MERGE_DOCS = 8_000  # documents a merge may bring into one segment


def merge_small(writer: SegmentWriter, segments: list[Any]) -> list[Any]:
    """A merge policy with bounded memory: the smallest segments are merged into the new one while
    together they hold at most MERGE_DOCS documents, once there are three of them to merge.

    Why not whoosh's MERGE_SMALL: it merges ever larger segments (half of a 100,000-speech archive
    in one commit: every part of it rewritten, and a suffix file that large sorted again; the bulk
    writer archive had then held the merged postings in memory: 5.1 GB). Here a run's work and
    memory stay bounded whatever the archive's size; an archive of 100,000 speeches keeps a dozen
    segments, each searched through its own suffix file.
    """
    from whoosh.reading import SegmentReader

    merged: list[Any] = []
    total = 0
    for segment in sorted(segments, key=lambda segment: segment.doc_count_all()):
        if total + segment.doc_count_all() > MERGE_DOCS:
            break
        merged.append(segment)
        total += segment.doc_count_all()
    if len(merged) < 3:
        return segments
    for segment in merged:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        writer.add_reader(reader)
        reader.close()
    return [segment for segment in segments if segment not in merged]


def writer(ix: whoosh_index.Index) -> SegmentWriter:
    """The index's writer: it takes the write lock at once, so a second index run fails fast.
    Segments are written as separate files, not whoosh's compound file: a reader copies each part of
    a compound file it opens into its own memory (postings, stored records, columns: 60 MB per
    process at 10,000 speeches), where separate files are read through the page cache that every
    process shares."""
    try:
        return SegmentWriter(ix, codec=_codec(), compound=False)
    except LockError:
        raise IndexBusy(
            "another `archive index` run is updating this index; wait for it to finish "
            "(searching works meanwhile)"
        ) from None


def manifest(ix: whoosh_index.Index) -> dict[str, ManifestEntry]:
    """path -> entry for every indexed file, read from whoosh's columns (no stored records unpickled)."""
    entries: dict[str, ManifestEntry] = {}
    with ix.reader() as reader:
        if reader.doc_count() == 0:
            return entries
        columns = {name: reader.column_reader(name) for name in ("path", "kind", "sha256", "size", "mtime_ns", "extractor")}
        for docnum in reader.all_doc_ids():
            entries[columns["path"][docnum]] = ManifestEntry(
                kind=columns["kind"][docnum],
                sha256=columns["sha256"][docnum],
                size=int(columns["size"][docnum]),
                mtime_ns=int(columns["mtime_ns"][docnum]),
                extractor=int(columns["extractor"][docnum]),
            )
    return entries


def save_snapshot(location: Path, ix: whoosh_index.Index, *, side_files: bool) -> None:
    """After a commit: the manifest of what it holds, for the next run, and its segments, for a
    search that opens no whoosh (archive.search.snapshot); `side_files`: written after
    write_side_files."""
    generation = ix.latest_generation()
    with ix.reader() as reader:
        reasons = {failure["path"]: failure["reason"] for failure in summaries(reader, "failed")}
        segments = [SegmentEntry(leaf.segment().segment_id(), leaf.doc_count_all(), _deleted(leaf))
                    for leaf, _ in reader.leaf_readers() if leaf.segment() is not None]
    snapshot.save(location, generation, manifest(ix), reasons, side_files=side_files)
    snapshot.save_segments(location, generation, segments, side_files=side_files)


def _deleted(leaf: Any) -> frozenset[int]:
    if not leaf.has_deletions():
        return frozenset()
    return frozenset(range(leaf.doc_count_all())) - frozenset(leaf.all_doc_ids())


def summaries(reader, kind: str) -> list[dict[str, Any]]:
    """The listing metadata (or a failure's path and reason) of every document of a kind, from the
    `summary` column: no stored record (paragraphs and all) is unpickled."""
    if reader.doc_count() == 0:
        return []
    kinds = reader.column_reader("kind")
    column = reader.column_reader("summary")
    return [json.loads(column[docnum]) for docnum in reader.all_doc_ids() if kinds[docnum] == kind]


def record_by_content(ix: whoosh_index.Index, sha256: str, file_format: str) -> dict[str, Any] | None:
    """The stored record of an indexed document with this content and format, to reuse for a
    renamed or copied file."""
    with ix.searcher() as searcher:
        kinds, stored = searcher.reader().column_reader("kind"), None
        for docnum in searcher.document_numbers(sha256=sha256):
            if kinds[docnum] == "doc":
                stored = stored or searcher.reader().column_reader("record")
                record = records.decoded(stored[docnum])
                if record.get("format") == file_format:
                    return record
    return None


def refreshed(ix: whoosh_index.Index, searcher: Searcher) -> Searcher:
    """A searcher on the newest commit that keeps the open readers (and their caches) of segments
    that did not change.

    whoosh's own Searcher.refresh() reuses a segment's reader when the segment id matches, even if
    documents of that segment were deleted since: a long-running server would keep finding deleted
    files and the old versions of changed ones. Here a reader is kept only if its segment's
    deletions are the same too.
    """
    if searcher.up_to_date():
        return searcher
    newest = ix.reader()
    kept = {r.segment().segment_id(): r for r, _ in searcher.reader().leaf_readers() if r.segment() is not None}
    readers = []
    for reader, _ in newest.leaf_readers():
        segment = reader.segment()
        old = kept.get(segment.segment_id()) if segment is not None else None
        if old is not None and old.segment().deleted_count() == segment.deleted_count():
            readers.append(kept.pop(segment.segment_id()))
            reader.close()
        else:
            readers.append(reader)
    for unused in kept.values():
        unused.close()
    if len(readers) == 1:
        combined = readers[0]
    elif readers:
        combined = MultiReader(readers, generation=newest.generation())
    else:
        combined = newest  # an empty index
    return Searcher(combined, fromindex=ix)
