"""The `aws` target: Amazon provider operators against DMS, Glue, DataSync, Athena, S3 and
CloudWatch.

Resource names come from `config.aws_names()` (Terraform creates the same names); ARNs known only
after `terraform apply` come from Airflow Variables (`autocorp_dms_task_arn`,
`autocorp_datasync_task_arn`) that Terraform writes to Secrets Manager (`airflow/variables/...`),
read by templates at run time, never at parse time.

Every AWS call goes through the operator's or sensor's own hook (`self.hook`: the connection's
region, endpoint, SSL and botocore settings). Long waits free their worker slot: Glue jobs,
crawlers and Athena queries defer to the triggerer, DMS and S3 waits reschedule. No task names a
pool (MWAA has only `default_pool`); concurrency is capped per task (targets/__init__.py).
This module imports only what the MWAA image has: Airflow, the Amazon provider and boto3.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.providers.amazon.aws.hooks.dms import DmsHook, DmsTaskWaiterStatus
from airflow.providers.amazon.aws.hooks.glue import GlueJobHook
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.operators.datasync import DataSyncOperator
from airflow.providers.amazon.aws.operators.dms import DmsStartTaskOperator
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
from airflow.providers.amazon.aws.operators.glue_crawler import GlueCrawlerRunOperator
from airflow.providers.amazon.aws.sensors.base_aws import AwsBaseSensor
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.providers.standard.operators.python import PythonOperator

from autocorp_lake import config, lake
from autocorp_lake.targets import ATHENA_CONCURRENCY, GATE_LABEL, GLUE_CONCURRENCY, in_task

AWS_CONN_ID = "aws_default"
DMS_TASK_ARN = "{{ var.value.autocorp_dms_task_arn }}"
DATASYNC_TASK_ARN = "{{ var.value.autocorp_datasync_task_arn }}"


def reset_requested(context) -> bool:
    dag_run = context.get("dag_run")
    return bool((getattr(dag_run, "conf", None) or {}).get("reset"))


def describe_dms_task(hook: DmsHook, arn: str) -> dict:
    _, tasks = hook.describe_replication_tasks(
        Filters=[{"Name": "replication-task-arn", "Values": [arn]}], WithoutSettings=True
    )
    if not tasks:
        raise RuntimeError(f"DMS task {arn} not found; check the Airflow Variable autocorp_dms_task_arn "
                           "(Terraform writes it to Secrets Manager as airflow/variables/autocorp_dms_task_arn)")
    return tasks[0]


def forget_database_tables(s3: S3Hook, bucket: str) -> list[str]:
    """What a new full load supersedes, as `local.py` forgets it locally: the raw files of the old
    snapshot, every table's checkpoint, its staged and quarantined batches and its curated table."""
    registry = config.registry()
    prefixes = []
    for table in registry.table_names:
        prefixes += [lake.raw_table_prefix(registry.source_schema, table) + "/", *lake.built_from_raw(table)]
    for prefix in prefixes:
        keys = s3.list_keys(bucket_name=bucket, prefix=prefix)
        for start in range(0, len(keys), 1000):
            s3.delete_objects(bucket=bucket, keys=keys[start:start + 1000])
    return prefixes


class DmsStartOrResumeOperator(DmsStartTaskOperator):
    """Start the full-load-and-cdc task: `start-replication` the first time (status `ready`),
    `resume-processing` after a stop; nothing when it already runs.

    With `--conf '{"reset": true}'`: stop the task, forget what the lake built from the old
    snapshot (raw files, checkpoints, staged, quarantined and curated tables) and start it with
    `reload-target`, a new full load; the bootstrap then rebuilds every table."""

    def execute(self, context) -> None:
        arn = self.replication_task_arn
        task = describe_dms_task(self.hook, arn)
        status = task.get("Status")
        if reset_requested(context):
            if status in ("running", "starting", "resuming"):
                self.log.info("reset: stopping DMS task %s (%s)", arn, status)
                self.hook.stop_replication_task(replication_task_arn=arn)
                self.hook.wait_for_task_status(arn, DmsTaskWaiterStatus.STOPPED)
            s3 = S3Hook(aws_conn_id=self.aws_conn_id, region_name=self.region_name, verify=self.verify,
                        config=self.botocore_config)
            forgotten = forget_database_tables(s3, config.aws_names().bucket)
            self.log.info("reset: removed %s prefixes of the old snapshot", len(forgotten))
            self.start_replication_task_type = "reload-target" if "ReplicationTaskStartDate" in task else "start-replication"
            super().execute(context)
            return
        if status in ("running", "starting", "resuming"):
            self.log.info("DMS task %s is already %s", arn, status)
            return
        started_before = "ReplicationTaskStartDate" in task or status in ("stopped", "failed")
        self.start_replication_task_type = "resume-processing" if started_before else "start-replication"
        self.log.info("DMS task status %s: %s", status, self.start_replication_task_type)
        super().execute(context)


