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
positions where it starts. Stored as byte strings (Chunk); a reader keeps `sample` (every
BLOCK-th key, a few bytes per thousand trigrams) and reads only the blocks of keys and the
positions it needs.

Positions are kept as roaring bitmaps keep them: the low 16 bits of each (2 bytes), and per run of
a trigram's positions that share their high bits, a group (the high bits, how many): half the bytes
of whole positions, and bytes read are most of what a search costs the database. Decoding them
again (`decode`) costs a fraction of a millisecond per million.
"""

from __future__ import annotations

import sys
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from archive.search.suffixes import overlaps_itself

CHUNK_UNITS = 8 * 1024 * 1024  # building one holds about 34 bytes per unit: 280 MB
BLOCK = 256  # keys per block a reader fetches to find one trigram


@dataclass(frozen=True)
class Chunk:
    """The postings of consecutive documents' texts (little-endian arrays as bytes)."""

    starts: bytes  # uint32 × (documents + 1): where each text starts (units); the last is the end
    keys: bytes  # uint64: the distinct trigrams, ascending
    offsets: bytes  # uint32 × (keys + 1): where each trigram's positions start in `positions`
    positions: bytes  # uint16: each trigram's positions, ascending, their low 16 bits
    groups: bytes  # uint32: per run of a trigram's positions with the same high bits, high << 16 | (run - 1)
    group_offsets: bytes  # uint32 × (keys + 1): where each trigram's groups start in `groups`
    sample: bytes  # uint64: every BLOCK-th key
    pairs: Pairs
    text: bytes  # the texts as UTF-16LE, each followed by a NUL unit: what "did you mean" reads around a phrase


    @property
    def documents(self) -> int:
        return len(self.starts) // 4 - 1

    @property
    def units(self) -> int:
        import numpy as np

        return int(np.frombuffer(self.starts, "<u4")[-1])


@dataclass(frozen=True)
class Pairs:
    """Per bigram (two units packed in 32 bits, the first not a NUL; the second may be a text's
    closing NUL, so a text's last unit is counted too), the documents holding it and how often:
    what a word of one or two units needs, in a fraction of the bytes of its positions (a common
    bigram stands in most speeches, dozens of times each)."""

    keys: bytes  # uint64: the distinct bigrams, ascending
    offsets: bytes  # uint32 × (keys + 1): where each bigram's documents start in `documents`
    documents: bytes  # uint32: each bigram's documents (ordinals), ascending
    counts: bytes  # uint32: how often the bigram stands in each of them (overlaps included)
    sample: bytes  # uint64: every BLOCK-th key


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
    pairs = _pairs(units, starts)
    wide = units.astype(np.uint64)
    keys = (wide[:-2] << np.uint64(32)) | (wide[1:-1] << np.uint64(16)) | wide[2:]
    del wide
    # every position but a NUL's: a trigram may end in a document's NUL (so that the trigrams
    # starting with one or two units find every occurrence of those, a text's last ones included)
    kept = units[:-2] != 0
    positions = np.flatnonzero(kept).astype("<u4")
    keys = keys[kept]
    del kept
    order = np.argsort(keys, kind="stable")  # positions stay ascending within a trigram
    keys = keys[order]
    positions = positions[order]
    del order
    new_key = np.concatenate(([True], keys[1:] != keys[:-1])) if len(keys) else np.zeros(0, bool)
    firsts = np.flatnonzero(new_key)
    distinct = keys[firsts].astype("<u8")
    offsets = np.concatenate((firsts, [len(keys)])).astype("<u4")
    del keys
    groups, group_offsets = _groups(positions, new_key, firsts)
    return Chunk(starts.tobytes(), distinct.tobytes(), offsets.tobytes(), (positions & 0xFFFF).astype("<u2").tobytes(),
                 groups.tobytes(), group_offsets.tobytes(), distinct[::BLOCK].tobytes(), pairs, encoded)


