"""docker-compose.yaml cannot be run here (no Docker): its structure is checked so it cannot rot.
Local Airflow 3.3.1 (api-server, scheduler, dag-processor, triggerer) on PostgreSQL 15 with
wal2json, the repo mounted as MWAA mounts it, LAKE_TARGET=local, no password in the file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yaml"
AIRFLOW_SERVICES = {
    "api-server": "api-server",
    "scheduler": "scheduler",
    "dag-processor": "dag-processor",
    "triggerer": "triggerer",
}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|_KEY$", re.IGNORECASE)
INTERPOLATION = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*(:?[-?][^}]*)?\}$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def env_of(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def command_of(service: dict) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else str(command)


def dockerfile_of(service: dict) -> Path:
    build = service["build"]
    return REPO / build.get("context", ".") / build["dockerfile"]


def test_services_exist(compose):
    services = set(compose["services"])
    assert set(AIRFLOW_SERVICES) | {"postgres"} <= services


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_airflow_service(compose, name):
    service = compose["services"][name]
    assert command_of(service).split()[0] == AIRFLOW_SERVICES[name]
    dockerfile = dockerfile_of(service).read_text()
    assert re.search(r"^FROM apache/airflow:3\.3\.1-python3\.11\s*$", dockerfile, re.M)
    assert "openjdk-17" in dockerfile
    volumes = service["volumes"]
    assert "./dags:/opt/airflow/dags" in volumes
    assert "./plugins:/opt/airflow/plugins" in volumes
    assert "./include:/opt/airflow/include" in volumes
    assert "./glue_scripts:/opt/airflow/glue_scripts" in volumes
    env = env_of(service)
    assert env["LAKE_TARGET"] == "local"
    conn = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert conn.startswith("postgresql+psycopg2://") and "@postgres:5432/airflow" in conn
    assert "${POSTGRES_PASSWORD:?" in conn
    assert service["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_postgres_has_wal2json_and_logical_decoding(compose):
    postgres = compose["services"]["postgres"]
    dockerfile = dockerfile_of(postgres).read_text()
    assert re.search(r"^FROM postgres:15\s*$", dockerfile, re.M)
    assert "postgresql-15-wal2json" in dockerfile
    assert "wal_level=logical" in command_of(postgres)
    assert env_of(postgres)["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert postgres.get("healthcheck")


def test_no_literal_password(compose):
    for name, service in compose["services"].items():
        for key, value in env_of(service).items():
            if SECRET_NAME.search(key) and value:
                assert INTERPOLATION.match(value), f"{name}: {key} must come from the environment"
            for userinfo in re.findall(r"://([^@/\s]+)@", value):
                password = userinfo.split(":", 1)[1] if ":" in userinfo else ""
                assert not password or password.startswith("${"), f"{name}: {key} has a literal password"
    # Outside comments, whatever follows a PASSWORD key is an interpolation.
    lines = [line for line in COMPOSE.read_text().splitlines() if not line.lstrip().startswith("#")]
    for line in lines:
        match = re.search(r"(?i)password\w*\s*[:=]\s*(\S+)", line)
        if match and not match.group(1).startswith("?"):
            assert match.group(1).startswith(("${", "'${", '"${')), line
