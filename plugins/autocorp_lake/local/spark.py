"""Local Spark: pyspark 3.5.4 with Hudi 0.15.0 and a Hive metastore kept in PostgreSQL.

The same settings serve an in-process SparkSession (`build_session`) and a `spark-submit` of a
Glue script (`spark_submit_command`), so a job behaves the same either way.

The catalog is Spark's built-in Hive 2.3.9 metastore client in embedded mode on the `metastore`
database of the local PostgreSQL: every process (Spark jobs, Hudi's hms sync, the crawler, the
query engine) talks to the same database, and PostgreSQL transactions make it safe for parallel
processes, unlike the default Derby folder. DataNucleus creates the metastore schema on first use;
`build_session` serialises that first use across processes with a PostgreSQL advisory lock.

Jars come from Maven Central, resolved by Spark's own Ivy (`spark.jars.packages`) into a
project-local cache (`.cache/ivy`, or AUTOCORP_IVY_DIR) by `fetch_jars`, in a JVM of its own that
runs before any other: `make venv` calls it, and every Spark start calls it again (a no-op once the
jars are there). Spark then starts with `spark.jars` naming the cached files, so the PostgreSQL JDBC
driver is on the driver classpath from the first start (the metastore client needs it there), and no
start resolves or prints anything. Nothing is vendored into the repo.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
from pathlib import Path

from autocorp_lake import config

LOOPBACK = "127.0.0.1"

HUDI_BUNDLE = "org.apache.hudi:hudi-spark3.5-bundle_2.12:0.15.0"
POSTGRES_JDBC = "org.postgresql:postgresql:42.7.4"
PACKAGES = (HUDI_BUNDLE, POSTGRES_JDBC)
METASTORE_LOCK_ID = 4242_0004  # pg_advisory_lock key guarding the first metastore use


class JarsError(RuntimeError):
    """The Maven artifacts could not be fetched; the message says what to do."""


def ivy_dir() -> Path:
    """Spark's Ivy cache for this project (not ~/.ivy2: a clone brings its own jars)."""
    return config.spark_settings().ivy_dir


def _jar_name(coordinate: str) -> str:
    group, artifact, version = coordinate.split(":")
    return f"{group}_{artifact}-{version}.jar"


def _jars_manifest() -> Path:
    return ivy_dir() / "autocorp-jars.txt"


def cached_jars() -> list[Path] | None:
    """The resolved jars (the packages and their dependencies), or None if any is missing."""
    manifest = _jars_manifest()
    if not manifest.is_file():
        return None
    lines = manifest.read_text().split("\n")
    if lines[0] != ",".join(PACKAGES):
        return None  # the packages changed since the cache was filled
    jars = [Path(line) for line in lines[1:] if line]
    return jars if jars and all(jar.is_file() for jar in jars) else None


def fetch_jars(log=None) -> list[Path]:
    """Resolve PACKAGES into the project's Ivy cache with Spark's Ivy, in a child JVM; idempotent.

    A child JVM because the driver classpath is fixed when a JVM starts: a session that resolved
    its own packages would start without the JDBC driver its metastore client needs."""
    jars = cached_jars()
    if jars is not None:
        return jars
    import subprocess

    ivy = ivy_dir()
    ivy.mkdir(parents=True, exist_ok=True)
    log_path = ivy / "fetch.log"
    if log:
        log(f"fetching Spark jars from Maven Central into {ivy} (once): {', '.join(PACKAGES)}")
    resolve = (
        "from pyspark.sql import SparkSession\n"
        "SparkSession.builder.master('local[1]').appName('autocorp-fetch-jars')"
        f".config('spark.jars.packages', {','.join(PACKAGES)!r})"
        f".config('spark.jars.ivy', {str(ivy)!r})"
        ".config('spark.ui.enabled', 'false')"
        f".config('spark.driver.host', {LOOPBACK!r}).config('spark.driver.bindAddress', {LOOPBACK!r})"
        ".getOrCreate().stop()\n"
    )
    env = dict(os.environ, SPARK_LOCAL_IP=LOOPBACK, PYSPARK_PYTHON=sys.executable)
    with open(log_path, "w") as out:
        done = subprocess.run([sys.executable, "-c", resolve], stdout=out, stderr=subprocess.STDOUT, env=env)
    wanted = {_jar_name(c) for c in PACKAGES}
    jars = sorted((ivy / "jars").glob("*.jar")) if (ivy / "jars").is_dir() else []
    if done.returncode != 0 or not wanted <= {jar.name for jar in jars}:
        raise JarsError(
            f"could not fetch the Spark jars {', '.join(PACKAGES)} from Maven Central into {ivy} "
            f"(see {log_path}); check that Maven Central is reachable, then run `make venv` again"
        )
    tmp = _jars_manifest().with_suffix(".tmp")
    tmp.write_text("\n".join([",".join(PACKAGES), *map(str, jars)]) + "\n")
    tmp.replace(_jars_manifest())
    return jars


