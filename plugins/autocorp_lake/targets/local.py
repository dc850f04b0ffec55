"""The `local` target: the same steps as aws.py, run by the local engines (the replicator for
DMS, the transfer for DataSync, the same Glue jobs in-process or with spark-submit, the local
crawler and catalog, the local query engine for Athena, JSON lines for CloudWatch). Task ids,
upstreams and inputs equal the aws target's.

Where a step does something else than its aws twin, its factory's doc string says so: locally
nothing waits for another service (the full load ran in start_replication; the CDC step captures
the changes itself)."""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.python import PythonOperator

from autocorp_lake import config
from autocorp_lake.targets import ATHENA_CONCURRENCY, GATE_LABEL, GLUE_CONCURRENCY, in_task


def _start_replication(**context) -> dict:
    """Full load once; `--conf '{"reset": true}'` rebuilds the lake's database tables from a new
    snapshot (the way out after a TRUNCATE in the source)."""
    from autocorp_lake.local import replicator

    reset = bool((context.get("dag_run").conf or {}).get("reset")) if context.get("dag_run") else False
    if replicator.status().get("full_load_done") and not reset:
        return {"skipped": "full load already done; CDC continues from the slot"}
    if reset:
        _forget_database_tables()
    return replicator.full_load(reset=reset)


def _forget_database_tables() -> None:
    """A new full load reuses the LOAD file names: drop the checkpoints, staged and quarantined
    batches and curated tables built from the old ones, so the bootstrap rebuilds them (the new
    snapshot supersedes every change a quarantined batch held)."""
    from autocorp_lake import lake

    root = config.lake_uri()
    for table in config.registry().table_names:
        for key in lake.built_from_raw(table):
            lake.remove_tree(lake.join(root, key))
    _drop_curated_catalog_entries(config.registry().table_names)


def _drop_curated_catalog_entries(tables: list[str]) -> None:
    """The rebuilt tables get new catalog entries from their first promote (hms sync); an old
    entry with another schema would make that sync fail while the Hudi files are written."""
    from autocorp_lake.local import spark as local_spark

    spark = local_spark.build_session("autocorp-reset")
    existing = {row.tableName for row in spark.sql("show tables in autocorp_curated").collect()}
    for table in tables:
        for name in (table, f"{table}_ro", f"{table}_rt"):
            if name in existing:
                spark.sql(f"drop table autocorp_curated.{name}")


def _check_full_load_done() -> dict:
    """The local twin of the DMS full-load sensor, without a wait (start_replication ran the full
    load to its end): fails unless the full load finished for every registry table and the
    replication slot holds the CDC position."""
    from autocorp_lake.local import replicator

    state = replicator.status()
    if not state.get("full_load_done") or not state.get("slot"):
        raise RuntimeError(
            f"full load incomplete (done={state.get('full_load_done')}, slot={state.get('slot')!r}); "
            "rerun autocorp_bootstrap (autocorp-lake run autocorp_bootstrap)"
        )
    return {"slot": state["slot"], "files": state.get("files")}


def _check_replication() -> dict:
    from autocorp_lake.local import replicator

    state = replicator.status()
    if not state.get("slot"):
        raise RuntimeError(
            "the replication slot is missing: the local DMS is not replicating; "
            "run autocorp_bootstrap (autocorp-lake run autocorp_bootstrap)"
        )
    return state


def _capture_cdc_files_or_skip() -> dict:
    """Locally the DMS's CDC writer is the replicator, and this step runs it: one capture drains
    what the replication slot holds now into CDC files under raw/database/, then the run's
    downstream is skipped when that capture found no change and no earlier CDC file is still
    unprocessed. Nothing waits."""
    from airflow.sdk.exceptions import AirflowSkipException

    from autocorp_lake.local import replicator

    report = replicator.capture_batch()
    changes = sum(
        r.get("cdc_inserts", 0) + r.get("cdc_updates", 0) + r.get("cdc_deletes", 0)
        for r in report.get("tables", [])
    )
    if not changes and not replicator.has_unprocessed_cdc_files():
        raise AirflowSkipException("no new changes in the source since the last batch")
    return report


def _crawl(crawler: str) -> dict:
    from autocorp_lake.local import crawler as local_crawler

    return local_crawler.crawl(crawler)


def _run_glue_script(job: str, script_args: dict) -> dict | None:
    from autocorp_lake.local import jobs

    # GlueJobOperator's arguments are `--name value`; the local runner adds the dashes itself.
    try:
        return jobs.run_glue_script(job, {k.removeprefix("--"): v for k, v in script_args.items()})
    except Exception as exc:
        fix = jobs.classpath_fix(exc)
        if fix is None:
            raise
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(fix) from exc


def _record_gate_in_jsonl(batch, summary: dict | None) -> None:
    """A gate verdict appended to the local metrics, on the curated table (a feed's differs from its
    name), so that it lands on the promote's row."""
    from autocorp_lake import metrics

    metrics.append_jsonl([metrics.gate_record(batch.curated_table, batch.run_id, summary)])


def _read_gate_verdict(kind: str, name: str, run_id: str) -> dict:
    from autocorp_lake.quality import dispatch

    return dispatch.verdict_in_task(kind, name, run_id, _record_gate_in_jsonl)


def _publish_metrics_to_jsonl(**context) -> list[dict]:
    """The run's per-table metrics appended to logs/metrics/<day>.jsonl in the lake (the promote
    results the job wrote there); returns them with the tables' states (held batches, freshness)."""
    from autocorp_lake import metrics

    records, states = metrics.run_metrics(context)
    metrics.append_jsonl(records)
    return records + states


