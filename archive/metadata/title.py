"""The speech's own title from the top of its text: it may wrap onto two lines or carry a subtitle."""

from __future__ import annotations

import re

from archive.metadata.dates import is_date_line
from archive.metadata.patterns import SALUTATION, SPEECH_TITLE, squeeze
from archive.metadata.people import role_only, split_role_name

# Lines above a title that are not the title.
_PREAMBLE = re.compile(
    r"^(?:内部资料|內部資料|内部材料|绝密|機密|机密|秘密|密级.*|注意保存|[（(]?此件.*[）)]?|讲话稿|講話稿|领导讲话|領導講話|"
    r"材料之?[一二三四五六七八九十\d]+|附件\s*\d*|[\w〔\[（(]{0,12}[〔\[（(]\d{4}[〕\]）)]\s*\d+\s*号|第?[一二三四五六七八九十\d]+篇?|目\s*录"
    # the issuing body on a line of its own above the title: XX市人民政府, 中共XX县委办公室
    r"|.{0,24}(人民政府|人民代表大会常务委员会|委员会|办公室|办公厅|[省市县区州]委|党组)"
    # the book a speech was taken from, above its own title: 《XX文选》第二卷, XX讲话选编
    r"|《?.{0,20}(文选|文集|选集|选编|汇编|文稿|讲话集)》?\s*(（?第.{1,3}卷）?)?)[:：]?$"
)
# A date in brackets after the title on the same line: 在…上的讲话（2020年3月5日）
_TRAILING_DATE = re.compile(r"\s*[（(]\s*(?:19|20)\d{2}\s*[年.\-/][^（()）]{0,12}[）)]\s*$")
_COMPILATION_PREFIX = re.compile(r"^第[一二三四五六七八九十\d]+篇\s*[:：、.．]?\s*")
MAX_TITLE = 80


def is_heading_noise(line: str) -> bool:
    return bool(_PREAMBLE.match(squeeze(line)))


def _not_title(line: str) -> bool:
    squeezed = squeeze(line)
    return (
        not squeezed
        or is_date_line(line)
        or bool(SALUTATION.match(squeezed))
        or split_role_name(line) is not None
        or role_only(line) is not None
    )


_BRACKETED_TAIL = re.compile(r"[（(]\s*([^（()）]{4,80})\s*[）)]\s*$")
_DECORATED = re.compile(r"^[（(【\[—\-－\s]*(.+?)[）)】\]\s]*$")


def title_at_end(lines: list[str]) -> str | None:
    """A title that stands only at the end, as some transcripts put it: （在…上的讲话）."""
    if lines:  # in brackets at the end of the last paragraph (a page that ran the lines together)
        tail = _BRACKETED_TAIL.search(lines[-1])
        if tail and SPEECH_TITLE.search(squeeze(tail.group(1))):
            return tail.group(1).strip()
    for line in reversed(lines[-3:]):
        inner = _DECORATED.match(line.strip())
        text = inner.group(1).strip() if inner else line.strip()
        if text and len(text) <= MAX_TITLE and SPEECH_TITLE.search(squeeze(text)) and not _not_title(text):
            return text
    return None


def find_title(head: list[str]) -> tuple[str | None, int]:
    """The title and how many head lines it took (0 if none)."""
    index = 0
    while index < len(head) and (is_heading_noise(head[index]) or is_date_line(head[index])):
        index += 1
    if index >= len(head):
        return None, 0
    first = _TRAILING_DATE.sub("", _COMPILATION_PREFIX.sub("", head[index].strip()))
    if not first or len(first) > MAX_TITLE or _not_title(first):
        return None, 0
    title = first.strip("《》“”\"")
    used = index + 1
    if used < len(head):
        following = head[used].strip()
        if following.startswith(("——", "—", "--", "－－")) and not _not_title(following):
            title = f"{title}{following}" if following.startswith("——") else f"{title}——{following.lstrip('—-－')}"
            used += 1
        elif (
            not SPEECH_TITLE.search(squeeze(title))
            and SPEECH_TITLE.search(squeeze(following))
            and len(title) + len(following) <= MAX_TITLE
            and not _not_title(following)
        ):
            title += following
            used += 1
    return title, used
