"""The quality gate: validate one staged batch with its GX suite before promote.

`run_gate(batch)` takes the Glue script arguments of the batch (`--kind table|feed`, `--name`,
`--run_id`, `--lake_root`, `--registry`) and:

1. finds the staged batch `staged/<zone>/<run_id>/` (zone = the table name, or `feed_<feed>` for a
   CSV feed, the same name as the suite); on AWS (`s3://` lake root) it downloads it to a temp dir;
2. for tables, nulls every non-key column of delete rows (Op = 'D': Hudi deletes by key, so only
   the key of a delete is validated), then adds the suite's derived `_chk_*` columns (`meta.autocorp.derived_columns` of the suite JSON):
   cross-column differences (`total_amount - (subtotal + tax)`, `line_total - quantity * price`),
   `dms_commit_ts` as a timestamp, and referential-integrity orphans: a foreign key value found in
   neither the curated parent (`curated/hudi/<parent>/` base files) nor any staged parent batch
   (`staged/<parent zone>/*/`) is copied into `_chk_orphan_<column>` (null otherwise), so a plain
   `expect_column_values_to_be_null` counts the orphans and samples them (the check is skipped,
   all null, when the parent has no data at all yet);
3. validates with GX Core on pandas when the batch has fewer than `AUTOCORP_GATE_PANDAS_MAX_ROWS`
   rows (default 500,000), otherwise on Spark, with the same suite; suite parameters: row-count
   band around the previous run (`AUTOCORP_GATE_ROWCOUNT_MIN_RATIO` / `_MAX_RATIO`, default 0.1 / 10),
   freshness (`AUTOCORP_GATE_FRESHNESS_HOURS`, default 48, on `dms_commit_ts` of tables;
   `AUTOCORP_GATE_FEED_FRESHNESS_DAYS`, default 3650, on updated_at/created_at of feeds), the
   order-date window (ORDER_DATE_START..ORDER_DATE_END for feeds; START..now+1 day for tables);
4. writes `logs/quality/<zone>/<run_id>/result.json` (summary rows) and `validation_result.json`
   (the GX result), and rebuilds the Data Docs site `logs/quality/data_docs/` (GX validation
   results kept in `logs/quality/gx_results/`; on AWS built in a temp dir and uploaded);
5. pass or warnings only: returns the summary (promote runs next). Any critical failure: moves the
   staged folder to `quarantine/<zone>/<run_id>/batch/` with `validation_result.json` beside it and
   raises `QualityGateFailed` (an `AirflowFailException` when Airflow is importable: no retry)
   naming the table, the failed expectations, counts and a sample of offending keys. Promote does
   not run, so the curated Hudi table is untouched; the next run has its own staged folder, so it
   is not blocked. A fixed batch goes back with `autocorp_lake.quality.release.release(name, run_id)`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from autocorp_lake import config, lake
from autocorp_lake.jobs import glue
from autocorp_lake.lake import BatchArgs
from autocorp_lake.quality import schema_drift, suites

log = logging.getLogger(__name__)

DEFAULT_PANDAS_MAX_ROWS = 500_000
SAMPLE_SIZE = 20


def _failure_base() -> type[Exception]:
    try:  # Airflow 3: the task SDK's exception (airflow.exceptions re-exports it, deprecated)
        from airflow.sdk.exceptions import AirflowFailException

        return AirflowFailException
    except Exception:
        pass
    try:
        from airflow.exceptions import AirflowFailException

        return AirflowFailException
    except Exception:  # airflow absent (Glue, plain scripts)
        return RuntimeError


class QualityGateFailed(_failure_base()):  # type: ignore[misc]
    """A critical expectation failed: the batch is quarantined; do not retry."""

    def __init__(self, message: str, summary: dict | None = None):
        super().__init__(message)
        self.summary = summary or {}


class GateError(RuntimeError):
    """The gate cannot run (no staged batch, bad arguments); the message says what to do."""


# --- settings ----------------------------------------------------------------------------------


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    try:
        return float(value) if value not in (None, "") else default
    except ValueError as exc:
        raise GateError(f"{name}={value!r} is not a number") from exc


def pandas_max_rows() -> int:
    return int(_env_float("AUTOCORP_GATE_PANDAS_MAX_ROWS", DEFAULT_PANDAS_MAX_ROWS))


def choose_engine(rows: int, engine: str | None = None) -> str:
    engine = engine or os.environ.get("AUTOCORP_GATE_ENGINE") or None
    if engine:
        if engine not in ("pandas", "spark"):
            raise GateError(f"gate engine {engine!r} is not pandas or spark")
        return engine
    return "pandas" if rows < pandas_max_rows() else "spark"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def suite_parameters(kind: str, previous_rows: int | None, now: dt.datetime | None = None,
                     lake_root: str | None = None) -> dict[str, Any]:
    """Values of the suites' $PARAMETERs for one run (the order-date window as the cleaner sees it)."""
    now = now or _utcnow()
    low, high = _env_float("AUTOCORP_GATE_ROWCOUNT_MIN_RATIO", 0.1), _env_float("AUTOCORP_GATE_ROWCOUNT_MAX_RATIO", 10.0)
    if previous_rows:
        row_min, row_max = int(previous_rows * low), int(previous_rows * high) + 1
    else:
        row_min, row_max = 0, 2**62
    start, end = (dt.datetime.combine(day, dt.time()) for day in config.order_window(lake_root))
    end += dt.timedelta(days=1, microseconds=-1)
    if kind == "table":
        freshness = now - dt.timedelta(hours=_env_float("AUTOCORP_GATE_FRESHNESS_HOURS", 48))
        end = now + dt.timedelta(days=1)
    else:
        freshness = now - dt.timedelta(days=_env_float("AUTOCORP_GATE_FEED_FRESHNESS_DAYS", 3650))
    return {"row_count_min": row_min, "row_count_max": row_max, "freshness_min": freshness,
            "order_date_min": start, "order_date_max": end}


