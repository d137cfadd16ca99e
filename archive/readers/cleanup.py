"""Text clean-up every reader's output goes through: what is on the page but is not the speech's text.

- Pinyin pasted after characters by learning sites, `會(huì)議` or `会（hui4）议`: not text.
- The spaces PDF and OCR extraction put between Chinese and digits (`2020 年 3 月`): not the writer's.
- Control characters (a stray `\\x08` from a copied page) other than tab: not text, and not XML-safe.
"""

from __future__ import annotations

import re
import unicodedata
from itertools import accumulate, pairwise

from archive.document import Paragraph

_HAN = "\u3400-\u9fff\uf900-\ufaff"
_PINYIN_NOTE = re.compile(rf"(?<=[{_HAN}])\s?[(（]\s*([a-zA-Zü\u00e0-\u01dc\u01f9\u1e3f\u0300-\u030c\s]{{1,12}}?[1-5]?)\s*[)）]")
_SYLLABLE = re.compile(r"^(zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?(iang|iong|uang|ueng|ang|eng|ing|ong|uai|uan|ian|iao|van|"
                       r"ai|ei|ao|ou|an|en|in|un|vn|ia|ie|iu|ua|uo|ue|ui|ve|er|a|o|e|i|u|v|n|ng|m)$")
_TONE_MARK = re.compile(r"[\u00e0-\u01dc\u01f9\u1e3f]")
_DIGIT_SPACE = re.compile(rf"(?<=[0-9])[ \u00a0]+(?=[{_HAN}])|(?<=[{_HAN}])[ \u00a0]+(?=[0-9])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _plain(syllable: str) -> str:
    """A syllable without tone marks or tone number, ü as v: `huì` → `hui`, `lü4` → `lv`."""
    decomposed = unicodedata.normalize("NFD", syllable.lower())
    letters = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return letters.replace("ü", "v").rstrip("12345")


def _is_pinyin(note: str) -> bool:
    note = "".join(note.split())  # a line wrap may fall inside the note
    if not note:
        return False
    marked = bool(_TONE_MARK.search(note) or unicodedata.normalize("NFD", note) != note or note[-1].isdigit())
    plain = _plain(note)
    return bool(_SYLLABLE.match(plain)) and (marked or len(plain) >= 2)


_NOTE_WITH_WRAPS = re.compile(r"[(（][a-zA-Zü\u00e0-\u01dc\u01f9\u1e3f\u0300-\u030c\s]{1,12}?[1-5]?\s*[)）]")


_WRAP_BEFORE_NOTE = re.compile(rf"(?<=[{_HAN}])(\s+)({_NOTE_WITH_WRAPS.pattern})")


def join_wraps_in_notes(text: str, wrap: str) -> str:
    """Take out the line wraps a site's layout put inside a pinyin note (`會(hu` / `ì)議`), so the
    note stays whole on one line and goes with the paragraph's clean-up. The note itself stays: the
    widths of the lines, which tell where paragraphs end, are the site's own."""
    if wrap not in text:
        return text
    text = _NOTE_WITH_WRAPS.sub(lambda m: m.group(0).replace(wrap, "") if wrap in m.group(0) else m.group(0), text)
    # a wrap between a character and its note: the note goes up to the character
    return _WRAP_BEFORE_NOTE.sub(lambda m: m.group(2) + m.group(1) if wrap in m.group(1) else m.group(0), text)


def drop_pinyin(text: str) -> str:
    """Text without pinyin notes; a note broken over a line (`會(hu` / `ì)議`) goes too."""
    return _PINYIN_NOTE.sub(lambda m: "" if _is_pinyin(m.group(1)) else m.group(0), text)


def clean_text(text: str) -> str:
    if "(" in text or "（" in text:
        text = drop_pinyin(text)
    if not text.isprintable():  # a quick test in C first: most pieces have no control character
        text = _CONTROL.sub("", text)
    return _DIGIT_SPACE.sub("", text) if " " in text or "\u00a0" in text else text


def clean(paragraphs: list[Paragraph]) -> list[Paragraph]:
    """Clean paragraphs in place, dropping those left empty; a page break inside a paragraph moves
    with the text it stands in (each page's piece is cleaned on its own)."""
    kept: list[Paragraph] = []
    for paragraph in paragraphs:
        bounds = [0, *(start for start, _ in paragraph.page_breaks), len(paragraph.text)]
        pieces = [clean_text(paragraph.text[begin:end]) for begin, end in pairwise(bounds)]
        starts = list(accumulate(len(piece) for piece in pieces[:-1]))
        paragraph.page_breaks = [(start, page) for start, (_, page) in zip(starts, paragraph.page_breaks, strict=True)]
        paragraph.text = "".join(pieces)
        if paragraph.text.strip():
            kept.append(paragraph)
    return kept
