"""Metadata the way an office reads a speech: the evidence is in the text, not in file properties.

File properties name the typist and the copy date; they are used only where the text is silent
(title) or agrees (author as speaker). Unknown values stay None.
"""

from __future__ import annotations

import re
from itertools import accumulate, pairwise
from pathlib import Path

from archive.document import Extracted, Metadata
from archive.metadata.dates import find_date, find_year, is_date_line
from archive.metadata.patterns import MEETING, SALUTATION, squeeze
from archive.metadata.people import find_people, is_name
from archive.metadata.title import find_title, title_at_end
from archive.normalize import to_simplified

__all__ = ["extract"]

HEAD_LINES = 12
_COMPILATION_MARK = re.compile(r"^第[一二三四五六七八九十\d]+篇|[讲講][话話]\s*[（(]?[0-9一二三四五六七八九十]+[）)]?$")
_SPEECH_HEADING = re.compile(r"在.{2,60}?(?:上|中)的.{0,8}?(?:[讲講][话話]|[发發]言|致[辞辭])$")


_JUNK_TITLE = re.compile(r"^(untitled|无标题.*|新建.*文档.*|document\s*\d*|文档\s*\d*|doc\d*|title|标题|\W*)$", re.IGNORECASE)


def property_title(value: str | None) -> str | None:
    """A title property worth showing: not Word's "Microsoft Word - x.docx" or a template's 无标题."""
    if not value:
        return None
    value = re.sub(r"^Microsoft (Word|PowerPoint) - ", "", value.strip())
    value = re.sub(r"\.(docx?|wps|pdf|txt)$", "", value, flags=re.IGNORECASE).strip()
    return None if _JUNK_TITLE.match(value) else value


def _head(lines: list[str]) -> list[str]:
    """The title block: lines before the salutation or the first body paragraph."""
    head: list[str] = []
    for line in lines[:HEAD_LINES]:
        squeezed = squeeze(line)
        if SALUTATION.match(squeezed) or len(squeezed) > 90:
            break
        head.append(line)
    return head


# A site's or a system's own time: when the page was posted, updated or filed, never the speech's date.
_SITE_TIME = re.compile(r"(发布|更新|发表|上传|发文|录入|编辑|修改|浏览|下载|创建|收藏)\s*(时间|日期|于)|"
                        r"\d\s*(发布|更新|发表|上传)|posted|updated", re.IGNORECASE)


def _date(head: list[str], tail: list[str], title: str | None) -> str | None:
    head = [line for line in head if not _SITE_TIME.search(line)]
    tail = [line for line in tail if not _SITE_TIME.search(line)]
    for line in head:  # a date on its own line under the title
        if is_date_line(line):
            return find_date(line)
    for line in reversed(tail):  # a date line at the very end, after the closing words
        if is_date_line(line):
            return find_date(line)
    for line in head:  # a date inside a head line, e.g. the speaker line
        found = find_date(line)
        if found:
            return found
    if title:
        return find_date(title) or find_year(title)
    return None


def _is_compilation(lines: list[str], title_end: int) -> bool:
    short = [(i, squeeze(line)) for i, line in enumerate(lines) if len(line) <= 80]
    marks = [i for i, line in short if _COMPILATION_MARK.search(line)]
    headings = [i for i, line in short if i >= max(title_end, 1) and _SPEECH_HEADING.search(line)]
    return len(marks) >= 2 or len(headings) >= 1


# A heading that runs straight into the first paragraph: …上的讲话同志们：… (the page lost the break)
_RUN_IN = re.compile(r"^(.{4,80}?(?:的讲话|上的讲话|的报告|的发言|的主持词|讲话稿|的致辞|的讲评|的党课|工作报告))"
                     r"(?=(?:同志们|各位|尊敬的|大家好|女士们|朋友们|[（(]\s*(?:19|20)\d{2})|.{30,})")


def _split_run_in(lines: list[str]) -> list[str]:
    """Split a run-in heading from what follows it, in the first lines only."""
    for index, line in enumerate(lines[:3]):
        match = _RUN_IN.match(line)
        if match:
            return [*lines[:index], match.group(1), line[match.end(1):].strip(), *lines[index + 1:]]
    return lines


def extract(extracted: Extracted, path: Path) -> Metadata:
    """Metadata from the text, read in simplified script (patterns are written in it) and given back
    in the document's own characters: a traditional-script speech keeps 張華, not 张华."""
    original = [p.text.strip() for p in extracted.paragraphs if p.text.strip()]
    whole = "".join(original)
    simple = to_simplified(whole)  # one pass over the text: folding is one character for one
    folded = original
    if simple is not whole:
        starts = list(accumulate((len(line) for line in original), initial=0))
        folded = [simple[start:end] for start, end in pairwise(starts)]
    back = _reverse_fold(original, folded)
    metadata = _extract(folded, extracted, path)
    for key in ("title", "speaker", "role", "meeting"):
        value = getattr(metadata, key)
        if (value and key != "title") or (value and metadata.title_source == "text"):
            setattr(metadata, key, "".join(back.get(char, char) for char in value))
    return metadata


def _reverse_fold(original: list[str], folded: list[str]) -> dict[str, str]:
    """Simplified character → the character this document wrote (lengths match one for one)."""
    back: dict[str, str] = {}
    for line, simple in zip(original, folded, strict=True):
        if line == simple:  # most lines of most speeches: nothing folded
            continue
        for char, fold in zip(line, simple, strict=True):
            if char != fold:
                back.setdefault(fold, char)
    return back


def _extract(lines: list[str], extracted: Extracted, path: Path) -> Metadata:
    lines = _split_run_in(lines)
    head = _head(lines)
    title, used = find_title(head)
    if not title and (title := title_at_end(lines[len(head) :])):
        used = 0
    title_source = "text" if title else None
    if not title and (stated := property_title(extracted.properties.get("title"))):
        title, title_source = stated, "property"
    if not title:
        title, title_source = path.stem, "filename"
    title_lines = head[:used]
    rest_of_head = head[used:]
    opening = lines[len(head) : len(head) + 3]
    people = find_people(title_lines or [title], rest_of_head, opening)
    speaker = people.speaker
    author = (extracted.properties.get("author") or "").strip()
    if speaker is None and not people.withheld and is_name(author) and squeeze(author) in squeeze("".join(head + opening)):
        speaker = squeeze(author)

    meeting = None
    for line in [title, *rest_of_head]:
        match = MEETING.search(squeeze(line))
        if match:
            meeting = match.group(1)
            break

    footer = extracted.footer
    return Metadata(
        title=re.sub(r"\s+", " ", title).strip(),
        title_source=title_source,
        date=_date(head, lines[-4:], title),
        speaker=speaker,
        role=people.role,
        meeting=meeting,
        pages=extracted.pages,
        pages_estimated=extracted.pages_estimated,
        published=footer.get("published"),
        uploader=footer.get("uploader"),
        stated_size=footer.get("stated_size"),
        compilation=_is_compilation(lines, used),
        ocr=extracted.ocr_pages > 0,
    )
