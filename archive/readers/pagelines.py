"""Pages as positioned text lines, turned into the paragraphs a person reads.

Every layout format ends up here: PDF text layers, OFD's text objects and OCR'd page images all give
pieces of text with their place on the page. Pieces on one baseline become a line; running headers
and page numbers are dropped; a line that stops short of the right edge ends its paragraph, an
indented line starts one, and a paragraph that runs to the foot of a page continues on the next.

Coordinates: `top` > `bottom`, larger is higher on the page (PDF's convention; OFD and images flip
their y axis before they get here).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass

from archive.document import Paragraph
from archive.readers.layout import display_width, join_pieces, squeeze_cjk_spaces

# Page-number lines, whatever the page they stand on.
_PAGE_NUMBER = re.compile(
    r"^(第\s*\d+\s*页\s*[,，/、]?\s*(共\s*\d+\s*页)?|共\s*\d+\s*页\s*[,，/、]?\s*第\s*\d+\s*页"
    r"|[-—–－]\s*\d+\s*[-—–－]|page\s*\d+(\s*of\s*\d+)?|\d+\s*/\s*\d+)$",
    re.IGNORECASE,
)
_EDGE_LINES = 2  # how many lines at the top and bottom of a page can be running headers or footers


@dataclass
class Line:
    text: str
    left: float
    right: float
    top: float
    bottom: float
    page_width: float

    @property
    def height(self) -> float:
        return max(self.top - self.bottom, 1.0)


def lines_from_pieces(pieces: list[Line]) -> list[Line]:
    """Join pieces that stand on one line (their vertical extents overlap by half) left to right.

    OFD writes a text object per run or per character and OCR finds a box per stretch of text; a
    person reads them as one line. Lines come back top to bottom.
    """
    lines: list[list[Line]] = []
    for piece in sorted(pieces, key=lambda p: (-p.top, p.left)):
        for line in lines:
            anchor = line[0]
            overlap = min(anchor.top, piece.top) - max(anchor.bottom, piece.bottom)
            if overlap >= 0.5 * min(anchor.height, piece.height):
                line.append(piece)
                break
        else:
            lines.append([piece])
    joined: list[Line] = []
    for line in lines:
        line.sort(key=lambda p: p.left)
        text = ""
        previous: Line | None = None
        for piece in line:
            gap = piece.left - previous.right if previous else 0.0
            if previous is not None and gap > piece.height:  # a wide gap, as between a role and a name
                text = text.rstrip() + " " + piece.text
            elif previous is not None and gap < 0.3 * piece.height:  # characters set one by one
                text += piece.text
            else:
                text = join_pieces(text, piece.text)
            previous = piece
        joined.append(Line(squeeze_cjk_spaces(text.strip()), min(p.left for p in line), max(p.right for p in line),
                           max(p.top for p in line), min(p.bottom for p in line), line[0].page_width))
    joined = [line for line in joined if line.text]
    joined.sort(key=lambda line: -line.top)
    return joined


def _key(text: str) -> str:
    """A line with its numbers blanked: running headers differ only in their page numbers."""
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))


def drop_running_lines(pages: list[list[Line]]) -> None:
    """Remove page numbers, and short lines repeated at the top or bottom of many pages, in place."""
    body_width = max((display_width(line.text) for lines in pages for line in lines), default=0.0)
    counts: Counter[str] = Counter()
    for lines in pages:
        counts.update({_key(line.text) for line in lines[:_EDGE_LINES] + lines[-_EDGE_LINES:]})
    threshold = max(2, (len(pages) + 1) // 2)
    for number, lines in enumerate(pages, start=1):
        edges = set(range(min(_EDGE_LINES, len(lines)))) | set(range(max(0, len(lines) - _EDGE_LINES), len(lines)))
        drop = set()
        for i in edges:
            text = lines[i].text
            repeated = (len(pages) >= 2 and counts[_key(text)] >= threshold
                        and display_width(text) < 0.7 * body_width)
            if _PAGE_NUMBER.match(text) or text == str(number) or repeated:
                drop.add(i)
        if drop:
            lines[:] = [line for i, line in enumerate(lines) if i not in drop]


def paragraphs_of_pages(pages: list[list[Line]]) -> list[Paragraph]:
    """Paragraphs over all pages; one that runs to the foot of a page continues on the next."""
    all_lines = [line for lines in pages for line in lines]
    if not all_lines:
        return []
    em = statistics.median(line.height for line in all_lines) * 0.85
    widest = max(line.right - line.left for line in all_lines)
    wide = [line for line in all_lines if line.right - line.left > 0.5 * widest]
    left_edge = min(line.left for line in wide)
    right_edge = max(line.right for line in wide)
    if sum(line.right >= right_edge - em for line in all_lines) < 3:
        # Too few full lines to see the text width: assume margins as wide on the right as on the left.
        right_edge = max(right_edge, statistics.median(line.page_width for line in all_lines) - left_edge)

    def short(line: Line) -> bool:
        return line.right < right_edge - 1.5 * em

    def indented(line: Line) -> bool:
        return line.left > left_edge + 0.8 * em

    paragraphs: list[Paragraph] = []
    current: Paragraph | None = None
    previous: Line | None = None
    for number, lines in enumerate(pages, start=1):
        for position, line in enumerate(lines):
            starts = current is None or previous is None or short(previous) or indented(line)
            if starts:
                current = Paragraph(text=line.text, page=number)
                paragraphs.append(current)
            else:
                assert current is not None  # `starts` holds for the first line
                if position == 0:
                    current.page_breaks.append((len(current.text), number))
                current.text = join_pieces(current.text, line.text)
            previous = line
    return paragraphs
