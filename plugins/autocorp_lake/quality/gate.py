"""The quality gate: validate one staged batch with its GX suite before promote.

`run_gate(batch)` takes the batch (`lake.BatchArgs`, or the pipeline's script arguments `--kind
table|feed`, `--name`, `--run_id`, `--lake_root`, `--registry`) and runs these steps:

1. locate: the staged batch `staged/<zone>/<run_id>/` (zone = the table name, or `feed_<feed>` for
   a CSV feed, the same name as the suite) and its rows; an empty batch passes as `empty`;
2. schema (tables): new columns pass with a warning, dropped or retyped ones block (`schema_drift`);
3. parameters of the suite: row-count band around the previous run (`AUTOCORP_GATE_ROWCOUNT_MIN_RATIO`
   / `_MAX_RATIO`, default 0.1 / 10), freshness (`AUTOCORP_GATE_FRESHNESS_HOURS`, default 48, on
   `dms_commit_ts` of tables; `AUTOCORP_GATE_FEED_FRESHNESS_DAYS`, default 3650, on
   updated_at/created_at of feeds), the order-date window (ORDER_DATE_START..ORDER_DATE_END for
   feeds; START..now+1 day for tables); the settings are read in `config`;
4. load: on pandas when the batch has fewer than `AUTOCORP_GATE_PANDAS_MAX_ROWS` rows (default
   500,000; an s3:// batch is downloaded to a temp dir), otherwise on Spark (which reads s3://
   itself), then delete rows masked and the suite's derived `_chk_*` columns added (`derived`);
5. validate with GX Core (`gx_run`) and sort the results into critical failures and warnings;
6. write `logs/quality/<zone>/<run_id>/validation_result.json` (the GX result) and rebuild the Data
   Docs site `logs/quality/data_docs/` (GX results kept in `logs/quality/gx_results/`);
7. pass or warnings only: writes `result.json` (summary rows) and returns the task's summary
   (promote runs next). Any critical failure: quarantine, i.e. the staged folder moves to
   `quarantine/<zone>/<run_id>/batch/` with `validation_result.json` and `result.json` beside it,
   and `QualityGateFailed` is raised (an `AirflowFailException` when Airflow is importable: no
   retry) naming the table, the failed expectations, counts and a sample of offending keys. Promote
   does not run, so the curated Hudi table is untouched; the next run has its own staged folder, so
   it is not blocked. A fixed batch goes back with `autocorp_lake.quality.release.release(name, run_id)`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Any

from autocorp_lake import config, lake
from autocorp_lake.lake import BatchArgs
from autocorp_lake.quality import derived, gx_run, schema_drift, suites
from autocorp_lake.quality.errors import GateError, QualityGateFailed

log = logging.getLogger(__name__)


# --- engine and parameters ---------------------------------------------------------------------


def choose_engine(rows: int, engine: str | None = None) -> str:
    engine = engine or config.gate_engine()
    if engine:
        if engine not in config.GATE_ENGINES:
            raise GateError(f"gate engine {engine!r} is not pandas or spark")
        return engine
    return "pandas" if rows < config.gate_pandas_max_rows() else "spark"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def suite_parameters(kind: str, previous_rows: int | None, now: dt.datetime | None = None,
                     lake_root: str | None = None) -> dict[str, Any]:
    """Values of the suites' $PARAMETERs for one run (the order-date window as the cleaner sees it)."""
    now = now or _utcnow()
    low, high = config.gate_rowcount_ratios()
    if previous_rows:
        row_min, row_max = int(previous_rows * low), int(previous_rows * high) + 1
    else:
        row_min, row_max = 0, 2**62
    start, end = (dt.datetime.combine(day, dt.time()) for day in config.order_window(lake_root))
    end += dt.timedelta(days=1, microseconds=-1)
    if kind == "table":
        freshness = now - dt.timedelta(hours=config.gate_freshness_hours())
        end = now + dt.timedelta(days=1)
    else:
        freshness = now - dt.timedelta(days=config.gate_feed_freshness_days())
    return {"row_count_min": row_min, "row_count_max": row_max, "freshness_min": freshness,
            "order_date_min": start, "order_date_max": end}


