"""One definition of "the same text" for indexing, querying and highlighting.

Matching must ignore what a reader does not see as text: line breaks, page breaks, the spaces PDF
extraction puts between characters, full-width vs half-width forms, letter case, and the script:
traditional characters (會議) are folded to simplified (会议), so a phrase typed in either script
finds both. Every character is normalised on its own (NFKC, casefold, script fold, whitespace and
invisible marks dropped), so a normalised character can always be traced back to the original
character it came from; that is what lets a match in normalised text be highlighted in the original
passage. Folding per character keeps it the same function on a document and on any piece of it.

The script fold is `script_fold.tsv`, made from OpenCC's conversions by tests/make_script_table.py:
characters OpenCC links in any direction are one class (著 and 着, 乾 幹 and 干), because a
character-by-character "traditional to simplified" cannot know which simplified character a
one-to-many traditional character stands for in a given phrase.

A change here changes what the index holds: bump SCHEMA_VERSION (archive/search/schema.py).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import cache
from pathlib import Path

# Characters that are invisible in print and must not break a phrase.
_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"}


@cache
def _script_fold() -> dict[int, str]:
    table: dict[int, str] = {}
    data = Path(__file__).with_name("script_fold.tsv").read_text("utf-8")  # importlib.resources: 7 ms to import
    for line in data.splitlines():
        if line and not line.startswith("#"):
            char, folded = line.split("\t")
            table[ord(char)] = folded
    return table


@cache
def _foldable() -> frozenset[str]:
    """The characters the script fold changes: most text has none, and finding that out (a set
    lookup per character, in C) costs half what translating it does."""
    return frozenset(map(chr, _script_fold()))


def to_simplified(text: str) -> str:
    """`text` with traditional characters folded to simplified, one character for one: rules and
    patterns written in simplified script (site chrome, metadata) then read traditional pages too,
    and an offset found in the folded text is the same offset in the original."""
    return text if _foldable().isdisjoint(text) else text.translate(_script_fold())


def _normalise_char(char: str) -> str:
    folded = to_simplified(unicodedata.normalize("NFKC", char).casefold())
    return "".join(c for c in folded if not c.isspace() and c not in _INVISIBLE and unicodedata.category(c) != "Cc")


class _Table(dict):
    """A str.translate table that fills itself: C-speed translation for characters already seen."""

    def __missing__(self, code: int) -> str:
        value = _normalise_char(chr(code))
        if len(value) != 1:
            _IRREGULAR.add(chr(code))
        self[code] = value
        return value


# The characters seen so far whose normal form is not exactly one character (spaces, ligatures...):
# a text without any maps character for character, and its origins need no loop.
_IRREGULAR: set[str] = set()


_TABLE = _Table()


def normalise(text: str) -> str:
    """The searchable form of `text` (see the module docstring)."""
    return text.translate(_TABLE)


def normalise_with_origins(text: str) -> tuple[str, Sequence[int]]:
    """Normalised text and, for each of its characters, the index of the original character."""
    normalised = text.translate(_TABLE)  # (fills the table, and _IRREGULAR, for every character of text)
    if len(normalised) == len(text) and _IRREGULAR.isdisjoint(text):
        return normalised, range(len(text))  # most paragraphs of a speech: ten times faster than the loop
    out: list[str] = []
    origins: list[int] = []
    for index, char in enumerate(text):
        piece = _TABLE[ord(char)]
        if piece:
            out.append(piece)
            origins.extend([index] * len(piece))
    return "".join(out), origins
