"""Run LibreOffice headless to turn an old office file (.doc, .wps, .rtf) into a .docx we can read.

LibreOffice takes about a second to start, so it is the fallback, not the first choice (see
archive.readers.legacy). Each worker process keeps its own LibreOffice profile folder for its life
(two instances sharing one profile refuse to start), and the file is copied to a private folder
first: LibreOffice writes lock files beside what it opens, and the shared folder is read-only to us.
"""

from __future__ import annotations

import atexit
import os
import resource
import shutil
import signal
import subprocess
import tempfile
from functools import cache
from pathlib import Path

from archive.readers.base import UnreadableFile

CONVERT_SECONDS = 90.0
_CANDIDATES = ("soffice", "libreoffice", "/usr/lib/libreoffice/program/soffice",
               "/opt/libreoffice/program/soffice", "/Applications/LibreOffice.app/Contents/MacOS/soffice")


@cache
def soffice() -> str | None:
    for candidate in _CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


@cache
def _profile() -> str:
    folder = tempfile.mkdtemp(prefix="archive-lo-profile-")
    atexit.register(shutil.rmtree, folder, True)
    return Path(folder).as_uri()


def _unbounded_child() -> None:
    """LibreOffice maps far more address space than it uses: lift the worker's soft memory bound
    (the hard one stays) in the child only; the time bound still applies."""
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
    except (ValueError, OSError):
        pass


def convert_to_docx(path: Path, timeout: float = CONVERT_SECONDS) -> bytes:
    """The file converted to .docx by LibreOffice, as bytes; UnreadableFile with a reason if it cannot."""
    program = soffice()
    if program is None:
        raise UnreadableFile("needs LibreOffice to read this format: install it "
                             "(Debian/Ubuntu: apt-get install libreoffice-writer-nogui)")
    with tempfile.TemporaryDirectory(prefix="archive-lo-") as work:
        source = Path(work) / f"in{path.suffix.lower()}"
        shutil.copyfile(path, source)
        out = Path(work) / "out"
        command = [program, "--headless", "--norestore", "--nolockcheck", "--nologo", "--nodefault",
                   f"-env:UserInstallation={_profile()}", "--convert-to", "docx:MS Word 2007 XML",
                   "--outdir", str(out), str(source)]
        with subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True, preexec_fn=_unbounded_child) as process:
            try:
                _, errors = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                raise UnreadableFile(f"LibreOffice took longer than {timeout:g} s to convert it") from None
        converted = out / "in.docx"
        if not converted.exists():
            detail = (errors or b"").decode("utf-8", "replace").strip().splitlines()
            hint = f" ({detail[-1][:100]})" if detail else ""
            raise UnreadableFile(f"LibreOffice could not convert it: damaged, password-protected or not a document{hint}")
        return converted.read_bytes()
