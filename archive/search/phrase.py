"""Exact phrases over the bigram field, checked with position sets.

whoosh's own Phrase runs a general span matcher (slop, ordering, span objects) for every candidate
document and scores it by summing BM25 over its bigrams; for our case, bigrams that must stand at
consecutive positions, intersecting shifted position sets does the same job several times faster,
and the number of occurrences is the score.
"""

from __future__ import annotations

from whoosh import matching
from whoosh.matching import binary
from whoosh.query import Phrase, Term
from whoosh.query.spans import Span, SpanWrappingMatcher
from whoosh.util import make_binary_tree


def cover(length: int) -> list[int]:
    """Offsets of bigrams that together cover a phrase of `length` characters (of its length - 1
    overlapping bigrams, every other one, and the last): the phrase stands at p exactly when each of
    these stands at p + its offset, so about half the terms decide the same thing."""
    offsets = list(range(0, length - 1, 2))
    if offsets[-1] != length - 2:
        offsets.append(length - 2)
    return offsets


class _ConsecutiveMatcher(SpanWrappingMatcher):
    """Matches documents where each term stands at p + its offset, for some p."""

    def __init__(self, parts: list[tuple[int, matching.Matcher]], length: int) -> None:
        self.parts = parts
        self.length = length
        super().__init__(make_binary_tree(binary.IntersectionMatcher, [m for _, m in parts]))

    def copy(self) -> _ConsecutiveMatcher:
        return self.__class__([(offset, m.copy()) for offset, m in self.parts], self.length)

    def replace(self, minquality: float = 0) -> matching.Matcher:
        return self if self.is_active() else matching.NullMatcher()

    def supports_block_quality(self) -> bool:
        return False  # skipping blocks by quality would skip the position check

    def score(self) -> float:
        """How often the phrase stands in the document, saturating like BM25's term frequency.

        Cheaper than summing whoosh's per-bigram BM25 scores, and closer to what a reader means by
        relevance for an exact phrase: how much the speech dwells on it.
        """
        count = len(self._spans or ())
        return count / (count + 1.2)

    def _get_spans(self) -> list[Span]:
        starts: set[int] | None = None
        for offset, matcher in self.parts:
            shifted = {position - offset for position in matcher.value_as("positions")}
            starts = shifted if starts is None else starts & shifted
            if not starts:
                return []
        return [Span(start, start + self.length) for start in sorted(starts)]


class ExactPhrase(Phrase):
    """A Phrase of consecutive bigrams whose matcher checks a covering subset of them by positions,
    rarest first."""

    def matcher(self, searcher, context=None) -> matching.Matcher:
        reader = searcher.reader()
        chosen = [(offset, self.words[offset]) for offset in cover(len(self.words) + 1)]
        frequencies = {}
        for _, word in chosen:
            frequencies[word] = reader.doc_frequency(self.fieldname, word)
            if not frequencies[word]:
                return matching.NullMatcher()
        chosen.sort(key=lambda part: frequencies[part[1]])
        parts = [(offset, Term(self.fieldname, word).matcher(searcher, context)) for offset, word in chosen]
        matcher = _ConsecutiveMatcher(parts, len(self.words) + 1)
        return matching.WrappingMatcher(matcher, boost=self.boost) if self.boost != 1.0 else matcher
