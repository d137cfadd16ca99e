"""Rejoin lines that a page layout wrapped inside a sentence into the paragraphs a person reads.

PDFs and saved pages both break lines where the page ran out of width, not where the writer ended a
paragraph. A line that starts indented, or that follows a line clearly shorter than the text width,
starts a new paragraph; any other line continues the one before.
"""

from __future__ import annotations

import re

_INDENT = re.compile(r"^[ \t\u3000\u00a0]{2,}|^\u3000")
_HALF_WIDTH = re.compile(r"[A-Za-z0-9]")
_CJK_PAIR = re.compile(r"[\u2e80-\u9fff](?=[\u2e80-\u9fff])")
_CJK_SPACE = re.compile(r"(?<=[\u2e80-\u9fff\u3000-\u303f\uff00-\uffef]) +(?=[\u2e80-\u9fff\u3000-\u303f\uff00-\uffef])")


def display_width(text: str) -> float:
    """Width in em as Chinese typesetting lays it out: Latin letters and digits take 1/2, all else 1.

    Punctuation counts as full width: sites and PDF extraction often turn full-width ，“” into ASCII
    or "ambiguous" forms that were one em wide on the page.
    """
    return len(text) - 0.5 * len(_HALF_WIDTH.findall(text))


def squeeze_cjk_spaces(text: str) -> str:
    """Drop the spaces some PDF producers put between every two Chinese characters.

    Only in lines spaced out that way: a single space in an ordinary line (a gap in a title,
    "务实奉献 追求卓越") is the writer's and stays.
    """
    spaced = len(_CJK_SPACE.findall(text))
    if spaced < 2 or spaced < 0.5 * len(_CJK_PAIR.findall(text.replace(" ", ""))):
        return text
    return _CJK_SPACE.sub("", text)


def join_pieces(left: str, right: str) -> str:
    """Join two wrapped pieces: no space in Chinese, one space between Latin words."""
    if left and right and left[-1].isascii() and left[-1].isalnum() and right[0].isascii() and right[0].isalnum():
        return left + " " + right
    return left + right


def is_indented(line: str) -> bool:
    return bool(_INDENT.match(line))


def text_width(lines: list[str], at_least: int = 1) -> float | None:
    """The width wrapped lines reach: a high percentile, so one long outlier does not count; None
    with fewer than `at_least` non-blank lines (too few to tell)."""
    widths = sorted(display_width(line.rstrip()) for line in lines if line.strip())
    if len(widths) < max(1, at_least):
        return None
    return widths[int(0.8 * (len(widths) - 1))]


def is_short(line: str, width: float) -> bool:
    """A line that stops well before the text width ends its paragraph."""
    return display_width(line.rstrip()) < width - 3


def paragraphs_from_lines(lines: list[str], width: float | None = None) -> list[tuple[str, bool]]:
    """Group wrapped `lines` into paragraphs.

    Returns (paragraph text, ends_open) pairs; `ends_open` says the last line ran to the full width,
    so the paragraph may continue on the next page.
    """
    if width is None:
        width = text_width(lines) or 0.0
    paragraphs: list[tuple[str, bool]] = []
    current: str | None = None
    previous_short = True
    for raw in lines:
        if not raw.strip():
            if current is not None:
                paragraphs.append((current, False))
                current = None
            previous_short = True
            continue
        line = raw.strip()
        if current is None or previous_short or is_indented(raw):
            if current is not None:
                paragraphs.append((current, False))
            current = line
        else:
            current = join_pieces(current, line)
        previous_short = is_short(raw, width)
    if current is not None:
        paragraphs.append((current, not previous_short))
    return paragraphs
