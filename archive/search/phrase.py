"""Exact phrases over the bigram field, evaluated in bulk.

A phrase of n characters stands at position p exactly when a covering set of its bigrams (every
other one, and the last) stands at p + their offsets. For each segment, the postings of those
bigrams are read block by block, the documents holding all of them are intersected as sets, and
only those documents' positions are compared, rarest bigram first. whoosh's own Phrase walks a
tree of matchers document by document and checks spans with general slop logic: several times
slower when a phrase's bigrams are common, which in speeches they are.

The result is a whoosh matcher over the matching documents, scored by how often the phrase stands
in each (saturating like BM25's term frequency), so it combines with whoosh's AND/OR/NOT, filters
and collectors like any other query.
"""

from __future__ import annotations

from whoosh import matching
from whoosh.matching.wrappers import FilterMatcher
from whoosh.query import Phrase


def cover(length: int) -> list[int]:
    """Offsets of bigrams that together cover a phrase of `length` (≥ 2) characters."""
    offsets = list(range(0, length - 1, 2))
    if offsets[-1] != length - 2:
        offsets.append(length - 2)
    return offsets


def postings(reader, fieldname: str, term: str) -> dict[int, bytes]:
    """docnum -> encoded positions for every live posting of a term.

    Reads whole blocks of whoosh's W3 postings at once (their ids and values tuples); any other
    matcher (inlined postings, several segments) is read posting by posting.
    """
    matcher = reader.postings(fieldname, term)
    excluded: frozenset[int] | set[int] = frozenset()
    if isinstance(matcher, FilterMatcher) and matcher._exclude:  # deleted documents of the segment
        excluded, matcher = matcher._ids, matcher.child
    found: dict[int, bytes] = {}
    if hasattr(matcher, "_read_ids") and hasattr(matcher, "_next_block"):
        matcher.reset()
        while matcher.is_active():
            matcher._read_ids()
            matcher._read_values()
            found.update(zip(matcher._ids, matcher._values, strict=True))
            matcher._next_block()
    else:
        found.update(matcher.all_items())
    for docnum in excluded:
        found.pop(docnum, None)
    return found


def occurrences(reader, decode, fieldname: str, bigrams: list[str]) -> dict[int, int]:
    """docnum -> how many times the phrase whose consecutive bigrams are `bigrams` stands in it."""
    length = len(bigrams) + 1
    parts = [(offset, bigrams[offset]) for offset in cover(length)]
    frequency = {word: reader.doc_frequency(fieldname, word) for _, word in parts}
    if not all(frequency.values()):
        return {}
    parts.sort(key=lambda part: frequency[part[1]])
    lists = [(offset, postings(reader, fieldname, word)) for offset, word in parts]
    candidates = set(lists[0][1])
    for _, found in lists[1:]:
        candidates &= found.keys()
        if not candidates:
            return {}
    (first_offset, first), rest = lists[0], lists[1:]
    counts: dict[int, int] = {}
    for docnum in candidates:
        starts = [position - first_offset for position in decode(first[docnum])]
        for offset, found in rest:
            positions = set(decode(found[docnum]))
            starts = [start for start in starts if start + offset in positions]
            if not starts:
                break
        if starts:
            counts[docnum] = len(starts)
    return counts


class ExactPhrase(Phrase):
    """A Phrase of consecutive bigrams, evaluated in bulk (see the module docstring)."""

    def matcher(self, searcher, context=None) -> matching.Matcher:
        field_format = searcher.schema[self.fieldname].format
        decode = getattr(field_format, "decode_array", field_format.decode_positions)
        counts = occurrences(searcher.reader(), decode, self.fieldname, list(self.words))
        if not counts:
            return matching.NullMatcher()
        ids = sorted(counts)
        weights = [self.boost * counts[d] / (counts[d] + 1.2) for d in ids]
        return matching.ListMatcher(ids, weights=weights)
