"""A segment's normalised texts and their suffix arrays, in one memory-mapped file.

Why: finding which documents hold a phrase by confirming candidates reads every candidate's text,
and in speeches a common formulation stands in half of them; and each server process kept every
text in memory (60 MB per 10,000 speeches, per process). A suffix array answers "where does this
string stand" with a binary search, whatever the string (one character, a rare name, a formulation
in every speech), and a memory-mapped file is read from the page cache that every process shares.

Format (`<segment id>.sfx`, next to the segment's files; index/README.md): the texts as UTF-16LE
code units, each document followed by one NUL unit (normalised text holds none: it is replaced, so
no match spans two documents), cut into chunks of whole documents of at most CHUNK_UNITS units so
building one needs bounded memory; per chunk, its text and the sorted start positions (uint32,
units) of its suffixes. A header and a table at the end say where each part is. The file is written
to a temporary name and renamed, so a reader sees a whole file or none, and a reader that finds
none (an older index, a run killed before it was written) confirms candidates the old way
(archive.search.phrase).
"""

from __future__ import annotations

import mmap
import os
import struct
import sys
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from pathlib import Path
from typing import Any

MAGIC = b"ARCHSFX1"
SUFFIX = ".sfx"
CHUNK_UNITS = 16 * 1024 * 1024  # 32 MB of text per chunk: building one holds ~200 MB at most
_HEADER = struct.Struct("<8sQQQ")  # magic, documents, chunks, offset of the table
_CHUNK = struct.Struct("<QQQQQ")  # first document, end document, first unit, units, offset of text
# Occurrences are mapped to documents in Python (a fraction of a microsecond each) or with numpy
# (a hundredth of that, but importing numpy costs a command 70 ms): numpy from this many occurrences
# once it is imported (a server imports it when it starts), from the second number before (a
# hundred thousand occurrences take about as long in Python as the import).
NUMPY_FROM = 256
NUMPY_IMPORT_FROM = 100_000
_HIGH_SURROGATES = "".join(map(chr, range(0xD800, 0xDC00)))  # a window's edge may cut a pair
_LOW_SURROGATES = "".join(map(chr, range(0xDC00, 0xE000)))
_BLOCK_BITS = 10  # occurrences are mapped to documents through the document at every 2**10th unit


def path_for(folder: Path, segment_id: str) -> Path:
    return folder / f"{segment_id}{SUFFIX}"


def _encoded(text: str) -> bytes:
    return text.replace("\x00", "\x01").encode("utf-16-le") + b"\x00\x00"


def _sorted_suffixes(text: bytes) -> bytes:
    """The start positions (in code units) of the text's suffixes, sorted by their bytes."""
    import numpy as np
    from pydivsufsort import divsufsort

    positions = divsufsort(np.frombuffer(bytearray(text), dtype=np.uint8))
    return (positions[(positions & 1) == 0] >> 1).astype("<u4").tobytes()


def write(path: Path, texts: Iterable[str], *, chunk_units: int = CHUNK_UNITS) -> None:
    """Write the file for a segment whose documents' normalised texts are `texts`, in docnum order."""
    temporary = path.with_name(path.name + ".tmp")
    starts = array("Q", [0])
    table: list[tuple[int, int, int, int, int]] = []
    with open(temporary, "wb") as out:
        out.write(_HEADER.pack(MAGIC, 0, 0, 0))
        pending: list[bytes] = []
        first_doc = first_unit = 0

        def flush() -> None:
            nonlocal first_doc, first_unit
            if not pending:
                return
            text = b"".join(pending)
            units = len(text) // 2
            offset = out.tell()
            out.write(text)
            out.write(_sorted_suffixes(text))
            table.append((first_doc, len(starts) - 1, first_unit, units, offset))
            first_doc, first_unit = len(starts) - 1, first_unit + units
            pending.clear()

        size = 0
        for text in texts:
            encoded = _encoded(text)
            if pending and size + len(encoded) > 2 * chunk_units:
                flush()
                size = 0
            pending.append(encoded)
            size += len(encoded)
            starts.append(starts[-1] + len(encoded) // 2)
        flush()
        table_offset = out.tell()
        for row in table:
            out.write(_CHUNK.pack(*row))
        out.write(starts.tobytes())
        out.seek(0)
        out.write(_HEADER.pack(MAGIC, len(starts) - 1, len(table), table_offset))
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)


