"""Turn a parsed query (archive.search.querylang) into whoosh queries, in two tiers.

Strict: every unquoted term must stand in the text exactly. Loose: an unquoted term may instead be
matched by all of its jieba words, each standing somewhere in the text. Results show strict matches
first, then the loose-only ones.
Negations are always strict: `-卓越` drops documents that hold 卓越, not those holding its words.
"""

from __future__ import annotations

from whoosh import query as wq

from archive.search import querylang as ql
from archive.search.dates import parse_range
from archive.search.engine import Filters, needle_of, only_negative, query_words, year_range
from archive.search.phrase import AllWords, ExactPhrase
from archive.tokens import phrase_bigrams


def phrase(field: str, text: str) -> wq.Query:
    """Exact text in a bigram field: its consecutive bigrams, or a prefix for one character (the
    bigrams starting with it, and the field's last character)."""
    normalised = needle_of(text)
    if len(normalised) == 1:
        return wq.Prefix(field, normalised)
    return ExactPhrase(field, phrase_bigrams(normalised))


def _words(text: str) -> wq.Query | None:
    """All of jieba's words of `text` (engine.query_words), each found wherever it stands in the text."""
    terms = query_words(text)
    if terms is None:
        return None
    return AllWords([phrase("text", term) for term in terms])


def _field(node: ql.Field) -> wq.Query:
    if node.name == "speaker":
        return phrase("people", node.value)
    if node.name == "title":
        return phrase("title", node.value)
    if node.name == "year":
        return wq.NumericRange("date_key", *year_range(node.value))
    low, high = parse_range(node.value)
    return wq.NumericRange("date_key", low, high)


def compile_node(node: ql.Node, *, loose: bool) -> wq.Query:
    if isinstance(node, ql.Text):
        exact = phrase("text", node.value)
        if node.exact or not loose:
            return exact
        by_words = _words(node.value)
        return by_words if by_words is not None else exact  # the exact text holds all its words too
    if isinstance(node, ql.Field):
        return _field(node)
    if isinstance(node, ql.Not):
        return wq.Not(compile_node(node.item, loose=False))
    if isinstance(node, ql.Or):
        return wq.Or([compile_node(item, loose=loose) for item in node.items])
    items = [compile_node(item, loose=loose) for item in node.items]
    return wq.And(items)


def compile_query(node: ql.Node, *, loose: bool) -> wq.Query:
    """The whole query tree; one that only excludes (-"x") excludes from every document."""
    compiled = compile_node(node, loose=loose)
    return wq.And([wq.Every(), compiled]) if only_negative(node) else compiled


# Files that could not be read are in the index (to remember why), never in results.
NOT_DOCUMENTS = wq.Term("kind", "failed")


def filters(given: Filters) -> wq.Query | None:
    """The --speaker/--since/--until/--year options as one whoosh filter (None: no filter)."""
    found: list[wq.Query] = []
    if given.speaker:
        found.append(phrase("people", given.speaker))
    found.extend(wq.NumericRange("date_key", low, high) for low, high in given.date_ranges())
    return wq.And(found) if found else None
