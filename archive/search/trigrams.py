"""Where each three-character string stands in a run of texts: positional postings that find a
phrase exactly without reading a text. The PostgreSQL engine keeps them in the database.

Why: PostgreSQL's trigram index names the speeches that may hold a phrase, and the server then reads
each one's text to confirm it. A formulation in half of 100,000 speeches meant reading 50,000
texts (about a second); a phrase of common parts ("扎实推进" + "乡村振兴") as many. Here every
position of every trigram is kept, so a phrase's occurrences are the positions where trigrams
covering it stand one after another: an intersection of sorted arrays, as long as its rarest part.

A chunk: documents' texts as UTF-16 code units (what Python and the embedded engine's suffix files
count in), each followed by a NUL unit, at most CHUNK_UNITS units; for each distinct trigram
(three units packed in 48 bits, none a NUL, so none spans two documents), ascending, the sorted
positions where it starts. Stored as five byte strings (Chunk); a reader keeps `sample` (every
BLOCK-th key, a few bytes per thousand trigrams) and reads only the blocks of keys and the
positions it needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

CHUNK_UNITS = 8 * 1024 * 1024  # building one holds about 26 bytes per unit: 220 MB
BLOCK = 256  # keys per block a reader fetches to find one trigram


@dataclass(frozen=True)
class Chunk:
    """The postings of consecutive documents' texts (little-endian arrays as bytes)."""

    starts: bytes  # uint32 × (documents + 1): where each text starts (units); the last is the end
    keys: bytes  # uint64: the distinct trigrams, ascending
    offsets: bytes  # uint32 × (keys + 1): where each trigram's positions start in `positions`
    positions: bytes  # uint32: each trigram's positions, ascending
    sample: bytes  # uint64: every BLOCK-th key

    @property
    def documents(self) -> int:
        return len(self.starts) // 4 - 1

    @property
    def units(self) -> int:
        import numpy as np

        return int(np.frombuffer(self.starts, "<u4")[-1])


def units_of(text: str) -> int:
    """The units a text takes in a chunk (its NUL included)."""
    return len(text.encode("utf-16-le")) // 2 + 1


def grouped(texts: Iterable[tuple[Any, str]], chunk_units: int = CHUNK_UNITS) -> Iterator[list[tuple[Any, str]]]:
    """(key, text) pairs in runs of at most `chunk_units` units (a longer text alone)."""
    run: list[tuple[Any, str]] = []
    size = 0
    for key, text in texts:
        units = units_of(text)
        if run and size + units > chunk_units:
            yield run
            run, size = [], 0
        run.append((key, text))
        size += units
    if run:
        yield run


def build(texts: Sequence[str]) -> Chunk:
    """The postings of `texts` (normalised: no NUL), in this order."""
    import numpy as np

    encoded = b"".join(text.encode("utf-16-le") + b"\x00\x00" for text in texts) + b"\x00\x00\x00\x00"
    units = np.frombuffer(encoded, "<u2")
    lengths = np.fromiter((units_of(text) for text in texts), dtype=np.int64, count=len(texts))
    starts = np.concatenate(([0], np.cumsum(lengths))).astype("<u4")
    wide = units.astype(np.uint64)
    keys = (wide[:-2] << np.uint64(32)) | (wide[1:-1] << np.uint64(16)) | wide[2:]
    del wide
    whole = (units[:-2] != 0) & (units[1:-1] != 0) & (units[2:] != 0)
    positions = np.flatnonzero(whole).astype("<u4")
    keys = keys[whole]
    del whole
    order = np.argsort(keys, kind="stable")  # positions stay ascending within a trigram
    keys = keys[order]
    positions = positions[order]
    del order
    firsts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1]))) if len(keys) else np.zeros(0, np.int64)
    distinct = keys[firsts].astype("<u8")
    offsets = np.concatenate((firsts, [len(keys)])).astype("<u4")
    return Chunk(starts.tobytes(), distinct.tobytes(), offsets.tobytes(), positions.tobytes(),
                 distinct[::BLOCK].tobytes())


def key_of(three: str) -> int:
    """The key of three UTF-16 units (a string of them)."""
    a, b, c = (int.from_bytes(three[i : i + 1].encode("utf-16-le", "surrogatepass"), "little") for i in range(3))
    return (a << 32) | (b << 16) | c


def cover(needle: str) -> list[tuple[int, int]] | None:
    """(offset, key) of trigrams that together cover every unit of `needle`: where all of them
    stand at their offsets, the needle stands. None when it is shorter than three units."""
    encoded = needle.encode("utf-16-le", "surrogatepass")
    units = [int.from_bytes(encoded[i : i + 2], "little") for i in range(0, len(encoded), 2)]
    if len(units) < 3 or 0 in units:
        return None
    offsets = list(range(0, len(units) - 2, 3))
    if offsets[-1] != len(units) - 3:
        offsets.append(len(units) - 3)
    return [(o, (units[o] << 32) | (units[o + 1] << 16) | units[o + 2]) for o in offsets]


def block_of(sample: Any, key: int) -> int:
    """The block of keys that holds `key` if any chunk key is it (-1: before the first)."""
    import numpy as np

    return int(np.searchsorted(sample, np.uint64(key), side="right")) - 1


def find(keys_block: bytes, offsets_block: bytes, key: int) -> tuple[int, int] | None:
    """(first, end) in `positions` of `key`'s positions, from its block of keys and their offsets
    (one more offset than keys), or None if the chunk does not hold it."""
    import numpy as np

    keys = np.frombuffer(keys_block, "<u8")
    index = int(np.searchsorted(keys, np.uint64(key)))
    if index >= len(keys) or int(keys[index]) != key:
        return None
    offsets = np.frombuffer(offsets_block, "<u4")
    return int(offsets[index]), int(offsets[index + 1])


def occurrences(parts: Sequence[tuple[int, bytes]]) -> Any:
    """Where a needle starts (sorted units), from each covering trigram's (offset, positions):
    the rarest trigram's candidates, kept where every other trigram stands at its offset."""
    import numpy as np

    arrays = sorted(((offset, np.frombuffer(found, "<u4").astype(np.int64)) for offset, found in parts),
                    key=lambda part: len(part[1]))
    offset, rarest = arrays[0]
    candidates = rarest - offset
    for offset, positions in arrays[1:]:
        if not len(candidates):
            break
        wanted = candidates + offset
        index = np.searchsorted(positions, wanted)
        index[index >= len(positions)] = max(len(positions) - 1, 0)
        candidates = candidates[positions[index] == wanted] if len(positions) else candidates[:0]
    return candidates


def counts(found: Any, starts: Any, needle: str) -> tuple[Any, Any]:
    """(ordinals, counts): the documents of a chunk holding the occurrences `found` (sorted) and
    how often, counted as str.count does (an occurrence overlapping a counted one is not)."""
    import numpy as np

    ordinals = np.searchsorted(starts, found, side="right") - 1
    length = len(needle.encode("utf-16-le", "surrogatepass")) // 2
    if _overlaps_itself(needle) and len(found):
        kept = []
        free, last = -1, -1
        for position, ordinal in zip(found.tolist(), ordinals.tolist(), strict=True):
            if ordinal != last:
                free, last = -1, ordinal
            if position >= free:
                kept.append(ordinal)
                free = position + length
        ordinals = np.asarray(kept, dtype=np.int64)
    held, counted = np.unique(ordinals, return_counts=True)
    return held, counted


def _overlaps_itself(needle: str) -> bool:
    return any(needle[:size] == needle[-size:] for size in range(1, len(needle)))