def _groups(positions: Any, new_key: Any, firsts: Any) -> tuple[Any, Any]:
    """(groups, group offsets) of the positions of trigrams (ascending within each; `new_key` marks
    where each trigram's positions start, at `firsts`): a group per run with the same high bits in
    one trigram."""
    import numpy as np

    highs = positions >> 16
    new_group = new_key.copy()
    new_group[1:] |= highs[1:] != highs[:-1]
    group_firsts = np.flatnonzero(new_group)
    runs = np.diff(np.concatenate((group_firsts, [len(positions)])))  # at most 65,536: distinct low bits
    groups = ((highs[group_firsts].astype(np.uint32) << 16) | (runs - 1).astype(np.uint32)).astype("<u4")
    group_offsets = np.concatenate((np.searchsorted(group_firsts, firsts), [len(group_firsts)])).astype("<u4")
    return groups, group_offsets


def decode(lows: bytes, groups: bytes) -> Any:
    """Positions (uint32, in stored order) from their low bits and groups, as a slice of a trigram's
    (or of consecutive trigrams') holds them."""
    import numpy as np

    packed = np.frombuffer(groups, "<u4")
    positions = np.repeat((packed >> 16) << 16, (packed & 0xFFFF) + 1)
    positions |= np.frombuffer(lows, "<u2")
    return positions


def _pairs(units: Any, starts: Any) -> Pairs:
    """Built in place, one array of 8 bytes a unit at a time (a chunk's peak is its trigrams')."""
    import numpy as np

    kept = np.flatnonzero(units[:-1] != 0).astype(np.uint32)
    combined = units[kept].astype(np.uint64)
    combined <<= np.uint64(16)
    combined |= units[kept + 1]
    combined <<= np.uint64(32)
    combined |= (np.searchsorted(starts, kept, side="right") - 1).astype(np.uint64)
    del kept
    combined.sort()
    firsts = np.flatnonzero(np.concatenate(([True], combined[1:] != combined[:-1]))) if len(combined) \
        else np.zeros(0, np.int64)
    counts = np.diff(np.concatenate((firsts, [len(combined)]))).astype("<u4")
    combined = combined[firsts]
    del firsts
    documents = (combined & np.uint64(0xFFFFFFFF)).astype("<u4")
    combined >>= np.uint64(32)
    keys = combined
    firsts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1]))) if len(keys) else np.zeros(0, np.int64)
    distinct = keys[firsts].astype("<u8")
    return Pairs(distinct.tobytes(), np.concatenate((firsts, [len(keys)])).astype("<u4").tobytes(),
                 documents.tobytes(), counts.tobytes(), distinct[::BLOCK].tobytes())


@dataclass(frozen=True)
class Part:
    """Trigrams whose positions show where a needle stands: those with keys from `low` to `high`
    (one trigram, or every trigram that starts with a needle of one or two units), standing
    `offset` units into the needle."""

    offset: int
    low: int
    high: int
    pairs: bool = False  # keys of Pairs (documents and counts), not of trigrams (positions)

    @property
    def one(self) -> bool:
        return self.low == self.high


def parts(needle: str) -> list[Part] | None:
    """What finds `needle`: for three units or more, every trigram of it (where the ones `cover`
    picks all stand at their offsets, the needle stands); for two, its bigram's documents; for
    one, those of every bigram it starts; for two of the same unit, the trigrams that start with
    them. None for an empty needle or one holding a NUL."""
    encoded = needle.encode("utf-16-le", "surrogatepass")
    units = [int.from_bytes(encoded[i : i + 2], "little") for i in range(0, len(encoded), 2)]
    if not units or 0 in units:
        return None
    if len(units) == 1:
        return [Part(0, units[0] << 16, (units[0] << 16) | 0xFFFF, pairs=True)]
    if len(units) == 2 and units[0] != units[1]:
        key = (units[0] << 16) | units[1]
        return [Part(0, key, key, pairs=True)]
    if len(units) == 2:  # 哈哈 overlaps itself: str.count counts 哈哈哈 once; positions say where
        key = (units[0] << 32) | (units[1] << 16)
        return [Part(0, key, key | 0xFFFF)]
    found = []
    for o in range(len(units) - 2):
        key = (units[o] << 32) | (units[o + 1] << 16) | units[o + 2]
        found.append(Part(o, key, key))
    return found


PART_COST = 256  # what reading one more part costs beside its positions (a slice, a search), in positions


