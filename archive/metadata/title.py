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
    r"|.{0,24}(人民政府|人民代表大会常务委员会|委员会|办公室|办公厅|[省市县区州]委|党组))[:：]?$"
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
