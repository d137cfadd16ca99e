"""Find every occurrence of the query's text in a document and cut passages around them.

Matching runs on normalised text (archive.normalize) of the whole document, so a phrase that a PDF
wrapped over a line or a page is still found; each hit is traced back to the original characters, so
the whole phrase is highlighted (whoosh's own highlighter cuts jieba matches short: 马克思 → 马克).
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from archive.document import Document, Paragraph
from archive.normalize import normalise, normalise_with_origins

ELLIPSIS = "…"


@dataclass
class Passage:
    text: str
    page: int | None
    highlights: list[tuple[int, int]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "page": self.page, "highlights": [list(h) for h in self.highlights]}


@dataclass
class _Hit:
    first: int  # paragraph index where the match starts
    start: int  # original offset in that paragraph
    last: int  # paragraph index where it ends
    end: int  # original offset (exclusive) in that paragraph
    needle: str


class DocumentText:
    """A document's paragraphs with their normalised form, for locating matches."""

    def __init__(self, paragraphs: Sequence[Paragraph], normalised: str | None = None,
                 lengths: list[int] | None = None) -> None:
        """`normalised` and `lengths` (each paragraph's normalised length), when the index kept
        them, spare normalising every paragraph of the document again."""
        self.paragraphs = paragraphs
        self._origins: dict[int, Sequence[int]] = {}  # computed only for paragraphs that hold a match
        if normalised is None or lengths is None or len(lengths) != len(paragraphs) or sum(lengths) != len(normalised):
            pieces = [normalise(paragraph.text) for paragraph in paragraphs]
            lengths = [len(piece) for piece in pieces]
            normalised = "".join(pieces)
        self.normalised = normalised
        self._lengths = lengths
        self._starts = list(itertools.accumulate(lengths, initial=0))[:-1]

    @classmethod
    def of(cls, document: Document, normalised: Callable[[], str]) -> DocumentText:
        """A found document's text, with the normalised text its index keeps (`normalised()`, read
        only when the record has each paragraph's normalised length to go with it)."""
        if document.normalised_lengths is None:
            return cls(document.paragraphs)
        return cls(document.paragraphs, normalised(), document.normalised_lengths)

    def locate(self, start: int, end: int) -> tuple[int, int, int]:
        """Normalised offsets [start, end) of the whole text as (paragraph, original start, original
        end) in the paragraph where the stretch starts (its end is cut at that paragraph's end)."""
        index = bisect_right(self._starts, start) - 1
        length = self._lengths[index]
        local_start, local_end = start - self._starts[index], min(end - self._starts[index], length)
        if length == 0:
            return index, 0, len(self.paragraphs[index].text)
        return index, self._origin(index, min(local_start, length - 1)), self._origin(index, max(local_end, 1) - 1) + 1

    def _origin(self, index: int, offset: int) -> int:
        if index not in self._origins:
            self._origins[index] = normalise_with_origins(self.paragraphs[index].text)[1]
        return self._origins[index][offset]

    def _spans(self, needles: list[str]) -> Iterator[tuple[int, int, str]]:
        """(start, end, needle) of every occurrence in the normalised text, in order; an occurrence
        inside one of a longer needle is left out. One needle's are found as they are asked for: a
        page shows a speech's first passages, and a common phrase stands in a speech dozens of times."""
        distinct = sorted({n for n in needles if n}, key=len, reverse=True)
        if len(distinct) == 1:
            needle, text = distinct[0], self.normalised
            start = text.find(needle)
            while start >= 0:
                yield start, start + len(needle), needle
                start = text.find(needle, start + len(needle))
            return
        taken: list[list[tuple[int, int]]] = []  # per longer needle: its spans, in order, disjoint
        found: list[tuple[int, int, str]] = []
        for needle in distinct:
            spans: list[tuple[int, int]] = []
            start = self.normalised.find(needle)
            while start >= 0:
                end = start + len(needle)
                if not taken or not any(_inside(start, end, earlier) for earlier in taken):
                    spans.append((start, end))
                    found.append((start, end, needle))
                start = self.normalised.find(needle, end)
            taken.append(spans)
        found.sort()
        yield from found

    def _paragraph_of(self, position: int) -> int:
        index = bisect_right(self._starts, position) - 1
        while position - self._starts[index] >= self._lengths[index]:
            index += 1
        return index

    def hits(self, needles: list[str], *, context: int = 0, groups: int | None = None) -> list[list[_Hit]]:
        """The occurrences of `needles`, grouped into passages: those in one paragraph, or in
        paragraphs a match spans (or within `context` paragraphs), together. With `groups`, only
        the first that many passages are traced back to the original text."""
        grouped: list[list[tuple[int, int, int, int, str]]] = []
        for start, end, needle in self._spans(needles):
            first, last = self._paragraph_of(start), self._paragraph_of(end - 1)
            if grouped and first <= grouped[-1][-1][1] + (2 * context if context else 0):
                grouped[-1].append((first, last, start, end, needle))
            elif groups is not None and len(grouped) == groups:
                break
            else:
                grouped.append([(first, last, start, end, needle)])
        return [[self._hit(*item) for item in group] for group in grouped]

    def _hit(self, first: int, last: int, start: int, end: int, needle: str) -> _Hit:
        return _Hit(first, self._origin(first, start - self._starts[first]),
                    last, self._origin(last, end - 1 - self._starts[last]) + 1, needle)

    def passages(self, needles: list[str], *, context: int = 0, window: int | None = None,
                 limit: int | None = None) -> list[Passage]:
        """One passage per paragraph (or run of paragraphs a match spans) holding a match, in order;
        the first `limit` of them."""
        return [self._passage(group, context, window) for group in self.hits(needles, context=context, groups=limit)]

    def _passage(self, group: list[_Hit], context: int, window: int | None) -> Passage:
        first = max(0, group[0].first - context)
        last = min(len(self.paragraphs) - 1, max(h.last for h in group) + context)
        offsets: dict[int, int] = {}
        texts: list[str] = []
        position = 0
        for index in range(first, last + 1):
            offsets[index] = position
            texts.append(self.paragraphs[index].text)
            position += len(texts[-1]) + 1
        text = "\n".join(texts)
        highlights = _merge([(offsets[h.first] + h.start, offsets[h.last] + h.end) for h in group])
        page = self.paragraphs[group[0].first].page_at(group[0].start)
        passage = Passage(text, page, highlights)
        if window is not None:
            passage = _trim(passage, window)
        return passage


def _inside(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    """Whether [start, end) lies within one of `spans` (disjoint, in order)."""
    index = bisect_right(spans, (start, float("inf"))) - 1
    return index >= 0 and spans[index][1] >= end


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _trim(passage: Passage, window: int) -> Passage:
    """Cut a long passage down to `window` characters either side of its highlights."""
    text = passage.text
    if not passage.highlights or len(text) <= 2 * window + 20:
        return passage
    start = max(0, passage.highlights[0][0] - window)
    end = min(len(text), passage.highlights[-1][1] + window)
    if end - start > 4 * window:  # matches far apart: keep the first few
        end = min(len(text), max(h[1] for h in passage.highlights if h[0] < start + 3 * window) + window)
    prefix = ELLIPSIS if start > 0 else ""
    suffix = ELLIPSIS if end < len(text) else ""
    shift = len(prefix) - start
    highlights = [(s + shift, e + shift) for s, e in passage.highlights if s >= start and e <= end]
    return Passage(prefix + text[start:end] + suffix, passage.page, highlights)
