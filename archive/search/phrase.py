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


class _ConsecutiveMatcher(SpanWrappingMatcher):
    """Matches documents where term i stands at position p + i for some p."""

    def __init__(self, matchers: list[matching.Matcher]) -> None:
        self.matchers = matchers
        super().__init__(make_binary_tree(binary.IntersectionMatcher, matchers))

    def copy(self) -> _ConsecutiveMatcher:
        return self.__class__([m.copy() for m in self.matchers])

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
        for offset, matcher in enumerate(self.matchers):
            shifted = {position - offset for position in matcher.value_as("positions")}
            starts = shifted if starts is None else starts & shifted
            if not starts:
                return []
        return [Span(start, start + len(self.matchers)) for start in sorted(starts)]


class ExactPhrase(Phrase):
    """A Phrase (slop 1) whose matcher checks consecutive positions with set intersections."""

    def matcher(self, searcher, context=None) -> matching.Matcher:
        field = searcher.schema[self.fieldname]
        reader = searcher.reader()
        matchers = []
        for word in self.words:
            term = field.to_bytes(word)
            if (self.fieldname, term) not in reader:
                return matching.NullMatcher()
            matchers.append(Term(self.fieldname, word).matcher(searcher, context))
        matcher = _ConsecutiveMatcher(matchers)
        return matching.WrappingMatcher(matcher, boost=self.boost) if self.boost != 1.0 else matcher
