"""jieba's dictionary in two arrays: the same cuts in 6 MB instead of 71.

Why: jieba keeps its prefix dictionary (every word and every prefix of one, 498,000 keys, with
their frequencies) as a Python dict: 71 MB in every process that cuts a query, most of a web
server process's memory. Here each key is a 64-bit polynomial hash of its characters, sorted, with
its frequency beside it (12 bytes a key), and `Frequencies` answers the three questions jieba's
tokenizer asks of its dict (`in`, `[]`, `get`), so a `jieba.Tokenizer` given it cuts exactly as
jieba's default one does (tests/test_dictionary.py compares them). Built from jieba's own
dictionary file with numpy in a few hundred ms, faster than jieba loads its cache.

Two different strings share a hash with a chance of about one in 2^64 / 498,000 per lookup.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from typing import Any

MULTIPLIER = 0x100000001B3  # FNV's 64-bit prime (odd: multiplying by it modulo 2^64 loses no bits)
MASK = (1 << 64) - 1
LINE = re.compile(rb"^[ \t\r\f\v]*([^ \t\r\n]+) ([0-9]+)", re.MULTILINE)


def key_of(text: str) -> int:
    """The key of a string (signed 64-bit, as numpy holds them): h = h * M + code point, wrapping."""
    value = 0
    for char in text:
        value = (value * MULTIPLIER + ord(char)) & MASK
    return value - (1 << 64) if value >> 63 else value


class Frequencies:
    """A read-only mapping of word (or prefix) -> frequency, as jieba's Tokenizer.FREQ is read."""

    def __init__(self, keys: Any, values: Any) -> None:
        import array

        # array.array: bisect reads it in C; numpy scalars would cost a microsecond each
        self._keys = array.array("q", keys.tobytes())
        self._values = array.array("i", values.astype("int32").tobytes())
        self._count = len(self._keys)

    def _find(self, text: str) -> int:
        key = key_of(text)
        where = bisect_left(self._keys, key)
        return where if where < self._count and self._keys[where] == key else -1

    def __contains__(self, text: object) -> bool:
        return isinstance(text, str) and self._find(text) >= 0

    def __getitem__(self, text: str) -> int:
        where = self._find(text)
        if where < 0:
            raise KeyError(text)
        return self._values[where]

    def get(self, text: str, default: Any = None) -> Any:
        where = self._find(text)
        return default if where < 0 else self._values[where]

    def __len__(self) -> int:
        return self._count


def load(dictionary: bytes) -> tuple[Frequencies, int]:
    """(the prefix dictionary, the sum of all frequencies) of a jieba dictionary file's bytes, as
    jieba.Tokenizer.gen_pfdict makes them: a word's frequency (its last line's, if listed twice),
    0 for a prefix that is no word; the total counts every line."""
    import numpy as np

    # "word frequency [tag]" a line (jieba strips each line and splits it at single spaces)
    found = LINE.findall(dictionary)
    words = b"\n".join(word for word, _ in found).decode("utf-8").split("\n") if found else []
    counts = np.array([int(count) for _, count in found], dtype=np.int64)
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    codes = np.frombuffer("".join(words).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    hashes = np.zeros(len(words), dtype=np.uint64)
    prefixes = []
    with np.errstate(over="ignore"):  # wrapping multiplication is the hash
        for position in range(int(lengths.max(initial=0))):
            longer = lengths > position
            hashes[longer] = hashes[longer] * np.uint64(MULTIPLIER) + codes[starts[longer] + position]
            prefixes.append(hashes[lengths > position + 1])  # proper prefixes of words (a copy)
    reversed_keys = hashes.view(np.int64)[::-1]  # the first of equal keys kept: a word's last line
    order = np.argsort(reversed_keys, kind="stable")
    keys = reversed_keys[order]
    first = _first_of_runs(keys)
    keys, values = keys[first], counts[::-1][order[first]]
    prefix_keys = np.sort(np.concatenate(prefixes).view(np.int64)) if prefixes else np.zeros(0, np.int64)
    prefix_keys = prefix_keys[_first_of_runs(prefix_keys)]
    where = np.minimum(np.searchsorted(keys, prefix_keys), max(len(keys) - 1, 0))
    prefix_keys = prefix_keys[keys[where] != prefix_keys] if len(keys) else prefix_keys  # not also a word
    all_keys = np.concatenate([keys, prefix_keys])
    all_values = np.concatenate([values, np.zeros(len(prefix_keys), dtype=np.int64)])
    order = np.argsort(all_keys)
    if all_values.max(initial=0) >= 2**31:
        raise ValueError("a word's frequency does not fit 32 bits")
    return Frequencies(all_keys[order], all_values[order].astype(np.int32)), int(counts.sum())


def _first_of_runs(ordered: Any) -> Any:
    """A mask of the first of each run of equal values in a sorted array."""
    import numpy as np

    mask = np.ones(len(ordered), dtype=bool)
    mask[1:] = ordered[1:] != ordered[:-1]
    return mask
