"""Exact phrases over bigram fields, evaluated in bulk, one segment at a time.

Body text: a segment with a suffix file (archive.search.suffixes) finds every document holding a
phrase, and how often, by a binary search over its texts' suffixes; nothing to confirm. A segment
without one (committed by a checkpoint of a run still going, or by a run killed before it wrote
them; the next run's commit writes them) is searched by counting the phrase in every document's
normalised text (kept in a column; the segment's texts are read once into one string, so a count is
one `str.count` in C): slower, still exact. Found words are cached per segment.
Short fields with positions (title, speaker): the bigrams of a covering set (every other one, and
the last) must stand at p + their offsets for some p.
whoosh's own Phrase walks a tree of matchers document by document and checks spans with general
slop logic: several times slower when a phrase's bigrams are common, which in speeches they are.

Queries are evaluated as score dictionaries per segment (archive.search.evaluate); the matchers
here let whoosh's own AND/OR/NOT use them too.
"""

from __future__ import annotations

import functools
import itertools
import sys
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sized
from typing import Any, TypeVar

from whoosh.query import And, Phrase, Prefix

from archive.search import suffixes
from archive.search.engine import SATURATED, saturate

T = TypeVar("T")


def cover(length: int) -> list[int]:
    """Offsets of bigrams that together cover a phrase of `length` (≥ 2) characters."""
    offsets = list(range(0, length - 1, 2))
    if offsets[-1] != length - 2:
        offsets.append(length - 2)
    return offsets


def postings(reader, fieldname: str, term: str) -> dict[int, bytes | None]:
    """docnum -> encoded value (positions) of every live posting of a term."""
    return dict(reader.postings(fieldname, term).all_items())


def kept(reader, name: str, make: Callable[[], T]) -> T:
    """What `make` builds, kept with the (segment) reader under `name`: a searcher reuses a
    segment's reader until the segment or its deletions change (store.refreshed), so this lives
    exactly as long as it stays true."""
    found = reader.__dict__.get(name)
    if found is None:
        found = reader.__dict__[name] = make()
    return found


_BIT_POSITIONS = [tuple(bit for bit in range(8) if value >> bit & 1) for value in range(256)]