def previous_result(lake_root: str, zone: str, run_id: str) -> dict | None:
    """The newest result.json of another run of the same table/feed that had rows."""
    best = None
    for key in lake.list_keys(lake.join(lake_root, lake.quality_prefix(zone))):
        if not key.endswith("/result.json") and not key.endswith(os.sep + "result.json"):
            continue
        try:
            data = json.loads(lake.read_text(key))
        except (OSError, ValueError):
            continue
        if data.get("run_id") == run_id or not data.get("rows"):
            continue
        if best is None or data.get("validated_at", "") > best.get("validated_at", ""):
            best = data
    return best


# --- the batch's files and rows ----------------------------------------------------------------


def staged_rows(staged: str) -> int | None:
    """Rows of a staged batch: the parquet footers of a local batch (exact, cheap); for an s3://
    batch the `_batch.json` manifest of apply_changes / clean_feed, so that no data is fetched to
    decide where to validate it; None when neither is there."""
    if not lake.is_s3(staged):
        files = lake.list_files(staged)
        return _footer_rows(files) if files else None
    manifest = lake.join(staged, lake.BATCH_MANIFEST)
    if not lake.exists(manifest):
        return None
    rows = json.loads(lake.read_text(manifest)).get("rows")
    return None if rows is None else int(rows)


def _footer_rows(files: list[str]) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def to_pandas(files: list[str]):
    """The parquet files as one pandas dataframe with the dtypes the suites name: decimals as
    float64, timestamps as naive datetime64[ns] (UTC), integers as nullable Int16/32/64, strings
    as object."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    tables = [pq.read_table(f) for f in files]
    table = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
    columns = []
    for item in table.schema:
        column = table.column(item.name)
        if pa.types.is_decimal(item.type):
            column = pc.cast(column, pa.float64())
        elif pa.types.is_timestamp(item.type):
            if item.type.tz is not None:  # instants: UTC wall time, naive
                column = pc.cast(pc.cast(pc.cast(column, pa.timestamp("ns", tz="UTC")), pa.int64()), pa.timestamp("ns"))
            else:
                column = pc.cast(column, pa.timestamp("ns"))
        columns.append(column)
    table = pa.table(columns, names=table.column_names)
    mapping = {pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(), pa.int64(): pd.Int64Dtype()}
    return table.to_pandas(types_mapper=mapping.get)


# --- messages ----------------------------------------------------------------------------------


def task_summary(summary: dict) -> dict:
    """What the gate task returns (its XCom): the summary without the per-expectation rows."""
    rows_out = summary.get("results") or []
    return {k: v for k, v in summary.items() if k != "results"} | {
        "expectations": len(rows_out),
        "passed": sum(1 for r in rows_out if r["success"]),
    }


def _label(row: dict) -> str:
    return f"{row['expectation']}({row['column']})" if row.get("column") else row["expectation"]


def failure_message(summary: dict) -> str:
    what = "feed" if summary["kind"] == "feed" else "table"
    parts = [
        f"quality gate failed for {what} {summary['name']!r} batch {summary['run_id']} "
        f"({summary['rows']} rows, {summary['engine']}): {len(summary['critical_failures'])} critical "
        "expectation(s) failed:"
    ]
    for row in summary["critical_failures"]:
        detail = f"  - {_label(row)}"
        if row.get("rule"):
            detail += f" [{row['rule']}]"
        if row.get("unexpected_count") is not None:
            detail += f": {row['unexpected_count']} unexpected of {row.get('element_count')} rows"
        elif row.get("observed_value") is not None:
            detail += f": observed {json.dumps(row['observed_value'], default=str)[:300]}"
        if row.get("exception"):
            detail += f": error {row['exception'][:300]}"
        if row.get("sample_keys"):
            detail += f"; sample keys {summary['key']}={row['sample_keys'][:10]}"
        elif row.get("sample_unexpected"):
            detail += f"; sample values {json.dumps(row['sample_unexpected'][:10], default=str)}"
        parts.append(detail)
    parts.append(
        f"The batch moved to {summary['quarantine']} (validation_result.json beside it); promote did not "
        f"run and the curated table is untouched. Fix the data, then release it: "
        f"autocorp-lake release {summary['zone']} {summary['run_id']}."
    )
    return "\n".join(parts)


# --- the gate, step by step --------------------------------------------------------------------


@dataclass
class _Run:
    """One gate run: the batch, its suite, and what the steps find and decide."""

    batch: BatchArgs
    suite: dict  # the suite JSON; after _follow_schema, with the batch's new columns
    now: dt.datetime
    workdir: str
    meta: dict = field(init=False)  # meta.autocorp of the suite file
    files: list[str] = field(default_factory=list)  # s3:// URIs on AWS: what Spark reads
    summary: dict = field(default_factory=dict)
    drift: schema_drift.Drift | None = None
    gx_json: str = ""

    def __post_init__(self):
        self.meta = (self.suite.get("meta") or {}).get("autocorp") or {}

    @property
    def primary_key(self) -> tuple:
        return tuple(self.meta.get("primary_key") or ())

    def local_files(self) -> list[str]:
        """The batch's parquet files on local disk (an s3:// batch is downloaded once)."""
        if not lake.is_s3(self.batch.staged):
            return self.files
        local = os.path.join(self.workdir, "batch")
        if not os.path.isdir(local):
            lake.download_tree(self.batch.staged, local)
        return lake.list_files(local)


