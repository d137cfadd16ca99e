"""Turn one file into what the index stores. Runs in worker processes, one file at a time.

Everything expensive happens here, off the single index writer: reading the file, extracting
metadata and normalising the text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import resource
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from archive import readers, versions
from archive.document import Document, Metadata, doc_id
from archive.ingest.scan import os_path_of
from archive.normalize import normalise
from archive.readers import UnreadableFile, deadline

MEMORY_PER_FILE = 600 * 1024 * 1024  # address space a worker may grow by while reading one file


def init_worker(ocr_cache: str | None = None, ocr_pages: Any = None) -> None:
    """Worker start-up: bound memory so a hostile file fails alone; keep OCR'd pages in `ocr_cache`
    and count them in `ocr_pages`; watch the worker's own deadline (archive.readers.deadline).

    Only the soft bound is set: a converter the worker starts (LibreOffice) may lift it for itself.
    """
    from archive.readers import ocr  # the worker's; a run with nothing to read never loads it

    ocr.set_cache_folder(Path(ocr_cache) if ocr_cache else None, ocr_pages)
    deadline.watch()
    normalise("會")  # load the script fold before the bound
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            size_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
        limit = size_kb * 1024 + MEMORY_PER_FILE
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    except (OSError, StopIteration, ValueError):
        pass  # not Linux: no bound, still correct


def warm_up() -> None:
    """Import what reading the usual formats needs (Word, PDF, saved pages; numpy for sketches), in
    a worker started while the run still opens the index and plans: its first file finds it done."""
    import numpy  # noqa: F401

    from archive.readers import pdf, webpage, word  # noqa: F401


def file_facts(path: Path, size: int, mtime_ns: int, sha256: str | None) -> dict[str, Any]:
    """The fields of a Document that belong to the file, not its content."""
    key = str(path)
    return {
        "path": key,
        "id": doc_id(key),
        "format": readers.file_format(path),
        "size": size,
        "sha256": sha256,
        "modified": dt.datetime.fromtimestamp(mtime_ns / 1e9).isoformat(timespec="seconds"),
    }


def read_document(path: Path, facts: dict[str, Any]) -> Document:
    """Read a file and extract its metadata."""
    from archive import metadata  # its patterns compile on import: only workers need them

    extracted = readers.read(path)
    if not any(p.text.strip() for p in extracted.paragraphs):
        if extracted.ocr_pages:
            raise UnreadableFile("no text found: OCR read nothing on its pages (blank, or too faint to read)")
        raise UnreadableFile("no text in the document")
    found = metadata.extract(extracted, path)
    return Document(**{f.name: getattr(found, f.name) for f in fields(Metadata)}, **facts,
                    paragraphs=extracted.paragraphs)


@dataclass
class Prepared:
    """What a worker hands the index writer for one file."""

    document: Document
    normalised: str  # the text as searching sees it (archive.normalize), paragraphs joined
    sketch: bytes  # archive.versions' sketch of the text


def prepare(path: str, facts: dict[str, Any], reuse: Document | None, timeout: float | None = None) -> Prepared:
    """The document and normalised text of one file. `reuse` is an indexed document with the same content.

    Every failure, of any kind, becomes UnreadableFile with a one-line reason: one file never stops a
    run. The content hash the run planned with is checked again after reading: a file that changed
    since, or while it was read, is not stored with another version's hash, and is read again next run.
    """
    file_path = Path(os_path_of(path))
    deadline.start(timeout)
    try:
        if reuse is not None:  # a title taken from a file name is set per path by the writer
            document = replace(reuse, **facts)
        else:
            if facts["sha256"] is None:  # the plan left it to the worker (no other file has its size)
                try:
                    facts = {**facts, "sha256": sha256_of(str(file_path))}
                except OSError as error:  # as the plan says it: permissions may be fixed without touching the file
                    raise ReadAgainNextRun(f"cannot read the file: {error.strerror}") from None
            document = read_document(file_path, facts)
            if sha256_of(str(file_path)) != facts["sha256"]:  # changed since it was planned, or while read
                raise ReadAgainNextRun(CHANGED_WHILE_READ)
        pieces = [normalise(p.text) for p in document.paragraphs]  # per character, so joining commutes
        document.normalised_lengths = [len(piece) for piece in pieces]  # lets passages skip normalising
        normalised = "".join(pieces)
        return Prepared(document, normalised, versions.sketch(normalised))
    except UnreadableFile:
        raise
    except MemoryError:  # normalising or sketching a huge text, after the reader
        raise UnreadableFile(readers.TOO_LARGE) from None
    except RecursionError:
        raise UnreadableFile("too deeply nested to read (a malformed file?)") from None
    except Exception as error:  # a reader library failing on a malformed file must not stop the run
        raise UnreadableFile(f"could not be read: {type(error).__name__}: {str(error)[:120]}") from None
    finally:
        deadline.clear()


CHANGED_WHILE_READ = "the file changed while it was being read (still being saved?): it will be read again next run"


class ReadAgainNextRun(UnreadableFile):
    """A failure of the moment (the file changed while it was read, or could not be opened): the
    run reports it but does not record it, so the next run reads the file again."""


def sha256_of(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def cpu_count() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
