"""Settings from the environment with defaults, and the table registry.

One place decides the target (`LAKE_TARGET=local|aws`) and every name derived from it, so DAGs,
jobs and the CLI agree. Nothing here does I/O at import time: the registry is read on first use.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PACKAGE_DIR = Path(__file__).resolve().parent

TARGETS = ("local", "aws")
DAG_IDS = (
    "autocorp_bootstrap",
    "autocorp_cdc",
    "autocorp_files",
    "autocorp_analytics",
    "autocorp_maintenance",
)
CATALOG_DATABASES = ("autocorp_raw", "autocorp_curated", "autocorp_analytics")


class ConfigError(ValueError):
    """A setting is missing or wrong; the message names it and how to fix it."""


def _find_include_dir() -> Path:
    """include/ sits at the repo root locally and beside the DAGs in the MWAA bundle."""
    override = os.environ.get("AUTOCORP_INCLUDE_DIR")
    if override:
        return Path(override)
    candidates = [
        PACKAGE_DIR.parent.parent / "include",  # repo: plugins/autocorp_lake -> repo/include
        Path(os.environ.get("AIRFLOW_HOME", "/usr/local/airflow")) / "dags" / "include",  # MWAA
    ]
    for candidate in candidates:
        if (candidate / "tables.yaml").is_file():
            return candidate
    raise ConfigError(
        "cannot find include/tables.yaml; set AUTOCORP_INCLUDE_DIR to the folder that holds it"
    )


def repo_root() -> Path:
    return Path(os.environ.get("AUTOCORP_REPO_ROOT", PACKAGE_DIR.parent.parent))


def include_dir() -> Path:
    return _find_include_dir()


def glue_scripts_dir() -> Path:
    """The Glue jobs' entry points (what spark-submit runs locally, what Terraform uploads)."""
    return Path(os.environ.get("AUTOCORP_GLUE_SCRIPTS_DIR", repo_root() / "glue_scripts"))


def spark_in_process() -> bool:
    """AUTOCORP_SPARK_INPROCESS=1: the local target runs Glue jobs in this process's SparkSession
    (the tests, `autocorp-lake run`) instead of a spark-submit child per task."""
    return os.environ.get("AUTOCORP_SPARK_INPROCESS", "0").strip().lower() in ("1", "true", "yes")


def job_server() -> str | None:
    """AUTOCORP_JOB_SERVER=127.0.0.1:<port>: the local target's Glue job tasks run their jobs on
    that job server's warm Spark session (`make airflow` starts it and sets this); unset: each
    task starts spark-submit. Loopback only."""
    value = os.environ.get("AUTOCORP_JOB_SERVER", "").strip()
    if not value:
        return None
    host, _, port = value.rpartition(":")
    if host not in ("127.0.0.1", "localhost") or not port.isdigit():
        raise ConfigError(f"AUTOCORP_JOB_SERVER={value!r}: use 127.0.0.1:<port> (the job server listens on "
                          "loopback only), or unset it to run each job with spark-submit")
    return value


def job_server_warm_up() -> bool:
    """AUTOCORP_JOB_SERVER_WARM_UP=0: the job server makes no warm-up writes (the kinds of Hudi write
    the jobs make, on throwaway tables) once its session is built; default on."""
    return os.environ.get("AUTOCORP_JOB_SERVER_WARM_UP", "1").strip().lower() not in ("0", "false", "no")


def use_include_from(registry_uri: str | None, with_suites: bool = False) -> None:
    """In a Glue job, whose registry (and the GX suites beside it, in quality/) sit in S3: copy
    them to a local include/ folder and use it. Locally the repo's include/ is used as it is."""
    if not registry_uri or not str(registry_uri).startswith("s3://"):
        return
    import atexit
    import shutil
    import tempfile

    from autocorp_lake import lake

    include = Path(tempfile.mkdtemp(prefix="autocorp-include-"))
    atexit.register(shutil.rmtree, include, ignore_errors=True)
    (include / "tables.yaml").write_text(lake.read_text(registry_uri), encoding="utf-8")
    if with_suites:
        folder = str(registry_uri).rsplit("/", 1)[0]
        suites = lake.list_files(lake.join(folder, "quality"), suffix=".json")
        if not suites:
            raise ConfigError(f"no suites under {folder}/quality/; upload include/quality/*.json there (terraform apply)")
        (include / "quality").mkdir()
        for uri in suites:
            (include / "quality" / uri.rsplit("/", 1)[1]).write_text(lake.read_text(uri), encoding="utf-8")
    os.environ["AUTOCORP_INCLUDE_DIR"] = str(include)