class DmsFullLoadSensor(AwsBaseSensor[DmsHook]):
    """Waits until a full-load-and-cdc task has loaded every table and is `running` (in CDC).

    DmsTaskCompletedSensor never succeeds for such a task: it stays `running` for ever."""

    aws_hook_class = DmsHook
    template_fields: Sequence[str] = aws_template_fields("replication_task_arn")

    def __init__(self, *, replication_task_arn: str, expected_tables: int, **kwargs):
        super().__init__(**kwargs)
        self.replication_task_arn = replication_task_arn
        self.expected_tables = expected_tables

    def poke(self, context) -> bool:
        task = describe_dms_task(self.hook, self.replication_task_arn)
        status = task.get("Status")
        if status in ("failed", "stopped"):
            raise RuntimeError(
                f"DMS task {self.replication_task_arn} is {status}: {task.get('LastFailureMessage') or task.get('StopReason')}"
            )
        stats = task.get("ReplicationTaskStats", {})
        loaded = stats.get("TablesLoaded", 0)
        errored = stats.get("TablesErrored", 0)
        if errored:
            raise RuntimeError(f"DMS full load failed for {errored} table(s); see the task's table statistics")
        self.log.info(
            "DMS status=%s full load %s%%, tables loaded %s/%s",
            status, stats.get("FullLoadProgressPercent"), loaded, self.expected_tables,
        )
        return status == "running" and stats.get("FullLoadProgressPercent") == 100 and loaded >= self.expected_tables


class DmsCheckRunningOperator(AwsBaseOperator[DmsHook]):
    """Fails, naming the status and the last error, unless the DMS task is `running`."""

    aws_hook_class = DmsHook
    template_fields: Sequence[str] = aws_template_fields("replication_task_arn")

    def __init__(self, *, replication_task_arn: str, **kwargs):
        super().__init__(**kwargs)
        self.replication_task_arn = replication_task_arn

    def execute(self, context) -> str:
        task = describe_dms_task(self.hook, self.replication_task_arn)
        status = task.get("Status")
        if status != "running":
            raise RuntimeError(
                f"DMS task {self.replication_task_arn} is {status!r}, not running; last error: "
                f"{task.get('LastFailureMessage') or task.get('StopReason') or 'none reported'}. "
                "Fix the cause, then resume it (autocorp_bootstrap resumes a stopped task)."
            )
        return status


class NewCdcFilesSensor(AwsBaseSensor[S3Hook]):
    """True when any table has a CDC file newer than the newest one its checkpoint processed.

    Per table and poke: one GET of `staged/_checkpoints/<table>.json` and one LIST with
    `StartAfter=<newest processed CDC key>`, `MaxKeys=1`. CDC keys sort in time order
    (YYYY/MM/DD/yyyymmdd-hhmmssfff) and before the LOAD files, so the first key after the last
    processed one answers the question without listing the history."""

    aws_hook_class = S3Hook
    template_fields: Sequence[str] = aws_template_fields("bucket_name")

    def __init__(self, *, bucket_name: str, tables: list[str], schema: str = "public", **kwargs):
        super().__init__(**kwargs)
        self.bucket_name = bucket_name
        self.tables = tables
        self.schema = schema

    def last_processed(self, table: str) -> str | None:
        key = lake.checkpoint_key(table)
        if not self.hook.check_for_key(key, self.bucket_name):
            return None
        files = json.loads(self.hook.read_key(key, self.bucket_name)).get("files") or []
        cdc = sorted(f for f in files if lake.is_cdc_key(f))
        return cdc[-1] if cdc else None

    def new_file(self, table: str) -> str | None:
        prefix = lake.raw_table_prefix(self.schema, table) + "/"
        after = self.last_processed(table) or prefix
        page = self.hook.conn.list_objects_v2(Bucket=self.bucket_name, Prefix=prefix, StartAfter=after, MaxKeys=1)
        keys = [item["Key"] for item in page.get("Contents", [])]
        return keys[0] if keys and lake.is_cdc_key(keys[0]) else None

    def poke(self, context) -> bool:
        found = {t: self.new_file(t) for t in self.tables}
        new = {t: k for t, k in found.items() if k}
        self.log.info("new CDC files: %s", new or "none")
        return bool(new)


