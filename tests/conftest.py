"""Shared test fixtures."""
from __future__ import annotations

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