def target() -> str:
    value = os.environ.get("LAKE_TARGET", "local").strip().lower()
    if value not in TARGETS:
        raise ConfigError(f"LAKE_TARGET={value!r} is not one of {', '.join(TARGETS)}")
    return value


def environment() -> str:
    """Environment id (dev, prod, local): suffixes bucket and resource names."""
    return os.environ.get("LAKE_ENV", "local" if target() == "local" else "dev")


def local_dir() -> Path:
    """Everything the local target keeps: the PostgreSQL cluster, the lake, exports, logs."""
    return Path(os.environ.get("AUTOCORP_LOCAL_DIR", repo_root() / ".local")).resolve()


def bucket_name() -> str:
    return os.environ.get("LAKE_BUCKET", f"autocorp-datalake-{environment()}")


def lake_root() -> Path:
    """Local object store: a folder laid out like the S3 bucket."""
    return Path(os.environ.get("AUTOCORP_LAKE_DIR", local_dir() / "lake")) / bucket_name()


def lake_uri(key: str = "") -> str:
    """URI of a key in the lake, on either target (s3://bucket/key or an absolute local path)."""
    key = key.lstrip("/")
    if target() == "aws":
        return f"s3://{bucket_name()}/{key}"
    return str(lake_root() / key) if key else str(lake_root())


def export_dir() -> Path:
    """The on-premises file share that DataSync reads (local: a folder)."""
    return Path(os.environ.get("AUTOCORP_EXPORT_DIR", local_dir() / "onprem" / "exports"))


def safe_run_id(run_id: str) -> str:
    """A run id usable as a folder name and an S3 key (Airflow ids carry ':' and '+')."""
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", str(run_id)).strip("_") or "run"


# autocorp_cdc's schedule (CDC_SCHEDULE, CDC_INTERVAL_MINUTES: module attributes read from the
# environment when first used, see __getattr__); the Hudi cleaner keeps a week of its commits
DEFAULT_CDC_INTERVAL_MINUTES = 10
TIME_TRAVEL_HOURS = 7 * 24


def cdc_interval_minutes() -> int:
    """AUTOCORP_CDC_INTERVAL_MINUTES (default 10): minutes between autocorp_cdc rounds, 1 to 60.
    The schedule is the cron step `*/N * * * *`, which restarts at each full hour: a divisor of 60
    (1, 2, 5, 10, 15, 20, 30, 60) keeps the rounds evenly spaced."""
    minutes = env_int("AUTOCORP_CDC_INTERVAL_MINUTES", DEFAULT_CDC_INTERVAL_MINUTES)
    if not 1 <= minutes <= 60:
        raise ConfigError(
            f"AUTOCORP_CDC_INTERVAL_MINUTES={minutes}: autocorp_cdc runs every N minutes with N from 1 to 60 "
            f"(unset: {DEFAULT_CDC_INTERVAL_MINUTES})"
        )
    return minutes


def cdc_schedule() -> str:
    """autocorp_cdc's cron schedule: every AUTOCORP_CDC_INTERVAL_MINUTES minutes."""
    return f"*/{cdc_interval_minutes()} * * * *"


def __getattr__(name: str):
    """`config.CDC_SCHEDULE` and `config.CDC_INTERVAL_MINUTES`, read when asked for, not at import:
    a wrong AUTOCORP_CDC_INTERVAL_MINUTES then fails what uses it (the DAG's parse) with its
    message, not every import of this module."""
    if name == "CDC_INTERVAL_MINUTES":
        return cdc_interval_minutes()
    if name == "CDC_SCHEDULE":
        return cdc_schedule()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def commits_in_time_travel() -> int:
    return TIME_TRAVEL_HOURS * 60 // cdc_interval_minutes()