def _curated_name(registry_uri: str | None, parent: dict) -> str:
    if parent["kind"] == "table":
        return parent["name"]
    registry = config.registry_at(registry_uri) if registry_uri else config.registry()
    return registry.feed(parent["name"]).curated_table


def parent_keys(lake_root: str, parent: dict, registry_uri: str | None = None) -> set | None:
    """Keys of a parent (curated Hudi base files + every staged batch); None when it has no data."""
    import pyarrow.parquet as pq

    zone = suites.suite_name(parent["kind"], parent["name"])
    files = lake.list_files(lake.join(lake_root, lake.hudi_prefix(_curated_name(registry_uri, parent))))
    files += lake.list_files(lake.join(lake_root, "staged", zone))
    if not files:
        return None
    keys: set = set()
    with tempfile.TemporaryDirectory(prefix="gate-parent-") as scratch:
        for index, path in enumerate(files):
            if lake.is_s3(path):  # boto3, like the batch itself
                path = lake.download(path, os.path.join(scratch, f"{index}.parquet"))
            if parent["column"] not in pq.read_schema(path).names:
                continue
            column = pq.read_table(path, columns=[parent["column"]]).column(0)
            keys.update(v for v in column.to_pylist() if v is not None)
            if lake.is_s3(files[index]):
                os.remove(path)
    return keys


def parent_keys_spark(spark, lake_root: str, parent: dict, registry_uri: str | None = None):
    """The parent's distinct keys as a one-column Spark dataframe (`__parent_key`), read by Spark
    itself (s3:// on Glue), so a million keys never pass through the driver; None without data."""
    from pyspark.sql import functions as F

    zone = suites.suite_name(parent["kind"], parent["name"])
    files = lake.list_files(lake.join(lake_root, lake.hudi_prefix(_curated_name(registry_uri, parent))))
    files += lake.list_files(lake.join(lake_root, "staged", zone))
    if not files:
        return None
    keys = spark.read.parquet(*files).select(F.col(parent["column"]).cast("string").alias("__parent_key"))
    return keys.where(F.col("__parent_key").isNotNull()).distinct()


