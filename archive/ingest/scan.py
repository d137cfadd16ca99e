"""Walk the shared folder: which files are speeches, which are skipped, which folders can't be read.

Links: a link to a file inside the indexed folders is read (as the file it points to); a link that
leads outside them (`passwd.txt -> /etc/passwd`), a link to a folder (which could loop or lead
anywhere) and a link to anything but a regular file (`/dev/zero`) are not followed, and each is
listed as skipped with its reason. Special files (devices, pipes, sockets) are never opened.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from archive.errors import ArchiveError
from archive.kinds import SUPPORTED_SUFFIXES, skip_reason

# A file name that is not UTF-8 (a GBK name from a Windows zip unpacked on Linux) comes from the
# operating system with its undecodable bytes as lone surrogates (U+DC80–U+DCFF), which no index, JSON
# or terminal can hold. Its key in the archive carries those bytes as private-use characters
# (U+F780–U+F7FF, which names never use) instead: one for one, so the key turns back into the name.
_SURROGATE_TO_KEY = {code: code - 0xDC80 + 0xF780 for code in range(0xDC80, 0xDD00)}
_KEY_TO_SURROGATE = {value: key for key, value in _SURROGATE_TO_KEY.items()}


def key_of(os_path: str) -> str:
    """The archive's name for a file: its path, with undecodable bytes as private-use characters."""
    return os_path.translate(_SURROGATE_TO_KEY)


def os_path_of(key: str) -> str:
    """The path to open for an archive key (the inverse of key_of)."""
    return key.translate(_KEY_TO_SURROGATE)


def readable_name(key: str) -> str:
    """A file name for people: a non-UTF-8 name read as GB18030 (what Windows wrote it in)."""
    if not any(0xF780 <= ord(c) <= 0xF7FF for c in key):
        return key
    raw = os.fsencode(os_path_of(key))
    return raw.decode("gb18030", "replace")


@dataclass(frozen=True)
class FoundFile:
    path: str  # absolute, as the user's folder names it (links not resolved), as a key (see key_of)
    size: int
    mtime_ns: int


@dataclass
class Scan:
    files: list[FoundFile] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # folders that could not be listed this time


def resolve_roots(paths: list[Path]) -> list[str]:
    """Absolute roots; a missing or unreadable folder is a user error (exit 1)."""
    roots: list[str] = []
    for path in paths:
        absolute = os.path.abspath(os.path.expanduser(str(path)))
        if not os.path.exists(absolute):
            raise ArchiveError(f"no such folder: {path}")
        if os.path.isdir(absolute) and not os.access(absolute, os.R_OK | os.X_OK):
            raise ArchiveError(f"cannot read folder {path}: permission denied")
        roots.append(key_of(absolute))
    return roots


def under(path: str, roots: list[str]) -> bool:
    """Whether `path` is one of `roots` or inside one (as written: resolve links first if they count)."""
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def scan(roots: list[str], exclude: list[str] | None = None) -> Scan:
    """Every supported file under the roots, with size and modification time from one stat each."""
    result = Scan()
    seen: set[str] = set()
    excluded = [os.path.abspath(e) for e in (exclude or [])]

    def consider(path: str, facts: os.stat_result) -> None:
        path = key_of(path)
        if path in seen or os.path.splitext(path)[1].lower() not in SUPPORTED_SUFFIXES:
            return
        seen.add(path)
        reason = skip_reason(path)
        if reason:
            result.skipped.append({"path": path, "reason": reason})
        else:
            result.files.append(FoundFile(path, facts.st_size, facts.st_mtime_ns))

    real_roots = [os.path.realpath(os_path_of(root)) for root in roots]

    def skip(path: str, reason: str) -> None:
        result.skipped.append({"path": key_of(path), "reason": reason})

    def fail(path: str, reason: str) -> None:
        result.failed.append({"path": key_of(path), "reason": reason})

    def link(entry: os.DirEntry[str]) -> None:
        supported = os.path.splitext(entry.name)[1].lower() in SUPPORTED_SUFFIXES
        try:
            target = os.stat(entry.path)
        except OSError:
            if supported:
                fail(entry.path, "broken link: the file it points to is missing")
            return
        if stat.S_ISDIR(target.st_mode):
            skip(entry.path, "link to a folder: not followed (index that folder itself if it belongs in the archive)")
        elif not supported:
            return
        elif not stat.S_ISREG(target.st_mode):
            skip(entry.path, "link to something that is not a file (a device or pipe): not read")
        elif not under(os.path.realpath(entry.path), real_roots):
            skip(entry.path, "link to a file outside the indexed folders: not followed")
        else:
            consider(entry.path, target)

    def walk(folder: str) -> None:
        try:
            entries = list(os.scandir(folder))
        except OSError as error:
            fail(folder, f"folder not readable: {error.strerror}")
            result.unreadable.append(key_of(folder))
            return
        for entry in sorted(entries, key=lambda e: e.name):
            if under(entry.path, excluded):
                continue
            try:
                if entry.is_symlink():
                    link(entry)
                elif entry.is_dir(follow_symlinks=False):
                    walk(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    consider(entry.path, entry.stat(follow_symlinks=False))
            except OSError as error:
                fail(entry.path, f"cannot read the file: {error.strerror}")

    for root in map(os_path_of, roots):
        if os.path.isdir(root):
            walk(root)
        else:
            try:
                consider(root, os.stat(root))
            except OSError as error:
                fail(root, f"cannot read the file: {error.strerror}")
    return result