def hudi_metadata_table() -> bool | None:
    """AUTOCORP_HUDI_METADATA=true|false forces Hudi's metadata table on or off; None: promote
    decides by the lake (on for S3, where it replaces listings)."""
    value = os.environ.get("AUTOCORP_HUDI_METADATA", "").strip().lower()
    return {"true": True, "false": False}.get(value)


DEFAULT_ORDER_WINDOW = ("2023-01-01", "2024-12-31")


def order_window(lake_root: str | None = None, start: str | None = None,
                 end: str | None = None) -> tuple[dt.date, dt.date]:
    """ORDER_DATE_START..ORDER_DATE_END, inclusive dates. The first that gives them: the arguments,
    the export manifest the generator left in the lake (`raw/csv/data_validation_manifest.json`,
    when lake_root is given), the environment, the defaults. The cleaner and the gate both ask here,
    so they judge one feed by one window."""
    if not (start and end) and lake_root:
        from autocorp_lake import lake

        manifest = lake.join(lake_root, lake.EXPORT_MANIFEST_KEY)
        recorded = lake.read_json(manifest).get("config", {}) if lake.exists(manifest) else {}
        start, end = start or recorded.get("ORDER_DATE_START"), end or recorded.get("ORDER_DATE_END")
    start = start or os.environ.get("ORDER_DATE_START") or DEFAULT_ORDER_WINDOW[0]
    end = end or os.environ.get("ORDER_DATE_END") or DEFAULT_ORDER_WINDOW[1]
    try:
        window = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    except ValueError as exc:
        raise ConfigError(f"ORDER_DATE_START={start!r} / ORDER_DATE_END={end!r}: dates must be YYYY-MM-DD") from exc
    if window[1] < window[0]:
        raise ConfigError(f"ORDER_DATE_END ({end}) is before ORDER_DATE_START ({start})")
    return window


@dataclass(frozen=True)
class PostgresSettings:
    host: str
    port: int
    user: str
    password: str | None
    source_db: str
    airflow_db: str
    metastore_db: str

    def dsn(self, database: str | None = None) -> str:
        parts = [
            f"host={self.host}",
            f"port={self.port}",
            f"user={self.user}",
            f"dbname={database or self.source_db}",
        ]
        if self.password:
            parts.append(f"password={self.password}")
        return " ".join(parts)

    def sqlalchemy_url(self, database: str) -> str:
        auth = self.user if not self.password else f"{self.user}:{self.password}"
        return f"postgresql+psycopg2://{auth}@{self.host}:{self.port}/{database}"

    def jdbc_url(self, database: str) -> str:
        return f"jdbc:postgresql://{self.host}:{self.port}/{database}"


def postgres() -> PostgresSettings:
    """Connection settings of the local PostgreSQL (source, Airflow metadata, metastore).

    The local cluster trusts loopback connections, so no password is needed; a password, when
    one is used, comes from AUTOCORP_PG_PASSWORD (never from a file in the repo).
    """
    port_text = os.environ.get("AUTOCORP_PG_PORT", "5433")
    try:
        port = int(port_text)
    except ValueError as exc:
        raise ConfigError(f"AUTOCORP_PG_PORT={port_text!r} is not a port number") from exc
    return PostgresSettings(
        host=os.environ.get("AUTOCORP_PG_HOST", "127.0.0.1"),
        port=port,
        user=os.environ.get("AUTOCORP_PG_USER", "autocorp"),
        password=os.environ.get("AUTOCORP_PG_PASSWORD") or None,
        source_db=os.environ.get("AUTOCORP_SOURCE_DB", "autocorp"),
        airflow_db=os.environ.get("AUTOCORP_AIRFLOW_DB", "airflow"),
        metastore_db=os.environ.get("AUTOCORP_METASTORE_DB", "metastore"),
    )


@dataclass(frozen=True)
class Partition:
    source_column: str
    granularity: str
    field: str


@dataclass(frozen=True)
class Table:
    name: str
    primary_key: tuple[str, ...]
    ordering_field: str
    partition: Partition | None
    hudi_table_type: str
    load_order: int
    buckets: int | None = None

    @property
    def key(self) -> str:
        return self.primary_key[0]


@dataclass(frozen=True)
class Feed:
    name: str
    file: str
    primary_key: tuple[str, ...]
    curated_table: str