# --- the batch as a dataframe ----------------------------------------------------------------


def _arrow_table(files: list[str]):
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = [pq.read_table(f) for f in files]
    if not tables:
        return None
    return pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]


def to_pandas(table):
    """Arrow -> pandas with the dtypes the suites name: decimals as float64, timestamps as naive
    datetime64[ns] (UTC), integers as nullable Int16/32/64, strings as object."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for field in table.schema:
        column = table.column(field.name)
        if pa.types.is_decimal(field.type):
            column = pc.cast(column, pa.float64())
        elif pa.types.is_timestamp(field.type):
            if field.type.tz is not None:  # instants: UTC wall time, naive
                column = pc.cast(pc.cast(pc.cast(column, pa.timestamp("ns", tz="UTC")), pa.int64()), pa.timestamp("ns"))
            else:
                column = pc.cast(column, pa.timestamp("ns"))
        columns.append(column)
    table = pa.table(columns, names=table.column_names)
    mapping = {pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(), pa.int64(): pd.Int64Dtype()}
    return table.to_pandas(types_mapper=mapping.get)


KEEP_ON_DELETE = ("Op", "dms_commit_ts", "dms_change_seq", "_hoodie_is_deleted", "order_month")


def delete_masked_columns(columns, keys) -> list[str]:
    """Columns nulled on delete rows (Op = 'D') before validation: a delete writes only its key,
    so its before-image is not checked (e.g. a deleted part's sku re-used by a new part)."""
    return [c for c in columns if c not in KEEP_ON_DELETE and c not in keys]


def add_derived_pandas(df, specs: list[dict], kind: str, lake_root: str, registry_uri: str | None, notes: list,
                       keys: tuple = ()):
    import numpy as np
    import pandas as pd

    if kind == "table" and "Op" in df.columns:
        deletes = df["Op"].eq("D").fillna(False).to_numpy(dtype=bool)
        if deletes.any():
            for column in delete_masked_columns(df.columns, keys):
                df[column] = df[column].mask(deletes)

    def num(column):
        if column not in df.columns:
            return pd.Series(np.nan, index=df.index, dtype="float64")
        return pd.to_numeric(df[column], errors="coerce").astype("float64")

    for spec in specs:
        name = spec["name"]
        if spec["kind"] == "timestamp":
            values = df[spec["column"]] if spec["column"] in df.columns else pd.Series(None, index=df.index)
            df[name] = pd.to_datetime(values, errors="coerce").astype("datetime64[ns]")
        elif spec["kind"] == "linear":
            total = num(spec["sum"][0])
            for term in spec["sum"][1:]:
                total = total + num(term)
            df[name] = (num(spec["target"]) - total).round(2)
        elif spec["kind"] == "product":
            total = sum(num(term).fillna(0.0) for term in spec["sum"])
            df[name] = (num(spec["target"]) - num(spec["factor"]) * total).round(2)
        elif spec["kind"] == "orphan":
            column = spec["column"]
            keys = parent_keys(lake_root, spec["parent"], registry_uri)
            values = df[column] if column in df.columns else pd.Series(None, index=df.index, dtype="object")
            if keys is None:
                notes.append(f"{name}: parent {spec['parent']['kind']} {spec['parent']['name']} has no data yet; check skipped")
                df[name] = pd.Series(None, index=df.index, dtype="object")
                continue
            orphan = values.notna() & ~values.isin(keys)
            if kind == "table" and "Op" in df.columns:
                orphan &= df["Op"].ne("D").fillna(True)
            df[name] = values.astype("object").where(orphan, None)
        else:
            raise GateError(f"unknown derived column kind {spec['kind']!r} in the suite ({name})")
    return df


def add_derived_spark(df, specs: list[dict], kind: str, lake_root: str, registry_uri: str | None, notes: list,
                      keys: tuple = ()):
    from pyspark.sql import functions as F

    if kind == "table" and "Op" in df.columns:
        not_delete = F.coalesce(F.col("Op") != F.lit("D"), F.lit(True))
        for column in delete_masked_columns(df.columns, keys):
            df = df.withColumn(column, F.when(not_delete, F.col(column)))

    def num(column):
        return F.col(column).cast("double") if column in df.columns else F.lit(None).cast("double")

    for spec in specs:
        name = spec["name"]
        if spec["kind"] == "timestamp":
            source = F.col(spec["column"]) if spec["column"] in df.columns else F.lit(None).cast("string")
            df = df.withColumn(name, F.to_timestamp(source))
        elif spec["kind"] == "linear":
            total = num(spec["sum"][0])
            for term in spec["sum"][1:]:
                total = total + num(term)
            df = df.withColumn(name, F.round(num(spec["target"]) - total, 2))
        elif spec["kind"] == "product":
            total = None
            for term in spec["sum"]:
                part = F.coalesce(num(term), F.lit(0.0))
                total = part if total is None else total + part
            df = df.withColumn(name, F.round(num(spec["target"]) - num(spec["factor"]) * total, 2))
        elif spec["kind"] == "orphan":
            column = spec["column"]
            parent = parent_keys_spark(df.sparkSession, lake_root, spec["parent"], registry_uri)
            if parent is None or column not in df.columns:
                if parent is None:
                    notes.append(f"{name}: parent {spec['parent']['kind']} {spec['parent']['name']} has no data yet; check skipped")
                df = df.withColumn(name, F.lit(None).cast("string"))
                continue
            joined = df.join(F.broadcast(parent), F.col(column).cast("string") == F.col("__parent_key"), "left")
            orphan = F.col(column).isNotNull() & F.col("__parent_key").isNull()
            if kind == "table" and "Op" in df.columns:
                orphan = orphan & (F.coalesce(F.col("Op"), F.lit("")) != "D")
            df = joined.withColumn(name, F.when(orphan, F.col(column).cast("string"))).drop("__parent_key")
        else:
            raise GateError(f"unknown derived column kind {spec['kind']!r} in the suite ({name})")
    return df


# --- GX ----------------------------------------------------------------------------------------


def gx_context(results_dir: str, docs_dir: str):
    """An ephemeral GX context whose validation results persist in results_dir (files) and whose
    Data Docs site is docs_dir: every gate run adds its result and rebuilds the whole site."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    defaults = InMemoryStoreBackendDefaults(init_temp_docs_sites=False)
    stores = dict(defaults.stores)
    stores["validation_results_store"] = {
        "class_name": "ValidationResultsStore",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(results_dir)},
    }
    config = DataContextConfig(
        store_backend_defaults=defaults,
        stores=stores,
        data_docs_sites={
            "lake": {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def validate(context, suite, data, engine: str, zone: str, run_id: str, key: str | None,
             parameters: dict, run_time: dt.datetime):
    """Run the suite on a pandas or Spark dataframe; the GX ExpectationSuiteValidationResult."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    if engine == "pandas":
        source = context.data_sources.add_pandas(f"autocorp_{engine}")
    else:
        source = context.data_sources.add_spark(f"autocorp_{engine}")
    asset = source.add_dataframe_asset(zone)
    batch_definition = asset.add_batch_definition_whole_dataframe("staged_batch")
    suite = context.suites.add(suite)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{zone}__{run_id}", data=batch_definition, suite=suite)
    )
    result_format: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE}
    if key and key in _columns(data):
        result_format["unexpected_index_column_names"] = [key]
    return definition.run(
        batch_parameters={"dataframe": data},
        expectation_parameters=parameters,
        result_format=result_format,
        run_id=RunIdentifier(run_name=f"{zone}__{run_id}", run_time=run_time.replace(tzinfo=dt.timezone.utc)),
    )