class WrittenAhead:
    """A segment's suffix file written in a thread while whoosh commits the segment (or, after a
    checkpoint, while the run goes on). The sort runs in C without the GIL (pydivsufsort calls
    libdivsufsort through ctypes), so it takes the second core while the writer's Python works: at
    a run's end the two were done one after the other, on one core.

    The texts are those the writer added, in order; whoosh numbers a new segment's documents in
    that order, and a merge only appends documents after them, so the file is the segment's if the
    committed segment has as many documents, and is discarded otherwise. A failure here is not
    reported: the commit's write_side_files then writes the file from the segment's column, and
    reports what fails there.
    """

    def __init__(self, path: Path, texts: list[str]) -> None:
        self.path, self.doc_count = path, len(texts)
        self._thread = threading.Thread(target=self._write, args=(texts,), name=f"suffixes {path.name}", daemon=True)
        self._thread.start()

    def _write(self, texts: list[str]) -> None:
        try:
            write(self.path, texts)
        except Exception:  # never a thread's traceback on a user's screen: see above
            self.path.with_name(self.path.name + ".tmp").unlink(missing_ok=True)

    def wait(self) -> None:
        self._thread.join()

    def discard(self) -> None:
        """Drop the file: merging made the committed segment more than these texts."""
        self.wait()
        self.path.unlink(missing_ok=True)


def _in_bulk(occurrences: int) -> bool:
    """Whether to map this many occurrences to documents with numpy rather than in Python."""
    return occurrences >= (NUMPY_FROM if "numpy" in sys.modules else NUMPY_IMPORT_FROM)


def without_cut_pairs(window: str) -> str:
    """A window of UTF-16 text decoded with surrogatepass, less the halves of a character outside
    the BMP that its edges cut."""
    return window.lstrip(_LOW_SURROGATES).rstrip(_HIGH_SURROGATES)


def overlaps_itself(needle: str) -> bool:
    """Whether two occurrences of `needle` can overlap: some proper prefix is also a suffix."""
    return any(needle[:size] == needle[-size:] for size in range(1, len(needle)))


def warm() -> None:
    """Import numpy now (a tenth of a second), not in a server's first search with many occurrences."""
    import numpy  # noqa: F401


def whole(path: Path, doc_count: int) -> SuffixFile | None:
    """The suffix file at `path` if it is a whole one of `doc_count` documents, else None (none
    there, cut short, damaged, or another segment's)."""
    try:
        found = SuffixFile(path)
    except (OSError, ValueError, struct.error):
        return None
    return found if found.doc_count == doc_count else None


class _Chunk:
    __slots__ = ("end_doc", "first_doc", "first_unit", "suffixes", "suffixes_offset", "text_offset", "units")

    def __init__(self, view: memoryview, first_doc: int, end_doc: int, first_unit: int, units: int, offset: int):
        self.first_doc, self.end_doc, self.first_unit, self.units = first_doc, end_doc, first_unit, units
        self.text_offset = offset
        self.suffixes_offset = offset + 2 * units
        self.suffixes = view[self.suffixes_offset : self.suffixes_offset + 4 * units].cast("I")


