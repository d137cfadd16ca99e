"""How exact text is indexed: overlapping character bigrams of the normalised text.

Title and speaker: each bigram is a term, with its positions. The body: each bigram falls in one
of 65,536 buckets (a fixed hash of the bigram), and a document is indexed under the buckets it
holds, so a segment has at most that many body terms. Real speeches hold two thousand distinct bigrams each and hundreds of thousands between
them, most in one document only; whoosh pays tens of microseconds per term written, so bucketing
made writing three times faster and the index half the size. A bucket's documents are a superset of
each of its bigrams' documents, and every candidate is confirmed against the text anyway
(archive.search.phrase), so results stay exact.

whoosh pickles the schema into the index, field types, formats and analyzers included: the classes
here must stay at module level, under these names. Moving or renaming one makes old indexes
unreadable; if that is ever needed, bump SCHEMA_VERSION (archive.search.schema) so old indexes are
rebuilt instead of read.

Both field types make a document's postings at once from the normalised string (`term_set`,
`term_values`, which archive.search.bulkwriter calls; `word_values` for whoosh's own paths), with
no Token object per character: whoosh's generic path (an analyzer yielding tokens, positions
pickled per term) costs more than twice as much.
"""

from __future__ import annotations

import operator
from array import array
from collections import defaultdict
from collections.abc import Set
from functools import cache

from whoosh.analysis import Analyzer
from whoosh.fields import TEXT
from whoosh.formats import Existence, Positions
from whoosh.system import _INT_SIZE, pack_uint

from archive.normalize import normalise


def _text_of(value) -> str:
    """A field value as normalised text: a str is normalised here; a tuple or list holds parts that
    are normalised already (the indexer passes the body that way, so it is not normalised twice)."""
    return normalise(value) if isinstance(value, str) else "".join(value)


BUCKETS = 1 << 16


@cache
def _bucket_terms() -> list[str]:
    """Every bucket's term, made on first use (10 ms: a search answered from suffix files needs none)."""
    return [f"{bucket:04x}" for bucket in range(BUCKETS)]


def body_buckets(text: str) -> set[str]:
    """The body's terms of normalised `text`: the buckets its bigrams fall in, by a fixed hash of
    each bigram (never Python's per-process hash()).

    Only which buckets a document holds is indexed, not how often: candidates are confirmed and
    scored against the text itself.
    """
    terms = _bucket_terms()
    return {terms[((ord(gram[0]) * 0x9E3779B1) ^ (ord(gram[1]) * 0x85EBCA77)) >> 7 & 0xFFFF]
            for gram in set(map(operator.add, text, text[1:]))}


def bigram_bucket(gram: str) -> str:
    """The body term one bigram falls under."""
    (bucket,) = body_buckets(gram)
    return bucket


class BodyTerms(frozenset):
    """A body's buckets made in a worker process (body_buckets), handed to the index as the field's
    value so the single writer does not make them again."""


def bigram_positions(text: str) -> dict[str, list[int]]:
    """Each bigram of normalised `text` with the positions it stands at (and the last character alone)."""
    positions: defaultdict[str, list[int]] = defaultdict(list)
    for index in range(len(text) - 1):
        positions[text[index : index + 2]].append(index)
    if text:
        positions[text[-1]].append(len(text) - 1)
    return positions


class BigramPositions(Positions):
    """Positions format whose postings are built from text directly and stored as uint32 arrays."""

    def word_values(self, value, analyzer, **kwargs):
        return iter(self.term_values(value))

    def term_values(self, value) -> list[tuple[str, int, float, bytes]]:
        """(term, frequency, weight, encoded positions) of every term: the postings of one document,
        handed to the writer at once (archive.search.bulkwriter)."""
        boost = self.field_boost
        return [(term, len(positions), len(positions) * boost, self.encode(positions))
                for term, positions in bigram_positions(_text_of(value)).items()]

    def encode(self, poslist) -> bytes:
        return pack_uint(len(poslist)) + array("I", poslist).tobytes()

    def decode_positions(self, valuestring: bytes) -> list[int]:
        return self.decode_array(valuestring).tolist()

    @staticmethod
    def decode_array(valuestring: bytes) -> array:
        """The positions as an array: sets and membership tests run on it at C speed."""
        positions = array("I")
        positions.frombytes(valuestring[_INT_SIZE:])
        return positions


class CharBigramAnalyzer(Analyzer):
    """The fields' analyzer as whoosh pickles it into the schema. archive never analyses text
    through it (the formats above make the postings from the text directly), so it has no body;
    the class stays, under this name, so indexes made with it stay readable."""


class BigramBuckets(Existence):
    """The body's format: which buckets of bigrams a document holds (see above), no counts."""

    def word_values(self, value, analyzer, **kwargs):
        boost = self.field_boost
        return ((term, 1, boost, b"") for term in self.term_set(value))

    def term_set(self, value) -> Set[str]:
        """The terms of one document, handed to the writer at once (archive.search.bulkwriter)."""
        return value if isinstance(value, BodyTerms) else body_buckets(_text_of(value))


class BigramText(TEXT):
    """A short text field (title, speaker) of bigrams with positions: phrases are checked by position."""

    def __init__(self) -> None:
        super().__init__(analyzer=CharBigramAnalyzer(), phrase=True)
        self.format = BigramPositions(field_boost=1.0)


class BigramBody(TEXT):
    """The body: bigram buckets, no counts, no positions. A phrase's candidates are the documents
    holding the buckets of its rarest bigrams; each is confirmed against the normalised text kept
    beside it in a column (archive.search.phrase), which costs less than positions to write and to
    check. Only archive.search.phrase queries it (its terms are bucket numbers, not text)."""

    def __init__(self, confirm_column: str = "normalised") -> None:
        super().__init__(analyzer=CharBigramAnalyzer(), phrase=False)
        self.format = BigramBuckets(field_boost=1.0)
        self.confirm_column = confirm_column
