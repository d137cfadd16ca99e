"""Shared fixtures: real folders of real files, indexed with the real pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archive.cli import app


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "讲话稿"
    folder.mkdir()
    return folder


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"


class Cli:
    """Runs `archive` in-process, as typer's docs recommend; stdout and stderr kept apart."""

    def __init__(self, index_dir: Path) -> None:
        self.runner = CliRunner()
        self.index_dir = index_dir

    def __call__(self, *args: str, expect: int | None = 0):
        result = self.runner.invoke(app, [*args, "--index", str(self.index_dir)])
        if expect is not None:
            assert result.exit_code == expect, (result.exit_code, result.stdout, result.stderr, result.exception)
        return result

    def json(self, *args: str):
        result = self(*args, "--json")
        return json.loads(result.stdout)


@pytest.fixture
def cli(index_dir: Path) -> Cli:
    return Cli(index_dir)
