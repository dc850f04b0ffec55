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


# --- the whole lake runs for someone with Docker -------------------------------------------------

MAKE_UP_PG_PORT = 5433  # `make up`
MAKE_AIRFLOW_PORT = 8080  # `make airflow`
INITDB = "/docker-entrypoint-initdb.d/"
WRITABLE = ("/opt/airflow/.local", "/opt/airflow/logs", "/home/airflow/.ivy2")


def _host_port(mapping: str) -> int:
    """'127.0.0.1:${VAR:-5434}:5432' -> 5434 (the default compose uses)."""
    host_part = mapping.rsplit(":", 1)[0]
    default = re.search(r"\$\{[A-Z_0-9]+:-(\d+)\}", host_part)
    return int(default.group(1) if default else host_part.rsplit(":", 1)[-1])


def _script(service: dict) -> str:
    entry = service.get("entrypoint") or []
    return " ".join(entry if isinstance(entry, list) else [entry]) + "\n" + command_of(service)


def test_source_database_gets_its_schema_on_first_start(compose):
    mounts = compose["services"]["postgres"]["volumes"]
    targets = {m.split(":")[1]: m.split(":")[0] for m in mounts if INITDB in m}
    schema_files = sorted((REPO / "include/sql/postgres").glob("*.sql"))
    assert schema_files
    ordered = [targets[t] for t in sorted(targets)]
    for path in schema_files:
        assert f"./include/sql/postgres/{path.name}" in ordered, f"{path.name} is not run by initdb"
    # the schema files run in their own order (the CDC file alters the schema's tables)
    positions = [ordered.index(f"./include/sql/postgres/{p.name}") for p in schema_files]
    assert positions == sorted(positions)
    databases = next(t for t in ordered if t.endswith("01-databases.sh"))
    assert (REPO / databases).is_file()
    assert "create database airflow" in (REPO / databases).read_text()


def test_init_seeds_the_source_and_the_exports_once(compose):
    init = compose["services"]["airflow-init"]
    script = _script(init)
    assert "airflow db migrate" in script
    assert re.search(r"autocorp-lake seed\b.*--csv", script)
    # a second `compose up` must not truncate a replicated source: seeding is guarded by a marker
    assert re.search(r"if \[ ! -f (\S+) \]; then\s+autocorp-lake seed", script)
    marker = re.search(r"if \[ ! -f (\S+) \]", script).group(1)
    assert marker.startswith("/opt/airflow/.local/") and f"touch {marker}" in script
    for name in AIRFLOW_SERVICES:
        assert compose["services"][name]["depends_on"]["airflow-init"]["condition"] == \
            "service_completed_successfully"
    # the image has the command the init runs
    dockerfile = dockerfile_of(init).read_text()
    assert re.search(r"pip install [^\n]*--no-deps /opt/autocorp-lake", dockerfile)
    assert "COPY --chown=airflow:0 pyproject.toml" in dockerfile
    assert "matplotlib" in dockerfile  # the analytics report's charts


def test_every_pool_the_dags_use_exists_in_compose(compose):
    """As on MWAA, only default_pool exists unless compose creates another; no DAG may need one."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert not bag.import_errors
    used = {task.pool for dag in bag.dags.values() for task in dag.tasks} - {"default_pool"}
    created = set(re.findall(r"airflow pools set (\S+) \d+", _script(compose["services"]["airflow-init"])))
    assert used <= created, f"pools the DAGs use but compose never creates: {used - created}"


def test_volumes_are_writable_by_the_airflow_user(compose):
    services = compose["services"]
    fixer = services["volumes-init"]
    assert str(fixer["user"]).split(":")[0] == "0"
    script = _script(fixer)
    for path in WRITABLE:
        assert re.search(rf"chown -R 50000:0 [^\n]*{re.escape(path)}(\s|$)", script), path
    for name in (*AIRFLOW_SERVICES, "airflow-init"):
        service = services[name]
        assert str(service["user"]) == "50000:0"
        mounted = {v.split(":")[1]: v.split(":")[0] for v in service["volumes"]}
        for path in WRITABLE:
            assert path in mounted, f"{name}: {path} is not a volume"
    assert services["airflow-init"]["depends_on"]["volumes-init"]["condition"] == "service_completed_successfully"
    named = {v.split(":")[0] for v in services["scheduler"]["volumes"] if not v.startswith(".")}
    assert named <= set(compose["volumes"])


def test_task_logs_are_mounted(compose):
    for name in (*AIRFLOW_SERVICES, "airflow-init"):
        assert "./logs:/opt/airflow/logs" in compose["services"][name]["volumes"]
        assert env_of(compose["services"][name])["AIRFLOW__LOGGING__BASE_LOG_FOLDER"] == "/opt/airflow/logs"


def test_host_ports_are_loopback_and_clear_of_make_up(compose):
    published = []
    for name, service in compose["services"].items():
        for mapping in service.get("ports", []):
            assert str(mapping).startswith("127.0.0.1:"), f"{name} publishes {mapping} beyond loopback"
            published.append(_host_port(str(mapping)))
    assert published and MAKE_UP_PG_PORT not in published and MAKE_AIRFLOW_PORT not in published
    assert len(published) == len(set(published))
    env = env_of(compose["services"]["scheduler"])
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://api-server:8080/execution/"
    ui = next(p for p in compose["services"]["api-server"]["ports"])
    assert str(_host_port(ui)) in env["AIRFLOW__API__BASE_URL"]
