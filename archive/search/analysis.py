"""The whoosh analyzer for exact text: overlapping character bigrams with their positions.

whoosh pickles the schema, analyzers included, into the index: these classes must stay here, at
module level, under these names. Moving or renaming one makes old indexes unreadable; if that is ever
needed, bump SCHEMA_VERSION (archive.search.schema) so old indexes are rebuilt instead of read.

It accepts either text (queries, titles; normalised here) or a ready list of bigrams (the indexing
pipeline normalises text in worker processes, so the single writer only has to store terms).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from whoosh.analysis import Analyzer, Token

from archive.normalize import normalise
from archive.tokens import char_bigrams


def _emit(terms: Sequence[str], positions: bool, start_pos: int, **kwargs) -> Iterator[Token]:
    token = Token(positions=positions, **kwargs)
    for position, term in enumerate(terms):
        token.text = term
        token.boost = 1.0
        token.stopped = False
        if positions:
            token.pos = start_pos + position
        yield token


class CharBigramAnalyzer(Analyzer):
    """Overlapping character bigrams with their positions: exact phrase matching."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs) -> Iterator[Token]:
        terms = value if isinstance(value, (list, tuple)) else char_bigrams(normalise(value))
        return _emit(terms, positions, start_pos, removestops=removestops, mode=mode)
