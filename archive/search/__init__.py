"""The index: the only package that imports whoosh or a database driver. A narrow public API over
private modules; the engine is chosen by the index location.

    location_of(text)             a folder (the embedded whoosh index) or postgresql://… (a server)
    open_index(location)          read: search, matches, documents, document, stats, …  (engine.SpeechIndex)
    open_for_search(location, q)  the lightest reader that answers one search (a command's)
    open_update(location)         write: put, put_failed, delete, checkpoint, commit    (engine.IndexUpdate)
    verify_index, remove_index, indexed_folders, state_dir
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archive.search.snapshot import ManifestEntry, Snapshot

if TYPE_CHECKING:
    from archive.document import Document, doc_id
    from archive.search.engine import Filters, Hit, IndexUpdate, Searching, SearchResults, SpeechIndex
    from archive.search.passages import DocumentText, Passage

# Imported when first asked for: an `archive index` run over an unchanged folder needs only the
# snapshot, and the query language, passages and documents cost a cold command tens of ms.
_LAZY = {"Document": "archive.document", "doc_id": "archive.document", "Filters": "archive.search.engine",
         "Hit": "archive.search.engine", "IndexUpdate": "archive.search.engine",
         "SearchResults": "archive.search.engine", "SpeechIndex": "archive.search.engine",
         "Searching": "archive.search.engine",
         "DocumentText": "archive.search.passages", "Passage": "archive.search.passages"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "Document",
    "DocumentText",
    "Filters",
    "Hit",
    "IndexUpdate",
    "Location",
    "ManifestEntry",
    "Passage",
    "SearchResults",
    "Searching",
    "Snapshot",
    "SpeechIndex",
    "doc_id",
    "indexed_folders",
    "is_database",
    "last_snapshot",
    "location_of",
    "open_for_search",
    "open_index",
    "open_update",
    "remove_index",
    "shown_location",
    "state_dir",
    "verify_index",
]

Location = Path | str  # a folder for the embedded index, a postgresql:// URL for the server engine
DATABASE_SCHEMES = ("postgresql://", "postgres://")


def is_database(location: Location | None) -> bool:
    return isinstance(location, str) and location.startswith(DATABASE_SCHEMES)


def location_of(given: str | Path | None, default: str | Path) -> Location:
    """The index location a user gave (--index, $ARCHIVE_INDEX), else `default`: an absolute
    folder, or a database URL as written."""
    value = given if given not in (None, "") else default
    if isinstance(value, str) and value.startswith(DATABASE_SCHEMES):
        return value
    return Path(os.path.abspath(value))


def shown_location(location: Location) -> str:
    """The location for messages: a URL's password is not printed."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", str(location))


def open_index(location: Location) -> SpeechIndex[Any]:
    if is_database(location):
        from archive.search.postgres import PostgresIndex

        return PostgresIndex(str(location))
    from archive.search.embedded import WhooshIndex

    return WhooshIndex(Path(location))


def open_for_search(location: Location, query: str, filters: Filters) -> Searching[Any]:
    """What answers one search of a command: for quoted phrases in an embedded index, the last
    commit's side files alone (archive.search.quick: no whoosh imported), else open_index's engine."""
    if not is_database(location):
        from archive.search import quick

        found = quick.open_if_answers(Path(location), query, filters)
        if found is not None:
            return found
    return open_index(location)


def open_update(location: Location) -> IndexUpdate:
    """The one writer (a second run at once is refused with IndexBusy)."""
    if is_database(location):
        from archive.search.postgres import PostgresUpdate

        return PostgresUpdate(str(location))
    from archive.search.embedded import WhooshUpdate

    return WhooshUpdate(Path(location))


def last_snapshot(location: Location) -> Snapshot | None:
    """What the last commit left (every file's manifest entry, failures' reasons, the folders), read
    without opening the index for writing: enough to see that nothing changed. None when not known
    cheaply (then open_update's manifest is the truth)."""
    if is_database(location):
        from archive.search import postgres

        return postgres.snapshot(str(location))
    from archive.search import snapshot

    return snapshot.load(Path(location))


def verify_index(location: Location) -> int:
    """Read every part of the index once; the number of entries, or IndexDamaged naming the damage."""
    if is_database(location):
        from archive.search import postgres

        return postgres.verify(str(location))
    from archive.search import store

    return store.verify(Path(location))


def remove_index(location: Location) -> None:
    """Delete the index's data (for a rebuild); the OCR page cache and the folder list stay."""
    if is_database(location):
        from archive.search import postgres

        postgres.remove_index(str(location))
        return
    from archive.search import store

    store.remove_index(Path(location))


def indexed_folders(location: Location) -> list[str]:
    """The folders `archive index` was given (so exports are not written where they would be indexed)."""
    if is_database(location):
        from archive.search import postgres

        return postgres.indexed_folders(str(location))
    from archive.search import store

    return store.indexed_folders(Path(location))


def state_dir(location: Location) -> Path:
    """This machine's folder for what belongs to the index but not in it: the OCR page cache, the
    watcher's status. The index folder itself; for a database, a folder in the user's cache."""
    if not is_database(location):
        return Path(location)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    import hashlib

    name = hashlib.sha1(shown_location(location).encode("utf-8")).hexdigest()[:12]
    return cache / "archive" / f"postgres-{name}"
