"""docker-compose.yml is valid, production-like, and has every service the README lists.

Validation uses Debian's `docker-compose` (1.29), which parses and interpolates the file without a
Docker engine; the tests skip when the binary is absent.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
README_SECTION = "## Production stack"
ONE_SHOT = {"postgres-init", "airflow-init", "kibana-setup"}


def _compose(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (Debian package docker-compose)")
    return subprocess.run(
        [binary, "-f", str(COMPOSE), "--env-file", str(ENV_EXAMPLE), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@cache
def _config() -> dict[str, Any]:
    result = _compose("config")
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = yaml.safe_load(result.stdout)
    return loaded


def _listed_services(markdown: str, heading: str) -> list[str]:
    """The service names (first backticked word of each table row) in the section under `heading`."""
    section = markdown.split(heading, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\|\s*`([a-z0-9*-]+)`", section, flags=re.MULTILINE)


def test_the_file_is_valid_for_docker_compose() -> None:
    result = _compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_every_service_the_readme_lists_exists() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    if README_SECTION not in readme:
        pytest.fail(f"README.md has no '{README_SECTION}' section: copy it from docs/deploy.md")
    listed = _listed_services(readme, README_SECTION)
    assert {"elasticsearch", "kibana", "postgres", "console"} <= set(listed)
    services = set(_config()["services"])
    for name in listed:
        assert fnmatch.filter(services, name), f"README lists `{name}`, docker-compose.yml has no such service"


def test_docs_list_every_service() -> None:
    documented = _listed_services((REPO / "docs" / "deploy.md").read_text(encoding="utf-8"), README_SECTION)
    services = set(_config()["services"])
    assert {s for s in services if any(fnmatch.fnmatch(s, d) for d in documented)} == services


def test_long_running_services_have_health_checks_and_wait_for_healthy_dependencies() -> None:
    services = _config()["services"]
    assert {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"} <= set(services)
    for name, service in services.items():
        if name not in ONE_SHOT:
            assert "healthcheck" in service, name
        for dependency, condition in service.get("depends_on", {}).items():
            expected = "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            assert condition == {"condition": expected}, f"{name} -> {dependency}"


def test_data_lives_in_named_volumes() -> None:
    config = _config()
    for name, service in config["services"].items():
        for volume in service.get("volumes", []):
            # docker-compose 1.29 prints the short form, "source:target:mode".
            source = volume["source"] if isinstance(volume, dict) else volume.split(":", 1)[0]
            assert source in config["volumes"], f"{name}: {volume} is not a named volume"


def test_airflow_runs_the_local_executor_on_postgres_and_security_is_on() -> None:
    services = _config()["services"]
    scheduler = services["airflow-scheduler"]["environment"]
    assert scheduler["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert scheduler["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://airflow:")
    assert services["postgres"]["image"] == "postgres:16"
    elastic = services["elasticsearch"]
    assert elastic["image"].split(":")[-1].startswith("9.")
    assert elastic["environment"]["xpack.security.enabled"] == "true"
    assert elastic["environment"]["discovery.type"] == "single-node"
    assert services["kibana"]["profiles"] == ["kibana"]
    assert services["console"]["command"][:2] == ["patrol", "serve"]


def test_env_example_sets_every_variable_without_a_default() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    needed = set(re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)\}", text))
    example = ENV_EXAMPLE.read_text(encoding="utf-8")
    defined = set(re.findall(r"^([A-Z0-9_]+)=", example, flags=re.MULTILINE))
    assert needed and needed <= defined, sorted(needed - defined)
    assert "ELASTIC_PASSWORD" in needed  # the password comes from .env, never from the file
