"""Local services: one PostgreSQL 15 cluster (wal_level=logical) for the source database, the
Airflow metadata database and the catalog's metastore database.

`up` is idempotent: it installs what is missing (Debian packages), creates the cluster under
`.local/`, starts it on loopback and creates the databases and the source schema. PostgreSQL
refuses to run as root, so as root the cluster belongs to the `postgres` system user.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from autocorp_lake import config

PG_VERSION = "15"
PG_BIN = Path(f"/usr/lib/postgresql/{PG_VERSION}/bin")
WAL2JSON = Path(f"/usr/lib/postgresql/{PG_VERSION}/lib/wal2json.so")
DEBIAN_PACKAGES = (f"postgresql-{PG_VERSION}", f"postgresql-{PG_VERSION}-wal2json")
SCHEMA_DIR_NAME = "sql/postgres"


class ServiceError(RuntimeError):
    """A local service cannot be set up or reached; the message says what to do."""


def _is_root() -> bool:
    return os.geteuid() == 0


def _can_traverse_as(user: str, path: Path) -> bool:
    """Whether `user` can reach `path` (every ancestor must be searchable by it)."""
    result = subprocess.run(
        ["runuser", "-u", user, "--", "test", "-x", str(path)], capture_output=True
    )
    return result.returncode == 0


def cluster_dir() -> Path:
    """Folder of the cluster: `.local/pg`, unless the postgres user cannot reach it.

    As root in a folder only root may enter (a `mktemp -d` clone, say), the cluster goes to
    /var/tmp/autocorp-lake-<hash of the local dir>/pg instead, so each checkout keeps its own.
    """
    override = config.pg_dir_override()
    if override:
        return override
    preferred = config.local_dir() / "pg"
    if not _is_root():
        return preferred
    preferred.parent.mkdir(parents=True, exist_ok=True)
    if _can_traverse_as("postgres", preferred.parent):
        return preferred
    digest = hashlib.sha256(str(config.local_dir()).encode()).hexdigest()[:10]
    return Path(f"/var/tmp/autocorp-lake-{digest}/pg")


def data_dir() -> Path:
    return cluster_dir() / "data"


def log_file() -> Path:
    return cluster_dir() / "postgresql.log"


def socket_dir() -> Path:
    return cluster_dir() / "run"


def _run_pg(args: list[str], check: bool = True) -> subprocess.CompletedProcess:
    command = [str(PG_BIN / args[0]), *args[1:]]
    if _is_root():
        command = ["runuser", "-u", "postgres", "--", *command]
    result = subprocess.run(command, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise ServiceError(
            f"{args[0]} failed (exit {result.returncode}): {result.stderr.strip() or result.stdout.strip()}"
            f"\nsee the server log: {log_file()}"
        )
    return result


def ensure_installed(log=print) -> None:
    """Install PostgreSQL 15 and wal2json from Debian packages if they are missing."""
    if (PG_BIN / "postgres").exists() and WAL2JSON.exists():
        return
    missing = [
        pkg
        for pkg, path in zip(DEBIAN_PACKAGES, (PG_BIN / "postgres", WAL2JSON))
        if not path.exists()
    ]
    how = f"apt-get update && apt-get install -y {' '.join(missing)}"
    if not _is_root() or not shutil.which("apt-get"):
        raise ServiceError(
            f"PostgreSQL {PG_VERSION} with wal2json is needed and missing ({', '.join(missing)}); "
            f"install it as root: {how}"
        )
    log(f"installing {' '.join(missing)} (Debian packages) ...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *missing]):
        result = subprocess.run(command, capture_output=True, text=True, env=env)
        if result.returncode != 0:
            raise ServiceError(
                f"could not install {' '.join(missing)}: {result.stderr.strip()[-500:]}\n"
                f"install it by hand: {how}"
            )


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def _is_running() -> bool:
    if not (data_dir() / "PG_VERSION").exists():
        return False
    return _run_pg(["pg_ctl", "status", "-D", str(data_dir())], check=False).returncode == 0


def _knows_setting(name: str) -> bool:
    """Whether this PostgreSQL build has a setting (an unknown one stops the server from starting)."""
    described = subprocess.run([str(PG_BIN / "postgres"), "--describe-config"], capture_output=True, text=True)
    return any(line.split("\t", 1)[0] == name for line in described.stdout.splitlines())


def _write_settings(settings: config.PostgresSettings) -> None:
    conf = data_dir() / "postgresql.auto.conf"
    lines = [
        "# written by autocorp-lake up; edit AUTOCORP_PG_* settings instead",
        f"listen_addresses = '{settings.host}'",
        f"port = {settings.port}",
        f"unix_socket_directories = '{socket_dir()}'",
        "wal_level = logical",
        "max_replication_slots = 10",
        "max_wal_senders = 10",
        "max_connections = 200",
        "shared_buffers = '256MB'",
        "timezone = 'UTC'",
        "log_timezone = 'UTC'",
    ]
    if _knows_setting("output_plugin_libraries"):
        # newer 15.x minor releases allow only approved logical decoding plugins
        lines.append("output_plugin_libraries = 'pgoutput, test_decoding, wal2json'")
    conf.write_text("\n".join(lines) + "\n")


def _chown_to_postgres(*paths: Path) -> None:
    """Give the folders that this process creates to the postgres user. Only these folders, never
    what is inside them: initdb writes the data folder as postgres already, and walking it while
    the server runs trips over files PostgreSQL creates and removes (pg_internal.init)."""
    if _is_root():
        entry = pwd.getpwnam("postgres")
        for path in paths:
            os.chown(path, entry.pw_uid, entry.pw_gid)


def _init_cluster(settings: config.PostgresSettings, log=print) -> None:
    cluster_dir().mkdir(parents=True, exist_ok=True)
    socket_dir().mkdir(parents=True, exist_ok=True)
    _chown_to_postgres(cluster_dir(), socket_dir())
    if (data_dir() / "PG_VERSION").exists():
        return
    log(f"creating a PostgreSQL {PG_VERSION} cluster in {data_dir()}")
    _run_pg(
        [
            "initdb",
            "-D", str(data_dir()),
            "--username", settings.user,
            "--auth", "trust",  # loopback only: listen_addresses is the loopback address
            "--encoding", "UTF8",
            "--locale", "C.UTF-8",
        ]
    )


def connect(database: str | None = None, autocommit: bool = True, **kwargs) -> psycopg.Connection:
    settings = config.postgres()
    return psycopg.connect(settings.dsn(database), autocommit=autocommit, **kwargs)


def _create_databases(settings: config.PostgresSettings) -> None:
    with connect("postgres") as conn:
        existing = {row[0] for row in conn.execute("select datname from pg_database")}
        for name in (settings.source_db, settings.airflow_db, settings.metastore_db):
            if name not in existing:
                conn.execute(f'create database "{name}"')


def apply_source_schema() -> None:
    """Create the 7 source tables and the CDC prerequisites (idempotent)."""
    schema_dir = config.include_dir() / SCHEMA_DIR_NAME
    with connect() as conn:
        for path in sorted(schema_dir.glob("*.sql")):
            conn.execute(path.read_text())


def up(log=print) -> dict:
    """Start the local services; idempotent."""
    settings = config.postgres()
    ensure_installed(log)
    _init_cluster(settings, log)
    if not _is_running():
        if _port_in_use(settings.host, settings.port):
            raise ServiceError(
                f"port {settings.port} on {settings.host} is in use by another program; "
                f"set AUTOCORP_PG_PORT to a free port (for example AUTOCORP_PG_PORT={settings.port + 1})"
            )
        _write_settings(settings)
        log(f"starting PostgreSQL on {settings.host}:{settings.port}")
        _run_pg(
            ["pg_ctl", "start", "-w", "-t", "60", "-D", str(data_dir()), "-l", str(log_file())]
        )
    _wait_ready()
    _create_databases(settings)
    apply_source_schema()
    return status()


def _wait_ready(timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with connect("postgres", connect_timeout=2):
                return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise ServiceError(f"PostgreSQL did not accept connections: {exc}") from exc
            time.sleep(0.3)


def down(log=print) -> dict:
    if _is_running():
        log("stopping PostgreSQL")
        _run_pg(["pg_ctl", "stop", "-w", "-m", "fast", "-D", str(data_dir())])
    return status()


@dataclass
class ServiceStatus:
    name: str
    running: bool
    where: str
    detail: str

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def status() -> dict:
    settings = config.postgres()
    running = _is_running()
    detail = f"data {data_dir()}; databases {settings.source_db}, {settings.airflow_db}, {settings.metastore_db}"
    if running:
        try:
            with connect("postgres", connect_timeout=2) as conn:
                version = conn.execute("show server_version").fetchone()[0]
                wal = conn.execute("show wal_level").fetchone()[0]
            detail = f"PostgreSQL {version}, wal_level={wal}; " + detail
        except psycopg.OperationalError as exc:
            running = False
            detail = f"not reachable: {exc}"
    services = [
        ServiceStatus(
            "postgresql", running, f"{settings.host}:{settings.port}", detail
        ),
        ServiceStatus(
            "catalog",
            running,
            f"{settings.jdbc_url(settings.metastore_db)}",
            "Hive metastore schema in PostgreSQL (shared by Spark jobs, crawler and query engine)",
        ),
        ServiceStatus("lake", config.lake_root().exists(), str(config.lake_root()), "local object store"),
    ]
    return {"services": [s.as_dict() for s in services]}