class SuffixFile:
    """One segment's file, mapped read-only. Raises ValueError when it is not a whole file."""

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as file:
            self._map = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        magic, self.doc_count, chunks, table_offset = _HEADER.unpack_from(self._map, 0)
        end = table_offset + chunks * _CHUNK.size + 8 * (self.doc_count + 1)
        rows = [_CHUNK.unpack_from(self._map, table_offset + n * _CHUNK.size) for n in range(chunks)] \
            if magic == MAGIC and end == len(self._map) else None
        if rows is None or any(offset + 6 * units > table_offset for _, _, _, units, offset in rows):
            self._map.close()
            raise ValueError(f"{path.name} is not a whole suffix file")
        view = memoryview(self._map)
        self._chunks = [_Chunk(view, *row) for row in rows]
        self._first_docs = [chunk.first_doc for chunk in self._chunks]
        self._lookups: dict[int, tuple[Any, Any]] = {}  # chunk's first docnum -> (starts, table), numpy
        self._starts_offset = table_offset + chunks * _CHUNK.size
        self.starts = view[self._starts_offset : end].cast("Q")

    def text(self, docnum: int) -> str:
        """The document's normalised text."""
        start, end = self.starts[docnum], self.starts[docnum + 1] - 1
        offset = self._offset(self._chunks[self._chunk_of(docnum)], start)
        return self._map[offset : offset + 2 * (end - start)].decode("utf-16-le")

    def _chunk_of(self, docnum: int) -> int:
        return bisect_right(self._first_docs, docnum) - 1

    @staticmethod
    def _offset(chunk: _Chunk, unit: int) -> int:
        """Where a unit of the segment's text (counted from its first) stands in the file."""
        return chunk.text_offset + 2 * (unit - chunk.first_unit)

    def _range(self, chunk: _Chunk, needle: bytes) -> tuple[int, int]:
        """The suffixes of the chunk that start with `needle`: a slice of its sorted suffixes."""
        text, base, length, suffixes = self._map, chunk.text_offset, len(needle), chunk.suffixes

        def key(index: int) -> bytes:
            start = base + 2 * suffixes[index]
            return text[start : start + length]

        low = bisect_left(range(chunk.units), needle, key=key)
        high = bisect_right(range(low, chunk.units), needle, key=key) + low
        return low, high

    def _ranges(self, needle: bytes) -> list[tuple[_Chunk, int, int]]:
        """Each chunk with its slice of suffixes that start with `needle` (see _range)."""
        return [(chunk, *self._range(chunk, needle)) for chunk in self._chunks]

    def occurrences(self, needle: str) -> int:
        """How many times `needle` stands in the segment (overlaps included): two binary searches
        per chunk, no occurrence read."""
        return sum(high - low for _, low, high in self._ranges(needle.encode("utf-16-le")))

    def holds(self, needle: str, docnum: int) -> bool:
        """Whether one document's text holds `needle`: searched in the mapped bytes, not decoded (a
        match at an odd byte offset straddles two characters and is passed over)."""
        chunk = self._chunks[self._chunk_of(docnum)]
        start, end = self._offset(chunk, self.starts[docnum]), self._offset(chunk, self.starts[docnum + 1])
        encoded = needle.encode("utf-16-le")
        found = self._map.find(encoded, start, end)
        while found >= 0 and (found - start) & 1:
            found = self._map.find(encoded, found + 1, end)
        return found >= 0

    def windows(self, needle: str, reach: int, limit: int) -> list[tuple[int, str]]:
        """Up to `limit` occurrences of `needle`, spread evenly over all of them (they are in suffix
        order: by what follows them), each as (docnum, its document's text from `reach` code units
        before it to `reach` after it; a character outside the BMP cut in two there is left out).
        What "did you mean" looks at, instead of whole texts."""
        encoded = needle.encode("utf-16-le")
        ranges = self._ranges(encoded)
        total = sum(high - low for _, low, high in ranges)
        wanted = min(limit, total)
        ordinals = iter([number * total // wanted for number in range(wanted)] if wanted > 0 else [])
        found: list[tuple[int, str]] = []
        ordinal, passed = next(ordinals, None), 0
        for chunk, low, high in ranges:
            while ordinal is not None and ordinal < passed + high - low:
                position = chunk.suffixes[low + ordinal - passed]
                docnum = self._docnum(chunk, position)
                unit = chunk.first_unit + position
                start = max(unit - reach, self.starts[docnum])
                end = min(unit + len(encoded) // 2 + reach, self.starts[docnum + 1] - 1)
                offset = self._offset(chunk, start)
                window = self._map[offset : offset + 2 * (end - start)].decode("utf-16-le", "surrogatepass")
                found.append((docnum, without_cut_pairs(window)))
                ordinal = next(ordinals, None)
            passed += high - low
        return found

    def documents(self, needle: str) -> int:
        """The documents holding `needle`, as a bitmap (bit n: docnum n)."""
        encoded = needle.encode("utf-16-le")
        ranges = self._ranges(encoded)
        total = sum(high - low for _, low, high in ranges)
        if not _in_bulk(total):
            flags = bytearray(self.doc_count // 8 + 1)
            for chunk, low, high in ranges:
                for position in chunk.suffixes[low:high]:
                    docnum = self._docnum(chunk, position)
                    flags[docnum >> 3] |= 1 << (docnum & 7)
            return int.from_bytes(flags, "little")
        import numpy as np

        held = np.zeros(self.doc_count + 8, dtype=bool)
        for chunk, low, high in ranges:
            if high > low:
                held[self._documents_of(chunk, low, high)] = True
        return int.from_bytes(np.packbits(held, bitorder="little").tobytes(), "little")

    def counts(self, needle: str) -> dict[int, int]:
        """docnum -> occurrences of `needle` (not empty, no NUL), for every document holding it,
        counted as str.count does: occurrences that overlap an earlier one are not counted."""
        encoded = needle.encode("utf-16-le")
        if overlaps_itself(needle):
            return self._counted_apart(encoded)
        found: dict[int, int] = {}
        for chunk, low, high in self._ranges(encoded):
            if _in_bulk(high - low):
                found.update(self._counted_in_bulk(chunk, low, high))
                continue
            for position in chunk.suffixes[low:high]:
                docnum = self._docnum(chunk, position)
                found[docnum] = found.get(docnum, 0) + 1
        return found

    def _docnum(self, chunk: _Chunk, position: int) -> int:
        """The document a position of the chunk's text falls in (in Python: see _in_bulk)."""
        return bisect_right(self.starts, chunk.first_unit + position, chunk.first_doc, chunk.end_doc + 1) - 1

    def _counted_apart(self, encoded: bytes) -> dict[int, int]:
        """Counts of a needle that can overlap itself (改革改 in 改革改革改革): its occurrences in
        text order, each counted only if it starts after the last counted one ends."""
        length = len(encoded) // 2
        positions: dict[int, list[int]] = {}
        for chunk, low, high in self._ranges(encoded):
            for position in chunk.suffixes[low:high]:
                positions.setdefault(self._docnum(chunk, position), []).append(chunk.first_unit + position)
        found = {}
        for docnum, units in positions.items():
            count, free = 0, -1
            for unit in sorted(units):
                if unit >= free:
                    count, free = count + 1, unit + length
            found[docnum] = count
        return found

    def _documents_of(self, chunk: _Chunk, low: int, high: int) -> Any:
        """The docnum of each occurrence of a slice of the chunk's sorted suffixes (numpy): looked
        up in a table of the document at every 1,024th unit, then corrected where a document
        starts between (a speech is longer than that: one comparison each); 4x a binary search."""
        import numpy as np

        positions = np.frombuffer(self._map, dtype="<u4", count=high - low, offset=chunk.suffixes_offset + 4 * low)
        starts, table = self._lookup(chunk)
        docs = table[positions >> _BLOCK_BITS]
        later = np.flatnonzero(starts[docs + 1] <= positions)
        if len(later):
            docs[later] = np.searchsorted(starts, positions[later], side="right") - 1
        return docs + chunk.first_doc

    def _lookup(self, chunk: _Chunk) -> tuple[Any, Any]:
        """The chunk's document starts (units within it) and the document at every 1,024th unit."""
        found = self._lookups.get(chunk.first_doc)
        if found is None:
            import numpy as np

            starts = np.frombuffer(self._map, dtype="<u8", count=chunk.end_doc - chunk.first_doc + 1,
                                   offset=self._starts_offset + 8 * chunk.first_doc)
            local = (starts - chunk.first_unit).astype("<u4")
            every = np.arange(0, chunk.units, 1 << _BLOCK_BITS, dtype="<u4")
            table = (np.searchsorted(local, every, side="right") - 1).astype(np.int64)
            found = self._lookups[chunk.first_doc] = (local, table)
        return found

    def _counted_in_bulk(self, chunk: _Chunk, low: int, high: int) -> dict[int, int]:
        import numpy as np

        docs = self._documents_of(chunk, low, high) - chunk.first_doc
        counts = np.bincount(docs, minlength=chunk.end_doc - chunk.first_doc)
        held = np.flatnonzero(counts)
        return dict(zip((held + chunk.first_doc).tolist(), counts[held].tolist(), strict=True))
