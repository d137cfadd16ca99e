"""The layers' dependencies point one way: front ends -> ingest -> reading and index; the index
imports neither ingest nor the readers nor a front end, and only the index imports whoosh or a
database driver."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "archive"


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def modules(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py")) if folder else sorted(PACKAGE.glob("*.py"))


RULES = [  # (files, what they must not import)
    ("search", ("archive.ingest", "archive.readers", "archive.metadata", "archive.web", "archive.cli",
                "archive.export", "archive.check", "archive.watch")),
    ("ingest", ("archive.web", "archive.cli", "archive.export", "whoosh", "psycopg")),
    ("readers", ("archive.search", "archive.ingest", "archive.web", "archive.cli", "whoosh", "psycopg")),
    ("metadata", ("archive.search", "archive.ingest", "archive.readers", "whoosh", "psycopg")),
    ("web", ("whoosh", "psycopg", "archive.search.embedded", "archive.search.postgres", "archive.search.store")),
    ("export", ("whoosh", "psycopg", "archive.search.embedded", "archive.search.postgres")),
]


@pytest.mark.parametrize(("folder", "forbidden"), RULES, ids=[rule[0] for rule in RULES])
def test_dependencies_point_one_way(folder: str, forbidden: tuple[str, ...]) -> None:
    files = modules(folder)
    assert files, folder
    wrong = sorted(f"{path.relative_to(PACKAGE)} imports {name}" for path in files for name in imports_of(path)
                   if any(name == bad or name.startswith(bad + ".") for bad in forbidden))
    assert not wrong, wrong


def test_only_the_index_imports_whoosh_or_a_database_driver() -> None:
    outside = [path for path in PACKAGE.rglob("*.py") if "search" not in path.relative_to(PACKAGE).parts]
    wrong = sorted(f"{path.relative_to(PACKAGE)} imports {name}" for path in outside for name in imports_of(path)
                   if name.split(".")[0] in ("whoosh", "psycopg", "psycopg_pool"))
    assert not wrong, wrong
