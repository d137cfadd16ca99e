"""A throwaway PostgreSQL cluster for the tests, and a fresh database per test (or per module).

`.ci/run` starts one and exports ARCHIVE_TEST_POSTGRES (a URL of its `postgres` database); without
it, the first test that needs a server starts one here from Debian's packages (`apt-get install
postgresql`), as the `postgres` user when the tests run as root (initdb refuses root). Without
PostgreSQL installed those tests fail and say so: a skipped test would prove nothing.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from urllib.parse import urlsplit, urlunsplit

ENVIRONMENT = "ARCHIVE_TEST_POSTGRES"


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def start_cluster() -> str:
    """initdb in a temporary folder with a UTF-8 locale, a server on a Unix socket there; its URL."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: `apt-get install postgresql` (or set "
                           f"{ENVIRONMENT} to a server's URL)")
    bin_dir = os.path.dirname(found[-1])
    folder = tempfile.mkdtemp(prefix="archive-pg-")
    os.chmod(folder, 0o755)  # its socket is for every test process, also those that drop privileges
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    data = os.path.join(folder, "data")
    subprocess.run(_as_postgres([f"{bin_dir}/initdb", "-D", data, "--locale=C.UTF-8", "--encoding=UTF8", "-A", "trust",
                                 "-U", "postgres"]), check=True, capture_output=True, cwd="/")
    subprocess.run(_as_postgres([f"{bin_dir}/pg_ctl", "-D", data, "-w", "-l", os.path.join(folder, "log"),
                                 "-o", f"-k {folder} -c listen_addresses='' -c max_connections=300 -c fsync=off",
                                 "start"]), check=True, capture_output=True, cwd="/")

    def stop() -> None:
        subprocess.run(_as_postgres([f"{bin_dir}/pg_ctl", "-D", data, "-m", "immediate", "stop"]), capture_output=True, cwd="/")
        shutil.rmtree(folder, ignore_errors=True)

    atexit.register(stop)
    return f"postgresql://postgres@/postgres?host={folder}"


_server: str | None = None


def server() -> str:
    """The URL of a server's `postgres` database (started once per test session if none is given)."""
    global _server
    if _server is None:
        _server = os.environ.get(ENVIRONMENT) or start_cluster()
    return _server


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def new_database(locale: str = "C.UTF-8") -> str:
    """A fresh empty database on the server; its URL."""
    import psycopg

    name = f"archive_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server(), autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE '{locale}'")
    return with_database(server(), name)


def drop_database(url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(server(), autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