def docnums_of(bits: int) -> list[int]:
    """The docnums whose bits are set, ascending."""
    data = bits.to_bytes((bits.bit_length() + 7) // 8, "little")
    found: list[int] = []
    for index, value in enumerate(data):
        if value:
            base = index * 8
            found.extend([base + bit for bit in _BIT_POSITIONS[value]])
    return found


def as_bits(docnums: Iterable[int], size: int) -> int:
    """The docnums as a bitmap (bit n: docnum n). Many of them, with numpy loaded: set at once."""
    if "numpy" in sys.modules and isinstance(docnums, Sized) and len(docnums) > 4096:
        import numpy as np

        held = np.zeros(size + 8, dtype=bool)
        held[np.fromiter(docnums, dtype=np.int64, count=len(docnums))] = True
        return int.from_bytes(np.packbits(held, bitorder="little").tobytes(), "little")
    flags = bytearray(size // 8 + 1)
    for docnum in docnums:
        flags[docnum >> 3] |= 1 << (docnum & 7)
    return int.from_bytes(flags, "little")


FOLDER = "_archive_folder"  # set on a segment reader by the engine: where its suffix file is


def suffix_file(reader) -> suffixes.SuffixFile | None:
    """The segment's suffix file (archive.search.suffixes), None when it has none (yet), or when
    the one there does not belong to this segment (then it is ignored, and the next index run
    writes it again)."""

    def opened() -> suffixes.SuffixFile | bool:
        folder = reader.__dict__.get(FOLDER)
        if folder is None or reader.segment() is None:
            return False
        path = suffixes.path_for(folder, reader.segment().segment_id())
        return suffixes.whole(path, reader.doc_count_all()) or False

    found = kept(reader, "_archive_suffixes", opened)
    return found if isinstance(found, suffixes.SuffixFile) else None


class SegmentTexts:
    """The normalised texts of one segment's documents.

    From the segment's memory-mapped suffix file when it has one: a phrase is found by a binary
    search, and the texts stay in the page cache every process shares. Otherwise read once into one
    string: a phrase is counted between a document's offsets (str.count runs in C over two-byte
    characters); that costs the segment's text size in memory in each process, about 60 MB per
    10,000 speeches of 3,000 characters. Kept with the segment reader, which a searcher reuses until
    its segment changes.
    """

    # Until the texts are read, counting in a few documents (the speeches a timeline lists) reads
    # just theirs, not the segment's 60 MB.
    FEW = 8  # candidates are few when fewer than one document in this many

    def __init__(self, reader, column: str) -> None:
        self._reader = reader
        self._column = column
        self.doc_count = reader.doc_count_all()
        self.suffixes = suffix_file(reader)
        self._blob: str | None = None
        self._offsets: array[int] | None = None

    @functools.cached_property
    def _values(self) -> Any:
        """The column, opened only without a suffix file: whoosh copies a column of a compound
        segment into each process's memory when it opens it (83 MB at 10,000 speeches)."""
        return self._reader.column_reader(self._column)

    def _load(self) -> None:
        texts = [self._values[docnum].decode("utf-8") for docnum in range(self.doc_count)]
        self._blob = "".join(texts)
        self._offsets = array("Q", itertools.accumulate(map(len, texts), initial=0))

    def warm(self) -> None:
        """Read the texts now, unless the suffix file serves them (then only load what maps many
        occurrences to documents)."""
        if self.suffixes is not None:
            suffixes.warm()
        elif self._blob is None:
            self._load()

    def text(self, docnum: int) -> str:
        """One document's normalised text."""
        if self.suffixes is not None:
            return self.suffixes.text(docnum)
        if self._blob is None:
            return self._values[docnum].decode("utf-8")
        assert self._offsets is not None
        return self._blob[self._offsets[docnum] : self._offsets[docnum + 1]]

    @classmethod
    def of(cls, reader, column: str) -> SegmentTexts:
        return kept(reader, f"_archive_texts_{column}", lambda: cls(reader, column))

    def _read_each(self, candidates: list[int] | None) -> bool:
        """Whether to read the candidates' texts one by one: few of them, the texts not read yet."""
        return self._blob is None and candidates is not None and len(candidates) * self.FEW < self.doc_count

    def counts(self, needle: str, candidates: Iterable[int] | None) -> dict[int, int]:
        """docnum -> occurrences of `needle`, for the candidates (live documents; None: every live
        document) holding it. With a suffix file the candidates are not needed: every live document
        holding it."""
        if self.suffixes is not None:
            return self._live(self.suffixes.counts(needle))
        listed = None if candidates is None else list(candidates)
        counts = {}
        if self._read_each(listed):
            assert listed is not None
            for docnum in listed:
                found_here = self._values[docnum].decode("utf-8").count(needle)
                if found_here:
                    counts[docnum] = found_here
            return counts
        self.warm()
        blob, offsets = self._blob, self._offsets
        assert blob is not None and offsets is not None
        for docnum in range(self.doc_count) if listed is None else listed:
            found_here = blob.count(needle, offsets[docnum], offsets[docnum + 1])
            if found_here:
                counts[docnum] = found_here
        return self._live(counts) if listed is None else counts

    def holding(self, needle: str) -> list[int]:
        """The live documents whose text holds `needle`, read from the texts (a segment with a
        suffix file asks it instead: text_bits): a search that stops at the first occurrence,
        cheaper than counting a common word."""
        self.warm()
        blob, offsets = self._blob, self._offsets
        assert blob is not None and offsets is not None
        found = [docnum for docnum in range(self.doc_count) if blob.find(needle, offsets[docnum], offsets[docnum + 1]) >= 0]
        return list(self._live(dict.fromkeys(found)))

    def _live(self, found: dict[int, T]) -> dict[int, T]:
        """`found` without the segment's deleted documents."""
        if not self._reader.has_deletions():
            return found
        return {docnum: value for docnum, value in found.items() if not self._reader.is_deleted(docnum)}


def warm(reader) -> None:
    """Make every segment's texts of every body field ready (see SegmentTexts)."""
    columns = {field.confirm_column for field in reader.schema if hasattr(field, "confirm_column")}
    for segment, _ in reader.leaf_readers():
        for column in columns:
            SegmentTexts.of(segment, column).warm()


class _ScoreCache:
    """Recently confirmed words and phrases of one segment: text -> (docnums, scores), compact.

    Offices search the same vocabulary again and again (营商环境, 乡村振兴 …), and a common word is
    the costly kind: thousands of documents to confirm. Like a search engine's per-segment query
    cache, entries live as long as their segment and are bounded in postings.
    """

    BUDGET = 400_000  # postings per segment: 3.2 MB

    def __init__(self) -> None:
        self._entries: OrderedDict[tuple[str, str], tuple[array[int], array[float], int]] = OrderedDict()  # docnums, scores, bitmap
        self._size = 0

    @classmethod
    def of(cls, reader) -> _ScoreCache:
        return kept(reader, "_archive_scores", cls)

    def get(self, key: tuple[str, str]) -> dict[int, float] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return dict(zip(entry[0], entry[1], strict=True))

    def bits(self, key: tuple[str, str]) -> int | None:
        """The documents of an entry, as a bitmap."""
        entry = self._entries.get(key)
        return None if entry is None else entry[2]

    def put(self, key: tuple[str, str], scores: dict[int, float], size: int) -> None:
        if len(scores) > self.BUDGET // 4:
            return
        self._entries[key] = (array("I", scores.keys()), array("d", scores.values()), as_bits(scores, size))
        self._size += len(scores)
        while self._size > self.BUDGET:
            _, (docnums, _, _) = self._entries.popitem(last=False)
            self._size -= len(docnums)


def text_scores(reader, fieldname: str, field, text: str) -> dict[int, float]:
    """docnum -> score (saturate of its count) of every document whose text (a body `field`) holds
    normalised `text`: from the suffix file, else by counting it in every text."""
    cache = _ScoreCache.of(reader)
    found = cache.get((fieldname, text))
    if found is not None:
        return found
    counts = SegmentTexts.of(reader, field.confirm_column).counts(text, None)
    table = SATURATED  # looked up here, not called: a common phrase has a count in 50,000 documents
    found = {docnum: table[count] if count < 256 else saturate(count) for docnum, count in counts.items()}
    cache.put((fieldname, text), found, reader.doc_count_all())
    return found


# Confirming that a document holds a word (its text searched in the suffix file, ~2 µs) costs about
# as much as mapping this many of the word's occurrences to documents (numpy, ~0.03 µs each): a word
# that stands more often than this many times the candidates left is confirmed on them.
_CONFIRM_RATIO = 64


def text_bits(reader, fieldname: str, field, text: str, within: int = -1) -> int:
    """The documents whose text holds normalised `text`, as a bitmap (see text_scores): what
    counting a result needs, without counting every occurrence for scores.

    `within`: only these documents are asked about (a bitmap; the others' bits may be anything):
    when they are few and the text is common, each is confirmed in its text from the segment's
    suffix file instead of mapping every occurrence."""
    scores = _ScoreCache.of(reader)
    bits = scores.bits((fieldname, text))
    if bits is not None:
        return bits
    cache: OrderedDict[tuple[str, str], int] = kept(reader, "_archive_doc_bits", OrderedDict)
    key = (fieldname, text)
    bits = cache.get(key)
    if bits is None:
        texts = SegmentTexts.of(reader, field.confirm_column)
        if texts.suffixes is not None:
            if within >= 0 and within.bit_count() * _CONFIRM_RATIO < texts.suffixes.occurrences(text):
                held = [docnum for docnum in docnums_of(within) if texts.suffixes.holds(text, docnum)]
                return as_bits(held, reader.doc_count_all())  # not kept: an answer for these documents only
            bits = texts.suffixes.documents(text)
            if reader.has_deletions():
                bits &= live_bits(reader)
        else:
            bits = as_bits(texts.holding(text), reader.doc_count_all())
        cache[key] = bits
        if len(cache) > max(256, _DOC_BITS_BUDGET // (reader.doc_count_all() // 8 + 1)):
            cache.popitem(last=False)
    else:
        cache.move_to_end(key)
    return bits


_DOC_BITS_BUDGET = 8 * 1024 * 1024  # bytes per segment: a bitmap is its document count / 8 bytes


def live_bits(reader) -> int:
    """The segment's live documents, as a bitmap."""
    return kept(reader, "_archive_live", lambda: as_bits(reader.all_doc_ids(), reader.doc_count_all()))


def _candidates(reader, fieldname: str, bigrams: list[str]):
    """The covering bigrams' postings, rarest first, and the documents holding all of them."""
    parts = [(offset, bigrams[offset]) for offset in cover(len(bigrams) + 1)]
    frequency = {word: reader.doc_frequency(fieldname, word) for _, word in parts}
    if not all(frequency.values()):
        return [], set()
    parts.sort(key=lambda part: frequency[part[1]])
    lists = [(offset, postings(reader, fieldname, word)) for offset, word in parts]
    candidates = set(lists[0][1])
    for _, found in lists[1:]:
        candidates &= found.keys()
        if not candidates:
            break
    return lists, candidates


def occurrences(reader, decode, fieldname: str, bigrams: list[str]) -> dict[int, int]:
    """docnum -> how many times the phrase whose consecutive bigrams are `bigrams` stands in a
    positions field (counted by start positions)."""
    lists, candidates = _candidates(reader, fieldname, bigrams)
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

    def text(self) -> str:
        """The normalised text the bigrams spell."""
        return self.words[0] + "".join(gram[1] for gram in self.words[1:])

    def scores(self, searcher) -> dict[int, float]:
        """docnum -> score of every document of this (segment) searcher that holds the phrase."""
        field = searcher.schema[self.fieldname]
        reader = searcher.reader()
        if field.format.supports("positions"):
            decode = getattr(field.format, "decode_array", field.format.decode_positions)
            counts = occurrences(reader, decode, self.fieldname, list(self.words))
            return {docnum: self.boost * saturate(count) for docnum, count in counts.items()}
        scores = text_scores(reader, self.fieldname, field, self.text())
        return scores if self.boost == 1 else {docnum: self.boost * score for docnum, score in scores.items()}


def body_text(schema, query) -> str | None:
    """The normalised text a query stands for when it is text in a body field: a phrase, or one
    character (None: any other query)."""
    if isinstance(query, ExactPhrase):
        text = query.text()
    elif isinstance(query, Prefix) and len(query.text) == 1:
        text = query.text
    else:
        return None
    return text if hasattr(schema[query.fieldname], "confirm_column") else None


class AllWords(And):
    """Documents holding every one of several words (each a phrase, a bigram or a character) in a
    body field, evaluated in bulk: each word's documents (confirmed, and cached per segment, see
    _ScoreCache), intersected smallest first. The score is the sum of the words' scores."""

    def body_words(self, searcher) -> tuple[str, Any, list[str]] | None:
        """(field name, field, words) when every subquery is text in one body field, else None."""
        fieldnames = {query.field() for query in self.subqueries}
        found = [body_text(searcher.schema, query) for query in self.subqueries]
        words = [word for word in found if word is not None]
        if len(fieldnames) != 1 or len(words) != len(found):
            return None
        fieldname = next(iter(fieldnames))
        return fieldname, searcher.schema[fieldname], words

    def bits(self, searcher) -> int | None:
        """The documents of this (segment) searcher holding all the words, as a bitmap (None: as
        for scores)."""
        found = self.body_words(searcher)
        if found is None:
            return None
        fieldname, field, words = found
        reader = searcher.reader()
        texts = SegmentTexts.of(reader, field.confirm_column)
        if texts.suffixes is not None:  # rarest first: the common words are then confirmed on few documents
            words = sorted(words, key=texts.suffixes.occurrences)
        bits = -1
        for word in words:
            bits &= text_bits(reader, fieldname, field, word, within=bits)
            if not bits:
                break
        return bits

    def scores(self, searcher) -> dict[int, float] | None:
        """docnum -> score of every document of this (segment) searcher holding all the words
        (None: not words of one body field; whoosh's And then evaluates it)."""
        found = self.body_words(searcher)
        if found is None:
            return None
        fieldname, field, words = found
        reader = searcher.reader()
        each = [text_scores(reader, fieldname, field, word) for word in words]
        smallest_first = sorted(each, key=len)
        held = set(smallest_first[0])
        for other in smallest_first[1:]:
            held &= other.keys()
            if not held:
                return {}
        # added up in the words' order, as every engine adds them: floats added in another order
        # can differ in the last bit, and equal scores would then not tie
        return {docnum: sum(scores[docnum] for scores in each) for docnum in held}