def _named(items, name: str, kind: str):
    for item in items:
        if item.name == name:
            return item
    raise ConfigError(f"unknown {kind} {name!r}; the registry (include/tables.yaml) has: "
                      + ", ".join(item.name for item in items))


@dataclass(frozen=True)
class Registry:
    source_schema: str
    tables: tuple[Table, ...]
    feeds: tuple[Feed, ...] = field(default_factory=tuple)

    def table(self, name: str) -> Table:
        return _named(self.tables, name, "table")

    def feed(self, name: str) -> Feed:
        return _named(self.feeds, name, "feed")

    def table_spec(self, name: str) -> dict:
        """A table as the Glue jobs take it (plain values; the same shape a feed batch's manifest
        gives promote): name, primary_key, ordering_field, partition, hudi_table_type, buckets,
        source_schema."""
        table = self.table(name)
        return {
            "name": table.name, "primary_key": list(table.primary_key), "ordering_field": table.ordering_field,
            "partition": dict(table.partition.__dict__) if table.partition else None,
            "hudi_table_type": table.hudi_table_type, "buckets": table.buckets,
            "source_schema": self.source_schema,
        }

    @property
    def table_names(self) -> list[str]:
        return [t.name for t in self.tables]

    @property
    def feed_names(self) -> list[str]:
        return [f.name for f in self.feeds]

    def in_load_order(self) -> list[Table]:
        return sorted(self.tables, key=lambda t: (t.load_order, t.name))


def _parse_registry(data: dict[str, Any]) -> Registry:
    tables = []
    for item in data["tables"]:
        partition = item.get("partition")
        table_type = item.get("hudi_table_type", "COPY_ON_WRITE")
        if table_type not in ("COPY_ON_WRITE", "MERGE_ON_READ"):
            raise ConfigError(f"table {item['name']}: hudi_table_type {table_type!r} is not valid")
        buckets = item.get("buckets")
        if buckets is not None and (partition or not isinstance(buckets, int) or buckets < 1):
            raise ConfigError(
                f"table {item['name']}: buckets {buckets!r} must be a positive integer, and only on an "
                "unpartitioned table (partitioned tables use a global index)"
            )
        tables.append(
            Table(
                name=item["name"],
                primary_key=tuple(item["primary_key"]),
                ordering_field=item.get("ordering_field", "dms_change_seq"),
                partition=Partition(**partition) if partition else None,
                hudi_table_type=table_type,
                load_order=int(item.get("load_order", 1)),
                buckets=buckets,
            )
        )
    feeds = [
        Feed(
            name=item["name"],
            file=item["file"],
            primary_key=tuple(item["primary_key"]),
            curated_table=item["curated_table"],
        )
        for item in data.get("feeds", [])
    ]
    return Registry(data.get("source_schema", "public"), tuple(tables), tuple(feeds))


@functools.lru_cache(maxsize=None)
def _load_registry(path: str) -> Registry:
    with open(path, encoding="utf-8") as handle:
        return _parse_registry(yaml.safe_load(handle))


def registry_uri() -> str:
    """Where jobs read include/tables.yaml: in the lake's config/ on AWS (Terraform uploads it
    there for Glue), the repo's file locally."""
    if target() == "aws":
        return lake_uri("config/tables.yaml")
    return str(include_dir() / "tables.yaml")


def registry_at(uri: str) -> Registry:
    """The whole registry at a path or s3:// URI (a Glue job's `--registry`)."""
    if not str(uri).startswith("s3://"):
        return _load_registry(str(uri))
    from autocorp_lake import lake

    return _parse_registry(yaml.safe_load(lake.read_text(uri)))


def _selected(kind: str, variable: str, names: list[str]) -> list[str] | None:
    """The names listed in `variable` (comma-separated), checked against the registry; None: all."""
    value = os.environ.get(variable, "").strip()
    if not value:
        return None
    chosen = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in names]
    if unknown:
        raise ConfigError(
            f"{variable}={value!r}: unknown {kind} {', '.join(unknown)}; the registry "
            f"(include/tables.yaml) has: {', '.join(names)}"
        )
    return chosen


