"""The `local` target: the same steps as aws.py, run by the local engines (the replicator for
DMS, the transfer for DataSync, spark-submit of the same glue_scripts/ for Glue, the local
crawler and catalog). Task ids, upstreams and inputs equal the aws target's."""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.python import PythonOperator

from autocorp_lake import config
from autocorp_lake.targets import ATHENA_CONCURRENCY, GLUE_CONCURRENCY

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


def _verify_full_load() -> dict:
    """The local twin of the DMS full-load sensor: the full load finished for every registry
    table and the replication slot holds the CDC position."""
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


def _capture_cdc() -> dict:
    """Locally the DMS's CDC writer is the replicator: capture what the slot holds now."""
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


def _transfer() -> dict:
    from autocorp_lake.local import transfer

    return transfer.transfer()


def start_replication(task_id: str, **kwargs) -> PythonOperator:
    return PythonOperator(task_id=task_id, python_callable=_start_replication, **kwargs)


def wait_full_load(task_id: str, **kwargs) -> PythonOperator:
    return PythonOperator(task_id=task_id, python_callable=_verify_full_load, **kwargs)


def check_replication(task_id: str, **kwargs) -> PythonOperator:
    return PythonOperator(task_id=task_id, python_callable=_check_replication, **kwargs)


def wait_for_cdc_files(task_id: str, **kwargs) -> PythonOperator:
    return PythonOperator(task_id=task_id, python_callable=_capture_cdc, **kwargs)


def crawl(task_id: str, crawler: str, **kwargs) -> PythonOperator:
    return PythonOperator(
        task_id=task_id, python_callable=_crawl, op_kwargs={"crawler": crawler},
        max_active_tis_per_dag=GLUE_CONCURRENCY, **kwargs,
    )


def glue_job(task_id: str, job: str, script_args: Any, **kwargs) -> PythonOperator:
    return PythonOperator(
        task_id=task_id,
        python_callable=_run_glue_script,
        op_kwargs={"job": job, "script_args": script_args},
        max_active_tis_per_dag=GLUE_CONCURRENCY,
        **kwargs,
    )


def quality_gate(task_id: str, batch: Any) -> PythonOperator:
    """The gate in the task (a big batch: the gate's script on local Spark), pipelines._gate."""
    from autocorp_lake.pipelines import quality_gate as gate_task

    return gate_task(task_id, batch)


def transfer_exports(task_id: str, **kwargs) -> PythonOperator:
    return PythonOperator(task_id=task_id, python_callable=_transfer, **kwargs)


def publish_metrics(task_id: str, **kwargs) -> PythonOperator:
    from autocorp_lake import metrics

    return PythonOperator(task_id=task_id, python_callable=metrics.publish_run_metrics, **kwargs)


def _run_query(query: str, run_id: str) -> str:
    from autocorp_lake import analytics

    return analytics.run_local_query(query, run_id)


def athena_sql(task_id: str, files: list[str], **kwargs):
    return PythonOperator.partial(
        task_id=task_id, python_callable=_run_query,
        max_active_tis_per_dag=ATHENA_CONCURRENCY, **kwargs
    ).expand(op_kwargs=[{"query": f, "run_id": "{{ run_id }}"} for f in files])