def _jar(jars: list[Path], coordinate: str) -> str:
    return str(next(jar for jar in jars if jar.name == _jar_name(coordinate)))


def driver_classpath(jars: list[Path], with_hudi: bool = False) -> list[str]:
    """Jars that must be on the driver's own classpath: the JDBC driver (the metastore client
    loads it through the system class loader) and, with_hudi, the Hudi bundle (the Thrift Server's
    sessions load Hudi's catalog from there)."""
    classpath = [_jar(jars, POSTGRES_JDBC)]
    if with_hudi:
        classpath.append(_jar(jars, HUDI_BUNDLE))
    return classpath


def warehouse_dir() -> str:
    return config.lake_uri("warehouse")


def spark_conf(app_name: str = "autocorp-lake", hudi_on_driver_classpath: bool = False) -> dict[str, str]:
    """Every Spark setting of the local target (also used by spark-submit)."""
    pg = config.postgres()
    settings = config.spark_settings()
    jars = fetch_jars(log=lambda message: print(message, file=sys.stderr))
    conf = {
        "spark.app.name": app_name,
        "spark.master": settings.master,
        "spark.driver.memory": settings.driver_memory,
        "spark.jars": ",".join(map(str, jars)),
        "spark.sql.shuffle.partitions": settings.shuffle_partitions,
        "spark.default.parallelism": "4",
        "spark.ui.enabled": "false",
        # loopback only: otherwise the driver binds to the host's first interface address
        "spark.driver.host": LOOPBACK,
        "spark.driver.bindAddress": LOOPBACK,
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.extraJavaOptions": "-Duser.timezone=UTC -Djdk.attach.allowAttachSelf=true",
        "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
        # Hudi
        "spark.serializer": "org.apache.spark.serializer.KryoSerializer",
        "spark.kryo.registrator": "org.apache.spark.HoodieSparkKryoRegistrar",
        "spark.sql.extensions": "org.apache.spark.sql.hudi.HoodieSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.hudi.catalog.HoodieCatalog",
        "spark.sql.hive.convertMetastoreParquet": "false",
        # DMS parquet timestamps are "local" (not UTC-adjusted); read them as TimestampType
        "spark.sql.parquet.inferTimestampNTZ.enabled": "false",
        # Hive metastore in PostgreSQL (embedded metastore client, no thrift service)
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": warehouse_dir(),
        "spark.hadoop.javax.jdo.option.ConnectionURL": pg.jdbc_url(pg.metastore_db),
        "spark.hadoop.javax.jdo.option.ConnectionDriverName": "org.postgresql.Driver",
        "spark.hadoop.javax.jdo.option.ConnectionUserName": pg.user,
        "spark.hadoop.datanucleus.schema.autoCreateAll": "false",
        "spark.hadoop.datanucleus.schema.autoCreateTables": "true",
        "spark.hadoop.datanucleus.schema.autoCreateColumns": "true",
        "spark.hadoop.datanucleus.fixedDatastore": "false",
        # DataNucleus creates metastore tables lazily; adding a foreign key to TBLS while a
        # metastore transaction holds TBLS deadlocks inside one JVM. No FK constraints then.
        "spark.hadoop.datanucleus.schema.autoCreateConstraints": "false",
        "spark.hadoop.hive.metastore.schema.verification": "false",
        "spark.hadoop.hive.metastore.schema.verification.record.version": "true",
        "spark.hadoop.hive.metastore.warehouse.dir": warehouse_dir(),
        "spark.hadoop.datanucleus.connectionPoolingType": "DBCP",
        "spark.hadoop.datanucleus.connectionPool.maxPoolSize": "4",
    }
    if pg.password:
        conf["spark.hadoop.javax.jdo.option.ConnectionPassword"] = pg.password
    conf["spark.driver.extraClassPath"] = os.pathsep.join(driver_classpath(jars, hudi_on_driver_classpath))
    return conf