def registry() -> Registry:
    """The registry of include/tables.yaml, or the part of it that AUTOCORP_TABLES and
    AUTOCORP_FEEDS select (comma-separated names, e.g. for a quick run under a real scheduler:
    every DAG then maps over those only). Unset or empty: every table, every feed."""
    full = _load_registry(str(include_dir() / "tables.yaml"))
    tables = _selected("table", "AUTOCORP_TABLES", full.table_names)
    feeds = _selected("feed", "AUTOCORP_FEEDS", full.feed_names)
    if tables is None and feeds is None:
        return full
    return Registry(
        full.source_schema,
        tuple(t for t in full.tables if tables is None or t.name in tables),
        tuple(f for f in full.feeds if feeds is None or f.name in feeds),
    )


# --- the local engines' settings ---------------------------------------------------------------


def _env_number(name: str, default, parse, what: str):
    value = os.environ.get(name, "").strip().replace("_", "")  # 1_000_000 reads as a million
    try:
        return parse(value) if value else default
    except ValueError as exc:
        raise ConfigError(f"{name}={value!r} is not {what}") from exc


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    number = _env_number(name, default, int, "an integer")
    return number if minimum is None else max(minimum, number)


def env_float(name: str, default: float) -> float:
    return _env_number(name, default, float, "a number")


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, "").strip() or default
    if value not in choices:
        raise ConfigError(f"{name}={value!r}: use {' or '.join(choices)}")
    return value


@dataclass(frozen=True)
class SparkSettings:
    master: str
    driver_memory: str
    shuffle_partitions: str
    log_level: str
    log_file: str | None  # the JVM's output goes there (the CLI sets it unless --verbose)
    ivy_dir: Path  # Spark's Ivy cache for this project (not ~/.ivy2: a clone brings its own jars)


def spark_settings() -> SparkSettings:
    return SparkSettings(
        master=os.environ.get("AUTOCORP_SPARK_MASTER", "local[2]"),
        driver_memory=os.environ.get("AUTOCORP_SPARK_DRIVER_MEMORY", "2g"),
        shuffle_partitions=str(env_int("AUTOCORP_SPARK_SHUFFLE_PARTITIONS", 4, minimum=1)),
        log_level=os.environ.get("AUTOCORP_SPARK_LOG_LEVEL", "WARN"),
        log_file=os.environ.get("AUTOCORP_SPARK_LOG_FILE") or None,
        ivy_dir=Path(os.environ.get("AUTOCORP_IVY_DIR", repo_root() / ".cache" / "ivy")),
    )


@dataclass(frozen=True)
class ReplicatorSettings:
    slot: str
    retries: int
    retry_wait: float
    file_rows: int
    file_bytes: int
    batch_changes: int
    copy_client: str  # psql (COPY read in C) | psycopg
    psql: str | None
    crash_at: str | None  # test hook: SIGKILL at a named point


def replicator_settings() -> ReplicatorSettings:
    slot = os.environ.get("AUTOCORP_REPLICATOR_SLOT", "autocorp_lake")
    if not slot.replace("_", "").isalnum() or not slot.islower():
        raise ConfigError(f"AUTOCORP_REPLICATOR_SLOT={slot!r}: a slot name is lower-case letters, digits and _")
    return ReplicatorSettings(
        slot=slot,
        retries=env_int("AUTOCORP_REPLICATOR_RETRIES", 5, minimum=1),
        retry_wait=env_float("AUTOCORP_REPLICATOR_RETRY_WAIT", 0.5),
        file_rows=env_int("AUTOCORP_REPLICATOR_FILE_ROWS", 1_000_000, minimum=1),
        file_bytes=env_int("AUTOCORP_REPLICATOR_FILE_BYTES", 512 * 1024 * 1024, minimum=1),
        batch_changes=env_int("AUTOCORP_REPLICATOR_BATCH_CHANGES", 200_000, minimum=1),
        copy_client=env_choice("AUTOCORP_REPLICATOR_COPY_CLIENT", "psql", ("psql", "psycopg")),
        psql=os.environ.get("AUTOCORP_PSQL") or None,
        crash_at=os.environ.get("AUTOCORP_REPLICATOR_CRASH_AT") or None,
    )


def pg_dir_override() -> Path | None:
    """AUTOCORP_PG_DIR: where the local PostgreSQL cluster lives (default: see services.pg_dir)."""
    value = os.environ.get("AUTOCORP_PG_DIR")
    return Path(value) if value else None


