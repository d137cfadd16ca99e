"""Did you mean: a phrase that matches nothing gets the phrases that do occur and differ from it by
one or two characters (a character typed wrong, one left out, one too many): "脱贫功坚" → "脱贫攻坚".

Each variant is a pattern with one or two wildcards; the documents that can hold it are those holding
its longest fixed stretch, found through the index, and only their texts are scanned (with suffix
files or positional postings, only the text around some of that stretch's occurrences). That
sample says which variants occur; the likeliest are then counted exactly, and the counts choose
and order the ones shown: ordered by the sample alone, two engines (which sample differently)
offered different variants for a fifth of mistyped phrases on a held-out folder; counted, for a
tenth, and never a count that is not the archive's.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from archive.normalize import normalise
from archive.search import querylang as ql

if TYPE_CHECKING:
    from archive.search import Searching

MAX_SUGGESTIONS = 3
COUNTED = 24  # variants counted exactly, of those the sample found most often
DISCOVER = 300  # documents looked at per pattern to find which variants occur
MIN_LENGTH = 3  # shorter phrases have too many neighbours to be worth suggesting
MAX_LENGTH = 30
TWO_CHANGES_FROM, TWO_CHANGES_UP_TO = 6, 12  # two changed characters: only where they leave most of the phrase


def suggestions(index: Searching[Any], query: str) -> list[dict[str, Any]]:
    """Up to three `{"query": "\"…\"", "total": N}` for a one-phrase query that found nothing:
    variants with one change before those with two, then the most used."""
    node = ql.parse(query)
    terms = ql.text_terms(node)
    if len(terms) != 1 or isinstance(node, (ql.Not, ql.Or)):
        return []
    phrase = normalise(terms[0].value)
    if not MIN_LENGTH <= len(phrase) <= MAX_LENGTH:
        return []
    documents: dict[str, set[str]] = {}
    changes: dict[str, int] = {}
    for pattern, anchor, changed in _patterns(phrase):
        if len(anchor) < 2:
            continue
        for variant, paths in index.variants(re.compile(pattern), anchor, limit=DISCOVER, reach=len(phrase) + 1).items():
            documents.setdefault(variant, set()).update(paths)
            changes[variant] = min(changes.get(variant, changed), changed)
    documents.pop(phrase, None)
    # variants are found in a sample of documents (each engine samples its own way): the likeliest
    # are counted exactly, and those counts choose and order the few shown
    likeliest = sorted(documents, key=lambda v: (changes[v], -len(documents[v]), len(v) != len(phrase), v))[:COUNTED]
    totals = index.documents_holding(likeliest)
    best = sorted(likeliest, key=lambda v: (changes[v], -totals[v], len(v) != len(phrase), v))
    return [{"query": f'"{variant}"', "total": totals[variant]} for variant in best[:MAX_SUGGESTIONS]]


def _patterns(phrase: str) -> list[tuple[str, str, int]]:
    """(regular expression, longest fixed stretch, changes) for every variant within one or two
    changes. Only changes inside the phrase: a phrase with its first or last character cut off
    is a piece of it, not a suggestion."""
    found: list[tuple[str, str, int]] = []
    n = len(phrase)
    one = "[^\\W_]"
    for i in range(n):  # one character typed wrong
        found.append(_pattern([phrase[:i], phrase[i + 1 :]], one, 1))
    for i in range(1, n - 1):  # one character too many
        shorter = phrase[:i] + phrase[i + 1 :]
        found.append((re.escape(shorter), shorter, 1))
    for i in range(1, n):  # one character left out (a mark of punctuation too: 务实奉献追求 → 务实奉献、追求)
        found.append(_pattern([phrase[:i], phrase[i:]], ".", 1))
    if TWO_CHANGES_FROM <= n <= TWO_CHANGES_UP_TO:
        for i in range(n):
            for j in range(i + 2, n):  # two characters typed wrong, apart
                found.append(_pattern([phrase[:i], phrase[i + 1 : j], phrase[j + 1 :]], one, 2))
            if i + 1 < n:  # two characters typed wrong, side by side
                found.append(_pattern([phrase[:i], phrase[i + 2 :]], one * 2, 2))
    return found


def _pattern(parts: list[str], wildcard: str, changes: int) -> tuple[str, str, int]:
    return wildcard.join(re.escape(part) for part in parts), max(parts, key=len), changes