def _metastore_lock():
    """A session-level advisory lock on the metastore database (None if unreachable)."""
    try:
        from autocorp_lake.local import services

        conn = services.connect(config.postgres().metastore_db)
        conn.execute("select pg_advisory_lock(%s)", (METASTORE_LOCK_ID,))
        return conn
    except Exception:  # noqa: BLE001 - the lock is an optimisation of the first run only
        return None


# one build at a time in a process: `autocorp-lake run` starts its session in the background while
# its first Glue task may ask for it (two builds would fetch the jars twice into one Ivy cache)
_BUILDING = threading.Lock()


def build_session(app_name: str = "autocorp-lake"):
    """The SparkSession of the local target (getOrCreate), with the catalog databases present."""
    with _BUILDING:
        return _build_session(app_name)


def _build_session(app_name: str):
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", LOOPBACK)
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder
    for key, value in spark_conf(app_name).items():
        builder = builder.config(key, value)
    lock = _metastore_lock()
    try:
        with _jvm_output_to_log():
            spark = builder.enableHiveSupport().getOrCreate()
        spark.sparkContext.setLogLevel(config.spark_settings().log_level)
        ensure_databases(spark)
    finally:
        if lock is not None:
            try:
                lock.execute("select pg_advisory_unlock(%s)", (METASTORE_LOCK_ID,))
            finally:
                lock.close()
    return spark


# Held while the process's stdout and stderr point at the Spark log (_jvm_output_to_log): a thread
# that prints while a JVM starts in another (runner's early start) takes it, so its line is not lost.
JVM_START_OUTPUT = threading.Lock()


@contextlib.contextmanager
def _jvm_output_to_log():
    """With AUTOCORP_SPARK_LOG_FILE set (the CLI sets it unless --verbose), the JVM started here
    writes its stdout and stderr (log4j, Hudi, Ivy) to that file: it inherits the file
    descriptors 1 and 2 that are pointed at the file while it starts."""
    path = config.spark_settings().log_file
    if not path:
        yield
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with JVM_START_OUTPUT:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = [os.dup(1), os.dup(2)]
        with open(path, "ab") as log_file:
            os.dup2(log_file.fileno(), 1)
            os.dup2(log_file.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def ensure_databases(spark) -> None:
    """Create the catalog databases autocorp_raw, autocorp_curated, autocorp_analytics if missing."""
    existing = {row.namespace for row in spark.sql("show databases").collect()}
    for name in config.CATALOG_DATABASES:
        if name not in existing:
            spark.sql(f"create database if not exists {name}")


def spark_submit_path() -> str:
    candidate = Path(sys.executable).parent / "spark-submit"
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("spark-submit")
    if not found:
        raise FileNotFoundError(
            "spark-submit not found; install pyspark 3.5.4 in this environment (pip install pyspark==3.5.4)"
        )
    return found


def spark_submit_command(
    script: str, args: dict, app_name: str | None = None, hudi_on_driver_classpath: bool = False
) -> list[str]:
    """The spark-submit command line that runs a Glue script file with the local settings."""
    script_path = Path(script).resolve()
    conf = spark_conf(app_name or script_path.stem, hudi_on_driver_classpath)
    command = [
        spark_submit_path(),
        "--master", conf.pop("spark.master"),
        "--driver-memory", conf.pop("spark.driver.memory"),
        "--jars", conf.pop("spark.jars"),
        "--name", conf.pop("spark.app.name"),
    ]
    command += ["--driver-class-path", conf.pop("spark.driver.extraClassPath")]
    for key, value in conf.items():
        command += ["--conf", f"{key}={value}"]
    command.append(str(script_path))
    for key, value in args.items():
        command += [f"--{key}", str(value)]
    return command


def submit_env() -> dict[str, str]:
    """Environment of a spark-submit child: the package importable, same Python, same settings."""
    env = dict(os.environ)
    plugins = str(config.PACKAGE_DIR.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (plugins, env.get("PYTHONPATH", "")) if p)
    env["PYSPARK_PYTHON"] = sys.executable
    env["PYSPARK_DRIVER_PYTHON"] = sys.executable
    env.setdefault("SPARK_LOCAL_IP", LOOPBACK)
    return env
