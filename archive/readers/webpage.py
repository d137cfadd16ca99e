"""Saved document pages (`.txt`, `.htm`, `.html`) from document-sharing sites.

The speech sits among the site's chrome (navigation, preview notices, copyright box, footer). Tags
become line structure (`<br />` is a wrap inside a paragraph, block tags end paragraphs), entities
are decoded, chrome is dropped by the rules in `chrome.toml`, and the footer is read into metadata.
"""

from __future__ import annotations

import html
import re
import tomllib
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from pathlib import Path

from archive.document import Extracted, Paragraph
from archive.normalize import to_simplified
from archive.readers.base import UnreadableFile, check_not_empty
from archive.readers.cleanup import join_wraps_in_notes
from archive.readers.encoding import decode
from archive.readers.layout import paragraphs_from_lines, text_width

MAX_BYTES = 20 * 1024 * 1024  # a saved page larger than this is not a speech
_WRAP = "\x0b"  # stands for <br /> between parsing steps

_DROP_ELEMENTS = re.compile(r"<(script|style|head|noscript|template)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_BLOCK = re.compile(r"</?(p|div|h[1-6]|li|ul|ol|tr|table|section|article|header|footer|title|body|html)\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[a-zA-Z/!][^>]*>")


@dataclass(frozen=True)
class ChromeRules:
    line: tuple[re.Pattern[str], ...]
    start_of_tail: tuple[re.Pattern[str], ...]
    inline: tuple[re.Pattern[str], ...]
    fields: tuple[tuple[str, re.Pattern[str]], ...]

    @cached_property
    def _any_line(self) -> re.Pattern[str]:
        """The line rules as one pattern: one match per line of a page, not one per rule."""
        return re.compile("|".join(f"(?:{p.pattern})" for p in self.line), re.IGNORECASE)

    def is_chrome(self, piece: str) -> bool:
        return bool(self.line) and self._any_line.fullmatch(to_simplified(piece)) is not None

    def starts_tail(self, piece: str) -> bool:
        piece = to_simplified(piece)
        return any(p.fullmatch(piece) for p in self.start_of_tail)

    def strip_inline(self, text: str) -> str:
        for pattern in self.inline:
            text = pattern.sub("", text)
        return text


@cache
def chrome_rules() -> ChromeRules:
    data = tomllib.loads(resources.files("archive.readers").joinpath("chrome.toml").read_text("utf-8"))

    def compiled(kind: str) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(rule["pattern"], re.IGNORECASE) for rule in data.get(kind, []))

    fields = tuple((rule["name"], re.compile(rule["pattern"])) for rule in data.get("field", []))
    return ChromeRules(compiled("line"), compiled("from"), compiled("inline"), fields)


def read(path: Path) -> Extracted:
    check_not_empty(path)
    if path.stat().st_size > MAX_BYTES:
        raise UnreadableFile(f"saved page too large ({path.stat().st_size // (1024 * 1024)} MB): not a speech")
    return parse(decode(path.read_bytes()))


def parse(source: str) -> Extracted:
    """Turn a saved page's source into paragraphs and footer values."""
    rules = chrome_rules()
    text = _DROP_ELEMENTS.sub("", source)
    text = _BREAK.sub(_WRAP, text)
    text = _BLOCK.sub("\n", text)
    text = _TAG.sub("", text)
    text = html.unescape(text).replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    text = join_wraps_in_notes(text, _WRAP)  # a site's wrap may fall inside a pinyin note

    footer = _footer(text, rules)
    lines: list[str] = []  # wrapped lines; "" marks a paragraph break
    for line in text.split("\n"):
        pieces = [rules.strip_inline(piece) for piece in line.split(_WRAP)]
        if len(pieces) == 1 and rules.starts_tail(pieces[0].strip()):
            break
        kept = [piece for piece in pieces if not rules.is_chrome(piece.strip())]
        if not any(piece.strip() for piece in kept):
            continue
        lines.append("")
        lines.extend(kept)

    paragraphs = _paragraphs(lines)
    pages = footer.get("pages")
    return Extracted(
        paragraphs=paragraphs,
        pages=int(pages) if pages else None,
        footer=footer,
    )


def _footer(text: str, rules: ChromeRules) -> dict[str, str]:
    found: dict[str, str] = {}
    text = to_simplified(text)
    for name, pattern in rules.fields:
        match = pattern.search(text)
        if match and name not in found:
            found[name] = match.group(1).strip()
    if "published" in found:
        found["published"] = _iso_datetime(found["published"])
    return found


def _iso_datetime(value: str) -> str:
    match = re.match(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?", value)
    if not match:
        return value
    year, month, day, hour, minute, second = match.groups()
    date = f"{year}-{int(month):02d}-{int(day):02d}"
    if hour is None:
        return date
    return f"{date} {int(hour):02d}:{minute}:{second or '00'}"


def _paragraphs(lines: list[str]) -> list[Paragraph]:
    """Rejoin <br /> wraps; then drop a title line that the body repeats right after it."""
    blocks: list[list[str]] = []
    for line in lines:
        if line == "":
            blocks.append([])
        else:
            blocks[-1].append(line)
    paragraphs: list[Paragraph] = []
    for block in blocks:
        width = text_width(block, at_least=3)  # None: unwrapped text
        for text, _ in paragraphs_from_lines(block, width):
            text = text.strip()
            if not text:
                continue
            if paragraphs and paragraphs[-1].text == text:
                continue
            paragraphs.append(Paragraph(text=text))
    return paragraphs
