"""Versions of one speech: a 初稿, 修改稿 and 定稿, a .docx and its printed PDF, copies in two folders.

Each document gets a sketch of its text when it is read (in the worker): the SKETCH smallest hashes
of its 8-character shingles (text normalised, punctuation dropped). Two documents whose sketches say
they share at least SIMILAR of their shingles are versions of one speech; groups are the connected
documents. Shingles of eight characters are longer than an office's stock phrases (优化营商环境 is
six), so two different speeches on one topic share few of them, while a revision keeps most.

Groups are worked out after an index run that changed something (not on a run over an unchanged
folder) and kept with the index (IndexUpdate.save_version_groups): {path: {"group", "similarity", "members"}}.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

SHINGLE = 8
SKETCH = 64
MIN_SHINGLES = 200  # a text shorter than this (a notice, a one-paragraph template) is not grouped: too little to tell
SIMILAR = 0.5  # estimated share of shingles two versions of one speech have in common
COMMON = 200  # a shingle hash in more documents than this is a stock phrase, not evidence
_FINAL_NAME = re.compile(r"定稿|终稿|印发|正式|final", re.IGNORECASE)
_DRAFT_NAME = re.compile(r"初稿|草稿|征求意见|修改|送审|draft", re.IGNORECASE)


def sketch(normalised: str) -> bytes:
    """The bottom-SKETCH hashes of the text's 8-character shingles (letters and digits only), as
    bytes of little-endian uint64: about a tenth of a millisecond for a speech, with numpy."""
    import numpy as np

    hashed = shingle_hashes(normalised)
    if len(hashed) < MIN_SHINGLES + 1:
        return b""
    # the smallest hashes first (a partition, linear), then only those sorted; all of them when the
    # smallest few repeat so often that they hold fewer than SKETCH distinct ones
    few = min(len(hashed), 4 * SKETCH)
    unique = np.unique(np.partition(hashed, few - 1)[:few])
    if len(unique) < SKETCH and few < len(hashed):
        unique = np.unique(hashed)
    return unique[:SKETCH].astype("<u8").tobytes()


def shingle_hashes(normalised: str) -> Any:
    """The hash (uint64) of each 8-character shingle of the text's letters and digits, in order."""
    import numpy as np

    codes = np.frombuffer(re.sub(r"[^\w]|_", "", normalised).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    count = max(0, len(codes) - SHINGLE + 1)
    hashed = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for offset in range(SHINGLE):
            hashed = hashed * np.uint64(1_000_003) + codes[offset : offset + count]
        hashed ^= hashed >> np.uint64(29)
        hashed *= np.uint64(0xBF58476D1CE4E5B9)
        hashed ^= hashed >> np.uint64(32)
    return hashed


def similarity(first: bytes, second: bytes) -> float:
    """The estimated share of shingles two documents have in common (bottom-k Jaccard)."""
    import numpy as np

    a, b = np.frombuffer(first, dtype="<u8"), np.frombuffer(second, dtype="<u8")
    if not len(a) or not len(b):
        return 0.0
    union = np.union1d(a, b)[:SKETCH]
    shared = np.intersect1d(np.intersect1d(a, b), union)
    return len(shared) / len(union)


@dataclass
class Member:
    path: str
    title: str | None
    date: str | None
    modified: str | None

    def rank(self) -> tuple:
        """The final version first: a 定稿/印发稿 name, then not a draft's name, then the latest date."""
        name = os.path.basename(self.path)
        return (not _FINAL_NAME.search(name), bool(_DRAFT_NAME.search(name)), _negated(self.date), _negated(self.modified),
                self.path)


def _negated(value: str | None) -> str:
    return "".join(chr(0x10FFFF - ord(c)) for c in (value or ""))


def _similar_pairs(sketches: dict[str, bytes]) -> list[tuple[str, str]]:
    """Pairs of documents whose sketches share at least SIMILAR * SKETCH / 2 hashes, counting only
    hashes that stand in 2 to COMMON documents (a hash in more is a stock phrase, not evidence).

    Counted one document at a time, over the documents that share its hashes: memory grows with the
    archive (its sketches, as arrays), not with the pairs of documents (tens of millions, in an
    office where every speech shares stock phrases with thousands of others).
    """
    import numpy as np

    paths = list(sketches)
    hashes = [np.frombuffer(sketches[path], dtype="<u8") for path in paths]
    if not paths or not any(len(value) for value in hashes):
        return []
    documents = np.repeat(np.arange(len(paths), dtype=np.int32), [len(value) for value in hashes])
    flat = np.concatenate(hashes)
    order = np.argsort(flat, kind="stable")
    flat, documents = flat[order], documents[order]  # grouped by hash, documents ascending in each
    del order  # (arrays of 8 bytes per entry: 51 MB each at 100,000 speeches)
    starts = np.flatnonzero(np.concatenate(([True], flat[1:] != flat[:-1])))  # (np.unique would sort again)
    counts = np.diff(np.append(starts, len(flat)))
    del flat
    group_of = np.repeat(np.arange(len(starts), dtype=np.int32), counts)  # each (hash, document) entry's hash group
    evidence = (counts[group_of] > 1) & (counts[group_of] <= COMMON)
    by_document = np.argsort(documents, kind="stable").astype(np.int32)
    first_entry = np.searchsorted(documents[by_document], np.arange(len(paths) + 1))
    needed = SIMILAR * SKETCH / 2
    found: list[tuple[str, str]] = []
    for document in range(len(paths)):
        entries = by_document[first_entry[document] : first_entry[document + 1]]
        groups = group_of[entries[evidence[entries]]]
        if len(groups) < needed:
            continue
        others = np.concatenate([documents[starts[g] : starts[g] + counts[g]] for g in groups])
        others = others[others > document]
        if len(others) < needed:
            continue
        candidates, shared = np.unique(others, return_counts=True)
        found.extend((paths[document], paths[other]) for other in candidates[shared >= needed].tolist())
    return found


def group(sketches: dict[str, bytes], listing: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """path -> {"group", "similarity", "members"} for every document that has other versions."""
    parent: dict[str, str] = {}

    def root(path: str) -> str:
        while parent.get(path, path) != path:
            grandparent = parent.get(parent[path], parent[path])
            parent[path] = grandparent  # halve the path as we go
            path = grandparent
        return path

    closest: dict[str, float] = {}
    for first, second in _similar_pairs(sketches):
        estimate = similarity(sketches[first], sketches[second])
        if estimate >= SIMILAR:
            parent[root(first)] = root(second)
            for path in (first, second):
                closest[path] = max(closest.get(path, 0.0), estimate)
    members: dict[str, list[str]] = defaultdict(list)
    for path in closest:
        members[root(path)].append(path)
    found: dict[str, dict[str, Any]] = {}
    for paths in members.values():
        ordered = sorted((Member(p, listing.get(p, {}).get("title"), listing.get(p, {}).get("date"),
                                 listing.get(p, {}).get("modified")) for p in paths), key=Member.rank)
        group_id = _group_id(ordered[0].path)
        shown = [{"path": m.path, "title": m.title, "date": m.date} for m in ordered]
        for member in ordered:
            found[member.path] = {"group": group_id, "similarity": round(closest[member.path], 3), "members": shown}
    return found


def _group_id(path: str) -> str:
    import hashlib

    return hashlib.sha1(path.encode("utf-8")).hexdigest()[:12]
