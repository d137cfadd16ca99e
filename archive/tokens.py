"""The terms the index stores, computed from normalised text (see archive.normalize).

- character bigrams at consecutive positions make phrases exact: a phrase is found exactly where its
  bigrams stand one after another, whatever jieba would make of the surrounding text;
- jieba cuts an unquoted query into words; a document holding every word (each as exact text)
  matches it, ranked after the documents holding the query as written.
"""

from __future__ import annotations

import unicodedata
from functools import cache


def phrase_bigrams(normalised: str) -> list[str]:
    """The bigrams a phrase must show at consecutive positions (a single character is a prefix)."""
    if len(normalised) < 2:
        return [normalised] if normalised else []
    return [normalised[i : i + 2] for i in range(len(normalised) - 1)]


@cache
def _jieba():
    """A jieba tokenizer with jieba's own dictionary, held compactly (archive.dictionary): it cuts
    as jieba.lcut does, in 6 MB of a process's memory instead of 71."""
    import logging

    import jieba

    from archive import dictionary

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    with jieba.get_dict_file() as source:
        tokenizer.FREQ, tokenizer.total = dictionary.load(source.read())
    tokenizer.initialized = True
    return tokenizer


def _is_word(token: str) -> bool:
    return any(unicodedata.category(c)[0] in "LN" for c in token)


def words(normalised: str) -> list[str]:
    """jieba's words of normalised text, punctuation left out."""
    return [w for w in _jieba().lcut(normalised, HMM=True) if _is_word(w)]


def warm_up() -> None:
    """Load jieba's dictionary now (in a worker's start-up, not on its first file)."""
    _jieba()
