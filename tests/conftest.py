"""Shared fixtures: real folders of real files, indexed with the real pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archive.cli import app
from tests import postgres_server

ENGINES = ("whoosh", "postgres")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "both_engines: run the module's tests on the embedded and the PostgreSQL engine")
    config.addinivalue_line("markers", "embedded_only(why): a test of the embedded index's own files")


def pytest_generate_tests(metafunc) -> None:
    """Modules marked `both_engines` run every test that uses `index_dir` on each engine."""
    if (metafunc.definition.get_closest_marker("both_engines") and "index_dir" in metafunc.fixturenames
            and not metafunc.definition.get_closest_marker("embedded_only")):
        metafunc.parametrize("engine", ENGINES, indirect=True)


@pytest.fixture
def engine(request) -> str:
    return getattr(request, "param", "whoosh")


@pytest.fixture
def database():
    """A fresh PostgreSQL database (see tests/postgres_server.py), dropped afterwards."""
    url = postgres_server.new_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "讲话稿"
    folder.mkdir()
    return folder


@pytest.fixture
def index_dir(tmp_path: Path, engine: str, request):
    """Where the test's index lives: a folder, or (engine "postgres") a fresh database's URL."""
    if engine == "postgres":
        return request.getfixturevalue("database")
    return tmp_path / "index"


class Cli:
    """Runs `archive` in-process, as typer's docs recommend; stdout and stderr kept apart."""

    def __init__(self, index_dir: Path | str) -> None:
        self.runner = CliRunner()
        self.index_dir = index_dir

    def __call__(self, *args: str, expect: int | None = 0):
        given = [] if "--index" in args else ["--index", str(self.index_dir)]
        result = self.runner.invoke(app, [*args, *given])
        if expect is not None:
            assert result.exit_code == expect, (result.exit_code, result.stdout, result.stderr, result.exception)
        return result

    def json(self, *args: str):
        result = self(*args, "--json")
        return json.loads(result.stdout)


@pytest.fixture
def cli(index_dir: Path) -> Cli:
    return Cli(index_dir)
