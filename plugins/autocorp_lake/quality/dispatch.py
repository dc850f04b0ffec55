"""Where the quality gate of a batch runs: in the Airflow worker, or in the quality-gate Glue job.

Locally, a batch below `AUTOCORP_GATE_PANDAS_MAX_ROWS` rows (default 500,000) is validated in the
task on pandas. On AWS every batch goes to the Glue job (the MWAA image has no pandas/GX). A bigger one would not fit an MWAA worker (and MWAA has no Spark), so it is validated on
Spark by `glue_scripts/quality_gate.py`, with the same suite: on AWS the Glue job
`autocorp-quality-gate-<env>`, locally the same script (in-process, or spark-submit). Either way
the job writes `logs/quality/<zone>/<run_id>/result.json`, and the task reads it back, so a
critical failure fails the task with the same message as in the worker, and never retries.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from autocorp_lake import config
from autocorp_lake.quality import gate

log = logging.getLogger(__name__)

GLUE_JOB = "quality_gate"
CLOCK_SKEW = dt.timedelta(seconds=60)  # between the worker's clock and the Glue job's


def where(batch: dict) -> str:
    """`worker` or `glue_job`, from the staged batch's row count (no data is read).

    On AWS always `glue_job`: the MWAA image has no pandas, pyarrow or GX, so an MWAA worker
    validates nothing itself; it starts the job and reads its result."""
    if config.target() == "aws":
        return "glue_job"
    _, _, zone, run_id, lake_root = gate.batch_location(batch)
    rows = gate.staged_rows(gate.staged_uri(lake_root, zone, run_id))
    if rows is None:  # no batch: the worker's gate says what is missing
        return "worker"
    return "worker" if gate.choose_engine(rows) == "pandas" else "glue_job"


def run_gate_task(batch: dict) -> dict:
    """The quality_gate task of every table and feed pipeline, on both targets."""
    if where(batch) == "worker":
        return gate.run_gate(batch)
    return run_in_glue_job(batch)


def _start_and_wait(batch: dict) -> str:
    """Run the quality-gate job to its end; return its run id (raises when it fails)."""
    if config.target() == "aws":
        from autocorp_lake.targets.aws import AWS_CONN_ID
        from airflow.providers.amazon.aws.hooks.glue import GlueJobHook

        job_name = config.aws_names().glue_jobs[GLUE_JOB]
        hook = GlueJobHook(job_name=job_name, aws_conn_id=AWS_CONN_ID, job_poll_interval=15)
        run_id = hook.initialize_job(script_arguments=batch)["JobRunId"]
        log.info("quality gate of %s runs in Glue job %s, run %s", batch.get("--name"), job_name, run_id)
        hook.job_completion(job_name=job_name, run_id=run_id, verbose=False)
        return run_id
    from autocorp_lake.local import jobs

    jobs.run_glue_script(GLUE_JOB, {k.lstrip("-"): v for k, v in batch.items()})
    return "local"


def run_in_glue_job(batch: dict) -> dict:
    started = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - CLOCK_SKEW
    job_error: Exception | None = None
    job_run = None
    try:
        job_run = _start_and_wait(batch)
    except Exception as exc:  # a failed job run: its result.json says whether the data failed
        job_error = exc
    return gate_verdict(batch, started, job_run, job_error)


def gate_verdict(batch: dict, started: dt.datetime, job_run: str | None, job_error: Exception | None) -> dict:
    """The gate's outcome from the result.json a job run wrote (not one older than `started`, naive
    UTC): raises QualityGateFailed on a critical failure, GateError when there is no result, the
    job's error when the data passed but the job failed; else the task's summary."""
    _, _, zone, run_id, lake_root = gate.batch_location(batch)
    result_uri = gate.join(gate.results_uri(lake_root, zone, run_id), "result.json")
    summary = _fresh_result(result_uri, started)
    if summary is None:
        where_logs = ("the Glue job's CloudWatch log (/aws-glue/jobs/error)" if config.target() == "aws"
                      else "the task log")
        raise gate.GateError(
            f"the quality-gate job for {zone} run {run_id} wrote no result at {result_uri}"
            + (f" (job error: {job_error})" if job_error else "") + f"; see {where_logs}"
        ) from job_error
    if summary.get("status") == "failed":
        raise gate.QualityGateFailed(gate.failure_message(summary), summary)
    if job_error is not None:  # the data passed, yet the job failed afterwards: do not promote
        raise job_error
    for warning in summary.get("warnings") or []:
        log.warning("quality warning on %s %s: %s", zone, run_id, warning)
    return gate.task_summary(summary) | {"job_run": job_run}


def _fresh_result(result_uri: str, started: dt.datetime) -> dict | None:
    """The result.json the job wrote, ignoring one left by an earlier attempt of the same run."""
    if not gate.exists(result_uri):
        return None
    summary = json.loads(gate.read_text(result_uri))
    validated = dt.datetime.fromisoformat(str(summary.get("validated_at", "")).rstrip("Z") or "1970-01-01")
    return summary if validated >= started else None
