"""Walk the shared folder: which files are speeches, which are skipped, which folders can't be read."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from archive.errors import ArchiveError
from archive.readers import SUPPORTED_SUFFIXES, skip_reason


@dataclass(frozen=True)
class FoundFile:
    path: str  # absolute, as the user's folder names it (links not resolved)
    size: int
    mtime_ns: int


@dataclass
class Scan:
    files: list[FoundFile] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)


def resolve_roots(paths: list[Path]) -> list[str]:
    """Absolute roots; a missing or unreadable folder is a user error (exit 1)."""
    roots: list[str] = []
    for path in paths:
        absolute = os.path.abspath(os.path.expanduser(str(path)))
        if not os.path.exists(absolute):
            raise ArchiveError(f"no such folder: {path}")
        if os.path.isdir(absolute) and not os.access(absolute, os.R_OK | os.X_OK):
            raise ArchiveError(f"cannot read folder {path}: permission denied")
        roots.append(absolute)
    return roots


def under(path: str, roots: list[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def scan(roots: list[str], exclude: list[str] | None = None) -> Scan:
    """Every supported file under the roots, with size and modification time from one stat each."""
    result = Scan()
    seen: set[str] = set()
    excluded = [os.path.abspath(e) for e in (exclude or [])]

    def consider(path: str, stat: os.stat_result) -> None:
        if path in seen or os.path.splitext(path)[1].lower() not in SUPPORTED_SUFFIXES:
            return
        seen.add(path)
        reason = skip_reason(Path(path))
        if reason:
            result.skipped.append({"path": path, "reason": reason})
        else:
            result.files.append(FoundFile(path, stat.st_size, stat.st_mtime_ns))

    def walk(folder: str) -> None:
        try:
            entries = list(os.scandir(folder))
        except OSError as error:
            result.failed.append({"path": folder, "reason": f"folder not readable: {error.strerror}"})
            return
        for entry in sorted(entries, key=lambda e: e.name):
            if under(entry.path, excluded):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    walk(entry.path)
                elif entry.is_file():
                    consider(entry.path, entry.stat())
                elif entry.is_symlink() and os.path.splitext(entry.name)[1].lower() in SUPPORTED_SUFFIXES:
                    result.failed.append({"path": entry.path, "reason": "broken link: the file it points to is missing"})
            except OSError as error:
                result.failed.append({"path": entry.path, "reason": f"cannot read the file: {error.strerror}"})

    for root in roots:
        if os.path.isdir(root):
            walk(root)
        else:
            try:
                consider(root, os.stat(root))
            except OSError as error:
                result.failed.append({"path": root, "reason": f"cannot read the file: {error.strerror}"})
    return result