def sql_endpoint_port() -> int:
    return env_int("AUTOCORP_SQL_ENDPOINT_PORT", 10001)


def transfer_attempts() -> int:
    return env_int("AUTOCORP_TRANSFER_ATTEMPTS", 3, minimum=1)


def run_log_level() -> str:
    """The log level of `autocorp-lake run`'s tasks (INFO shows their whole logs)."""
    return os.environ.get("AUTOCORP_RUN_LOG_LEVEL", "WARNING")


@dataclass(frozen=True)
class AwsNames:
    """Names of the AWS resources the DAGs use; Terraform (infra/) creates exactly these.

    ARNs that Terraform only knows after apply (DMS task, DataSync task) come from the
    environment or from Airflow Variables read at run time, never at parse time.
    """

    env: str
    bucket: str
    glue_jobs: dict[str, str]
    crawlers: dict[str, str]
    dms_task_id: str
    datasync_task_name: str
    athena_workgroup: str
    source_db_secret: str
    metrics_namespace: str = "AutoCorpLake"


def aws_names(env: str | None = None) -> AwsNames:
    env = env or environment()
    return AwsNames(
        env=env,
        bucket=os.environ.get("LAKE_BUCKET", f"autocorp-datalake-{env}"),
        glue_jobs={
            "apply_changes": f"autocorp-apply-changes-{env}",
            "clean_feed": f"autocorp-clean-feed-{env}",
            "promote": f"autocorp-promote-{env}",
            "maintenance": f"autocorp-maintenance-{env}",
        },
        crawlers={
            "raw_database": f"autocorp-raw-database-{env}",
            "raw_csv": f"autocorp-raw-csv-{env}",
        },
        dms_task_id=f"autocorp-full-load-cdc-{env}",
        datasync_task_name=f"autocorp-exports-{env}",
        athena_workgroup=f"autocorp-{env}",
        source_db_secret=f"autocorp/{env}/source-db",
    )


# --- the quality gate's settings (autocorp_lake.quality) ---------------------------------------

GATE_ENGINES = ("pandas", "spark")


def gate_pandas_max_rows() -> int:
    """AUTOCORP_GATE_PANDAS_MAX_ROWS (default 500,000): a batch with fewer rows is validated on
    pandas, a bigger one on the staging job's Spark session."""
    return int(env_float("AUTOCORP_GATE_PANDAS_MAX_ROWS", 500_000))


def gate_engine() -> str | None:
    """AUTOCORP_GATE_ENGINE=pandas|spark forces the gate's engine; unset (or auto): None, the
    batch's rows decide."""
    value = env_choice("AUTOCORP_GATE_ENGINE", "auto", ("auto", *GATE_ENGINES))
    return None if value == "auto" else value


def gate_rowcount_ratios() -> tuple[float, float]:
    """The row-count band around the previous run: AUTOCORP_GATE_ROWCOUNT_MIN_RATIO (0.1) and
    AUTOCORP_GATE_ROWCOUNT_MAX_RATIO (10) times its rows."""
    return env_float("AUTOCORP_GATE_ROWCOUNT_MIN_RATIO", 0.1), env_float("AUTOCORP_GATE_ROWCOUNT_MAX_RATIO", 10.0)


def gate_freshness_hours() -> float:
    """AUTOCORP_GATE_FRESHNESS_HOURS (48): a table's newest dms_commit_ts is at most this old."""
    return env_float("AUTOCORP_GATE_FRESHNESS_HOURS", 48)


def gate_feed_freshness_days() -> float:
    """AUTOCORP_GATE_FEED_FRESHNESS_DAYS (3650): a feed's newest updated_at/created_at is at most this old."""
    return env_float("AUTOCORP_GATE_FEED_FRESHNESS_DAYS", 3650)


def job_threads() -> int:
    """AUTOCORP_JOB_THREADS (4): how many tables or feeds a job stages, or promotes, at the same
    time in its Spark application (1: one after the other)."""
    return env_int("AUTOCORP_JOB_THREADS", 4, minimum=1)


def gate_docs_keep() -> int:
    """AUTOCORP_GATE_DOCS_KEEP (50): the GX results kept per suite for the Data Docs site."""
    return int(env_float("AUTOCORP_GATE_DOCS_KEEP", 50))
