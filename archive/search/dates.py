"""Date keys: a speech date at whatever precision the text gave, as one sortable number (no whoosh)."""

from __future__ import annotations

import re

from archive.errors import QueryError

_DATE = re.compile(r"^(\d{4})(?:[-./年](\d{1,2})(?:[-./月](\d{1,2})日?)?月?)?年?$")


def date_key(iso: str | None) -> int:
    """yyyymmdd with 00 for a part the text does not give; 0 for no date."""
    if not iso:
        return 0
    parts = [int(p) for p in iso.split("-")]
    year, month, day = ([*parts, 0, 0])[:3]
    return year * 10000 + month * 100 + day


def parse_bound(value: str, *, end: bool) -> int:
    """A --since/--until or date: bound: 2020, 2020-03, 2020-03-05 (also 2020.3.5, 2020年3月)."""
    match = _DATE.match(value.strip())
    if not match:
        raise QueryError(f"not a date: {value!r}; write it as 2020, 2020-03 or 2020-03-05")
    year, month, day = match.groups()
    if (month and not 1 <= int(month) <= 12) or (day and not 1 <= int(day) <= 31):
        raise QueryError(f"not a date: {value!r}; write it as 2020, 2020-03 or 2020-03-05")
    key = int(year) * 10000
    if month:
        key += int(month) * 100
        if day:
            return key + int(day)
        return key + (99 if end else 0)
    return key + (9999 if end else 0)


def parse_range(value: str) -> tuple[int | None, int | None]:
    """date:2020-01-01..2020-06-30, date:2020..  , date:..2020-06, or a single date/period."""
    if ".." in value:
        low, _, high = value.partition("..")
        return (parse_bound(low, end=False) if low else None, parse_bound(high, end=True) if high else None)
    return parse_bound(value, end=False), parse_bound(value, end=True)
