"""文稿查重: which sentences of a new draft repeat past speeches, exactly or nearly.

A draft is cut into sentences (at 。！？；!?; and line ends). Each sentence is compared on its core:
normalised text (archive.normalize: script, width, case and spaces folded) with punctuation
dropped, so a re-punctuated or traditional-script copy is the same sentence. Candidates come from
the index, not from reading every speech: four pieces of the core are looked up, and a speech that
holds at least two of them is a candidate (one or two changed characters break at most two pieces).
Each candidate is confirmed with rapidfuzz: the best-aligned stretch of its core, and the edit
distance to it. A sentence is reused when that distance is at most MAX_EDITS characters or the
similarity reaches the threshold; it is exact when its core stands in the speech as it is.

Very short and formulaic sentences (同志们：, 谢谢大家！) are not reported.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archive.document import Document
from archive.errors import ArchiveError
from archive.normalize import normalise
from archive.search import DocumentText

DEFAULT_THRESHOLD = 0.85
MAX_EDITS = 2  # a sentence with one or two characters changed is still the same sentence
MIN_CHARS = 8  # sentences shorter than this (core characters) are formulas, not reuse
MAX_SOURCES = 5
PIECES = 4
CLAUSE_SHARE = 0.5  # a past sentence with a clause more or less is reuse while the shorter is half the longer
MAX_CANDIDATES = 400  # speeches confirmed per sentence, those holding most pieces first
FORMULAS = {normalise(s) for s in ("同志们", "各位领导同志们", "谢谢大家", "谢谢", "大家好", "下面我讲几点意见",
                                   "下面我讲几点意见供大家参考", "我就讲这些", "我就讲这么多", "以上意见供参考")}
_SENTENCE_END = re.compile(r"[。！？；!?;]+[”’」』）)]*|\n+")
_CLAUSE_MARKS = "。！？；!?;"


def core(text: str) -> str:
    """Normalised text without punctuation or symbols: what two sentences are compared on."""
    return "".join(c for c in normalise(text) if unicodedata.category(c)[0] in "LN")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, surrounding spaces left out."""
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.end()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    trimmed = []
    for begin, end in spans:
        while begin < end and text[begin].isspace():
            begin += 1
        while end > begin and text[end - 1].isspace():
            end -= 1
        if begin < end:
            trimmed.append((begin, end))
    return trimmed


@dataclass
class Source:
    path: str
    title: str | None
    speaker: str | None
    date: str | None
    page: int | None
    text: str  # the past sentence as it stands
    similarity: float
    exact: bool

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "title": self.title, "speaker": self.speaker, "date": self.date,
                "page": self.page, "text": self.text, "similarity": round(self.similarity, 3), "exact": self.exact}


@dataclass
class SentenceMatch:
    sentence: str
    start: int
    end: int
    sources: list[Source] = field(default_factory=list)
    documents: int = 0  # how many past speeches hold it (sources lists the first MAX_SOURCES)

    @property
    def exact(self) -> bool:
        return any(source.exact for source in self.sources)

    @property
    def similarity(self) -> float:
        return max(source.similarity for source in self.sources)

    def to_dict(self) -> dict[str, Any]:
        return {"sentence": self.sentence, "start": self.start, "end": self.end, "exact": self.exact,
                "similarity": round(self.similarity, 3), "documents": self.documents,
                "sources": [source.to_dict() for source in self.sources]}


@dataclass
class CheckReport:
    text: str
    sentences: int
    matches: list[SentenceMatch]

    @property
    def reused(self) -> int:
        return len(self.matches)

    @property
    def exact(self) -> int:
        return sum(1 for match in self.matches if match.exact)

    def summary(self) -> str:
        return f"{self.reused} of {self.sentences} sentences appear in past speeches; {self.exact} exactly"

    def summary_chinese(self) -> str:
        return f"共 {self.sentences} 句，{self.reused} 句与以往讲话相同或相近，其中 {self.exact} 句原文照用"

    def to_dict(self) -> dict[str, Any]:
        return {"sentences": self.sentences, "reused": self.reused, "exact": self.exact, "summary": self.summary(),
                "matches": [match.to_dict() for match in self.matches]}


def read_draft(source: str) -> str:
    """The draft's text: a file the readers know (.docx, .doc, .wps, .pdf…), a .txt or .md in any
    encoding, or `-` for standard input."""
    from archive.readers import SUPPORTED_SUFFIXES, UnreadableFile, read
    from archive.readers.encoding import decode

    if source == "-":
        return sys.stdin.read()
    path = Path(source)
    if not path.is_file():
        raise ArchiveError(f"no such draft: {source}")
    try:
        if path.suffix.lower() in (".txt", ".md", ".markdown", "") or path.suffix.lower() not in SUPPORTED_SUFFIXES:
            return decode(path.read_bytes())
        return read(path).text
    except UnreadableFile as error:
        raise ArchiveError(f"cannot read the draft {source}: {error}") from None


