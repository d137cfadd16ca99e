"""How exact text is indexed: overlapping character bigrams of the normalised text, with positions.

whoosh pickles the schema into the index, field types, formats and analyzers included: the classes
here must stay at module level, under these names. Moving or renaming one makes old indexes
unreadable; if that is ever needed, bump SCHEMA_VERSION (archive.search.schema) so old indexes are
rebuilt instead of read.

Both field types get their postings straight from their format's `word_values`: bigrams are cut
from the normalised string (positions packed as arrays, or just counted), with no Token object per
character. whoosh's generic path (an analyzer yielding tokens, positions pickled per term) costs
more than twice as much, and writing the index is most of an index run's work.
"""

from __future__ import annotations

import operator
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence

from whoosh.analysis import Analyzer, Token
from whoosh.fields import TEXT
from whoosh.formats import Frequency, Positions
from whoosh.system import _INT_SIZE, pack_uint

from archive.normalize import normalise
from archive.tokens import char_bigrams


def _text_of(value) -> str:
    """A field value as normalised text: a str is normalised here; a tuple or list holds parts that
    are normalised already (the indexer passes the body that way, so it is not normalised twice)."""
    return normalise(value) if isinstance(value, str) else "".join(value)


def bigram_counts(text: str) -> Counter[str]:
    """Each bigram of normalised `text` with how often it stands there (and the last character alone)."""
    counts = Counter(map(operator.add, text, text[1:]))
    if text:
        counts[text[-1]] += 1
    return counts


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
    """The same terms as tokens, for whoosh code paths that analyse text themselves."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs) -> Iterator[Token]:
        terms: Sequence[str] = value if isinstance(value, (list, tuple)) else char_bigrams(normalise(value))
        token = Token(positions=positions, removestops=removestops, mode=mode)
        for position, term in enumerate(terms):
            token.text = term
            token.boost = 1.0
            token.stopped = False
            if positions:
                token.pos = start_pos + position
            yield token


class BigramCounts(Frequency):
    """Frequency format whose postings are built from text directly (bigram -> count)."""

    def word_values(self, value, analyzer, **kwargs):
        boost = self.field_boost
        for term, count in self.term_counts(value).items():
            yield term, count, count * boost, pack_uint(count)

    def term_counts(self, value) -> Counter[str]:
        """term -> count for one document: its postings, handed to the writer at once
        (archive.search.bulkwriter)."""
        return bigram_counts(_text_of(value))


class BigramText(TEXT):
    """A short text field (title, speaker) of bigrams with positions: phrases are checked by position."""

    def __init__(self) -> None:
        super().__init__(analyzer=CharBigramAnalyzer(), phrase=True)
        self.format = BigramPositions(field_boost=1.0)


class BigramBody(TEXT):
    """The body: bigrams with counts, no positions. A phrase's candidates are the documents holding
    a covering set of its bigrams; each is confirmed against the normalised text kept beside it in
    a column (archive.search.phrase), which costs less than positions to write and to check."""

    def __init__(self, confirm_column: str = "normalised") -> None:
        super().__init__(analyzer=CharBigramAnalyzer(), phrase=False)
        self.format = BigramCounts(field_boost=1.0)
        self.confirm_column = confirm_column
