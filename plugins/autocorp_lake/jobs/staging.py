"""What the two staging jobs share (apply_changes for database tables, clean_feed for CSV feeds):
every batch of a DAG run staged and validated by its quality gate in one Spark application.

One Glue job run per DAG run stages all its tables (or feeds), so a CDC round starts two Glue runs
(this one and promote), not three per table. The batches are staged, several at a time
(`config.job_threads`), then each is validated with its GX
suite (`quality.gate.run_gate`, on pandas or on this Spark session by its size); the gate writes
`logs/quality/<zone>/<run_id>/result.json` and quarantines a batch that fails a critical
expectation. The per-table `quality_gate` tasks read those verdicts (`quality.dispatch.verdict`)
and decide what promote takes.

A batch's error (a bad file, a missing column, a gate that could not run) is recorded as its
result (`status: error` with the message) and the job goes on with the other batches; the job
fails only when it cannot run at all. So one broken table fails its own quality_gate task, with
the cause, and holds back nobody else.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence

from autocorp_lake import config, lake
from autocorp_lake.lake import BatchArgs

log = logging.getLogger(__name__)

RESULT = "result.json"
GX_VALIDATED = ("passed", "warning", "failed")  # a gate verdict that comes with a GX validation result


def stage_and_validate(batches: Sequence[BatchArgs], stage: Callable[[BatchArgs], dict]) -> dict[str, dict]:
    """Every batch staged by `stage(batch)` (which writes its `_batch.json` and returns it), then
    every staged batch gated: a child table's orphan check sees its parent's batch of this run.
    Returns {name: what `stage` returned + `gate`: passed | warning | empty | failed | error |
    promoted (+ `error`: the cause)}."""
    # Staging is Spark work per table (a CSV's parse is one task): several at a time keep the
    # cores busy. The gates go one after the other (GX contexts, one Data Docs site), then the
    # Data Docs of all of them are built at once.
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=config.job_threads(), thread_name_prefix="stage") as pool:
        staged = dict(zip([batch.name for batch in batches],
                          pool.map(lambda batch: _timed("stage_seconds", _stage_one, batch, stage), batches)))
    stage_seconds = time.monotonic() - started
    outcomes = {batch.name: _timed("gate_seconds", _validate_one, batch, staged[batch.name]) for batch in batches}
    # the batches GX validated in this job (not those with an earlier verdict or a staging error)
    _publish_data_docs([batch for batch in batches if "gate" not in staged[batch.name]
                        and outcomes[batch.name]["gate"] in GX_VALIDATED])
    for batch in batches:  # what this run did per batch, on either target (a Glue run's XCom is its id)
        lake.write_json(batch.uri(lake.job_result_key(batch.run_id, batch.transform_job, batch.zone)),
                        {key: value for key, value in outcomes[batch.name].items() if key != "schema"})
    seconds = time.monotonic() - started
    if batches:
        lake.write_job_run(batches, batches[0].transform_job, seconds, stage_seconds=round(stage_seconds, 2),
                           gate_seconds=round(seconds - stage_seconds, 2))
    return outcomes


def _publish_data_docs(validated: Sequence[BatchArgs]) -> None:
    """The Data Docs pages of the batches validated here, with the site's index built once."""
    from autocorp_lake.quality import gx_run

    if not validated:
        return
    try:
        gx_run.publish_runs(validated[0].lake_root, [(batch.zone, batch.run_id) for batch in validated])
    except Exception as exc:  # noqa: BLE001 - the docs are a view; never let them decide a gate
        log.warning("Data Docs build failed: %s", exc)


def _timed(name: str, step: Callable[..., dict], batch: BatchArgs, *args) -> dict:
    started = time.monotonic()
    outcome = step(batch, *args)
    return outcome | {name: round(time.monotonic() - started, 2)}


def _stage_one(batch: BatchArgs, stage: Callable[[BatchArgs], dict]) -> dict:
    if lake.exists(lake.join(batch.quarantine, RESULT)):  # an earlier attempt of this run quarantined it
        return {"name": batch.name, "zone": batch.zone, "gate": "failed", "quarantine": batch.quarantine}
    try:
        staged = stage(batch)
    except Exception as exc:  # noqa: BLE001 - recorded for the batch's quality_gate task
        log.exception("%s of %s, run %s, failed", batch.transform_job, batch.zone, batch.run_id)
        return {"name": batch.name, "zone": batch.zone, "gate": "error",
                "error": record_error(batch, batch.transform_job, exc)["error"]}
    if batch.run_id in lake.read_checkpoint(batch.lake_root, batch.zone)["batches"]:
        return staged | {"gate": "promoted"}  # a rerun of a promoted batch: its verdict stands
    return staged


def _validate_one(batch: BatchArgs, staged: dict) -> dict:
    from autocorp_lake.quality import gate
    from autocorp_lake.quality.errors import QualityGateFailed

    if "gate" in staged:
        return staged
    try:
        return staged | {"gate": gate.run_gate(batch, docs=False)["status"]}
    except QualityGateFailed:  # the batch is in quarantine; its task fails with this message
        return staged | {"gate": "failed", "quarantine": batch.quarantine}
    except Exception as exc:  # noqa: BLE001 - recorded for the batch's quality_gate task
        log.exception("the quality gate of %s, run %s, failed", batch.zone, batch.run_id)
        return staged | {"gate": "error", "error": record_error(batch, "the quality gate", exc)["error"]}


def record_error(batch: BatchArgs, step: str, exc: BaseException) -> dict:
    """The batch's result when a step failed before the gate decided: what failed and why."""
    cause = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    result = {
        "kind": batch.kind, "name": batch.name, "zone": batch.zone, "run_id": batch.run_id,
        "status": "error", "step": step, "error": cause[:4000], "rows": None,
        "validated_at": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat() + "Z",
    }
    lake.write_json(lake.join(batch.quality_results, RESULT), result)
    return result
