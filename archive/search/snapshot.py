"""What the last commit left, read without opening the index: the manifest of every indexed file.

An `archive index` run over a folder where nothing changed (the usual re-run, and most of the
watcher's rescans) needs only to compare each file's size and modification time with this. The
embedded index writes it after every commit, as one small file beside its segments, stamped with
the generation of the table of contents it describes; a file whose stamp is not the newest table of
contents (a run killed between its commit and this file) is not used. No whoosh import here: that
alone costs a cold command a tenth of a second.

Beside it, the commit's segments (`segments.json`): what a quoted search that opens no whoosh
(archive.search.quick) needs to find each segment's side files and its deleted documents.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archive.errors import IndexDamaged

SCHEMA_VERSION = 5  # the embedded index's schema (archive.search.schema): 5 keeps records in a column
INDEX_NAME = "MAIN"
SNAPSHOT_FILE = "manifest.json"
# The side files' formats (suffixes.MAGIC, records.MAGIC): a snapshot of other ones is not used, so
# the next run, even over an unchanged folder, writes them again. Written out, not imported: this
# module is read by every cold command, and records imports pickle (tests/test_quick.py keeps the two
# in step).
SIDE_FILES = "ARCHSFX1+ARCHREC3"
SEGMENTS_FILE = "segments.json"  # the segments of the commit, for a search that opens no whoosh
ROOTS_FILE = "folders.json"  # beside the index: the folders `archive index` was given
VERSIONS_FILE = "versions.json"  # beside the index: archive.versions' groups
_TOC = re.compile(rf"^_{INDEX_NAME}_(\d+)\.toc$")
# whoosh's segment files and the side files beside them (suffixes, records); not a side file still
# being written (`.tmp`: a thread may write one while a checkpoint lists the folder)
SEGMENT_FILE = re.compile(rf"^{INDEX_NAME}_[0-9a-z]+\.[A-Za-z0-9_.]+(?<!\.tmp)$")


@dataclass(frozen=True)
class ManifestEntry:
    """What the index remembers of a file to decide, without opening it, whether it changed."""

    kind: str  # "doc", or "failed" for a file that could not be read
    sha256: str
    size: int
    mtime_ns: int
    extractor: int


@dataclass
class Snapshot:
    entries: dict[str, ManifestEntry]
    reasons: dict[str, str] = field(default_factory=dict)  # why each failed file could not be read
    folders: list[str] = field(default_factory=list)  # the folders indexed
    version_groups: bool = False  # archive.versions' groups were saved after the last change


_REPAIR = "run `archive index --rebuild` to rebuild it from your folders"


def damaged(location: Path, error: BaseException) -> IndexDamaged:
    detail = str(error).splitlines()[0][:100] if str(error) else ""
    return IndexDamaged(f"the index at {location} is damaged ({type(error).__name__}{': ' + detail if detail else ''}): "
                        f"{_REPAIR}")


@dataclass(frozen=True)
class SegmentEntry:
    """One segment of a commit, in whoosh's order (a document's number in the index is its number in
    its segment plus the documents of the segments before it)."""

    segment_id: str
    doc_count: int  # documents written to it, deleted ones included
    deleted: frozenset[int]  # their numbers in the segment


def data_dir(location: Path) -> Path:
    """The folder of the embedded index's files for this schema version."""
    return location / f"whoosh-v{SCHEMA_VERSION}"


def newest_generation(location: Path) -> int | None:
    try:
        names = os.listdir(data_dir(location))
    except OSError:
        return None
    found = [int(match.group(1)) for match in map(_TOC.match, names) if match]
    return max(found) if found else None


def save(location: Path, generation: int, entries: dict[str, ManifestEntry], reasons: dict[str, str], *,
         side_files: bool) -> None:
    """`side_files`: every segment has its suffix and records files, in today's formats. A snapshot
    without them (a checkpoint's, or one an older version wrote) is not used, so the next run
    commits, and writes them (whoever reads a side file of another format reads whoosh instead)."""
    rows = [[path, e.kind, e.sha256, e.size, e.mtime_ns, e.extractor, reasons.get(path)] for path, e in entries.items()]
    temporary = data_dir(location) / f"{SNAPSHOT_FILE}.{os.getpid()}.tmp"
    saved = {"generation": generation, "side_files": SIDE_FILES if side_files else None, "files": rows}
    temporary.write_text(json.dumps(saved, ensure_ascii=False), "utf-8")
    os.replace(temporary, data_dir(location) / SNAPSHOT_FILE)


