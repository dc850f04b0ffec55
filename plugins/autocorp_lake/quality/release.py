"""Re-release a quarantined batch after it was fixed (`autocorp-lake release ZONE RUN_ID`).

The supported fixes rewrite the batch with Spark, so its parquet types stay the ones apply_changes
and clean_feed wrote (a batch rewritten with pandas/pyarrow gets INT64 timestamps, which promote
cannot merge into the table): `fix_batch(..., exclude_keys=..., drop_columns=...)`, the CLI's
`release --exclude-keys FILE --drop-column C`.

`release(batch)` moves `quarantine/<zone>/<run_id>/batch/` back to `staged/<zone>/<run_id>/`
and runs the gate again on it: a batch that still fails goes straight back to quarantine (and the
call raises `QualityGateFailed`); a passing batch stays staged, and promote for that run_id
publishes it (rerun the DAG's promote task; `release_and_promote` does both).
"""

from __future__ import annotations

import datetime as dt
from typing import Callable, Iterable

from autocorp_lake import lake
from autocorp_lake.lake import BatchArgs
from autocorp_lake.quality import gate


def quarantined_batch(batch: BatchArgs) -> str:
    source = lake.join(batch.quarantine, lake.QUARANTINED_BATCH)
    if not lake.exists(source):
        raise gate.GateError(f"no quarantined batch at {source}; `autocorp-lake quality` lists the blocked tables")
    return source


def release(batch: BatchArgs, engine: str | None = None, now: dt.datetime | None = None) -> dict:
    source = quarantined_batch(batch)
    if lake.exists(batch.staged):
        raise gate.GateError(f"{batch.staged} already exists; promote or remove it before releasing {batch.run_id}")
    lake.move_tree(source, batch.staged)
    summary = gate.run_gate(batch, engine=engine, now=now)
    summary["released_from"] = source
    return summary


def fix_batch(spark, batch: BatchArgs, key: str, exclude_keys: Iterable[str] = (),
              drop_columns: Iterable[str] = ()) -> dict:
    """Rewrite a quarantined batch in place with Spark: without the rows whose key is in
    exclude_keys, without drop_columns. Updates its _batch.json (rows, counts, schema)."""
    from pyspark.sql import functions as F

    from autocorp_lake.jobs.apply_changes import batch_stats, schema_summary

    source = quarantined_batch(batch)
    df = spark.read.parquet(source)
    excluded = [str(k) for k in exclude_keys]
    unknown = [c for c in drop_columns if c not in df.columns]
    if unknown:
        raise gate.GateError(f"the batch has no column {', '.join(unknown)}; its columns: {', '.join(df.columns)}")
    if key in drop_columns:
        raise gate.GateError(f"{key} is the batch's key: it cannot be dropped")
    before = df.count()
    if excluded:
        df = df.where(~F.col(key).cast("string").isin(excluded))
    df = df.drop(*drop_columns)
    fixed = source.rstrip("/") + "_fixed"
    df.write.mode("overwrite").parquet(fixed)
    manifest_uri = lake.join(source, lake.BATCH_MANIFEST)
    manifest = lake.read_json(manifest_uri) if lake.exists(manifest_uri) else {}
    written = spark.read.parquet(fixed)
    if "Op" in written.columns and "dms_commit_ts" in written.columns:  # a database table's batch
        manifest.update(batch_stats(written))
    else:
        manifest["rows"] = written.count()
    manifest["schema"] = schema_summary(written)
    manifest["fixed"] = {"excluded_keys": excluded, "dropped_columns": list(drop_columns),
                         "rows_removed": before - manifest["rows"],
                         "at": dt.datetime.now(dt.timezone.utc).isoformat()}
    lake.write_json(lake.join(fixed, lake.BATCH_MANIFEST), manifest)
    lake.move_tree(fixed, source)
    return manifest["fixed"]


def release_and_promote(batch: BatchArgs, promote: Callable[[], object], **kwargs) -> dict:
    """release(), then promote; when the gate errors or promote fails, the batch goes back to
    quarantine, so the table stays blocked (and visible as such) instead of half released."""
    quarantine = quarantined_batch(batch)
    try:
        summary = release(batch, **kwargs)
    except gate.QualityGateFailed:
        raise  # the gate put it back in quarantine itself
    except Exception:
        _put_back(batch.staged, quarantine)
        raise
    try:
        summary["promote"] = promote()
    except Exception as exc:
        _put_back(batch.staged, quarantine)
        raise gate.GateError(
            f"the batch passed its gate but promote failed ({exc}); it is back in {quarantine}. "
            f"Fix the cause, then run `autocorp-lake release {batch.zone} {batch.run_id}` again"
        ) from exc
    return summary


def _put_back(staged: str, quarantine: str) -> None:
    if lake.exists(staged) and not lake.exists(quarantine):
        lake.move_tree(staged, quarantine)
