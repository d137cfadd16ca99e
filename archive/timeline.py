"""How a formulation was used over the years: for each year, how many speeches used it and how often;
who used it most; its first and its latest use, each with its citation."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from archive.search import Filters, SpeechIndex

MAX_SPEAKERS = 10


@dataclass
class Timeline:
    query: str
    total: int
    years: list[dict[str, Any]] = field(default_factory=list)
    speakers: list[dict[str, Any]] = field(default_factory=list)
    first: dict[str, Any] | None = None
    latest: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "total": self.total, "years": self.years, "speakers": self.speakers,
                "first": self.first, "latest": self.latest}


def timeline(index: SpeechIndex, query: str, filters: Filters = Filters()) -> Timeline:
    """How `query` was used over the years, in the speeches `filters` allow (its sort is not used)."""
    rows = index.matches(query, filters=filters)
    documents: Counter[int | None] = Counter()
    occurrences: Counter[int | None] = Counter()
    speakers: Counter[str] = Counter()
    for summary, count in rows:
        date = summary.get("date")
        year = int(date[:4]) if date else None
        documents[year] += 1
        occurrences[year] += count
        if summary.get("speaker"):
            speakers[summary["speaker"]] += 1
    years: list[dict[str, int | None]] = [{"year": year, "documents": documents[year], "occurrences": occurrences[year]}
             for year in sorted(y for y in documents if y is not None)]
    if None in documents:
        years.append({"year": None, "documents": documents[None], "occurrences": occurrences[None]})
    dated = [summary for summary, _ in rows if summary.get("date")]  # newest first
    result = Timeline(query, len(rows), years,
                      [{"speaker": name, "documents": count}
                       for name, count in sorted(speakers.items(), key=lambda item: (-item[1], item[0]))[:MAX_SPEAKERS]])
    if dated:
        first = min(dated, key=lambda s: (_sortable(s["date"]), s["path"]))
        latest = max(dated, key=lambda s: (_sortable(s["date"]), s["path"]))
        result.first = _hit(index, first["path"], query)
        result.latest = _hit(index, latest["path"], query)
    return result


def _sortable(date: str) -> str:
    """Dates at any precision in one order: a year alone (2020) sorts before its months and days."""
    return (date + "-00-00")[:10]


def _hit(index: SpeechIndex, path: str, query: str) -> dict[str, Any] | None:
    hit = index.hit(path, query)
    return hit.to_dict() if hit is not None else None
