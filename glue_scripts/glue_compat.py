"""A thin layer over `awsglue`, so one Glue script runs on AWS Glue 5.0 and under local spark-submit.

On Glue (`awsglue` importable) it hands out the real getResolvedOptions, GlueContext and Job (job
bookmarks: `job.init` / `job.commit`). Locally it gives stand-ins with the same call shapes:
`--name value` argument parsing, a Job whose commit is a no-op (the local checkpoint is committed
by the promote step, after the Hudi commit), and a SparkSession from `autocorp_lake.local.spark`.

Glue scripts import it as a sibling module (`--extra-py-files s3://.../glue_compat.py` on Glue).
"""

from __future__ import annotations

import sys
from typing import Iterable, Sequence

try:  # AWS Glue 5.0
    from awsglue.context import GlueContext as _GlueContext  # type: ignore
    from awsglue.job import Job as _GlueJob  # type: ignore
    from awsglue.utils import getResolvedOptions as _getResolvedOptions  # type: ignore

    ON_GLUE = True
except ImportError:  # local target
    _GlueContext = _GlueJob = _getResolvedOptions = None
    ON_GLUE = False


class ArgumentError(ValueError):
    """A required `--name value` argument is missing; the message names it."""


def parse_args(
    argv: Sequence[str] | None,
    required: Iterable[str],
    optional: dict[str, str | None] | None = None,
) -> dict[str, str | None]:
    """`--name value` pairs as a dict (required names must be present; optional get defaults).

    On Glue, required names go through getResolvedOptions; optional ones are read only when
    present, as Glue's own parser rejects absent names.
    """
    # getResolvedOptions skips argv[0] (the script); an explicit argv holds only the pairs
    argv = list(sys.argv if argv is None else ["job", *argv])
    required = list(required)
    optional = dict(optional or {})
    if ON_GLUE:
        resolved = dict(_getResolvedOptions(argv, required))
        present = [name for name in optional if f"--{name}" in argv]
        if present:
            resolved.update(_getResolvedOptions(argv, present))
        for name, default in optional.items():
            resolved.setdefault(name, default)
        return resolved
    values: dict[str, str | None] = {}
    index = 1
    while index < len(argv):
        item = argv[index]
        if item.startswith("--"):
            name, eq, inline = item[2:].partition("=")
            if eq:
                values[name] = inline
            elif index + 1 < len(argv) and not argv[index + 1].startswith("--"):
                values[name] = argv[index + 1]
                index += 1
            else:
                values[name] = "true"
        index += 1
    missing = [name for name in required if name not in values]
    if missing:
        raise ArgumentError(
            "missing argument(s): " + ", ".join(f"--{name}" for name in missing)
            + "; pass them as `--name value` pairs"
        )
    for name, default in optional.items():
        values.setdefault(name, default)
    return values


def get_spark(app_name: str = "autocorp-glue-job"):
    """The active SparkSession, or a new one with the local target's settings."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if not ON_GLUE:
        try:
            from autocorp_lake.local.spark import build_session
        except ImportError:
            pass
        else:
            return build_session(app_name)
    return SparkSession.builder.appName(app_name).enableHiveSupport().getOrCreate()


class LocalGlueContext:
    """Stand-in for awsglue.context.GlueContext: just what the scripts use."""

    def __init__(self, spark_context=None, spark=None):
        self.spark_session = spark or get_spark()
        self._sc = spark_context or self.spark_session.sparkContext

    def getLogger(self):  # noqa: N802 - same name as GlueContext
        import logging

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        return logging.getLogger("glue")


class LocalJob:
    """Stand-in for awsglue.job.Job: init records the name; commit is a no-op locally because
    the lake checkpoint is advanced by the promote step after a successful Hudi commit."""

    def __init__(self, glue_context=None):
        self.glue_context = glue_context
        self.name = None
        self.committed = False

    def init(self, name: str, args: dict | None = None) -> None:
        self.name = name

    def commit(self) -> None:
        self.committed = True


def glue_context(spark=None):
    """A GlueContext on Glue, the local stand-in elsewhere."""
    spark = spark or get_spark()
    if ON_GLUE:
        return _GlueContext(spark.sparkContext)
    return LocalGlueContext(spark=spark)


def job(context) -> "LocalJob":
    return _GlueJob(context) if ON_GLUE else LocalJob(context)


# --- the lake as a key space: a local folder or s3://bucket/prefix -------------------------------


def join(root: str, *keys: str) -> str:
    """root + keys with single slashes (works for local paths and s3:// URIs)."""
    parts = [str(root).rstrip("/")] + [str(k).strip("/") for k in keys if str(k).strip("/")]
    return "/".join(parts)


def _split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key


def _s3():
    import boto3  # available on Glue; only needed for s3:// URIs

    return boto3.client("s3")


def list_files(uri: str, suffix: str = ".parquet") -> list[str]:
    """Every file under uri ending with suffix (recursive), sorted; hidden and temp names skipped
    (a name starting with '.' or '_', as writers use for files not yet complete)."""
    out: list[str] = []
    if uri.startswith("s3://"):
        bucket, prefix = _split_s3(uri.rstrip("/") + "/")
        paginator = _s3().get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                name = item["Key"].rsplit("/", 1)[-1]
                if name.endswith(suffix) and not name.startswith((".", "_")):
                    out.append(f"s3://{bucket}/{item['Key']}")
        return sorted(out)
    import os

    if not os.path.isdir(uri):
        return []
    for folder, dirs, files in os.walk(uri):
        dirs[:] = [d for d in dirs if not d.startswith((".", "_"))]
        for name in files:
            if name.endswith(suffix) and not name.startswith((".", "_")):
                out.append(os.path.join(folder, name))
    return sorted(out)


def some_files(uri: str, suffix: str = ".parquet", limit: int = 100) -> list[str]:
    """Up to `limit` file names directly under uri (not recursive, one listing call): enough to
    tell how a folder's files are named without listing all of them."""
    if uri.startswith("s3://"):
        bucket, prefix = _split_s3(uri.rstrip("/") + "/")
        page = _s3().list_objects_v2(Bucket=bucket, Prefix=prefix, Delimiter="/", MaxKeys=limit)
        names = [item["Key"].rsplit("/", 1)[-1] for item in page.get("Contents", [])]
    else:
        import os

        names = sorted(os.listdir(uri))[:limit] if os.path.isdir(uri) else []
    return [n for n in names if n.endswith(suffix) and not n.startswith((".", "_"))]


def batch_manifests(uri: str) -> list[str]:
    """Every `_batch.json` under uri (recursive), sorted: the manifests of staged or quarantined
    batches (list_files skips names starting with '_')."""
    if uri.startswith("s3://"):
        bucket, prefix = _split_s3(uri.rstrip("/") + "/")
        paginator = _s3().get_paginator("list_objects_v2")
        return sorted(f"s3://{bucket}/{item['Key']}"
                      for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
                      for item in page.get("Contents", []) if item["Key"].endswith("/_batch.json"))
    import os

    out = []
    for folder, dirs, files in os.walk(uri):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        out += [os.path.join(folder, name) for name in files if name == "_batch.json"]
    return sorted(out)


def exists(uri: str) -> bool:
    if uri.startswith("s3://"):
        bucket, key = _split_s3(uri)
        response = _s3().list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
        return response.get("KeyCount", 0) > 0
    import os

    return os.path.exists(uri)


def read_text(uri: str) -> str:
    if uri.startswith("s3://"):
        bucket, key = _split_s3(uri)
        return _s3().get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    with open(uri, encoding="utf-8") as handle:
        return handle.read()


def write_text(uri: str, text: str) -> None:
    """Write a whole object: an S3 put, or locally a temp file renamed into place (atomic)."""
    if uri.startswith("s3://"):
        bucket, key = _split_s3(uri)
        _s3().put_object(Bucket=bucket, Key=key, Body=text.encode("utf-8"))
        return
    import os
    import tempfile

    folder = os.path.dirname(uri)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, uri)


