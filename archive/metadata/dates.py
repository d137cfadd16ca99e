"""Speech dates in every form offices write them, at the precision given.

2020年3月5日, 二〇二〇年三月五日, 2020.03.05, 2020-3-5, 2020/3/5, and a year alone (2020年在…上的讲话).
Placeholder years (20XX年) and two-digit years (22年度) are not dates.
"""

from __future__ import annotations

import re

from archive.metadata.patterns import CN_DIGITS

_CN = "〇○零OoＯ０一二三四五六七八九十"
_FULL = re.compile(
    r"(?<![\dA-Za-z])((?:19|20)\d{2})\s*(?:年\s*(\d{1,2})\s*月\s*(?:(\d{1,2})\s*日)?|[.\-/](\d{1,2})[.\-/](\d{1,2})(?!\d))"
)
_CN_FULL = re.compile(rf"([一二][{_CN}]{{3}})\s*年\s*([{_CN}]{{1,3}})\s*月\s*(?:([{_CN}]{{1,3}})\s*日)?")
_YEAR = re.compile(r"(?<![\dA-Za-z.])((?:19|20)\d{2})\s*年(?!\s*\d{1,2}\s*月)")


def _cn_number(text: str) -> int | None:
    """一二〇〇 digits read one by one (years); 十/二十三 read as a number (months, days)."""
    if "十" in text:
        head, _, tail = text.partition("十")
        tens = CN_DIGITS.get(head, 0) if head else 1
        units = CN_DIGITS.get(tail, 0) if tail else 0
        return tens * 10 + units
    value = 0
    for char in text:
        if char not in CN_DIGITS:
            return None
        value = value * 10 + CN_DIGITS[char]
    return value


def _iso(year: int, month: int | None, day: int | None) -> str | None:
    if not 1949 <= year <= 2100:
        return None
    if month is None:
        return f"{year:04d}"
    if not 1 <= month <= 12:
        return None
    if day is None:
        return f"{year:04d}-{month:02d}"
    if not 1 <= day <= 31:
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def find_date(text: str) -> str | None:
    """The first full (or year-month) date in `text`, ISO at its precision."""
    match = _FULL.search(text)
    if match:
        year, month, day, month2, day2 = match.groups()
        if month2:
            return _iso(int(year), int(month2), int(day2))
        return _iso(int(year), int(month), int(day) if day else None)
    match = _CN_FULL.search(text)
    if match:
        year, month, day = (_cn_number(g) if g else None for g in match.groups())
        if year is not None and month is not None:
            return _iso(year, month, day)
    return None


def find_year(text: str) -> str | None:
    """A year alone, as in 2020年在…上的讲话 (not 20XX年, not 22年度)."""
    match = _YEAR.search(text)
    return _iso(int(match.group(1)), None, None) if match else None


def is_date_line(line: str) -> bool:
    """A line that is a date and nothing more (possibly in brackets)."""
    stripped = re.sub(r"[\s（()）\[\]【】]", "", line)
    if not stripped or len(stripped) > 16:
        return False
    date = find_date(stripped)
    if not date:
        return False
    rest = _FULL.sub("", stripped)
    rest = _CN_FULL.sub("", rest)
    return len(rest) <= 2
