"""Exact phrases over bigram fields, evaluated in bulk, one segment at a time.

Candidates: the documents holding every bigram of a covering set of the phrase's bigrams (every
other one, and the last), read block by block from the postings and intersected as sets, rarest
first. Confirmation, exact by construction:
- body text (no positions indexed): the phrase is counted in the document's normalised text, kept
  in a column beside the postings; a substring count in C beats any position logic in Python;
- short fields with positions (title, speaker): the covering bigrams must stand at p + their
  offsets for some p.
whoosh's own Phrase walks a tree of matchers document by document and checks spans with general
slop logic: several times slower when a phrase's bigrams are common, which in speeches they are.

The result is a whoosh matcher over the matching documents, scored by how often the phrase stands
in each (saturating like BM25's term frequency), so it combines with whoosh's AND/OR/NOT, filters
and collectors like any other query.
"""

from __future__ import annotations

from whoosh import matching
from whoosh.matching.wrappers import FilterMatcher
from whoosh.query import And, Phrase, Term


def cover(length: int) -> list[int]:
    """Offsets of bigrams that together cover a phrase of `length` (≥ 2) characters."""
    offsets = list(range(0, length - 1, 2))
    if offsets[-1] != length - 2:
        offsets.append(length - 2)
    return offsets


def postings(reader, fieldname: str, term: str, *, values: bool = True) -> dict[int, bytes | None]:
    """docnum -> encoded value (positions; None when not asked for) of every live posting of a term.

    Reads whole blocks of whoosh's W3 postings at once (their ids and values tuples); any other
    matcher (inlined postings, several segments) is read posting by posting.
    """
    matcher = reader.postings(fieldname, term)
    excluded: frozenset[int] | set[int] = frozenset()
    if isinstance(matcher, FilterMatcher) and matcher._exclude:  # deleted documents of the segment
        excluded, matcher = matcher._ids, matcher.child
    found: dict[int, bytes | None] = {}
    if hasattr(matcher, "_read_ids") and hasattr(matcher, "_next_block"):
        matcher.reset()
        while matcher.is_active():
            matcher._read_ids()
            if values:
                matcher._read_values()
                found.update(zip(matcher._ids, matcher._values, strict=True))
            else:
                found.update(dict.fromkeys(matcher._ids))
            matcher._next_block()
    elif values:
        found.update(matcher.all_items())
    else:
        found.update(dict.fromkeys(matcher.all_ids()))
    for docnum in excluded:
        found.pop(docnum, None)
    return found


def _candidates(reader, fieldname: str, bigrams: list[str], *, values: bool):
    """The covering bigrams' postings, rarest first, and the documents holding all of them."""
    parts = [(offset, bigrams[offset]) for offset in cover(len(bigrams) + 1)]
    frequency = {word: reader.doc_frequency(fieldname, word) for _, word in parts}
    if not all(frequency.values()):
        return [], set()
    parts.sort(key=lambda part: frequency[part[1]])
    lists = [(offset, postings(reader, fieldname, word, values=values)) for offset, word in parts]
    candidates = set(lists[0][1])
    for _, found in lists[1:]:
        candidates &= found.keys()
        if not candidates:
            break
    return lists, candidates


def column_reader(reader, name: str):
    """A column reader kept with its (segment) reader: opening one costs milliseconds, and a
    searcher's segment readers live until the next commit."""
    cache = reader.__dict__.setdefault("_archive_columns", {})
    if name not in cache:
        cache[name] = reader.column_reader(name)
    return cache[name]


def occurrences_in_text(reader, fieldname: str, column: str, bigrams: list[str]) -> dict[int, int]:
    """docnum -> how many times the phrase stands in the document's normalised text (in `column`)."""
    _, candidates = _candidates(reader, fieldname, bigrams, values=False)
    if not candidates:
        return {}
    phrase = (bigrams[0] + "".join(gram[1] for gram in bigrams[1:])).encode("utf-8")
    texts = column_reader(reader, column)
    counts: dict[int, int] = {}
    for docnum in candidates:
        count = texts[docnum].count(phrase)  # UTF-8 is self-synchronising: a byte match is a text match
        if count:
            counts[docnum] = count
    return counts


def occurrences(reader, decode, fieldname: str, bigrams: list[str]) -> dict[int, int]:
    """docnum -> how many times the phrase whose consecutive bigrams are `bigrams` stands in a
    positions field (counted by start positions)."""
    lists, candidates = _candidates(reader, fieldname, bigrams, values=True)
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


def _saturate(count: int) -> float:
    return count / (count + 1.2)


def _listed(scores: dict[int, float]) -> matching.Matcher:
    if not scores:
        return matching.NullMatcher()
    ids = sorted(scores)
    return matching.ListMatcher(ids, weights=[scores[docnum] for docnum in ids])


class ExactPhrase(Phrase):
    """A Phrase of consecutive bigrams, evaluated in bulk (see the module docstring)."""

    def scores(self, searcher) -> dict[int, float]:
        """docnum -> score of every document of this (segment) searcher that holds the phrase."""
        field = searcher.schema[self.fieldname]
        reader = searcher.reader()
        if field.format.supports("positions"):
            decode = getattr(field.format, "decode_array", field.format.decode_positions)
            counts = occurrences(reader, decode, self.fieldname, list(self.words))
        else:
            counts = occurrences_in_text(reader, self.fieldname, field.confirm_column, list(self.words))
        return {docnum: self.boost * _saturate(count) for docnum, count in counts.items()}

    def matcher(self, searcher, context=None) -> matching.Matcher:
        return _listed(self.scores(searcher))


def _term_scores(searcher, query: Term) -> dict[int, float]:
    field = searcher.schema[query.fieldname]
    found = postings(searcher.reader(), query.fieldname, query.text) if (query.fieldname, query.text) in searcher.reader() else {}
    return {docnum: _saturate(field.format.decode_frequency(value)) for docnum, value in found.items()}


class AllWords(And):
    """Documents holding every one of several words (phrases or single bigrams), evaluated in bulk:
    each word's documents as a set, intersected; the score is the sum of the words' scores."""

    def matcher(self, searcher, context=None) -> matching.Matcher:
        result: dict[int, float] | None = None
        for query in self.subqueries:
            if isinstance(query, ExactPhrase):
                scores = query.scores(searcher)
            elif isinstance(query, Term) and not searcher.schema[query.fieldname].format.supports("positions"):
                scores = _term_scores(searcher, query)
            else:
                scores = dict.fromkeys(query.docs(searcher), 1.0)
            result = scores if result is None else {d: result[d] + s for d, s in scores.items() if d in result}
            if not result:
                return matching.NullMatcher()
        return _listed(result or {})