def default_lake_root() -> str:
    """The lake root when --lake_root is not given: the local target's lake folder."""
    try:
        from autocorp_lake import config
    except ImportError as exc:
        raise ArgumentError("--lake_root is required (s3://bucket or a local folder)") from exc
    return config.lake_uri()


def default_registry() -> str:
    try:
        from autocorp_lake import config
    except ImportError as exc:
        raise ArgumentError("--registry is required (path or s3:// URI of tables.yaml)") from exc
    return str(config.include_dir() / "tables.yaml")


def load_table_spec(registry_uri: str, table: str) -> dict:
    """One table of the registry (include/tables.yaml, YAML or JSON) as a plain dict:
    name, primary_key (list), ordering_field, partition (dict or None), hudi_table_type,
    buckets (bucket index of an unpartitioned table, or None), source_schema."""
    text = read_text(registry_uri)
    try:
        import yaml

        data = yaml.safe_load(text)
    except ImportError:
        import json

        data = json.loads(text)
    for item in data.get("tables", []):
        if item["name"] == table:
            return {
                "name": item["name"],
                "primary_key": list(item["primary_key"]),
                "ordering_field": item.get("ordering_field", "dms_change_seq"),
                "partition": item.get("partition") or None,
                "hudi_table_type": item.get("hudi_table_type", "COPY_ON_WRITE"),
                "buckets": item.get("buckets"),
                "source_schema": data.get("source_schema", "public"),
            }
    names = ", ".join(t["name"] for t in data.get("tables", []))
    raise ArgumentError(f"--table {table!r} is not in the registry {registry_uri} (it has: {names})")


# --- batches and checkpoints (shared by apply_changes, clean_feed and promote) --------------------


def safe_run_id(run_id: str) -> str:
    """A run id usable as a folder name (Airflow ids carry ':' and '+')."""
    import re

    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", str(run_id)).strip("_") or "run"


def staged_prefix(zone: str, run_id: str) -> str:
    """The folder of one staged batch; zone is a table or feed_<feed>."""
    return f"staged/{zone}/{run_id}"


def hudi_prefix(table: str) -> str:
    return f"curated/hudi/{table}"


def checkpoint_key(zone: str) -> str:
    """The committed checkpoint of a table (or feed_<feed>): files processed, batches promoted."""
    return f"staged/_checkpoints/{zone}.json"


def read_checkpoint(lake_root: str, zone: str) -> dict:
    import json

    uri = join(lake_root, checkpoint_key(zone))
    if not exists(uri):
        return {"table": zone, "files": [], "batches": []}
    data = json.loads(read_text(uri))
    data.setdefault("files", [])
    data.setdefault("batches", [])
    return data


def hudi_table_exists(lake_root: str, table: str) -> bool:
    return exists(join(lake_root, hudi_prefix(table), ".hoodie", "hoodie.properties"))


def jdbc_conf(spark, connection_name: str) -> dict:
    """url, user and password of a Glue JDBC connection (its secret resolved by Glue)."""
    conf = glue_context(spark).extract_jdbc_conf(connection_name)
    url = conf.get("fullUrl") or conf["url"]
    return {"url": url, "user": conf["user"], "password": conf["password"]}
