"""The `aws` target: Amazon provider operators against DMS, Glue, DataSync, S3 and CloudWatch.

Resource names come from `config.aws_names()` (Terraform creates the same names); ARNs known only
after `terraform apply` come from Airflow Variables (`autocorp_dms_task_arn`,
`autocorp_datasync_task_arn`), read by templates at run time, never at parse time.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.hooks.dms import DmsHook
from airflow.providers.amazon.aws.operators.datasync import DataSyncOperator
from airflow.providers.amazon.aws.operators.dms import DmsStartTaskOperator
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
from airflow.providers.amazon.aws.operators.glue_crawler import GlueCrawlerOperator
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import BaseSensorOperator

from autocorp_lake import config

AWS_CONN_ID = "aws_default"
DMS_TASK_ARN = "{{ var.value.autocorp_dms_task_arn }}"
DATASYNC_TASK_ARN = "{{ var.value.autocorp_datasync_task_arn }}"


class DmsStartOrResumeOperator(DmsStartTaskOperator):
    """Start the full-load-and-cdc task: `start-replication` the first time (status `ready`),
    `resume-processing` after a stop; nothing when it already runs."""

    def execute(self, context) -> None:
        task = describe_dms_task(DmsHook(aws_conn_id=self.aws_conn_id), self.replication_task_arn)
        status = task.get("Status")
        if status in ("running", "starting"):
            self.log.info("DMS task %s is already %s", self.replication_task_arn, status)
            return
        started_before = "ReplicationTaskStartDate" in task or status in ("stopped", "failed")
        self.start_replication_task_type = "resume-processing" if started_before else "start-replication"
        self.log.info("DMS task status %s: %s", status, self.start_replication_task_type)
        super().execute(context)


def describe_dms_task(hook: DmsHook, arn: str) -> dict:
    _, tasks = hook.describe_replication_tasks(
        Filters=[{"Name": "replication-task-arn", "Values": [arn]}]
    )
    if not tasks:
        raise RuntimeError(f"DMS task {arn} not found; check the Airflow Variable autocorp_dms_task_arn")
    return tasks[0]


class DmsFullLoadSensor(BaseSensorOperator):
    """Waits until a full-load-and-cdc task has loaded every table and is `running` (in CDC).

    DmsTaskCompletedSensor never succeeds for such a task: it stays `running` for ever."""

    template_fields = ("replication_task_arn",)

    def __init__(self, *, replication_task_arn: str, expected_tables: int, aws_conn_id: str = AWS_CONN_ID, **kwargs):
        super().__init__(**kwargs)
        self.replication_task_arn = replication_task_arn
        self.expected_tables = expected_tables
        self.aws_conn_id = aws_conn_id

    def poke(self, context) -> bool:
        task = describe_dms_task(DmsHook(aws_conn_id=self.aws_conn_id), self.replication_task_arn)
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


def _check_dms_running(replication_task_arn: str, aws_conn_id: str = AWS_CONN_ID) -> str:
    task = describe_dms_task(DmsHook(aws_conn_id=aws_conn_id), replication_task_arn)
    status = task.get("Status")
    if status != "running":
        raise RuntimeError(
            f"DMS task {replication_task_arn} is {status!r}, not running; last error: "
            f"{task.get('LastFailureMessage') or task.get('StopReason') or 'none reported'}. "
            "Fix the cause, then resume it (autocorp_bootstrap resumes a stopped task)."
        )
    return status


def start_replication(task_id: str, **kwargs) -> DmsStartTaskOperator:
    return DmsStartOrResumeOperator(
        task_id=task_id, replication_task_arn=DMS_TASK_ARN, aws_conn_id=AWS_CONN_ID, **kwargs
    )


def wait_full_load(task_id: str, **kwargs) -> BaseSensorOperator:
    return DmsFullLoadSensor(
        task_id=task_id,
        replication_task_arn=DMS_TASK_ARN,
        expected_tables=len(config.registry().tables),
        mode="reschedule",
        poke_interval=60,
        timeout=6 * 3600,
        **kwargs,
    )


def check_replication(task_id: str, **kwargs) -> PythonOperator:
    return PythonOperator(
        task_id=task_id,
        python_callable=_check_dms_running,
        op_kwargs={"replication_task_arn": DMS_TASK_ARN},
        **kwargs,
    )


def wait_for_cdc_files(task_id: str, **kwargs) -> S3KeySensor:
    """New CDC files of the run's day; no change in an interval skips the run's downstream."""
    return S3KeySensor(
        task_id=task_id,
        bucket_name=config.aws_names().bucket,
        # a run triggered without a logical date has no data interval: its run_after is the day
        bucket_key="raw/database/cdc/public/*/{{ (data_interval_end or dag_run.run_after).strftime('%Y/%m/%d') }}/*.parquet",
        wildcard_match=True,
        mode="reschedule",
        poke_interval=60,
        timeout=9 * 60,
        soft_fail=True,
        aws_conn_id=AWS_CONN_ID,
        **kwargs,
    )


def crawl(task_id: str, crawler: str, **kwargs) -> GlueCrawlerOperator:
    return GlueCrawlerOperator(
        task_id=task_id,
        config={"Name": config.aws_names().crawlers[crawler]},
        pool=config.aws_names().glue_pool,
        aws_conn_id=AWS_CONN_ID,
        **kwargs,
    )


def glue_job(task_id: str, job: str, script_args: Any, **kwargs) -> GlueJobOperator:
    """A Glue 5.0 job of glue_scripts/ (created by Terraform); `script_args` may be an XComArg."""
    return GlueJobOperator(
        task_id=task_id,
        job_name=config.aws_names().glue_jobs[job],
        script_args=script_args,
        wait_for_completion=True,
        pool=config.aws_names().glue_pool,
        aws_conn_id=AWS_CONN_ID,
        **kwargs,
    )


def transfer_exports(task_id: str, **kwargs) -> DataSyncOperator:
    return DataSyncOperator(
        task_id=task_id,
        task_arn=DATASYNC_TASK_ARN,
        wait_for_completion=True,
        wait_interval_seconds=30,
        aws_conn_id=AWS_CONN_ID,
        **kwargs,
    )


def publish_metrics(task_id: str, **kwargs) -> PythonOperator:
    from autocorp_lake import metrics

    return PythonOperator(task_id=task_id, python_callable=metrics.publish_run_metrics, **kwargs)


def athena_sql(task_id: str, files: list[str], **kwargs):
    """One Athena query per SQL file (mapped); the workgroup enforces the result location."""
    from airflow.providers.amazon.aws.operators.athena import AthenaOperator

    names = config.aws_names()
    return AthenaOperator.partial(
        task_id=task_id,
        database="autocorp_analytics",
        workgroup=names.athena_workgroup,
        output_location=f"s3://{names.bucket}/athena-results/",
        pool=names.athena_pool,
        aws_conn_id=AWS_CONN_ID,
        sleep_time=10,
        **kwargs,
    ).expand(query=files)