def cover(found: list[Part], sizes: list[int]) -> list[Part]:
    """The parts of `found` (parts()) to read, given how many positions each has in a chunk: ones
    that together cover every unit of the needle at least cost. A phrase's trigrams differ a
    hundredfold in size: inside its words they are as common as the words (商环境 in every
    speech on business), where two words meet they are as rare as the pairing (筹营商), and
    positions read are most of a search's time. One part (a word of one or two units) as it is."""
    if len(found) == 1:
        return found
    # cheapest[n]: the least cost of parts ending with found[n] that cover every unit up to its third
    cheapest: list[float] = [float(sizes[0] + PART_COST)] + [float("inf")] * (len(found) - 1)
    before: list[int | None] = [None] * len(found)
    for n in range(1, len(found)):
        for m in range(max(0, n - 3), n):  # found[m] ends at unit m + 2, next to or past found[n]'s first (n)
            if cheapest[m] + sizes[n] + PART_COST < cheapest[n]:
                cheapest[n], before[n] = cheapest[m] + sizes[n] + PART_COST, m
    chosen = []
    last: int | None = len(found) - 1
    while last is not None:
        chosen.append(found[last])
        last = before[last]
    return chosen[::-1]


def positional_parts(needle: str) -> list[Part] | None:
    """parts(), but always positions: a needle of one or two units through the trigrams that start
    with it (where it stands, not only in which documents)."""
    found = parts(needle)
    if found is None or not found[0].pairs:
        return found
    units = found[0].low >> 16, found[0].low & 0xFFFF
    if found[0].one:
        key = (units[0] << 32) | (units[1] << 16)
        return [Part(0, key, key | 0xFFFF)]
    return [Part(0, units[0] << 32, (units[0] << 32) | 0xFFFFFFFF)]


def blocks_of(sample: Any, keys: Sequence[int]) -> list[int]:
    """The block of keys where each of `keys` stands or would stand (one search for them all)."""
    import numpy as np

    found = np.searchsorted(sample, np.asarray(keys, dtype=np.uint64), side="right") - 1
    return np.maximum(found, 0).tolist()


Block = tuple[Sequence[int], Sequence[int], Sequence[int]]  # keys, offsets, group offsets (read_block)


def read_block(keys_block: bytes, offsets_block: bytes, group_offsets_block: bytes = b"") -> Block:
    """A block's keys and their offsets and group offsets (one more than keys; none for bigrams), as
    sequences a search bisects: views of the bytes where the machine is little-endian (a search
    reads a few hundred blocks and bisects each once or twice: making lists of them cost more than
    all the bisecting)."""
    if sys.byteorder == "little":
        return (memoryview(keys_block).cast("Q"), memoryview(offsets_block).cast("I"),
                memoryview(group_offsets_block).cast("I"))
    import numpy as np

    return (np.frombuffer(keys_block, "<u8").tolist(), np.frombuffer(offsets_block, "<u4").tolist(),
            np.frombuffer(group_offsets_block, "<u4").tolist())


def position_in(block: Block, key: int, *, after: bool) -> tuple[int, int]:
    """Where in `positions` (and in `groups`; 0 for bigrams) the positions of keys from `key` on
    start (after=False), or of keys after it (after=True), from the block (read_block) where it stands."""
    keys, offsets, group_offsets = block
    found = (bisect_right if after else bisect_left)(keys, key)
    return offsets[found], group_offsets[found] if len(group_offsets) else 0


def span_of(block: Block, key: int) -> tuple[int, int, int, int] | None:
    """(first, end) of one key's positions and (first, end) of its groups (0, 0 for bigrams), from
    the block (read_block) where it would stand; None: no text of the chunk holds it. One search
    where position_in takes two (a phrase's parts are single trigrams: 600 searches a phrase at
    100,000 speeches)."""
    keys, offsets, group_offsets = block
    found = bisect_left(keys, key)
    if found == len(keys) or keys[found] != key:
        return None
    if len(group_offsets):
        return offsets[found], offsets[found + 1], group_offsets[found], group_offsets[found + 1]
    return offsets[found], offsets[found + 1], 0, 0


FEW_OCCURRENCES = 4  # counts: occurrences this many times fewer than documents are searched for one by one
MERGE_BELOW = 8  # a part with fewer positions than this many times the candidates is merged with them


