"""The verdict of a quality gate that ran in the quality_gate job, read back by its task.

On AWS every batch is validated by the Glue job `autocorp-quality-gate-<env>` (the MWAA image has
no pandas or GX; `targets.aws.QualityGateJobOperator`); locally a batch of at least
`AUTOCORP_GATE_PANDAS_MAX_ROWS` rows is validated by the same job on local Spark
(`targets.local`). The job writes `logs/quality/<zone>/<run_id>/result.json`, and `gate_verdict`
reads it back, so a critical failure fails the task with the same message as in the worker, and
never retries.
"""

from __future__ import annotations

import datetime as dt
import logging

from autocorp_lake import lake
from autocorp_lake.lake import BatchArgs
from autocorp_lake.quality import gate

log = logging.getLogger(__name__)

CLOCK_SKEW = dt.timedelta(seconds=60)  # between the worker's clock and the Glue job's


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
