"""Re-release a quarantined batch after it was fixed (`autocorp-lake release NAME RUN_ID`).

The supported fixes rewrite the batch with Spark, so its parquet types stay the ones apply_changes
and clean_feed wrote (a batch rewritten with pandas/pyarrow gets INT64 timestamps, which promote
cannot merge into the table): `fix_batch(..., exclude_keys=..., drop_columns=...)`, the CLI's
`release --exclude-keys FILE --drop-column C`.

`release(name, run_id)` moves `quarantine/<zone>/<run_id>/batch/` back to `staged/<zone>/<run_id>/`
and runs the gate again on it: a batch that still fails goes straight back to quarantine (and the
call raises `QualityGateFailed`); a passing batch stays staged, and promote for that run_id
publishes it (rerun the DAG's promote task, or `glue_scripts/promote.py --run_id <run_id>`).
`name` is a table name, a feed name with kind="feed", or the zone name `feed_<feed>`.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Callable, Iterable

from autocorp_lake.quality import gate, suites


def release(name: str, run_id: str, kind: str | None = None, lake_root: str | None = None,
            registry: str | None = None, engine: str | None = None, now: dt.datetime | None = None) -> dict:
    if kind is None:
        kind = "feed" if name.startswith("feed_") else "table"
    if kind == "feed" and name.startswith("feed_"):
        name = name[len("feed_"):]
    zone = suites.suite_name(kind, name)
    run_id = gate.safe_run_id(run_id)
    if lake_root is None:
        from autocorp_lake import config

        lake_root = config.lake_uri()
    lake_root = lake_root.rstrip("/")
    source = gate.join(gate.quarantine_uri(lake_root, zone, run_id), gate.QUARANTINE_BATCH_DIR)
    target = gate.staged_uri(lake_root, zone, run_id)
    if not gate.exists(source):
        raise gate.GateError(f"no quarantined batch at {source}; nothing to release")
    if gate.exists(target):
        raise gate.GateError(f"{target} already exists; promote or remove it before releasing {run_id}")
    gate.move_tree(source, target)
    batch = {"--kind": kind, "--name": name, "--run_id": run_id, "--lake_root": lake_root}
    if registry:
        batch["--registry"] = registry
    summary = gate.run_gate(batch, engine=engine, now=now)
    summary["released_from"] = source
    return summary


def quarantined_batch(zone: str, run_id: str, lake_root: str) -> str:
    source = gate.join(gate.quarantine_uri(lake_root, zone, gate.safe_run_id(run_id)), gate.QUARANTINE_BATCH_DIR)
    if not gate.exists(source):
        raise gate.GateError(f"no quarantined batch at {source}; `autocorp-lake quality` lists the blocked tables")
    return source


def fix_batch(spark, name: str, run_id: str, lake_root: str, key: str,
              exclude_keys: Iterable[str] = (), drop_columns: Iterable[str] = ()) -> dict:
    """Rewrite a quarantined batch in place with Spark: without the rows whose key is in
    exclude_keys, without drop_columns. Updates its _batch.json (rows, counts, schema)."""
    from pyspark.sql import functions as F

    source = quarantined_batch(name, run_id, lake_root)
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
    manifest_uri = gate.join(source, "_batch.json")
    manifest = json.loads(gate.read_text(manifest_uri)) if gate.exists(manifest_uri) else {}
    written = spark.read.parquet(fixed)
    manifest["rows"] = written.count()
    if "Op" in written.columns:
        manifest["counts"] = {"I": 0, "U": 0, "D": 0} | {
            str(r["Op"]): int(r["count"]) for r in written.groupBy("Op").count().collect()}
    manifest["schema"] = [{"name": f.name, "type": f.dataType.simpleString(), "nullable": f.nullable}
                          for f in written.schema.fields]
    manifest["fixed"] = {"excluded_keys": excluded, "dropped_columns": list(drop_columns),
                         "rows_removed": before - manifest["rows"],
                         "at": dt.datetime.now(dt.timezone.utc).isoformat()}
    gate.write_text(gate.join(fixed, "_batch.json"), json.dumps(manifest, indent=2))
    gate.move_tree(fixed, source)
    return manifest["fixed"]


def release_and_promote(name: str, run_id: str, promote: Callable[[], object], **kwargs) -> dict:
    """release(), then promote; when the gate errors or promote fails, the batch goes back to
    quarantine, so the table stays blocked (and visible as such) instead of half released."""
    kind = "feed" if name.startswith("feed_") else "table"
    zone = name
    lake_root = (kwargs.get("lake_root") or _lake_root()).rstrip("/")
    quarantine = quarantined_batch(zone, run_id, lake_root)
    staged = gate.staged_uri(lake_root, zone, gate.safe_run_id(run_id))
    try:
        summary = release(name, run_id, kind=kind, **kwargs | {"lake_root": lake_root})
    except gate.QualityGateFailed:
        raise  # the gate put it back in quarantine itself
    except Exception:
        _put_back(staged, quarantine)
        raise
    try:
        summary["promote"] = promote()
    except Exception as exc:
        _put_back(staged, quarantine)
        raise gate.GateError(
            f"the batch passed its gate but promote failed ({exc}); it is back in {quarantine}. "
            f"Fix the cause, then run `autocorp-lake release {zone} {run_id}` again"
        ) from exc
    return summary


def _put_back(staged: str, quarantine: str) -> None:
    if gate.exists(staged) and not gate.exists(quarantine):
        gate.move_tree(staged, quarantine)


def _lake_root() -> str:
    from autocorp_lake import config

    return config.lake_uri()
