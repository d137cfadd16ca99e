"""Export matched passages with citations: Word first, also Markdown, CSV and JSON.

    export = collect(index, query, ...)       every passage of every matching document
    write(export, stream, "docx")             into any binary stream (a file, an HTTP response)
    save(export, path, "docx", force=False)   to a file, atomically, with the safety checks
"""

from __future__ import annotations

import datetime as dt
import io
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from archive.errors import NO_SPACE, ArchiveError
from archive.export import text, word
from archive.export.model import Citation, Export, ExportDocument, ExportPassage, build
from archive.ingest.scan import under
from archive.search import Filters, SpeechIndex

__all__ = ["FORMATS", "Citation", "Export", "ExportDocument", "ExportPassage", "collect", "format_for", "save", "write"]

FORMATS: dict[str, Callable[[Export, BinaryIO], None]] = {
    "docx": word.write,
    "md": text.write_markdown,
    "csv": text.write_csv,
    "json": text.write_json,
}
MEDIA_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "md": "text/markdown; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}


class NothingToExport(ArchiveError):
    """The query matched no passage."""


def format_for(path: Path, given: str | None) -> str:
    """The format: as given, else from the file's suffix (.docx, .md/.markdown, .csv, .json)."""
    name = (given or path.suffix.lstrip(".")).lower()
    name = {"markdown": "md", "word": "docx"}.get(name, name)
    if name not in FORMATS:
        raise ArchiveError(f"unknown export format {name or '(no suffix)'!r}: use --format docx, md, csv or json")
    return name


def collect(index: SpeechIndex, query: str, filters: Filters = Filters(sort="date"), *, context: int = 0) -> Export:
    """Every passage holding a match, in document order, documents newest first (or by relevance)."""
    if context < 0:
        raise ArchiveError("--context must be 0 or more paragraphs")
    results = index.search(query, filters=filters, limit=None, window=None, max_passages=None, context=context)
    export = build(results, dt.datetime.now().strftime("%Y-%m-%d %H:%M"))
    if not export.passage_count:
        raise NothingToExport(f"no passage matches {query}: nothing exported, no file written")
    return export


def write(export: Export, stream: BinaryIO, file_format: str) -> None:
    FORMATS[file_format](export, stream)


def _inside(path: Path, folder: str) -> bool:
    """Whether `path` is in `folder`, links resolved on both sides (a link into an indexed folder is
    still inside it)."""
    return under(os.path.realpath(path), [os.path.realpath(folder)])


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_report(report: Any, path: Path, *, force: bool = False) -> Path:
    """Write a draft check (archive.check.CheckReport) as .docx, with save()'s safety."""
    from archive.export import report as report_docx

    if Path(path).suffix.lower() != ".docx":
        raise ArchiveError(f"the check report is a Word document: name it .docx, not {Path(path).name}")
    return _write_file(lambda stream: report_docx.write(report, stream), Path(path), force=force, indexed_folders=[])


def save(export: Export, path: Path, file_format: str, *, force: bool = False,
         indexed_folders: Sequence[str] = ()) -> Path:
    """Write the export to `path` atomically, with the user's normal file permissions (colleagues in a
    shared folder can open it). Refuses to overwrite, or to write into an indexed folder (the next
    index run would index the export), unless `force`. The file is made in memory first, so a full
    disk fails in one place with one message and leaves nothing behind."""
    return _write_file(lambda stream: write(export, stream, file_format), path, force=force,
                       indexed_folders=indexed_folders)


def _write_file(make: Callable[[BinaryIO], None], path: Path, *, force: bool, indexed_folders: Sequence[str]) -> Path:
    path = Path(os.path.abspath(path))
    if path.exists() and not force:
        raise ArchiveError(f"{path} exists: choose another name or pass --force to replace it")
    if not force:
        for folder in indexed_folders:
            if _inside(path, folder):
                raise ArchiveError(f"{path} is inside the indexed folder {folder}: the next `archive index` would "
                                   "index the export; write it elsewhere or pass --force")
    if not path.parent.is_dir():
        raise ArchiveError(f"no such folder: {path.parent}")
    buffer = io.BytesIO()
    make(buffer)
    temporary: str | None = None
    try:
        handle, temporary = tempfile.mkstemp(prefix=".archive-export-", dir=path.parent)
        with os.fdopen(handle, "wb") as stream:
            stream.write(buffer.getvalue())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except OSError as error:
        if temporary:
            Path(temporary).unlink(missing_ok=True)
        if error.errno in NO_SPACE:
            raise ArchiveError(f"no space left on the disk of {path.parent}: free some space, or write elsewhere") from None
        raise ArchiveError(f"could not write {path}: {error.strerror or error}") from None
    except BaseException:
        if temporary:
            Path(temporary).unlink(missing_ok=True)
        raise
    return path