def _columns(data) -> list[str]:
    return list(data.columns)


def _jsonable(value):
    try:
        from great_expectations.util import convert_to_json_serializable

        return convert_to_json_serializable(value)
    except Exception:
        return json.loads(json.dumps(value, default=str))


def summarize(gx_result, key: str | None) -> list[dict]:
    rows = []
    for item in gx_result.results:
        config = item.expectation_config
        result = item.result or {}
        kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
        sample_keys = []
        for entry in result.get("partial_unexpected_index_list") or []:
            if isinstance(entry, dict) and key in entry:
                sample_keys.append(entry[key])
        exception = (item.exception_info or {}).get("exception_message") if item.exception_info else None
        rows.append(
            {
                "expectation": config.type,
                "column": kwargs.get("column"),
                "severity": (config.meta or {}).get("severity", "critical"),
                "rule": (config.meta or {}).get("rule"),
                "success": bool(item.success),
                "unexpected_count": result.get("unexpected_count"),
                "element_count": result.get("element_count"),
                "observed_value": _jsonable(result.get("observed_value")),
                "sample_unexpected": _jsonable((result.get("partial_unexpected_list") or [])[:SAMPLE_SIZE]),
                "sample_keys": _jsonable(sample_keys[:SAMPLE_SIZE]),
                "exception": exception,
            }
        )
    return rows


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


