"""Errors the library raises for the front ends to turn into one-line messages."""

import errno

# What writing to a full disk raises: no space, over quota, or a file past what the disk (or a limit) allows.
NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class ArchiveError(Exception):
    """A user error: the message says what went wrong and what to do. Front ends print it, exit 1."""


class IndexMissing(ArchiveError):
    """No index at the given location (or one built by an incompatible version)."""


class IndexBusy(ArchiveError):
    """Another `archive index` run holds the write lock."""


class QueryError(ArchiveError):
    """The query cannot be parsed or means nothing."""


class IndexDamaged(ArchiveError):
    """The index's files are damaged (truncated, deleted, overwritten): `archive index --rebuild` repairs it."""