def _reconcile_on_local_spark(**context) -> list[dict]:
    """Every source table (the local cluster, over JDBC) against its curated Hudi snapshot, on
    local Spark; fails on any difference."""
    from autocorp_lake import reconcile

    return reconcile.fail_on_difference(reconcile.reconcile())


def _run_query_on_local_engine(query: str, run_id: str) -> str:
    """The local twin of an Athena query execution: the SQL file through the local query engine,
    its rows written to athena-results/<query id>.csv in the lake; returns the query id."""
    import csv

    from autocorp_lake import analytics
    from autocorp_lake.local import query_engine

    rows = query_engine.run_file(config.include_dir() / "sql" / query)
    query_id = f"{analytics.query_name(query)}-{config.safe_run_id(run_id)}"
    out = config.lake_root() / "athena-results"
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f"{query_id}.tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else [])
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(out / f"{query_id}.csv")
    return query_id


def _copy_query_results_to_reports(names: list[str], query_ids: list[str], report_date: str) -> list[str]:
    """Each query's athena-results/<id>.csv copied to reports/<date>/<query>/result.csv in the lake."""
    import shutil

    from autocorp_lake import analytics

    kept = []
    for name, query_id in zip(names, query_ids):
        out = config.lake_root() / analytics.report_prefix(report_date, name)
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(config.lake_root() / "athena-results" / f"{query_id}.csv", out / "result.csv")
        kept.append(str(out / "result.csv"))
    return kept


def _build_report_in_lake_folder(report_date: str) -> dict:
    """The day's results read from reports/<date>/ in the lake folder, the report written next to them."""
    from autocorp_lake import analytics

    out = config.lake_root() / analytics.report_prefix(report_date)
    results = {path.parent.name: analytics.read_csv(path.read_text(encoding="utf-8"))
               for path in sorted(out.glob("*/*.csv"))}
    files = analytics.render_report(report_date, results)
    for name, body in files.items():
        (out / name).write_bytes(body)
    return {"report": str(out / "index.html"), "queries": len(results)}


def _transfer() -> dict:
    from autocorp_lake.local import transfer

    return transfer.transfer()


def start_replication(task_id: str, **kwargs) -> PythonOperator:
    return in_task(task_id, _start_replication, **kwargs)


def full_load_finished(task_id: str, **kwargs) -> PythonOperator:
    """Checks, without waiting, that start_replication's full load finished (it runs to its end
    in that task); aws.py's step waits for DMS."""
    return in_task(task_id, _check_full_load_done, **kwargs)


def check_replication(task_id: str, **kwargs) -> PythonOperator:
    return in_task(task_id, _check_replication, **kwargs)


def new_cdc_files_or_skip(task_id: str, **kwargs) -> PythonOperator:
    """Runs the replicator once (drains the replication slot into CDC files), then skips the run's
    downstream when there is nothing new to apply; it does not wait. aws.py's step waits for the
    files DMS writes."""
    return in_task(task_id, _capture_cdc_files_or_skip, **kwargs)


def crawl(task_id: str, crawler: str, **kwargs) -> PythonOperator:
    return in_task(task_id, _crawl, {"crawler": crawler}, max_active_tis_per_dag=GLUE_CONCURRENCY, **kwargs)


def glue_job(task_id: str, job: str, script_args: Any, **kwargs) -> PythonOperator:
    return in_task(task_id, _run_glue_script, {"job": job, "script_args": script_args},
                   max_active_tis_per_dag=GLUE_CONCURRENCY, **kwargs)


def quality_gate(task_id: str, kind: str, names: list[str], run_id: str, **kwargs):
    """One task per table or feed (mapped, labelled by its name): the verdict the staging job's gate
    wrote for its batch (`quality.dispatch`). A data failure is not transient: never retried."""
    return PythonOperator.partial(
        task_id=task_id, python_callable=_read_gate_verdict, retries=0, map_index_template=GATE_LABEL, **kwargs
    ).expand(op_kwargs=[{"kind": kind, "name": name, "run_id": run_id} for name in names])


def transfer_exports(task_id: str, **kwargs) -> PythonOperator:
    return in_task(task_id, _transfer, **kwargs)


def publish_metrics(task_id: str, **kwargs) -> PythonOperator:
    """The run's metrics as JSON lines in the lake (aws.py: CloudWatch)."""
    return in_task(task_id, _publish_metrics_to_jsonl, **kwargs)


def athena_sql(task_id: str, files: list[str], **kwargs):
    """One local query engine run per SQL file (mapped), the local twin of an Athena query."""
    return PythonOperator.partial(
        task_id=task_id, python_callable=_run_query_on_local_engine,
        max_active_tis_per_dag=ATHENA_CONCURRENCY, **kwargs
    ).expand(op_kwargs=[{"query": f, "run_id": "{{ run_id }}"} for f in files])


def keep_results(task_id: str, names: list[str], query_ids: Any, report_date: str, **kwargs) -> PythonOperator:
    return in_task(task_id, _copy_query_results_to_reports,
                   {"names": names, "query_ids": query_ids, "report_date": report_date}, **kwargs)


def build_report(task_id: str, report_date: str, **kwargs) -> PythonOperator:
    return in_task(task_id, _build_report_in_lake_folder, {"report_date": report_date}, **kwargs)


def reconcile_lake(task_id: str, **kwargs) -> PythonOperator:
    """Source vs lake on local Spark (aws.py: in the maintenance Glue job)."""
    return in_task(task_id, _reconcile_on_local_spark, **kwargs)
