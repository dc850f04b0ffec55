"""Where the quality gate of a batch runs, and how its verdict is read back.

Locally, a batch below `AUTOCORP_GATE_PANDAS_MAX_ROWS` rows (default 500,000) is validated in the
task on pandas; a bigger one by the quality_gate job on Spark (`autocorp_lake.jobs.quality_gate`,
in-process or spark-submit), with the same suite. On AWS every batch goes to the Glue job
`autocorp-quality-gate-<env>` (the MWAA image has no pandas or GX): `targets.aws.
QualityGateJobOperator` starts it. Either way the job writes `logs/quality/<zone>/<run_id>/
result.json`, and `gate_verdict` reads it back, so a critical failure fails the task with the same
message as in the worker, and never retries.
"""

from __future__ import annotations

import datetime as dt
import logging

from autocorp_lake import lake
from autocorp_lake.lake import BatchArgs
from autocorp_lake.quality import gate

log = logging.getLogger(__name__)

GLUE_JOB = "quality_gate"
CLOCK_SKEW = dt.timedelta(seconds=60)  # between the worker's clock and the Glue job's


def where(batch: BatchArgs) -> str:
    """`worker` or `glue_job`, from the staged batch's row count (no data is read)."""
    rows = gate.staged_rows(batch.staged)
    if rows is None:  # no batch: the worker's gate says what is missing
        return "worker"
    return "worker" if gate.choose_engine(rows) == "pandas" else "glue_job"


def run_gate_task(batch: BatchArgs) -> dict:
    """The quality_gate task of every table and feed pipeline on the local target."""
    if where(batch) == "worker":
        return gate.run_gate(batch)
    from autocorp_lake.local import jobs

    started = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - CLOCK_SKEW
    try:
        jobs.run_glue_script(GLUE_JOB, {k.lstrip("-"): v for k, v in batch.script_args().items()})
    except Exception as exc:  # a failed job run: its result.json says whether the data failed
        return gate_verdict(batch, started, "local", exc)
    return gate_verdict(batch, started, "local", None)


def gate_verdict(batch: BatchArgs, started: dt.datetime, job_run: str | None, job_error: Exception | None) -> dict:
    """The gate's outcome from the result.json a job run wrote (not one older than `started`, naive
    UTC): raises QualityGateFailed on a critical failure, GateError when there is no result, the
    job's error when the data passed but the job failed; else the task's summary."""
    result_uri = lake.join(batch.quality_results, "result.json")
    summary = _fresh_result(result_uri, started)
    if summary is None:
        where_logs = ("the Glue job's CloudWatch log (/aws-glue/jobs/error)" if lake.is_s3(batch.lake_root)
                      else "the task log")
        raise gate.GateError(
            f"the quality-gate job for {batch.zone} run {batch.run_id} wrote no result at {result_uri}"
            + (f" (job error: {job_error})" if job_error else "") + f"; see {where_logs}"
        ) from job_error
    if summary.get("status") == "failed":
        raise gate.QualityGateFailed(gate.failure_message(summary), summary)
    if job_error is not None:  # the data passed, yet the job failed afterwards: do not promote
        raise job_error
    for warning in summary.get("warnings") or []:
        log.warning("quality warning on %s %s: %s", batch.zone, batch.run_id, warning)
    return gate.task_summary(summary) | {"job_run": job_run}


def _fresh_result(result_uri: str, started: dt.datetime) -> dict | None:
    """The result.json the job wrote, ignoring one left by an earlier attempt of the same run."""
    if not lake.exists(result_uri):
        return None
    summary = lake.read_json(result_uri)
    validated = dt.datetime.fromisoformat(str(summary.get("validated_at", "")).rstrip("Z") or "1970-01-01")
    return summary if validated >= started else None