def occurrences(found: Sequence[tuple[int, Any]]) -> Any:
    """Where a needle starts (units), from each of its parts' (offset, positions (decode)): the rarest
    part's candidates, kept where every other part stands at its offset. Sorted when there are
    several parts (a part of one trigram is sorted; a range of trigrams is not). In the positions'
    own type (uint32) throughout: a phrase in most speeches has millions of candidates, and each
    wider copy of them cost more than the search (15% of it for 营商环境 at 100,000 speeches)."""
    import numpy as np

    arrays = sorted(found, key=lambda part: len(part[1]))
    offset, rarest = arrays[0]
    if len(arrays) == 1:
        return rarest - np.uint32(offset) if offset else rarest
    candidates = rarest[rarest >= offset] - np.uint32(offset) if offset else rarest
    for offset, positions in arrays[1:]:
        if not len(candidates) or not len(positions):
            return candidates[:0]
        wanted = candidates + np.uint32(offset) if offset else candidates
        if len(positions) < MERGE_BELOW * len(wanted):
            # both ascending, neither repeating: one stable sort of the two merges them (timsort
            # finds the two runs) and what stands twice is what both hold; twice as fast as a
            # binary search per candidate when they are as many (营商环境: 64 → 29 ms at 100,000)
            both = np.concatenate((wanted, positions))
            both.sort(kind="stable")
            held = both[1:][both[1:] == both[:-1]]
            candidates = held - np.uint32(offset) if offset else held
        else:
            index = np.searchsorted(positions, wanted)
            np.minimum(index, len(positions) - 1, out=index)
            candidates = candidates[positions[index] == wanted]
    return candidates


def counted_pairs(documents: bytes, counts: bytes) -> tuple[Any, Any]:
    """(ordinals, counts) of a part of Pairs: one bigram's, or a range of bigrams' added up."""
    import numpy as np

    ordinals = np.frombuffer(documents, "<u4")
    how_often = np.frombuffer(counts, "<u4")
    if len(ordinals) and np.any(ordinals[1:] <= ordinals[:-1]):  # several bigrams: add them up
        total = np.bincount(ordinals, weights=how_often)
        held = np.flatnonzero(total)
        return held, total[held].astype(np.int64)
    return ordinals.astype(np.int64), how_often.astype(np.int64)


def counts(found: Any, starts: Any, needle: str) -> tuple[Any, Any]:
    """(ordinals, counts): the documents of a chunk holding the occurrences `found` and how often,
    counted as str.count does (an occurrence overlapping a counted one is not)."""
    import numpy as np

    if overlaps_itself(needle) and len(found):
        ordinals = np.searchsorted(starts, found, side="right") - 1
        length = len(needle.encode("utf-16-le", "surrogatepass")) // 2
        kept = []
        free, last = -1, -1
        order = np.argsort(found, kind="stable")
        for position, ordinal in zip(found[order].tolist(), ordinals[order].tolist(), strict=True):
            if ordinal != last:
                free, last = -1, ordinal
            if position >= free:
                kept.append(ordinal)
                free = position + length
        held, counted = np.unique(np.asarray(kept, dtype=np.int64), return_counts=True)
        return held, counted
    # where each document's occurrences begin among them, sorted: a search per document (a few
    # thousand a chunk), not one per occurrence (营商环境 stands 3.6 million times at 100,000
    # speeches: 8 ms instead of 59 with np.unique)
    if len(found) > 1 and not (found[:-1] <= found[1:]).all():
        found = np.sort(found)
    if len(found) * FEW_OCCURRENCES < len(starts):
        # fewer occurrences than documents (a phrase's median at 100,000 speeches: 64 a chunk of
        # 2,800 speeches): a search per occurrence, then runs of the same document
        if not len(found):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        ordinals = np.searchsorted(starts, found, side="right") - 1
        firsts = np.flatnonzero(np.concatenate(([True], ordinals[1:] != ordinals[:-1])))
        return ordinals[firsts], np.diff(np.concatenate((firsts, [len(ordinals)])))
    per_document = np.diff(np.searchsorted(found, np.asarray(starts).astype(found.dtype, copy=False)))
    held = np.flatnonzero(per_document)
    return held, per_document[held]
