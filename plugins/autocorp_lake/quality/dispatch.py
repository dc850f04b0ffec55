"""The verdict of one batch's quality gate, read by its `quality_gate` task.

The staging job of a DAG run (apply_changes or clean_feed, `jobs.staging`) validates every batch
it stages and writes `logs/quality/<zone>/<run_id>/result.json`; on AWS that is a Glue job (the
MWAA image has no pandas or GX), locally the same job on local Spark. Each table's (or feed's)
`quality_gate` task reads its verdict here, on both targets: a critical failure fails the task
with the expectations, counts and sample keys (the batch is in quarantine and promote skips it);
a batch the job could not stage or validate fails with the job's error; the task never retries
(a data failure is not transient).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Callable

from autocorp_lake import lake
from autocorp_lake.lake import BatchArgs
from autocorp_lake.quality.errors import GateError, QualityGateFailed

log = logging.getLogger(__name__)

CLOCK_SKEW = dt.timedelta(seconds=60)  # between the clocks of the machines that write the two files


def verdict(batch: BatchArgs) -> dict:
    """The gate's outcome for the batch: its summary when it passed (with warnings) or was empty;
    raises QualityGateFailed on a critical failure, GateError when the job left no fresh result
    or recorded an error for the batch."""
    from autocorp_lake.quality import gate

    result_uri = lake.join(batch.quality_results, "result.json")
    summary = lake.read_json(result_uri) if lake.exists(result_uri) else None
    if summary is None or _older_than_batch(summary, batch):
        where = "its Glue job run's CloudWatch log" if lake.is_s3(batch.lake_root) else "its log"
        raise GateError(
            f"no quality-gate result for {batch.zone} in run {batch.run_id} at {result_uri}: the "
            f"{batch.transform_job} task did not stage and validate this batch; see {where}"
        )
    if summary.get("status") == "error":
        raise GateError(f"{summary.get('step')} failed for {batch.zone} in run {batch.run_id}: "
                        f"{summary.get('error')}; the batch was not promoted, the next run retries it")
    if summary.get("status") == "failed":
        raise QualityGateFailed(summary.get("message") or gate.failure_message(summary), summary)
    for warning in summary.get("warnings") or []:
        log.warning("quality warning on %s %s: %s", batch.zone, batch.run_id, warning)
    return gate.task_summary(summary)


def _older_than_batch(summary: dict, batch: BatchArgs) -> bool:
    """A result left by an earlier attempt of the run, before the batch was staged again."""
    if not lake.exists(batch.manifest):
        return False
    staged_at = lake.read_json(batch.manifest).get("created_at")
    if not staged_at:
        return False
    validated = _naive_utc(summary.get("validated_at"))
    return validated is None or validated < _naive_utc(staged_at) - CLOCK_SKEW


def _naive_utc(stamp: str | None) -> dt.datetime | None:
    if not stamp:
        return None
    moment = dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def verdict_in_task(kind: str, name: str, run_id: str, record: Callable[[BatchArgs, dict | None], None]) -> dict:
    """What a quality_gate task runs: the verdict of its batch, recorded by `record(batch, summary)`
    (the target's metric sink; summary None when the gate failed) before it is returned or raised."""
    batch = BatchArgs.of(kind, name, run_id)
    try:
        summary = verdict(batch)
    except Exception:
        record(batch, None)
        raise
    record(batch, summary)
    return summary | {"name": name}
