"""How exact text is indexed: overlapping character bigrams of the normalised text.

Title and speaker: each bigram is a term, with its positions. The body has no postings: each
segment's suffix file (archive.search.suffixes) finds phrases in its normalised texts, kept in a
column beside them (archive.search.phrase). Indexes written before suffix files also hold the body's
bigrams under 65,536 hashed buckets (candidates, each confirmed against the text); nothing reads
them now, and they go as their segments are merged or rewritten.

whoosh pickles the schema into the index, field types, formats and analyzers included: the classes
here must stay at module level, under these names. Moving or renaming one makes old indexes
unreadable; if that is ever needed, bump SCHEMA_VERSION (archive.search.schema) so old indexes are
rebuilt instead of read.

The positions format makes a document's postings at once from the normalised string
(`word_values`, which whoosh's writer calls), with no Token object per character: whoosh's generic path (an analyzer yielding tokens, positions
pickled per term) costs more than twice as much.
"""

from __future__ import annotations

from array import array
from collections import defaultdict

from whoosh.analysis import Analyzer
from whoosh.fields import TEXT
from whoosh.formats import Existence, Positions
from whoosh.system import _INT_SIZE, pack_uint

from archive.normalize import normalise


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
        """(term, frequency, weight, encoded positions) of every bigram of the text `value`."""
        boost = self.field_boost
        return [(term, len(positions), len(positions) * boost, self.encode(positions))
                for term, positions in bigram_positions(normalise(value)).items()]

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
    """The body's format, as pickled into the schema. No document is given a body value any more
    (see above), so it writes nothing; postings that indexes made before suffix files hold under
    it stay readable."""


class BigramText(TEXT):
    """A short text field (title, speaker) of bigrams with positions: phrases are checked by position."""

    def __init__(self) -> None:
        super().__init__(analyzer=CharBigramAnalyzer(), phrase=True)
        self.format = BigramPositions(field_boost=1.0)


class BigramBody(TEXT):
    """The body: the field phrases and words name; archive.search.phrase finds them in the suffix
    files, or in the normalised texts of `confirm_column`. It holds no postings (see above)."""

    def __init__(self, confirm_column: str = "normalised") -> None:
        super().__init__(analyzer=CharBigramAnalyzer(), phrase=False)
        self.format = BigramBuckets(field_boost=1.0)
        self.confirm_column = confirm_column
