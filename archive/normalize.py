"""One definition of "the same text" for indexing, querying and highlighting.

Matching must ignore what a reader does not see as text: line breaks, page breaks, the spaces PDF
extraction puts between characters, full-width vs half-width forms and letter case. Every character is
normalised on its own (NFKC, casefold, whitespace and invisible marks dropped), so a normalised
character can always be traced back to the original character it came from; that is what lets a
match in normalised text be highlighted in the original passage.
"""

from __future__ import annotations

import unicodedata

# Characters that are invisible in print and must not break a phrase.
_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"}


def _normalise_char(char: str) -> str:
    folded = unicodedata.normalize("NFKC", char).casefold()
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