def _write_json(folder: str, name: str, data) -> None:
    lake.write_text(lake.join(folder, name), json.dumps(data, indent=2, default=str))


def _check_staged(batch: BatchArgs) -> None:
    """The staged batch must be there; a quarantined one fails, a missing one says which job to run."""
    if lake.exists(batch.staged):
        return
    if lake.exists(lake.join(batch.quarantine, lake.QUARANTINED_BATCH)):
        raise QualityGateFailed(
            f"batch {batch.run_id} of {batch.zone} is in quarantine ({batch.quarantine}); fix it and release it with "
            f"autocorp-lake release {batch.zone} {batch.run_id}"
        )
    raise GateError(
        f"no staged batch at {batch.staged}; run the {batch.transform_job} job for {batch.name} "
        f"with --run_id {batch.run_id} first"
    )


def _locate(run: _Run) -> None:
    """The batch's files and rows, and the summary the next steps fill in."""
    batch = run.batch
    run.files = lake.list_files(batch.staged)
    rows = staged_rows(batch.staged)
    if rows is None:
        rows = _footer_rows(run.local_files())
    run.summary = {
        "kind": batch.kind, "name": batch.name, "zone": batch.zone, "run_id": batch.run_id,
        "key": (run.meta.get("primary_key") or [None])[0], "suite": batch.zone, "rows": rows, "engine": None,
        "validated_at": run.now.isoformat() + "Z", "staged": batch.staged, "quarantine": None, "status": None,
        "notes": [], "critical_failures": [], "warnings": [], "results": [],
        "data_docs": lake.join(lake.join(batch.lake_root, lake.DATA_DOCS_PREFIX), "index.html"),
    }


def _empty(run: _Run) -> dict:
    run.summary.update(status="empty", engine="none")
    run.summary["notes"].append("empty batch: nothing to validate")
    _write_json(run.batch.quality_results, "result.json", run.summary)
    return run.summary


def _follow_schema(run: _Run) -> None:
    """A table batch's schema against the lake's (see schema_drift): the suite follows new columns."""
    batch = run.batch
    if batch.kind != "table":
        return
    run.drift = schema_drift.Drift()
    batch_schema = json.loads(lake.read_text(batch.manifest)).get("schema") if lake.exists(batch.manifest) else None
    if batch_schema:
        curated = schema_drift.latest_commit_schema(batch.lake_root, batch.name, lake.list_children, lake.read_text)
        names = [spec["name"] for spec in suites.derived_columns(run.suite)]
        run.drift = schema_drift.compare(batch_schema, curated, run.suite, names, list(run.primary_key))
        for name, kind in run.drift.new:
            log.warning("%s: new column %s (%s) in the source; the gate lets it through to curated",
                        batch.name, name, kind)
        run.suite = schema_drift.follow_schema(run.suite, run.drift, batch_schema, names)
    run.summary["schema_drift"] = run.drift.__dict__ if run.drift.new or run.drift.blocking else None


def _parameters(run: _Run) -> dict:
    batch = run.batch
    previous = previous_result(batch.lake_root, batch.zone, batch.run_id)
    parameters = suite_parameters(batch.kind, previous["rows"] if previous else None, run.now, batch.lake_root)
    run.summary["parameters"] = gx_run.jsonable(parameters)
    run.summary["previous_run"] = previous["run_id"] if previous else None
    return parameters


def _load(run: _Run):
    """The batch as a dataframe of the chosen engine, with the derived columns."""
    engine = run.summary["engine"]
    if engine == "pandas":
        data = to_pandas(run.local_files())
    else:  # Spark reads s3:// itself on Glue: a big batch is never copied to a worker
        from autocorp_lake.jobs import glue  # the Glue zip's, not plugins.zip's (no pyspark on MWAA)

        data = glue.get_spark("quality-gate").read.parquet(*run.files)
    return derived.add_derived(data, engine, suites.derived_columns(run.suite), run.batch, run.summary["notes"],
                               run.primary_key)


