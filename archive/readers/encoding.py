"""Decode a saved page or text file, whatever encoding the office's machines wrote it in.

Order of evidence: a byte-order mark; strict UTF-8 (browsers save pages as UTF-8 but keep the
page's old `charset=gb2312` declaration, so a clean UTF-8 decode outranks the declaration); UTF-16
without a mark (NUL bytes at every other position); the page's declared charset; UTF-8 with a few
damaged bytes; then charset-normalizer's detection among the encodings Chinese text comes in.
GB18030 decodes almost any byte string, Big5 included, so it is never tried blindly before Big5.
Undecodable bytes are dropped, never allowed to stop the run.
"""

from __future__ import annotations

import codecs
import re

from archive.readers.base import UnreadableFile

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_DECLARED = re.compile(rb"""charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030", "cp936": "gb18030",
            "euc-cn": "gb18030", "hz-gb-2312": "hz", "big5": "big5hkscs", "big-5": "big5hkscs", "x-x-big5": "big5hkscs",
            "cp950": "big5hkscs", "big5-hkscs": "big5hkscs", "unicode": "utf-16", "utf8": "utf-8"}
_CANDIDATES = ["utf_8", "gb18030", "big5hkscs", "utf_16_le", "utf_16_be", "hz"]
DAMAGE_TOLERATED = 0.01  # the share of undecodable bytes a page may have and still be read


def decode(raw: bytes) -> str:
    """The text of `raw`; UnreadableFile if it is not text in any encoding we know."""
    for mark, encoding in _BOMS:
        if raw.startswith(mark):
            return _lenient(raw[len(mark):], encoding)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    utf16 = _utf16_without_mark(raw)
    if utf16:
        return _lenient(raw, utf16)
    if b"\x00" in raw[:4096]:
        raise UnreadableFile("not a text file: binary content")
    declared = _declared(raw)
    if declared:
        text = _within_tolerance(raw, declared)
        if text is not None:
            return text
    text = _within_tolerance(raw, "utf-8")
    if text is not None:
        return text
    return _detected(raw)


def _lenient(raw: bytes, encoding: str) -> str:
    return raw.decode(encoding, "replace").replace("\ufffd", "")


def _within_tolerance(raw: bytes, encoding: str) -> str | None:
    try:
        text = raw.decode(encoding, "replace")
    except LookupError:
        return None
    damaged = text.count("\ufffd")
    if damaged > DAMAGE_TOLERATED * max(1, len(text)):
        return None
    return text.replace("\ufffd", "")


def _declared(raw: bytes) -> str | None:
    match = _DECLARED.search(raw[:4096])
    if not match:
        return None
    name = match.group(1).decode("ascii", "ignore").lower()
    name = _ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _utf16_without_mark(raw: bytes) -> str | None:
    """UTF-16 text has NUL bytes at one parity: ASCII in it is every other byte, and Chinese is not
    NUL-free either way. Enough of them at one parity and none-to-few at the other decides it."""
    sample = raw[:8192]
    if len(sample) < 4:
        return None
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    half = len(sample) / 2
    if odd > 0.2 * half and even < 0.02 * half:
        return "utf-16-le"
    if even > 0.2 * half and odd < 0.02 * half:
        return "utf-16-be"
    if not (even or odd) or (even + odd) > 0.05 * len(sample):
        return None
    for encoding in ("utf-16-le", "utf-16-be"):  # Chinese without ASCII: try both, keep what is clean
        if len(sample) % 2 == 0 and _within_tolerance(sample, encoding) is not None and _mostly_cjk(sample, encoding):
            return encoding
    return None


def _mostly_cjk(sample: bytes, encoding: str) -> bool:
    text = sample.decode(encoding, "replace")
    cjk = sum(1 for c in text if "\u3000" <= c <= "\u9fff" or "\uff00" <= c <= "\uffef")
    return cjk > 0.5 * len(text)


def _detected(raw: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(raw[:65536], cp_isolation=_CANDIDATES).best()
    if best is None or best.encoding is None:
        text = _within_tolerance(raw, "gb18030")
        if text is None:
            raise UnreadableFile("not a text file: no known encoding (UTF-8, GBK/GB18030, Big5, UTF-16) fits")
        return text
    return _lenient(raw, best.encoding)
