"""A thin layer over `awsglue`, so one job runs on AWS Glue 5.0 and under local spark-submit.

On Glue (`awsglue` importable) it hands out the real getResolvedOptions, GlueContext and Job.
Locally it gives stand-ins with the same call shapes: `--name value` argument parsing, a Job whose
commit is a no-op (the lake's checkpoint is committed by promote, after the Hudi commit), and a
SparkSession from `autocorp_lake.local.spark`. On Glue this package comes from the job's
`--extra-py-files` (autocorp_lake.zip, built by `make bundle`).
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
        from autocorp_lake.local.spark import build_session

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


def start(job_name: str, args: dict, app_name: str):
    """(the SparkSession, the initialised Glue Job) of one job run."""
    spark = get_spark(app_name)
    glue_job = job(glue_context(spark))
    glue_job.init(job_name, args)
    return spark, glue_job


def jdbc_conf(spark, connection_name: str) -> dict:
    """url, user and password of a Glue JDBC connection (its secret resolved by Glue)."""
    conf = glue_context(spark).extract_jdbc_conf(connection_name)
    url = conf.get("fullUrl") or conf["url"]
    return {"url": url, "user": conf["user"], "password": conf["password"]}