def prune_results(results_dir: str, zone: str) -> None:
    """Keep the newest AUTOCORP_GATE_DOCS_KEEP (default 50) GX results of a suite, so the Data
    Docs rebuild stays quick with a CDC run every 10 minutes (result.json files are all kept)."""
    keep = int(_env_float("AUTOCORP_GATE_DOCS_KEEP", 50))
    folder = Path(results_dir) / zone
    if not folder.is_dir():
        return
    runs = sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in runs[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def sync_results_up(results_local: str, results_uri: str, zone: str) -> None:
    """S3 copy of one suite's GX results = the local (pruned) folder: upload new, delete pruned."""
    local = Path(results_local) / zone
    remote = lake.join(results_uri, zone)
    if local.is_dir():
        lake.upload_tree(str(local), remote)
    kept = {str(p.relative_to(local)) for p in local.rglob("*") if p.is_file()} if local.is_dir() else set()
    for key in lake.list_keys(remote):
        if key[len(remote) + 1:] not in kept:
            lake.remove_tree(key)


# --- previous runs -----------------------------------------------------------------------------


def previous_result(lake_root: str, zone: str, run_id: str) -> dict | None:
    """The newest result.json of another run of the same table/feed that had rows."""
    best = None
    for key in lake.list_keys(lake.join(lake_root, "logs/quality", zone)):
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


# --- the gate ----------------------------------------------------------------------------------


def staged_rows(staged: str) -> int | None:
    """Rows of a staged batch: the parquet footers of a local batch (exact, cheap); for an s3://
    batch the `_batch.json` manifest of apply_changes / clean_feed, so that no data is fetched to
    decide where to validate it; None when neither is there."""
    if not lake.is_s3(staged):
        files = lake.list_files(staged)
        return _footer_rows(files) if files else None
    manifest = lake.join(staged, "_batch.json")
    if not lake.exists(manifest):
        return None
    rows = json.loads(lake.read_text(manifest)).get("rows")
    return None if rows is None else int(rows)


def _local_files(staged: str, files: list[str], workdir: str) -> list[str]:
    """The batch's parquet files on local disk (an s3:// batch is downloaded once)."""
    if not lake.is_s3(staged):
        return files
    local = os.path.join(workdir, "batch")
    if not os.path.isdir(local):
        lake.download_tree(staged, local)
    return lake.list_files(local)


def _footer_rows(files: list[str]) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def task_summary(summary: dict) -> dict:
    """What the gate task returns (its XCom): the summary without the per-expectation rows."""
    rows_out = summary.get("results") or []
    return {k: v for k, v in summary.items() if k != "results"} | {
        "expectations": len(rows_out),
        "passed": sum(1 for r in rows_out if r["success"]),
    }


def run_gate(batch: BatchArgs | dict, engine: str | None = None, now: dt.datetime | None = None) -> dict:
    """Validate the staged batch (BatchArgs, or the pipeline's script arguments); see the module doc."""
    if not isinstance(batch, BatchArgs):
        batch = BatchArgs.from_script_args(batch)
    kind, name, zone, run_id, lake_root = batch.kind, batch.name, batch.zone, batch.run_id, batch.lake_root
    registry_uri = batch.registry
    now = now or _utcnow()

    suite_data = suites.read_suite_json(zone)
    meta = (suite_data.get("meta") or {}).get("autocorp") or {}
    key = (meta.get("primary_key") or [None])[0]
    staged, quarantine, out_dir = batch.staged, batch.quarantine, batch.quality_results

    if not lake.exists(staged):
        if lake.exists(lake.join(quarantine, lake.QUARANTINED_BATCH)):
            raise QualityGateFailed(
                f"batch {run_id} of {zone} is in quarantine ({quarantine}); fix it and release it with "
                f"autocorp-lake release {zone} {run_id}"
            )
        raise GateError(
            f"no staged batch at {staged}; run the {'clean_feed' if kind == 'feed' else 'apply_changes'} "
            f"job for {name} with --run_id {run_id} first"
        )

    workdir = tempfile.mkdtemp(prefix=f"gate-{zone}-")
    try:
        files = lake.list_files(staged)  # s3:// URIs on AWS: what Spark reads
        rows = staged_rows(staged)
        if rows is None:
            rows = _footer_rows(_local_files(staged, files, workdir))
        summary: dict[str, Any] = {
            "kind": kind, "name": name, "zone": zone, "run_id": run_id, "key": key,
            "suite": zone, "rows": rows, "engine": None, "validated_at": now.isoformat() + "Z",
            "staged": staged, "quarantine": None, "status": None, "notes": [],
            "critical_failures": [], "warnings": [], "results": [],
            "data_docs": lake.join(lake.join(lake_root, lake.DATA_DOCS_PREFIX), "index.html"),
        }
        if rows == 0:
            summary.update(status="empty", engine="none")
            summary["notes"].append("empty batch: nothing to validate")
            lake.write_text(lake.join(out_dir, "result.json"), json.dumps(summary, indent=2, default=str))
            return summary

        drift = None
        if kind == "table":
            suite_data, drift = _schema_drift(suite_data, staged, lake_root, name, meta)
            summary["schema_drift"] = drift.__dict__ if drift.new or drift.blocking else None
        previous = previous_result(lake_root, zone, run_id)
        parameters = suite_parameters(kind, previous["rows"] if previous else None, now, lake_root)
        summary["parameters"] = _jsonable(parameters)
        summary["previous_run"] = previous["run_id"] if previous else None
        chosen = choose_engine(rows, engine)
        summary["engine"] = chosen
        specs = suites.derived_columns(suite_data)
        if chosen == "pandas":
            data = add_derived_pandas(to_pandas(_arrow_table(_local_files(staged, files, workdir))), specs, kind, lake_root, registry_uri,
                                      summary["notes"], tuple(meta.get("primary_key") or ()))
        else:
            spark = glue.get_spark("quality-gate")  # reads s3:// itself on Glue: a big batch is never copied to a worker
            data = add_derived_spark(spark.read.parquet(*files), specs, kind, lake_root, registry_uri,
                                     summary["notes"], tuple(meta.get("primary_key") or ()))

        docs_local = lake.join(lake_root, lake.DATA_DOCS_PREFIX) if not lake.is_s3(lake_root) else os.path.join(workdir, "data_docs")
        results_local = lake.join(lake_root, lake.QUALITY_RESULTS_PREFIX) if not lake.is_s3(lake_root) else os.path.join(workdir, "gx_results")
        if lake.is_s3(lake_root):  # GX 1.x has no S3 stores: work on a local copy of the results
            lake.download_tree(lake.join(lake_root, lake.QUALITY_RESULTS_PREFIX), results_local)
        context = gx_context(results_local, docs_local)
        suite = suites.to_gx_suite(suite_data, zone)
        gx_result = validate(context, suite, data, chosen, zone, run_id, key, parameters, now)
        rows_out = summarize(gx_result, key) + (schema_drift.result_rows(drift) if drift else [])
        summary["results"] = rows_out
        summary["critical_failures"] = [r for r in rows_out if not r["success"] and r["severity"] == "critical"]
        summary["warnings"] = [
            {"expectation": _label(r), "rule": r["rule"], "unexpected_count": r["unexpected_count"],
             "sample_keys": r["sample_keys"][:5]}
            for r in rows_out if not r["success"] and r["severity"] != "critical"
        ]
        summary["status"] = "failed" if summary["critical_failures"] else ("warning" if summary["warnings"] else "passed")
        gx_json = json.dumps(_jsonable(gx_result.to_json_dict()), indent=2, default=str)

        lake.write_text(lake.join(out_dir, "validation_result.json"), gx_json)
        try:
            prune_results(results_local, zone)
            context.build_data_docs()
            if lake.is_s3(lake_root):
                sync_results_up(results_local, lake.join(lake_root, lake.QUALITY_RESULTS_PREFIX), zone)
                lake.upload_tree(docs_local, lake.join(lake_root, lake.DATA_DOCS_PREFIX))
        except Exception as exc:  # the docs are a view; never let them decide the gate
            log.warning("Data Docs build failed: %s", exc)
            summary["notes"].append(f"Data Docs build failed: {exc}")

        if summary["critical_failures"]:
            summary["quarantine"] = lake.join(quarantine, lake.QUARANTINED_BATCH)
            lake.move_tree(staged, summary["quarantine"])
            lake.write_text(lake.join(quarantine, "validation_result.json"), gx_json)
            lake.write_text(lake.join(quarantine, "result.json"), json.dumps(summary, indent=2, default=str))
            lake.write_text(lake.join(out_dir, "result.json"), json.dumps(summary, indent=2, default=str))
            message = failure_message(summary)
            if drift is not None and drift.blocking:
                message += "\n" + schema_drift.schema_fix(name, drift)
            log.error(message)
            raise QualityGateFailed(message, summary)
        lake.write_text(lake.join(out_dir, "result.json"), json.dumps(summary, indent=2, default=str))
        for warning in summary["warnings"]:
            log.warning("quality warning on %s %s: %s", zone, run_id, warning)
        return task_summary(summary)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _schema_drift(suite_data: dict, staged: str, lake_root: str, table: str, meta: dict):
    """(the suite that follows the batch's new columns, the Drift); see schema_drift."""
    manifest = lake.join(staged, "_batch.json")
    batch_schema = json.loads(lake.read_text(manifest)).get("schema") if lake.exists(manifest) else None
    if not batch_schema:
        return suite_data, schema_drift.Drift()
    curated = schema_drift.latest_commit_schema(lake_root, table, lake.list_children, lake.read_text)
    derived = [spec["name"] for spec in suites.derived_columns(suite_data)]
    drift = schema_drift.compare(batch_schema, curated, suite_data, derived, list(meta.get("primary_key") or []))
    for name, kind in drift.new:
        log.warning("%s: new column %s (%s) in the source; the gate lets it through to curated", table, name, kind)
    return schema_drift.follow_schema(suite_data, drift, batch_schema, derived), drift
