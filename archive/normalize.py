"""One definition of "the same text" for indexing, querying and highlighting.

Matching must ignore what a reader does not see as text: line breaks, page breaks, the spaces PDF
extraction puts between characters, full-width vs half-width forms, letter case, and the script:
traditional characters (會議) are folded to simplified (会议) with OpenCC's character table, so a
phrase typed in either script finds both. Every character is normalised on its own (NFKC, casefold,
traditional to simplified, whitespace and invisible marks dropped), so a normalised character can
always be traced back to the original character it came from; that is what lets a match in
normalised text be highlighted in the original passage. Folding per character (not OpenCC's phrase
conversion) keeps it the same function on a document and on any piece of it.

A change here changes what the index holds: bump SCHEMA_VERSION (archive/search/schema.py).
"""

from __future__ import annotations

import unicodedata
from functools import cache

# Characters that are invisible in print and must not break a phrase.
_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"}


@cache
def _to_simplified():
    import opencc

    return opencc.OpenCC("t2s").convert


def _is_han(char: str) -> bool:
    return "\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff" or "\U00020000" <= char <= "\U0003ffff"


def _normalise_char(char: str) -> str:
    folded = unicodedata.normalize("NFKC", char).casefold()
    if any(_is_han(c) for c in folded):
        folded = "".join(_to_simplified()(c) if _is_han(c) else c for c in folded)
    return "".join(c for c in folded if not c.isspace() and c not in _INVISIBLE and unicodedata.category(c) != "Cc")


class _Table(dict):
    """A str.translate table that fills itself: C-speed translation for characters already seen."""

    def __missing__(self, code: int) -> str:
        value = _normalise_char(chr(code))
        self[code] = value
        return value


_TABLE = _Table()


def normalise(text: str) -> str:
    """The searchable form of `text` (see the module docstring)."""
    return text.translate(_TABLE)


def normalise_with_origins(text: str) -> tuple[str, list[int]]:
    """Normalised text and, for each of its characters, the index of the original character."""
    out: list[str] = []
    origins: list[int] = []
    for index, char in enumerate(text):
        piece = _TABLE[ord(char)]
        if piece:
            out.append(piece)
            origins.extend([index] * len(piece))
    return "".join(out), origins
