"""A segment's stored records in one memory-mapped file of our own, beside its suffix file.

Why: a quoted search as a command (archive.search.quick) needs, besides the suffix file, only the
records of the ten speeches on its page; reading them through whoosh means importing whoosh, which
costs a cold command more than the search. The records stay in whoosh's `record` column too (a
segment a checkpoint committed has no side files until the run's last commit), uncompressed: whoosh
compressed each stored record in the one writer process, and decompressing them again to write this
file cost as much.

Format (`<segment id>.rec`; index/README.md): a header (magic, documents, bytes of paths), then per
document its date key (int64), where its record starts and where its path starts (uint64, one more
for the end), then the CRC-32 of each record (uint32), then one byte per document (1: a readable
document, 0: a file that could not be read), then the paths (UTF-8), then the records, each a
pickled dict (Document.to_record()). Written to a temporary name and renamed, like suffix files.

Each record is checked against its CRC when it is read: a block of the file zeroed or overwritten
by a failing disk would otherwise unpickle as another text (or none) and be shown as a speech;
checking the ten records of a page costs microseconds, where hashing whole files at every search
would cost more than the search.
"""

from __future__ import annotations

import mmap
import os
import pickle
import struct
import zlib
from array import array
from collections.abc import Iterable
from itertools import pairwise
from pathlib import Path
from typing import Any

MAGIC = b"ARCHREC3"  # 3: a CRC-32 per record
SUFFIX = ".rec"
_HEADER = struct.Struct("<8sQQ")  # magic, documents, bytes of paths


def path_for(folder: Path, segment_id: str) -> Path:
    return folder / f"{segment_id}{SUFFIX}"


def encoded(record: dict[str, Any]) -> bytes:
    """A record as the file (and whoosh's stored field) keeps it."""
    return pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)


def decoded(stored: bytes) -> dict[str, Any]:
    found: dict[str, Any] = pickle.loads(stored)
    return found


def write(path: Path, rows: Iterable[tuple[str, bool, int, bytes]]) -> None:
    """Write the file for a segment whose documents are `rows` in docnum order: (path, readable,
    date key, encoded record)."""
    readable = bytearray()
    dates, starts, path_starts, crcs = array("q"), array("Q", [0]), array("Q", [0]), array("I")
    paths: list[bytes] = []
    blobs: list[bytes] = []
    for file_path, is_document, date_key, record in rows:
        readable.append(1 if is_document else 0)
        dates.append(date_key)
        starts.append(starts[-1] + len(record))
        crcs.append(zlib.crc32(record))
        blobs.append(record)
        paths.append(file_path.encode("utf-8"))
        path_starts.append(path_starts[-1] + len(paths[-1]))
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as out:
        out.write(_HEADER.pack(MAGIC, len(dates), path_starts[-1]))
        for part in (dates.tobytes(), starts.tobytes(), path_starts.tobytes(), crcs.tobytes(), bytes(readable),
                     *paths, *blobs):
            out.write(part)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)


class RecordFile:
    """One segment's records, read through a memory map (the page cache every process shares)."""

    def __init__(self, path: Path) -> None:
        self._name = path.name
        with open(path, "rb") as handle:
            self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        view = memoryview(self._map)
        magic, self.doc_count, path_bytes = _HEADER.unpack_from(view)
        if magic != MAGIC:
            raise ValueError(f"{path.name} is not a records file of this version")
        count = self.doc_count
        at = _HEADER.size
        self.date_keys = view[at : at + 8 * count].cast("q")
        at += 8 * count
        self._starts = view[at : at + 8 * (count + 1)].cast("Q")
        at += 8 * (count + 1)
        self._path_starts = view[at : at + 8 * (count + 1)].cast("Q")
        at += 8 * (count + 1)
        self._crcs = view[at : at + 4 * count].cast("I")
        at += 4 * count
        self._readable = view[at : at + count]
        self._paths = at + count
        self._records = self._paths + path_bytes
        if len(self._readable) != count or self._records + (self._starts[count] if count else 0) != len(view):
            raise ValueError(f"{path.name} is cut short")

    def path(self, docnum: int) -> str:
        return self.path_bytes(docnum).decode("utf-8")

    def path_bytes(self, docnum: int) -> bytes:
        """The path as UTF-8, which sorts as the path does (by code point)."""
        start, end = self._path_starts[docnum], self._path_starts[docnum + 1]
        return self._map[self._paths + start : self._paths + end]

    def all_path_bytes(self) -> list[bytes]:
        """Every document's path as UTF-8, in docnum order (one slice of the file, cut up)."""
        paths = self._map[self._paths : self._records]
        starts = self._path_starts.tolist()
        return [paths[start:end] for start, end in pairwise(starts)]

    def readable(self, docnum: int) -> bool:
        """Whether the document is a readable one (not a file that could not be read)."""
        return bool(self._readable[docnum])

    def record(self, docnum: int) -> dict[str, Any]:
        """The document's record; ValueError if its bytes are not those written (see above)."""
        stored = self._map[self._records + self._starts[docnum] : self._records + self._starts[docnum + 1]]
        if zlib.crc32(stored) != self._crcs[docnum]:
            raise ValueError(f"a record in {self._name} is not what was written (its checksum differs)")
        found: dict[str, Any] = pickle.loads(stored)
        return found


def whole(path: Path, doc_count: int) -> RecordFile | None:
    """The records file at `path` if it is a whole one of `doc_count` documents, else None."""
    try:
        found = RecordFile(path)
    except (OSError, ValueError, struct.error, TypeError):
        return None
    return found if found.doc_count == doc_count else None