def check(index: Any, text: str, *, threshold: float = DEFAULT_THRESHOLD, min_chars: int = MIN_CHARS,
          max_sources: int = MAX_SOURCES) -> CheckReport:
    """Every sentence of `text` that past speeches in `index` (a SpeechIndex) hold, with its sources."""
    if not 0 < threshold <= 1:
        raise ArchiveError("--threshold is a similarity between 0 and 1 (e.g. 0.85)")
    spans = split_sentences(text)
    texts = _Texts(index)
    matches = []
    for start, end in spans:
        sentence = text[start:end]
        sentence_core = core(sentence)
        if len(sentence_core) < min_chars or sentence_core in FORMULAS:
            continue
        found, holders = _sources(index, texts, sentence, sentence_core, threshold, max_sources)
        if found:
            found.sort(key=lambda s: (not s.exact, -s.similarity, _reverse_date(s.date)))
            matches.append(SentenceMatch(sentence, start, end, found, max(holders, len(found))))
    return CheckReport(text, len(spans), matches)


def _reverse_date(date: str | None) -> str:
    return "".join(chr(0x10FFFF - ord(c)) for c in (date or ""))


def _pieces(sentence_core: str) -> list[str]:
    """PIECES stretches spread over the core, each at least three characters."""
    size = max(3, len(sentence_core) // PIECES)
    if len(sentence_core) <= size:
        return [sentence_core]
    last = len(sentence_core) - size
    starts = sorted({round(i * last / (PIECES - 1)) for i in range(PIECES)})
    return [sentence_core[start : start + size] for start in starts]


class _Texts:
    """The cores of the speeches a check looks at, each made once per check from the normalised
    texts the index keeps in memory; a speech's record and paragraphs are read only for the few
    sources shown."""

    def __init__(self, index: Any) -> None:
        self.index = index
        self._cores: dict[str, tuple[str, list[tuple[int, int]]] | None] = {}
        self._documents: dict[str, tuple[Document, DocumentText] | None] = {}

    def cores(self, paths: list[str]) -> dict[str, str]:
        missing = [path for path in paths if path not in self._cores]
        if missing:
            texts = self.index.normalised_texts(missing)
            for path in missing:
                text = texts.get(path)
                self._cores[path] = None if text is None else (_NOT_CORE.sub("", text), [])
        return {path: entry[0] for path in paths if (entry := self._cores[path]) is not None}

    def source(self, path: str, start: int, end: int, similarity: float, exact: bool) -> Source | None:
        """The Source for core offsets [start, end) of a speech."""
        if path not in self._documents:
            self._documents[path] = self.index.text_of(path)
        found = self._documents[path]
        if found is None:
            return None
        speech, document = found
        entry = self._cores[path]
        assert entry is not None
        runs = entry[1]  # (core offset, normalised offset) where each run of core characters starts
        if not runs:
            length = 0
            for run in _CORE_RUN.finditer(document.normalised):
                runs.append((length, run.start()))
                length += run.end() - run.start()

        def normalised_offset(offset: int) -> int:
            core_start, text_start = runs[bisect_right(runs, (offset, len(document.normalised))) - 1]
            return text_start + offset - core_start

        return _source(speech, document, normalised_offset(start), normalised_offset(end - 1) + 1, similarity, exact)


_NOT_CORE = re.compile(r"[\W_]+")
_CORE_RUN = re.compile(r"[^\W_]+")


_END_MARKS = re.compile(r"[。！？；!?;.\s]+$")


def _sources(index: Any, texts: _Texts, sentence: str, sentence_core: str, threshold: float,
             max_sources: int) -> tuple[list[Source], int]:
    """The sources shown for a sentence (the best `max_sources`) and how many speeches hold it."""
    from rapidfuzz.distance import Levenshtein

    pieces = _pieces(sentence_core)
    hits: dict[str, int] = {}
    as_typed = _END_MARKS.sub("", normalise(sentence))
    typed_holders = 0
    if len(as_typed) >= len(sentence_core):  # copies keep their punctuation: one lookup finds them all
        for path in index.holding(as_typed):
            hits[path] = len(pieces)
        typed_holders = len(hits)
    for piece in pieces if not hits else ():
        for path in set(index.holding(piece)):
            hits[path] = hits.get(path, 0) + 1
    needed = 1 if len(pieces) == 1 else max(1, len(pieces) - MAX_EDITS)
    # copies found as typed hold it whole: only the few shown need their texts
    limit = max_sources if typed_holders else MAX_CANDIDATES
    cores = texts.cores(_likeliest(hits, needed, limit))
    exact = [(path, where) for path, doc_core in cores.items() if (where := doc_core.find(sentence_core)) >= 0]
    found: list[tuple[str, int, int, float, bool]] = [(path, where, where + len(sentence_core), 1.0, True)
                                                      for path, where in exact]
    if not exact:  # near matches: a window around where its pieces stand, confirmed by edit distance
        for path, doc_core in cores.items():
            best = None
            for piece in pieces:
                anchor = doc_core.find(piece)
                if anchor < 0:
                    continue
                offset = sentence_core.find(piece)
                start = max(0, anchor - offset)
                window = _best_window(sentence_core, doc_core, start, min(len(doc_core), start + len(sentence_core)),
                                      Levenshtein.distance)
                if best is None or window[2] < best[2]:
                    best = window
            if best is None:
                continue
            start, end, distance = best
            similarity = max(0.0, 1 - distance / len(sentence_core))
            if distance <= MAX_EDITS or similarity >= threshold:
                found.append((path, start, end, similarity, False))
            else:
                found.append((path, start, end, -1.0, False))  # perhaps a clause more or less: see below
    found.sort(key=lambda item: (-item[3], item[0]))
    sources: list[Source] = []
    clause_tries = 0
    for path, start, end, similarity, is_exact in found:
        if len(sources) >= max_sources:
            break
        if similarity < 0:
            clause_tries += 1
            if sources or clause_tries > max_sources:
                break  # clause-level matches only where nothing closer was found, among the likeliest
            source = texts.source(path, start, end, 0.0, False)
            if source is None:
                continue
            clause = _clause_similarity(sentence_core, core(source.text), threshold)
            if clause is None:
                continue
            source.similarity = clause
            sources.append(source)
            continue
        source = texts.source(path, start, end, similarity, is_exact)
        if source is not None:
            sources.append(source)
    holders = typed_holders or (len(exact) if exact else len(sources))
    return sources, holders


def _clause_similarity(draft: str, past: str, threshold: float) -> float | None:
    """A sentence that grew or lost a clause: nearly all of the shorter one stands, in order, in the
    longer, and the shorter is at least half of it. The similarity is the share of the longer one
    they have in common (their longest common subsequence)."""
    from rapidfuzz.distance import Indel

    shorter, longer = sorted((draft, past), key=len)
    if len(shorter) < MIN_CHARS or len(shorter) < CLAUSE_SHARE * len(longer):
        return None
    common = (len(draft) + len(past) - Indel.distance(draft, past)) // 2
    if common < threshold * len(shorter) or len(shorter) - common > MAX_EDITS + 1:
        return None
    return common / len(longer)


def _likeliest(hits: dict[str, int], needed: int, limit: int) -> list[str]:
    """Up to `limit` paths holding the most pieces (at least `needed`), in a stable order: buckets by
    count, each sorted only when reached (a common sentence has thousands of candidates)."""
    buckets: dict[int, list[str]] = {}
    for path, count in hits.items():
        if count >= needed:
            buckets.setdefault(count, []).append(path)
    chosen: list[str] = []
    for count in sorted(buckets, reverse=True):
        chosen.extend(sorted(buckets[count])[: limit - len(chosen)])
        if len(chosen) >= limit:
            break
    return chosen


def _best_window(needle: str, haystack: str, start: int, end: int, distance) -> tuple[int, int, int]:
    """The stretch around an alignment with the fewest edits to `needle` (its ends may be a
    character or two off where a character was added or dropped). A stretch far from the needle
    is not refined: no small shift makes it close."""
    best = (start, end, distance(needle, haystack[start:end]))
    if best[2] > 0.4 * len(needle) + 2:
        return best
    for new_start in range(max(0, start - 2), start + 3):
        for new_end in range(max(new_start + 1, end - 2), min(len(haystack), end + 2) + 1):
            edits = distance(needle, haystack[new_start:new_end])
            if edits < best[2]:
                best = (new_start, new_end, edits)
    return best


def _source(speech: Document, document: DocumentText, start: int, end: int, similarity: float, exact: bool) -> Source:
    """The past sentence around normalised offsets [start, end) of a document, as it stands."""
    index, local_start, local_end = document.locate(start, end)
    paragraph = document.paragraphs[index]
    text = paragraph.text
    if not exact:  # a near match's window may reach into the sentences around it: take the one at its middle
        local_start = local_end = (local_start + local_end) // 2
    begin = max((text.rfind(mark, 0, local_start) for mark in _CLAUSE_MARKS), default=-1) + 1
    stops = [found for mark in _CLAUSE_MARKS if (found := text.find(mark, max(local_end - 1, 0))) >= 0]
    finish = min(stops) + 1 if stops else len(text)
    return Source(speech.path, speech.title, speech.speaker, speech.date,
                  paragraph.page_at(local_start), text[begin:finish].strip(), similarity, exact)
