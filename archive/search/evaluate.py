"""Run a compiled query (archive.search.compile) over each segment in bulk.

Every text query here (ExactPhrase, AllWords) already yields all of a segment's matching documents
with their scores at once; AND, OR and NOT combine those as dictionaries and sets. whoosh's
searcher would instead wrap them in matchers and collect the same documents one by one through
several layers of Python calls, which cost more than finding them when a phrase is common (a
common phrase stands in thousands of speeches). Queries that only select (a date range, a file
kind) are still answered by whoosh, as sets of documents.
"""

from __future__ import annotations

from collections.abc import Callable, Set
from typing import Any

from whoosh import query as wq

from archive.search.engine import best_first
from archive.search.phrase import (
    AllWords,
    ExactPhrase,
    as_bits,
    body_text,
    docnums_of,
    live_bits,
    text_bits,
    text_scores,
)

Scores = dict[int, float]


def ranked(searcher, query: wq.Query, path_order: Callable[[int], Any], *, only: wq.Query | None = None,
           never: wq.Query | None = None, skip: Set[int] = frozenset()) -> list[tuple[int, float]]:
    """(docnum, score) of every live document matching `query`, best first (ties in path order:
    `path_order` gives a docnum's place among the paths).

    `only`: documents must also match it (a filter; it does not score). `never`: documents matching
    it are left out. `skip`: docnums (of the whole index) left out.
    """
    found: list[tuple[int, float]] = []
    for segment, offset in searcher.leaf_searchers():
        scores = scores_of(segment, query)
        if scores and only is not None:
            allowed = scores_of(segment, only)
            scores = {docnum: score for docnum, score in scores.items() if docnum in allowed}
        if scores and never is not None:
            for docnum in scores_of(segment, never):
                scores.pop(docnum, None)
        if offset:
            scores = {offset + docnum: score for docnum, score in scores.items()}
        if skip:
            scores = {docnum: score for docnum, score in scores.items() if docnum not in skip}
        found.extend(scores.items())
    best_first(found, path_order)
    return found


def count(searcher, query: wq.Query, *, only: wq.Query | None = None, never: wq.Query | None = None,
          skip: Set[int] = frozenset()) -> int:
    """How many live documents `ranked` would return, from document bitmaps: no scores, no sort.
    Counting the words tier this way is what lets a page of exact matches skip ranking it."""
    total = 0
    for segment, offset in searcher.leaf_searchers():
        bits = docs_of(segment, query)
        if bits and only is not None:
            bits &= docs_of(segment, only)
        if bits and never is not None:
            bits &= ~docs_of(segment, never)
        if bits and skip:
            size = segment.reader().doc_count_all()
            bits &= ~as_bits((d - offset for d in skip if offset <= d < offset + size), size)
        total += bits.bit_count()
    return total


def docs_of(segment, query: wq.Query) -> int:
    """The live documents of one segment searcher that match `query`, as a bitmap."""
    reader = segment.reader()
    text = body_text(segment.schema, query)
    if text is not None:
        return text_bits(reader, query.fieldname, segment.schema[query.fieldname], text)
    if isinstance(query, AllWords):
        bits = query.bits(segment)
        if bits is not None:
            return bits
        return _all_bits(segment, query.subqueries)
    if isinstance(query, wq.And):
        return _all_bits(segment, query.subqueries)
    if isinstance(query, wq.Or):
        bits = 0
        for item in query.subqueries:
            bits |= docs_of(segment, item)
        return bits
    if isinstance(query, wq.Not):
        return live_bits(reader) & ~docs_of(segment, query.query)
    if isinstance(query, wq.Every):
        return live_bits(reader)
    return as_bits(scores_of(segment, query), reader.doc_count_all()) & live_bits(reader)


def _all_bits(segment, queries: list[wq.Query]) -> int:
    bits = live_bits(segment.reader())
    for query in queries:
        if isinstance(query, wq.Not):
            bits &= ~docs_of(segment, query.query)
        else:
            bits &= docs_of(segment, query)
        if not bits:
            break
    return bits


def scores_of(segment, query: wq.Query) -> Scores:
    """docnum -> score of every live document of one segment searcher that matches `query`."""
    if isinstance(query, ExactPhrase):
        if body_text(segment.schema, query) is None:  # speaker:, title: select, scoring 1 as a date range does
            return dict.fromkeys(query.scores(segment), 1.0)
        return query.scores(segment)
    if isinstance(query, AllWords):
        scores = query.scores(segment)
        if scores is not None:
            return scores
        return _all_of(segment, query.subqueries)
    if isinstance(query, wq.And):
        return _all_of(segment, query.subqueries)
    if isinstance(query, wq.Or):
        return _any_of(segment, query.subqueries)
    if isinstance(query, wq.Not):
        excluded = scores_of(segment, query.query)
        return {docnum: 0.0 for docnum in segment.reader().all_doc_ids() if docnum not in excluded}
    if isinstance(query, wq.Every):
        return dict.fromkeys(segment.reader().all_doc_ids(), 0.0)
    text = body_text(segment.schema, query)
    if text is not None:  # one character
        return text_scores(segment.reader(), query.fieldname, segment.schema[query.fieldname], text)
    return dict.fromkeys(query.docs(segment), 1.0)


def _all_of(segment, queries: list[wq.Query]) -> Scores:
    wanted = [q for q in queries if not isinstance(q, wq.Not)]
    unwanted = [q.query for q in queries if isinstance(q, wq.Not)]
    result: Scores | None = None
    for query in wanted:
        scores = scores_of(segment, query)
        if result is None:
            result = scores
        else:
            result = {docnum: score + scores[docnum] for docnum, score in result.items() if docnum in scores}
        if not result:
            return {}
    if result is None:  # only exclusions: from every document
        result = dict.fromkeys(segment.reader().all_doc_ids(), 0.0)
    for query in unwanted:  # which documents, not how often: no counting
        for docnum in docnums_of(docs_of(segment, query)):
            result.pop(docnum, None)
        if not result:
            break
    return result


def _any_of(segment, queries: list[wq.Query]) -> Scores:
    result: Scores = {}
    for query in queries:
        for docnum, score in scores_of(segment, query).items():
            result[docnum] = result.get(docnum, 0.0) + score
    return result
