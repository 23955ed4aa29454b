"""`analyze` on a Dask LocalCluster of 2 worker processes: the same briefing as one process,
on SQLite and on PostgreSQL."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from storydesk.briefing import analyse, build_briefing
from storydesk.ingest import ingest
from storydesk.store import open_store

pytest.importorskip("distributed", reason="the cluster extra (dask, distributed) is not installed")
from storydesk.cluster import DaskExecutor  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CORPUS = str(ROOT / "examples" / "corpus")


@pytest.fixture(scope="module")
def local2():
    with DaskExecutor("local:2") as executor:
        yield executor


def briefing_of(target: str, **run) -> str:
    """Ingest the sample corpus into ``target``, analyse it, return its briefing JSON."""
    with open_store(target) as store:
        ingest([CORPUS], store)
        analyse(store, progress=False, **run)
        document = build_briefing(store).to_dict()
    document.pop("generated_at")
    return json.dumps(document, sort_keys=True)


@pytest.fixture(scope="module")
def single_process(tmp_path_factory) -> str:
    return briefing_of(str(tmp_path_factory.mktemp("serial") / "s.db"), jobs=1)


@pytest.mark.slow
def test_sample_briefing_same_single_process_and_on_dask(single_process, local2, tmp_path):
    assert json.loads(single_process)["stories"], "the sample corpus must make stories"
    assert briefing_of(str(tmp_path / "dask.db"), executor=local2) == single_process


@pytest.mark.slow
def test_sample_briefing_same_on_postgres_and_dask(single_process, local2, pg_server):
    assert briefing_of(pg_server.new_database(), executor=local2) == single_process