def _validate(run: _Run, data, parameters: dict) -> gx_run.Site:
    """Validate, and sort the results into critical failures and warnings (plus the schema's rows)."""
    batch, summary = run.batch, run.summary
    site = gx_run.open_site(batch.lake_root, run.workdir)
    gx_result = gx_run.validate(site.context, suites.to_gx_suite(run.suite, batch.zone), data, summary["engine"],
                                batch.zone, batch.run_id, summary["key"], parameters, run.now)
    rows = gx_run.summarize(gx_result, summary["key"]) + (schema_drift.result_rows(run.drift) if run.drift else [])
    summary["results"] = rows
    summary["critical_failures"] = [r for r in rows if not r["success"] and r["severity"] == "critical"]
    summary["warnings"] = [
        {"expectation": _label(r), "rule": r["rule"], "unexpected_count": r["unexpected_count"],
         "sample_keys": r["sample_keys"][:5]}
        for r in rows if not r["success"] and r["severity"] != "critical"
    ]
    summary["status"] = "failed" if summary["critical_failures"] else ("warning" if summary["warnings"] else "passed")
    run.gx_json = json.dumps(gx_run.jsonable(gx_result.to_json_dict()), indent=2, default=str)
    return site


def _write_results(run: _Run, site: gx_run.Site, docs: bool) -> None:
    lake.write_text(lake.join(run.batch.quality_results, "validation_result.json"), run.gx_json)
    try:
        if docs:
            gx_run.publish(site, run.batch.zone, run.batch.run_id)
        else:  # the caller builds the Data Docs of its gates together (gx_run.publish_runs)
            gx_run.keep_results(site, run.batch.zone)
    except Exception as exc:  # the docs are a view; never let them decide the gate
        what = "Data Docs build" if docs else "keeping the GX results for the Data Docs"
        log.warning("%s failed: %s", what, exc)
        run.summary["notes"].append(f"{what} failed: {exc}")


def _quarantine(run: _Run) -> None:
    """Move the batch to quarantine with its results beside it, and fail (no retry)."""
    batch, summary = run.batch, run.summary
    summary["quarantine"] = lake.join(batch.quarantine, lake.QUARANTINED_BATCH)
    message = failure_message(summary)
    if run.drift is not None and run.drift.blocking:
        message += "\n" + schema_drift.schema_fix(batch.name, run.drift)
    summary["message"] = message  # what the quality_gate task fails with, on either target
    lake.move_tree(batch.staged, summary["quarantine"])
    lake.write_text(lake.join(batch.quarantine, "validation_result.json"), run.gx_json)
    _write_json(batch.quarantine, "result.json", summary)
    _write_json(batch.quality_results, "result.json", summary)
    log.error(message)
    raise QualityGateFailed(message, summary)


def _passed(run: _Run) -> dict:
    _write_json(run.batch.quality_results, "result.json", run.summary)
    for warning in run.summary["warnings"]:
        log.warning("quality warning on %s %s: %s", run.batch.zone, run.batch.run_id, warning)
    return task_summary(run.summary)


def run_gate(batch: BatchArgs | dict, engine: str | None = None, now: dt.datetime | None = None,
             docs: bool = True) -> dict:
    """Validate the staged batch (BatchArgs, or the pipeline's script arguments); see the module doc.
    docs=False: its Data Docs pages are left to the caller (`gx_run.publish_runs`)."""
    if not isinstance(batch, BatchArgs):
        batch = BatchArgs.from_script_args(batch)
    suite = suites.read_suite_json(batch.zone)
    _check_staged(batch)
    run = _Run(batch, suite, now or _utcnow(), tempfile.mkdtemp(prefix=f"gate-{batch.zone}-"))
    try:
        _locate(run)
        if run.summary["rows"] == 0:
            return _empty(run)
        _follow_schema(run)
        parameters = _parameters(run)
        run.summary["engine"] = choose_engine(run.summary["rows"], engine)
        site = _validate(run, _load(run), parameters)
        _write_results(run, site, docs)
        if run.summary["critical_failures"]:
            _quarantine(run)
        return _passed(run)
    finally:
        shutil.rmtree(run.workdir, ignore_errors=True)
