"""Which files the archive reads, by name: light enough for the watcher and the folder scan, which
must not load every reader's libraries to decide whether a file matters."""

from __future__ import annotations

import os
import re
from pathlib import Path

# suffix → the format name shown to users
FORMATS = {".docx": "docx", ".docm": "docx", ".doc": "doc", ".wps": "wps", ".rtf": "rtf", ".pdf": "pdf",
           ".ofd": "ofd", ".txt": "page", ".htm": "page", ".html": "page", ".jpg": "image", ".jpeg": "image",
           ".png": "image", ".tif": "image", ".tiff": "image", ".bmp": "image"}
SUPPORTED_SUFFIXES = frozenset(FORMATS)
# Files an editor keeps beside the one being edited: Word's and WPS's owner files (~$x.docx), WPS's
# backups (x.docx.bak, ~x.wps), LibreOffice's lock files (.~lock.x.docx#), temporary saves (~WRL1234.tmp).
_EDITOR_FILES = re.compile(r"^(~\$|\.~lock\.|~WR[LD]\d+|~\w{2,}\.tmp$)|\.(tmp|bak|wbk|asd)$", re.IGNORECASE)


def file_format(path: Path) -> str:
    """The format name shown to users: docx, doc, wps, rtf, pdf, ofd, image or page (a saved page)."""
    return FORMATS.get(path.suffix.lower(), "page")


def skip_reason(path: str | os.PathLike[str]) -> str | None:
    """Why a file in the folder is not a speech at all (reported as skipped, not failed)."""
    name = os.path.basename(path)
    if name.startswith("~$"):
        return "Word lock file"
    if _EDITOR_FILES.search(name):
        return "an editor's lock, backup or temporary file"
    return None
