"""`.doc` (Word 97–2003) and `.wps` (WPS Writer): the binary office formats of older years.

A file's bytes decide how it is read, not its name: offices keep .docx files renamed .doc, RTF and
web pages saved as .doc, and WPS Writer's .wps is Word's binary format in another name.
- Word 97 and later (and WPS): `antiword` (about 5 ms a file) when it is installed and its text is
  whole; else LibreOffice (archive.readers.office), whose .docx goes through the .docx reader.
- Word 6/95 files keep text in a legacy code page (GBK for Chinese): only LibreOffice, and text that
  comes back as mojibake is refused with a reason rather than indexed.
- RTF: LibreOffice. A .docx inside: the .docx reader. HTML or plain text: the saved-page reader.
"""

from __future__ import annotations

import math
import re
import shutil
import struct
import subprocess
import tempfile
from functools import cache
from pathlib import Path

from archive.document import Extracted, Paragraph
from archive.readers import office, webpage, word
from archive.readers.base import UnreadableFile, check_not_empty

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ANTIWORD_SECONDS = 30.0
CHARS_PER_PAGE = 616  # an official document's page (GB/T 9704: 22 lines of 28 characters)
_WORD97_NFIB = 0xC1  # the FIB version of Word 97; older files are Word 6/95 or earlier
_TABLE_ROW = re.compile(r"^\|(.*)\|\s*$")
_MOJIBAKE = re.compile(r"[\u00c0-\u00ff]")
_CJK = re.compile(r"[\u3400-\u9fff]")


def read(path: Path) -> Extracted:
    check_not_empty(path)
    with path.open("rb") as handle:
        head = handle.read(512)
    if head.startswith(b"PK"):
        return word.read(path)
    if head.lstrip().startswith(b"{\\rtf"):
        return _with_libreoffice(path)
    if head.startswith(OLE_MAGIC):
        return _read_ole(path)
    if b"\x00" not in head and (b"<" in head[:64] or _looks_like_text(head)):
        return webpage.read(path)
    raise UnreadableFile("not a Word or WPS document (unknown content)")


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _read_ole(path: Path) -> Extracted:
    import olefile

    try:
        with olefile.OleFileIO(str(path)) as container:
            if container.exists("EncryptedPackage") or container.exists("EncryptionInfo"):
                raise UnreadableFile("password-protected document: save it without a password to index it")
            if not container.exists("WordDocument"):
                raise UnreadableFile("not a Word or WPS text document (another Office file, e.g. a spreadsheet)")
            fib = container.openstream("WordDocument").read(32)
            try:
                stated_pages = container.get_metadata().num_pages
            except Exception:  # a broken summary stream does not make the text unreadable
                stated_pages = None
    except UnreadableFile:
        raise
    except Exception as error:  # olefile raises OSError, ValueError, IndexError… on damaged containers
        raise UnreadableFile(f"damaged document: the file's container is broken ({type(error).__name__})") from None
    if len(fib) < 12 or struct.unpack_from("<H", fib, 0)[0] not in (0xA5EC, 0xA5DC):
        raise UnreadableFile("damaged document: the Word header is missing")
    nfib, flags = struct.unpack_from("<H", fib, 2)[0], struct.unpack_from("<H", fib, 10)[0]
    if flags & 0x0100:
        raise UnreadableFile("password-protected document: save it without a password to index it")
    if nfib < _WORD97_NFIB:
        return _checked(_with_libreoffice(path), old_word=True)
    extracted = _with_antiword(path)
    if extracted is None:
        return _checked(_with_libreoffice(path))
    if stated_pages:
        extracted.pages, extracted.pages_estimated = int(stated_pages), False
    return _checked(extracted)


def _checked(extracted: Extracted, old_word: bool = False) -> Extracted:
    """Refuse text that decoded into Latin-1 mojibake (a GB-encoded file read in a Western code page)."""
    text = extracted.text
    latin = len(_MOJIBAKE.findall(text))
    if latin >= 20 and latin > 2 * len(_CJK.findall(text)):
        version = "an old Word 6/95 file" if old_word else "the file"
        raise UnreadableFile(f"{version} is in an encoding that could not be decoded (its text came out garbled): "
                             "open it in Word or WPS and save it as .docx")
    return extracted


@cache
def _antiword() -> str | None:
    return shutil.which("antiword")


def _with_antiword(path: Path) -> Extracted | None:
    """Paragraphs from antiword, or None when it is missing or fails (LibreOffice then reads it)."""
    program = _antiword()
    if program is None:
        return None
    try:
        done = subprocess.run([program, "-m", "UTF-8.txt", "-w", "0", str(path)], stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=ANTIWORD_SECONDS, check=False)
    except (subprocess.TimeoutExpired, OSError):
        return None
    if done.returncode != 0 or not done.stdout.strip():
        return None
    text = done.stdout.decode("utf-8", "replace")
    if "\ufffd" in text:
        return None
    paragraphs = _paragraphs(text)
    if not paragraphs:
        return None
    chars = sum(len(re.sub(r"\s", "", p.text)) for p in paragraphs)
    return Extracted(paragraphs=paragraphs, pages=max(1, math.ceil(chars / CHARS_PER_PAGE)), pages_estimated=True)


def _paragraphs(text: str) -> list[Paragraph]:
    """antiword writes one paragraph per line (with -w 0), blank lines between, tables as |a |b |.
    It marks no pages, so each paragraph's page is estimated like the page count."""
    paragraphs: list[Paragraph] = []
    chars = 0
    for line in text.replace("\r", "").split("\n"):
        row = _TABLE_ROW.match(line)
        if row:
            cells = [cell.strip() for cell in row.group(1).split("|")]
            line = "\t".join(cell for cell in cells if cell)
        line = line.replace("\x0c", "").strip()
        if line and line != "[pic]":  # pages estimated as the page count is (flagged pages_estimated)
            paragraphs.append(Paragraph(text=line, page=1 + chars // CHARS_PER_PAGE))
            chars += len(re.sub(r"\s", "", line))
    return paragraphs


def _with_libreoffice(path: Path) -> Extracted:
    converted = office.convert_to_docx(path)
    with tempfile.NamedTemporaryFile(suffix=".docx") as handle:
        handle.write(converted)
        handle.flush()
        return word.read(Path(handle.name))