def start_replication(task_id: str, **kwargs) -> DmsStartTaskOperator:
    return DmsStartOrResumeOperator(
        task_id=task_id, replication_task_arn=DMS_TASK_ARN, aws_conn_id=AWS_CONN_ID, **kwargs
    )


def full_load_finished(task_id: str, **kwargs) -> AwsBaseSensor:
    """Waits (reschedule, up to 6 h) until DMS has loaded every table and replicates changes."""
    return DmsFullLoadSensor(
        task_id=task_id,
        replication_task_arn=DMS_TASK_ARN,
        expected_tables=len(config.registry().tables),
        mode="reschedule",
        poke_interval=60,
        timeout=6 * 3600,
        aws_conn_id=AWS_CONN_ID,
        **kwargs,
    )


def check_replication(task_id: str, **kwargs) -> AwsBaseOperator:
    return DmsCheckRunningOperator(task_id=task_id, replication_task_arn=DMS_TASK_ARN,
                                   aws_conn_id=AWS_CONN_ID, **kwargs)


def new_cdc_files_or_skip(task_id: str, **kwargs) -> AwsBaseSensor:
    """Waits (reschedule, up to 9 min) for a CDC file DMS wrote after the last processed one;
    none in that time skips the run's downstream (soft fail)."""
    registry = config.registry()
    return NewCdcFilesSensor(
        task_id=task_id,
        bucket_name=config.aws_names().bucket,
        tables=registry.table_names,
        schema=registry.source_schema,
        mode="reschedule",
        poke_interval=60,
        timeout=9 * 60,
        soft_fail=True,
        aws_conn_id=AWS_CONN_ID,
        **kwargs,
    )


def crawl(task_id: str, crawler: str, **kwargs) -> GlueCrawlerRunOperator:
    return GlueCrawlerRunOperator(
        task_id=task_id,
        crawler_name=config.aws_names().crawlers[crawler],
        deferrable=True,
        poll_interval=30,
        fail_on_already_running=False,
        max_active_tis_per_dag=1,
        aws_conn_id=AWS_CONN_ID,
        **kwargs,
    )


# how every Glue job run of a DAG waits: deferred (no worker slot held), capped like the jobs allow
GLUE_RUN = {"deferrable": True, "job_poll_interval": 30, "max_active_tis_per_dag": GLUE_CONCURRENCY,
            "aws_conn_id": AWS_CONN_ID}


def glue_job(task_id: str, job: str, script_args: Any, **kwargs) -> GlueJobOperator:
    """A Glue 5.0 job of glue_scripts/ (created by Terraform); `script_args` may be an XComArg.
    Returns the job run id; what the job did is in the lake (promote: logs/runs/<run>/promote/)."""
    return GlueJobOperator(
        task_id=task_id,
        job_name=config.aws_names().glue_jobs[job],
        script_args=script_args,
        wait_for_completion=True,
        **GLUE_RUN,
        **kwargs,
    )


def _record_gate_in_cloudwatch(batch, summary: dict | None) -> None:
    put_gate_result(passed=summary is not None)


def read_gate_verdict(kind: str, name: str, run_id: str) -> dict:
    """The verdict the apply_changes / clean_feed Glue job's gate wrote to S3 for the batch
    (`quality.dispatch`), with `GateFailures` put to CloudWatch."""
    from autocorp_lake.quality import dispatch

    return dispatch.verdict_in_task(kind, name, run_id, _record_gate_in_cloudwatch)


