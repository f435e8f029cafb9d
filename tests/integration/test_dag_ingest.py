"""The ingest DAG: it imports cleanly, and a real `dag.test()` run against the demo site produces the
same review items as the CLI's pass (both call the same stage functions)."""

from __future__ import annotations

import subprocess
import sys
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


def _review_item_keys(data_dir: Path) -> set[tuple[str, str]]:
    from patrol.commands.flags import list_review_items
    from patrol.workflow.db import WorkflowDb

    db = WorkflowDb(f"sqlite:///{data_dir / 'patrol.db'}")
    try:
        return {(item["category"], item["id"]) for item in list_review_items(db, limit=100_000)}
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def airflow_metadata_db() -> None:
    """`dag.test()` records its run in Airflow's metadata DB (SQLite under AIRFLOW_HOME, see conftest)."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True, timeout=600)


@pytest.mark.usefixtures("airflow_metadata_db")
def test_dag_run_matches_cli_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.dag_processing.dagbag import DagBag

    from crawlers.sources import load_sources
    from demo.server import DemoSite
    from patrol.config import load_settings
    from patrol.demo_sources import write_demo_sources
    from patrol.passes import run_pass
    from patrol.runtime import Runtime

    with DemoSite(seed=7, threads=20) as site:
        cli_dir, dag_dir = tmp_path / "cli", tmp_path / "dag"
        sources_file = write_demo_sources(tmp_path / "sources.yaml", site.base_url, site.content)

        runtime = Runtime(load_settings(data_dir=cli_dir, sources_file=sources_file))
        cli_summary = run_pass(runtime, load_sources(sources_file))
        runtime.close()

        # The DAG's tasks read their settings from the environment, as on an Airflow worker.
        monkeypatch.setenv("PATROL_DATA_DIR", str(dag_dir))
        monkeypatch.setenv("PATROL_SOURCES_FILE", str(sources_file))
        dag = DagBag(dag_folder=str(REPO_ROOT / "dags")).dags["patrol_ingest"]
        run = dag.test()

    assert str(run.state) in {"success", "DagRunState.SUCCESS"}
    assert cli_summary.flags > 0
    assert _review_item_keys(dag_dir) == _review_item_keys(cli_dir)