def save_segments(location: Path, generation: int, segments: list[SegmentEntry], *, side_files: bool) -> None:
    """`side_files`: every segment has its suffix and records files (written at a run's last
    commit). The size of every segment file is kept too: a search that opens no whoosh leaves an
    index whose files are not as the commit left them (cut short, deleted) to the engine to judge."""
    folder = data_dir(location)
    rows = [[entry.segment_id, entry.doc_count, sorted(entry.deleted)] for entry in segments]
    sizes = {path.name: path.stat().st_size for path in folder.iterdir()
             if SEGMENT_FILE.match(path.name) or path.name == f"_{INDEX_NAME}_{generation}.toc"}
    temporary = folder / f"{SEGMENTS_FILE}.{os.getpid()}.tmp"
    temporary.write_text(json.dumps({"generation": generation, "side_files": side_files, "segments": rows,
                                     "sizes": sizes}), "utf-8")
    os.replace(temporary, folder / SEGMENTS_FILE)


def last_segments(location: Path) -> tuple[int, list[SegmentEntry]] | None:
    """The newest commit's generation and segments, when that commit wrote every segment's side
    files and its files are all there at the sizes it left; None otherwise (then whoosh is asked)."""
    folder = data_dir(location)
    try:
        saved = json.loads((folder / SEGMENTS_FILE).read_text("utf-8"))
        if saved["side_files"] is not True or saved["generation"] != newest_generation(location):
            return None
        if any(os.stat(folder / name).st_size != size for name, size in saved["sizes"].items()):
            return None
        return saved["generation"], [SegmentEntry(str(row[0]), int(row[1]), frozenset(row[2])) for row in saved["segments"]]
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None


_versions_cache: dict[Path, tuple[float, dict[str, Any]]] = {}


def version_groups(location: Path) -> dict[str, Any]:
    """The versions file beside the index, read again only when it changed."""
    path = location / VERSIONS_FILE
    try:
        stamp = path.stat().st_mtime
    except OSError:
        return {}
    cached = _versions_cache.get(location)
    if cached is None or cached[0] != stamp:
        try:
            cached = (stamp, json.loads(path.read_text("utf-8")))
        except (OSError, ValueError):
            cached = (stamp, {})
        _versions_cache[location] = cached
    return cached[1]


def indexed_folders(location: Path) -> list[str]:
    try:
        folders: list[str] = json.loads((location / ROOTS_FILE).read_text("utf-8"))
        return folders
    except (OSError, ValueError):
        return []


def _being_written(location: Path) -> bool:
    """Whether an `archive index` run holds the index's write lock (whoosh's flock on MAIN_WRITELOCK)."""
    import fcntl

    try:
        handle = os.open(data_dir(location) / f"{INDEX_NAME}_WRITELOCK", os.O_WRONLY)
    except OSError:
        return False  # never written: nobody holds it
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False
    except OSError:
        return True
    finally:
        os.close(handle)


def has_version_groups(location: Path) -> bool:
    return (location / VERSIONS_FILE).exists()


def load(location: Path) -> Snapshot | None:
    """The snapshot of the newest commit, or None (none written, stale, unreadable, written before
    the suffix files, or a run is writing the index now: it is then for open_update to say so)."""
    if _being_written(location):
        return None
    try:
        saved = json.loads((data_dir(location) / SNAPSHOT_FILE).read_text("utf-8"))
        if saved["generation"] != newest_generation(location) or saved.get("side_files") != SIDE_FILES:
            return None
        entries = {row[0]: ManifestEntry(row[1], row[2], row[3], row[4], row[5]) for row in saved["files"]}
        reasons = {row[0]: row[6] for row in saved["files"] if row[6] is not None}
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None
    return Snapshot(entries, reasons, indexed_folders(location), has_version_groups(location))