def quality_gate(task_id: str, kind: str, names: list[str], run_id: str, **kwargs):
    """One task per table or feed (mapped, labelled by its name), in the worker: it reads the verdict
    of the Glue job that staged and validated every batch of the run (MWAA has no GX). A data
    failure is not transient: never retried."""
    return PythonOperator.partial(
        task_id=task_id, python_callable=read_gate_verdict, retries=0, map_index_template=GATE_LABEL, **kwargs
    ).expand(op_kwargs=[{"kind": kind, "name": name, "run_id": run_id} for name in names])


def transfer_exports(task_id: str, **kwargs) -> DataSyncOperator:
    return DataSyncOperator(
        task_id=task_id,
        task_arn=DATASYNC_TASK_ARN,
        wait_for_completion=True,
        wait_interval_seconds=30,
        aws_conn_id=AWS_CONN_ID,
        **kwargs,
    )


# ------------------------------------------------------------------ metrics: CloudWatch
def _cloudwatch():
    return AwsBaseHook(aws_conn_id=AWS_CONN_ID, client_type="cloudwatch").get_conn()


def _put_metric_data(data: list[dict]) -> None:
    client = _cloudwatch()
    for start in range(0, len(data), 20):
        client.put_metric_data(Namespace=config.aws_names().metrics_namespace, MetricData=data[start:start + 20])


def put_run_metrics(records: list[dict]) -> None:
    """metrics.run_metrics' per-table records as CloudWatch metrics, dimension Table."""
    data = []
    for record in records:
        dims = [{"Name": "Table", "Value": str(record.get("table", "unknown"))}]
        for name in ("rows_read", "rows_written", "rows_rejected", "freshness_seconds", "duration_seconds"):
            if record.get(name) is not None:
                unit = "Seconds" if name.endswith("seconds") else "Count"
                data.append({"MetricName": name, "Dimensions": dims, "Value": float(record[name]), "Unit": unit})
    _put_metric_data(data)


def put_table_states(states: list[dict]) -> None:
    """HeldBatches and FreshnessSeconds per table and per environment: what the alarms watch."""
    data = []
    for row in states:
        dims = [{"Name": "Table", "Value": row["table"]}]
        data.append({"MetricName": "HeldBatches", "Dimensions": dims, "Value": float(row["held_batches"]), "Unit": "Count"})
        data.append({"MetricName": "FreshnessSeconds", "Dimensions": dims, "Value": float(row["freshness_seconds"]),
                     "Unit": "Seconds"})
    env = [{"Name": "Environment", "Value": config.environment()}]
    data.append({"MetricName": "HeldBatches", "Dimensions": env, "Unit": "Count",
                 "Value": float(sum(row["held_batches"] for row in states))})
    data.append({"MetricName": "FreshnessSeconds", "Dimensions": env, "Unit": "Seconds",
                 "Value": float(max((row["freshness_seconds"] for row in states), default=0.0))})
    _put_metric_data(data)


def put_gate_result(passed: bool) -> None:
    """One gate verdict: `GateFailures` (dimension Environment) feeds the gate alarm."""
    _put_metric_data([{"MetricName": "GateFailures",
                       "Dimensions": [{"Name": "Environment", "Value": config.environment()}],
                       "Value": 0.0 if passed else 1.0, "Unit": "Count"}])


def publish_metrics_to_cloudwatch(**context) -> list[dict]:
    """The run's per-table metrics (promote's results from logs/runs/<run>/promote/ in the lake:
    promote's XCom is a job run id) and the tables' states, put to CloudWatch; returns them."""
    from autocorp_lake import metrics

    records, states = metrics.run_metrics(context)
    put_run_metrics(records)
    put_table_states(states)
    return records + states


def publish_metrics(task_id: str, **kwargs) -> PythonOperator:
    return in_task(task_id, publish_metrics_to_cloudwatch, **kwargs)


