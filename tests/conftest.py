"""Shared test fixtures."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from storydesk.store import SQLiteStore

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED = ROOT.parent / "shared"
EXAMPLES = ROOT / "examples"


@pytest.fixture
def store(tmp_path):
    with SQLiteStore(str(tmp_path / "test.db")) as s:
        yield s


@pytest.fixture
def seeds_dir():
    path = SHARED / "seeds"
    if not path.is_dir():
        pytest.skip("../shared/seeds is absent (it is not part of the repository)")
    return path


# -- both store backends ------------------------------------------------------
# PostgreSQL tests need a server: STORYDESK_TEST_PG=postgresql://user@127.0.0.1:PORT/db
# (`.ci/run` starts one with `.ci/pg-start`); without it they skip and say why.
class PGServer:
    """A reachable PostgreSQL server on which each test gets fresh databases."""

    def __init__(self, url: str):
        import psycopg

        self.url = url
        self.admin = psycopg.connect(url, autocommit=True, connect_timeout=5)
        self.made: list[str] = []

    def new_database(self) -> str:
        name = f"sdtest_{os.getpid()}_{len(self.made)}"
        self.admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.admin.execute(f"CREATE DATABASE {name}")
        self.made.append(name)
        return self.url.rsplit("/", 1)[0] + "/" + name

    def close(self) -> None:
        for name in self.made:
            self.admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.admin.close()


@pytest.fixture(scope="session")
def pg_server():
    url = os.environ.get("STORYDESK_TEST_PG")
    if not url:
        pytest.skip("no PostgreSQL server: set STORYDESK_TEST_PG (eval \"$(.ci/pg-start)\" starts one)")
    try:
        server = PGServer(url)
    except Exception as exc:  # psycopg missing or server down: say which
        pytest.skip(f"PostgreSQL at STORYDESK_TEST_PG is not reachable ({type(exc).__name__}: {exc})")
    yield server
    server.close()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def store_factory(request, tmp_path_factory):
    """``store_factory()`` returns the --db target of a fresh, empty store of one backend."""
    if request.param == "sqlite":
        return lambda: str(tmp_path_factory.mktemp("db") / "s.db")
    return request.getfixturevalue("pg_server").new_database


@pytest.fixture
def backend_store(store_factory):
    from storydesk.store import open_store

    with open_store(store_factory()) as s:
        yield s
