"""The on-disk index: where it lives, its schema version, opening it to read and to write.

Layout (documented in index/README.md): `<index>/whoosh-v<SCHEMA_VERSION>/` holds the whoosh index.
whoosh commits atomically (a new table of contents is written last), so a run killed at any moment
leaves the last committed index readable; readers never wait for a writer.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.index import EmptyIndexError, LockError
from whoosh.reading import MultiReader
from whoosh.searching import Searcher
from whoosh.codec.whoosh3 import W3Codec

from archive.errors import IndexBusy, IndexMissing
from archive.search.bulkwriter import BulkSegmentWriter, SplitWriter
from archive.search.schema import SCHEMA_VERSION, build_schema

INDEX_NAME = "MAIN"
ROOTS_FILE = "folders.json"
_VERSION_DIR = re.compile(r"^whoosh-v(\d+)$")


def data_dir(location: Path) -> Path:
    return location / f"whoosh-v{SCHEMA_VERSION}"


def other_versions(location: Path) -> list[Path]:
    if not location.is_dir():
        return []
    return [p for p in location.iterdir() if _VERSION_DIR.match(p.name) and p.name != data_dir(location).name]


def open_for_reading(location: Path) -> whoosh_index.Index:
    folder = data_dir(location)
    try:
        return whoosh_index.open_dir(str(folder), indexname=INDEX_NAME)
    except (EmptyIndexError, FileNotFoundError, OSError):
        if other_versions(location):
            raise IndexMissing(
                f"the index at {location} was built by another version of archive: "
                "run `archive index` (with your folders) to rebuild it"
            ) from None
        raise IndexMissing(f"no index at {location}: run `archive index FOLDER` first (or pass --index DIR)") from None


def open_for_writing(location: Path) -> whoosh_index.Index:
    """Open the index, creating it (and its folder) on first use."""
    folder = data_dir(location)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise IndexMissing(f"cannot create the index at {location}: {error.strerror}") from None
    if whoosh_index.exists_in(str(folder), indexname=INDEX_NAME):
        return whoosh_index.open_dir(str(folder), indexname=INDEX_NAME)
    return whoosh_index.create_in(str(folder), build_schema(), indexname=INDEX_NAME)


def indexed_folders(location: Path) -> list[str]:
    """The folders `archive index` was given, so exports are not written where they would be indexed."""
    try:
        return json.loads((location / ROOTS_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return []


def remember_folders(location: Path, roots: list[str]) -> None:
    known = indexed_folders(location)
    merged = known + [root for root in roots if root not in known]
    if merged != known:
        temporary = location / f"{ROOTS_FILE}.tmp"
        temporary.write_text(json.dumps(merged, ensure_ascii=False, indent=1), "utf-8")
        os.replace(temporary, location / ROOTS_FILE)


def drop_other_versions(location: Path) -> None:
    """After the current version's index is committed, indexes of other versions are dead weight."""
    for folder in other_versions(location):
        shutil.rmtree(folder, ignore_errors=True)


def _codec() -> W3Codec:
    """whoosh's codec without zlib on posting blocks: commits take a third less time (and queries
    decode faster) for an index about twice the size, a few hundred MB at 10,000 speeches."""
    return W3Codec(compression=0)


def writer(ix: whoosh_index.Index, *, split: bool = False) -> BulkSegmentWriter | SplitWriter:
    """The index's writer (archive.search.bulkwriter): it takes the write lock at once, so a
    second index run fails fast. `split`: two segments written at once at commit (a large run)."""
    try:
        return SplitWriter(ix, codec=_codec()) if split else BulkSegmentWriter(ix, codec=_codec())
    except LockError:
        raise IndexBusy(
            "another `archive index` run is updating this index; wait for it to finish "
            "(searching works meanwhile)"
        ) from None


@dataclass(frozen=True)
class ManifestEntry:
    """What the index remembers of a file to decide, without opening it, whether it changed."""

    kind: str
    sha256: str
    size: int
    mtime_ns: int
    extractor: int


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
        for fields in searcher.documents(sha256=sha256):
            if fields.get("kind") == "doc" and fields["record"].get("format") == file_format:
                return fields["record"]
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


def split(ix: whoosh_index.Index, writer: BulkSegmentWriter) -> SplitWriter:
    """Pair the writer (its lock and deletions kept) with a second one (see SplitWriter)."""
    return SplitWriter(ix, first=writer, codec=_codec())