# ------------------------------------------------------------------ analytics: Athena and S3
def athena_sql(task_id: str, files: list[str], **kwargs):
    """One Athena query per SQL file (mapped); the workgroup enforces the result location."""
    from airflow.providers.amazon.aws.operators.athena import AthenaOperator

    names = config.aws_names()
    return AthenaOperator.partial(
        task_id=task_id,
        database="autocorp_analytics",
        workgroup=names.athena_workgroup,
        output_location=f"s3://{names.bucket}/athena-results/",
        max_active_tis_per_dag=ATHENA_CONCURRENCY,
        deferrable=True,
        aws_conn_id=AWS_CONN_ID,
        sleep_time=10,
        **kwargs,
    ).expand(query=files)


def _s3() -> S3Hook:
    return S3Hook(aws_conn_id=AWS_CONN_ID)


def copy_athena_results_to_reports(names: list[str], query_ids: list[str], report_date: str) -> list[str]:
    """Each query's result copied from athena-results/ (the workgroup enforces that location) to
    reports/<date>/<query>/result.csv in the lake bucket."""
    from airflow.providers.amazon.aws.hooks.athena import AthenaHook

    from autocorp_lake import analytics

    athena, s3 = AthenaHook(aws_conn_id=AWS_CONN_ID), _s3()
    bucket = config.aws_names().bucket
    kept = []
    for name, query_id in zip(names, query_ids):
        location = athena.get_output_location(query_id)
        source_bucket, _, source_key = location.removeprefix("s3://").partition("/")
        key = analytics.report_prefix(report_date, name) + "result.csv"
        s3.copy_object(source_bucket_key=source_key, dest_bucket_key=key,
                       source_bucket_name=source_bucket, dest_bucket_name=bucket)
        kept.append(f"s3://{bucket}/{key}")
    return kept


def build_report_in_s3(report_date: str) -> dict:
    """The day's results read from reports/<date>/ in the lake bucket, the report written next to them."""
    from autocorp_lake import analytics

    s3, bucket = _s3(), config.aws_names().bucket
    prefix = analytics.report_prefix(report_date)
    results = {key.split("/")[2]: analytics.read_csv(s3.read_key(key, bucket))
               for key in s3.list_keys(bucket_name=bucket, prefix=prefix) if key.endswith(".csv")}
    for name, body in analytics.render_report(report_date, results).items():
        s3.load_bytes(body, key=prefix + name, bucket_name=bucket, replace=True)
    return {"report": f"s3://{bucket}/{prefix}index.html", "queries": len(results)}


def keep_results(task_id: str, names: list[str], query_ids: Any, report_date: str, **kwargs) -> PythonOperator:
    return in_task(task_id, copy_athena_results_to_reports,
                   {"names": names, "query_ids": query_ids, "report_date": report_date}, **kwargs)


def build_report(task_id: str, report_date: str, **kwargs) -> PythonOperator:
    return in_task(task_id, build_report_in_s3, {"report_date": report_date}, **kwargs)


# ------------------------------------------------------------------ reconcile: the maintenance Glue job
def reconcile_in_glue_job(**context) -> list[dict]:
    """The MWAA worker reaches neither Spark nor the source: the Glue job `autocorp-maintenance-<env>`
    runs `reconcile.reconcile` (JDBC through its Glue connection) and writes the per-table counts,
    which this reads; fails on any difference."""
    from autocorp_lake import reconcile

    job_name = config.aws_names().glue_jobs["maintenance"]
    run = config.safe_run_id(context.get("run_id") or "manual")
    uri = config.lake_uri(reconcile.result_key(run))
    hook = GlueJobHook(job_name=job_name, aws_conn_id=AWS_CONN_ID, job_poll_interval=30)
    job_run = hook.initialize_job(script_arguments={
        "--run_id": run, "--lake_root": config.lake_uri().rstrip("/"),
        "--registry": config.lake_uri("config/tables.yaml"),
    })["JobRunId"]
    hook.job_completion(job_name=job_name, run_id=job_run, verbose=False)
    if not lake.exists(uri):
        raise RuntimeError(f"the maintenance job run {job_run} wrote no result at {uri}; "
                           "see its CloudWatch log (/aws-glue/jobs/error)")
    return reconcile.fail_on_difference(lake.read_json(uri)["tables"])


def reconcile_lake(task_id: str, **kwargs) -> PythonOperator:
    """Source vs lake in the maintenance Glue job, the task polling it in the worker (not deferred);
    local.py: local Spark."""
    return in_task(task_id, reconcile_in_glue_job, **kwargs)
