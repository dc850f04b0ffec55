"""The aws target's operators under moto: each AWS call carries the configured names, ARNs and
arguments. moto's limits shape the tests: DMS tasks go `running` at once and report no table
statistics, DataSync executions always succeed, crawlers never finish, so those steps are run
task by task with the waits that moto cannot serve checked on canned responses."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from unittest import mock

import boto3
import pytest

REGION = "us-east-1"
pytestmark = pytest.mark.aws


def render(task, conf=None, **values):
    """Render a task's templated fields with Variables given as plain values."""
    context = {
        "dag_run": mock.MagicMock(conf=conf or {}),
        "var": {"value": values},
        "run_id": "manual__2026-11-26T00:00:00+00:00",
        "data_interval_end": datetime(2026, 11, 26, tzinfo=timezone.utc),
        "ti": mock.MagicMock(),
        "task_instance": mock.MagicMock(),
    }
    task.render_template_fields(context)
    return context


def dms_task() -> str:
    client = boto3.client("dms", region_name=REGION)
    return client.create_replication_task(
        ReplicationTaskIdentifier="autocorp-full-load-cdc-dev",
        SourceEndpointArn="arn:aws:dms:us-east-1:123456789012:endpoint:SRC",
        TargetEndpointArn="arn:aws:dms:us-east-1:123456789012:endpoint:TGT",
        ReplicationInstanceArn="arn:aws:dms:us-east-1:123456789012:rep:INST",
        MigrationType="full-load-and-cdc",
        TableMappings='{"rules": []}',
    )["ReplicationTask"]["ReplicationTaskArn"]


def test_start_replication_starts_then_resumes(aws):
    from autocorp_lake.targets import aws as steps

    arn = dms_task()
    op = steps.start_replication(task_id="start_replication")
    context = render(op, autocorp_dms_task_arn=arn)
    assert op.replication_task_arn == arn
    with mock.patch("airflow.providers.amazon.aws.hooks.dms.DmsHook.start_replication_task",
                    autospec=True, side_effect=lambda self, **kw: boto3.client("dms").start_replication_task(
                        ReplicationTaskArn=kw["replication_task_arn"],
                        StartReplicationTaskType=kw["start_replication_task_type"])) as start:
        op.execute(context)
        assert start.call_args.kwargs["start_replication_task_type"] == "start-replication"
        client = boto3.client("dms")
        assert client.describe_replication_tasks()["ReplicationTasks"][0]["Status"] == "running"
        op.execute(context)  # already running: no second start
        assert start.call_count == 1
        client.stop_replication_task(ReplicationTaskArn=arn)
        op.execute(context)
        assert start.call_args.kwargs["start_replication_task_type"] == "resume-processing"


def test_full_load_sensor_waits_for_every_table(aws):
    from autocorp_lake.config import registry
    from autocorp_lake.targets import aws as steps

    arn = dms_task()
    boto3.client("dms").start_replication_task(
        ReplicationTaskArn=arn, StartReplicationTaskType="start-replication")
    sensor = steps.full_load_finished(task_id="wait_full_load")
    context = render(sensor, autocorp_dms_task_arn=arn)
    assert sensor.replication_task_arn == arn
    assert sensor.poke(context) is False  # moto reports no statistics: not loaded yet
    partial = {"Status": "running", "ReplicationTaskStats": {"FullLoadProgressPercent": 60, "TablesLoaded": 4}}
    done = {"Status": "running", "ReplicationTaskStats": {
        "FullLoadProgressPercent": 100, "TablesLoaded": len(registry().tables), "TablesErrored": 0}}
    with mock.patch.object(steps, "describe_dms_task", side_effect=[partial, done]):
        assert sensor.poke(context) is False
        assert sensor.poke(context) is True
    with mock.patch.object(steps, "describe_dms_task", return_value={"Status": "failed", "LastFailureMessage": "boom"}):
        with pytest.raises(RuntimeError, match="failed: boom"):
            sensor.poke(context)


def test_check_replication_fails_with_status(aws):
    from autocorp_lake.targets import aws as steps

    arn = dms_task()
    op = steps.check_replication(task_id="check_replication")
    context = render(op, autocorp_dms_task_arn=arn)
    with pytest.raises(RuntimeError, match="not running"):
        op.execute(context)
    boto3.client("dms").start_replication_task(
        ReplicationTaskArn=arn, StartReplicationTaskType="start-replication")
    assert op.execute(context) == "running"


def test_dms_steps_use_their_own_hook_with_the_operators_region(aws):
    """Point 11: the operator's region (and SSL/botocore settings) reach every DMS call; a fresh
    DmsHook(aws_conn_id) built inside the step dropped them and looked in the default region."""
    from autocorp_lake.targets import aws as steps

    client = boto3.client("dms", region_name="eu-west-1")
    arn = client.create_replication_task(
        ReplicationTaskIdentifier="autocorp-full-load-cdc-dev",
        SourceEndpointArn="arn:aws:dms:eu-west-1:123456789012:endpoint:SRC",
        TargetEndpointArn="arn:aws:dms:eu-west-1:123456789012:endpoint:TGT",
        ReplicationInstanceArn="arn:aws:dms:eu-west-1:123456789012:rep:INST",
        MigrationType="full-load-and-cdc", TableMappings='{"rules": []}',
    )["ReplicationTask"]["ReplicationTaskArn"]
    client.start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType="start-replication")
    for factory in (steps.check_replication, steps.start_replication):
        op = factory(task_id="t", region_name="eu-west-1")
        op.execute(render(op, autocorp_dms_task_arn=arn))  # found in eu-west-1, not in us-east-1
    sensor = steps.full_load_finished(task_id="wait_full_load", region_name="eu-west-1")
    assert sensor.poke(render(sensor, autocorp_dms_task_arn=arn)) is False


def test_reset_reloads_the_target_and_forgets_the_old_snapshot(aws):
    """Point 12: `--conf '{"reset": true}'` stops the task, removes what the lake built from the
    old snapshot and starts it with reload-target."""
    from autocorp_lake.targets import aws as steps

    s3 = boto3.client("s3")
    bucket = "autocorp-datalake-dev"
    s3.create_bucket(Bucket=bucket)
    old = ["raw/database/public/customers/LOAD00000001.parquet",
           "raw/database/public/customers/2026/11/25/20261125-101500123.parquet",
           "staged/_checkpoints/customers.json", "staged/customers/run1/part-0.parquet",
           "curated/hudi/customers/.hoodie/hoodie.properties", "quarantine/customers/run0/batch/x.parquet"]
    kept = ["raw/csv/customers.csv", "staged/_checkpoints/feed_customers.json", "logs/quality/customers/r/result.json"]
    for key in old + kept:
        s3.put_object(Bucket=bucket, Key=key, Body=b"{}")
    arn = dms_task()
    boto3.client("dms").start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType="start-replication")
    op = steps.start_replication(task_id="start_replication")
    context = render(op, conf={"reset": True}, autocorp_dms_task_arn=arn)
    calls = []

    def start(self, **kw):
        calls.append(kw)
        return {}

    with mock.patch("airflow.providers.amazon.aws.hooks.dms.DmsHook.start_replication_task", autospec=True,
                    side_effect=start), \
         mock.patch("airflow.providers.amazon.aws.hooks.dms.DmsHook.wait_for_task_status") as waited:
        op.execute(context)
    assert waited.called, "the task is stopped (and waited for) before it is reloaded"
    assert boto3.client("dms").describe_replication_tasks()["ReplicationTasks"][0]["Status"] == "stopped"
    assert calls and calls[0]["start_replication_task_type"] == "reload-target"
    left = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert left == set(kept)


def test_wait_for_cdc_files_fires_on_files_newer_than_the_last_processed(aws):
    """Point 9: DMS writes CDC files beside the full load (raw/database/public/<table>/YYYY/MM/DD/),
    CdcPath applying only with PreserveTransactions; the sensor fires on a file newer than the
    newest one the table's checkpoint processed, not on any file of the day, and lists at most one
    key per table and poke."""
    import json

    from autocorp_lake.targets import aws as steps

    s3 = boto3.client("s3")
    bucket = "autocorp-datalake-dev"
    s3.create_bucket(Bucket=bucket)
    sensor = steps.new_cdc_files_or_skip(task_id="wait_for_cdc_files")
    context = render(sensor)
    assert sensor.bucket_name == bucket
    folder = "raw/database/public/sales_order"
    s3.put_object(Bucket=bucket, Key=f"{folder}/LOAD00000001.parquet", Body=b"x")
    assert sensor.poke(context) is False  # the full load is not a CDC file
    first = f"{folder}/2026/11/26/20261126-101500123.parquet"
    s3.put_object(Bucket=bucket, Key=first, Body=b"x")
    assert sensor.poke(context) is True
    s3.put_object(Bucket=bucket, Key="staged/_checkpoints/sales_order.json",
                  Body=json.dumps({"files": [f"{folder}/LOAD00000001.parquet", first]}).encode())
    assert sensor.poke(context) is False  # the day's file is processed already
    s3.put_object(Bucket=bucket, Key=f"{folder}/2026/11/26/20261126-102500456.parquet", Body=b"x")
    listed = []
    real = sensor.hook.conn.list_objects_v2
    with mock.patch.object(sensor.hook.conn, "list_objects_v2",
                           side_effect=lambda **kw: listed.append(kw) or real(**kw)):
        assert sensor.poke(context) is True
    assert all(kw.get("MaxKeys") == 1 and "StartAfter" in kw for kw in listed)
    assert {"Prefix": f"{folder}/", "StartAfter": first} == {k: listed[-1][k] for k in ("Prefix", "StartAfter")} \
        or any(kw["StartAfter"] == first for kw in listed)


def test_datasync_runs_the_configured_task(aws):
    from autocorp_lake.targets import aws as steps

    client = boto3.client("datasync")
    src = client.create_location_smb(
        ServerHostname="fileshare.autocorp.internal", Subdirectory="/exports", User="svc",
        Password="not-a-secret", AgentArns=["arn:aws:datasync:us-east-1:123456789012:agent/agent-1"],
    )["LocationArn"]
    dst = client.create_location_s3(
        S3BucketArn="arn:aws:s3:::autocorp-datalake-dev", Subdirectory="/raw/csv",
        S3Config={"BucketAccessRoleArn": "arn:aws:iam::123456789012:role/datasync"},
    )["LocationArn"]
    task_arn = client.create_task(SourceLocationArn=src, DestinationLocationArn=dst,
                                  Name="autocorp-exports-dev")["TaskArn"]
    op = steps.transfer_exports(task_id="transfer_exports")
    context = render(op, autocorp_datasync_task_arn=task_arn)
    assert op.task_arn == task_arn
    op.wait_interval_seconds = 0
    result = op.execute(context)
    execution = client.describe_task_execution(TaskExecutionArn=result["TaskExecutionArn"])
    assert execution["TaskExecutionArn"].startswith(task_arn)
    assert execution["Status"] == "SUCCESS"


def test_glue_jobs_get_the_pipeline_arguments(aws):
    from autocorp_lake.lake import BatchArgs
    from autocorp_lake.targets import aws as steps

    glue = boto3.client("glue")
    for name in ("autocorp-apply-changes-dev", "autocorp-promote-dev"):
        glue.create_job(Name=name, Role="arn:aws:iam::123456789012:role/glue",
                        Command={"Name": "glueetl", "ScriptLocation": f"s3://b/glue_scripts/{name}.py"},
                        GlueVersion="5.0")
    args = BatchArgs.of("table", "sales_order", "manual__2026-11-26T00:00:00+00:00").script_args()
    assert sorted(args) == ["--kind", "--lake_root", "--name", "--registry", "--run_id"]
    assert args["--lake_root"] == "s3://autocorp-datalake-dev"
    assert args["--registry"] == "s3://autocorp-datalake-dev/config/tables.yaml"
    assert args["--run_id"] == "manual__2026-11-26T00_00_00_00_00"
    op = steps.glue_job(task_id="apply_changes", job="apply_changes", script_args=args)
    context = render(op)
    op.job_poll_interval = 0
    assert op.pool == "default_pool" and op.max_active_tis_per_dag == 2
    assert op.deferrable is True  # the wait frees the worker slot (triggerer)
    op.deferrable = False  # moto's job runs end at once: wait in the test process
    op.execute(context)
    runs = glue.get_job_runs(JobName="autocorp-apply-changes-dev")["JobRuns"]
    assert len(runs) == 1
    for key, value in args.items():
        assert runs[0]["Arguments"][key] == value


def test_crawler_operator_names_the_crawler(aws):
    from autocorp_lake.targets import aws as steps

    glue = boto3.client("glue")
    glue.create_crawler(Name="autocorp-raw-database-dev", Role="arn:aws:iam::123456789012:role/glue",
                        DatabaseName="autocorp_raw",
                        Targets={"S3Targets": [{"Path": "s3://autocorp-datalake-dev/raw/database/"}]})
    op = steps.crawl(task_id="crawl_raw_database", crawler="raw_database")
    assert type(op).__name__ == "GlueCrawlerRunOperator"  # GlueCrawlerOperator is deprecated in 9.34.0
    assert op.crawler_name == "autocorp-raw-database-dev" and op.deferrable is True
    op.wait_for_completion = False  # moto's crawlers never finish
    op.deferrable = False
    render(op)
    op.execute({"ti": mock.MagicMock()})
    assert glue.get_crawler(Name="autocorp-raw-database-dev")["Crawler"]["State"] == "RUNNING"


def test_metrics_go_to_cloudwatch(aws):
    from autocorp_lake.targets import aws as steps

    steps.put_run_metrics([{"table": "sales_order", "rows_written": 12, "duration_seconds": 3.5}])
    listed = boto3.client("cloudwatch").list_metrics(Namespace="AutoCorpLake")["Metrics"]
    assert {m["MetricName"] for m in listed} == {"rows_written", "duration_seconds"}
    assert listed[0]["Dimensions"] == [{"Name": "Table", "Value": "sales_order"}]


def test_run_metrics_come_from_the_promote_results_on_aws(aws):
    """Point 10: on AWS promote is a GlueJobOperator whose XCom is a job run id; the metrics step
    reads what promote.py wrote to logs/runs/<run>/promote/ and publishes it."""
    import json

    from autocorp_lake.targets import aws as steps

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="autocorp-datalake-dev")
    run_id = "scheduled__2026-11-26T10:00:00+00:00"
    for zone, rows in (("sales_order", 12), ("customers", 3)):
        s3.put_object(Bucket="autocorp-datalake-dev",
                      Key=f"logs/runs/scheduled__2026-11-26T10_00_00_00_00/promote/{zone}.json",
                      Body=json.dumps({"table": zone, "rows": rows, "written": True, "operation": "upsert",
                                       "duration_seconds": 4.0}).encode())
    records = steps.publish_metrics_to_cloudwatch(ti=mock.MagicMock(), dag=mock.MagicMock(dag_id="autocorp_cdc"), run_id=run_id)
    runs = [r for r in records if "rows_written" in r]  # (the rest: per-table states, HeldBatches/freshness)
    assert sorted((r["table"], r["rows_written"]) for r in runs) == [("customers", 3), ("sales_order", 12)]
    listed = boto3.client("cloudwatch").list_metrics(Namespace="AutoCorpLake")["Metrics"]
    assert {m["MetricName"] for m in listed} >= {"rows_read", "rows_written", "duration_seconds"}


def test_athena_queries_carry_text_database_workgroup_output(aws):
    from airflow.providers.amazon.aws.operators.athena import AthenaOperator

    from autocorp_lake import config
    from autocorp_lake.analytics import sql_files
    from autocorp_lake.targets import aws as steps

    files = sql_files("analytics")
    mapped = steps.athena_sql(task_id="run_analytics", files=files)
    assert mapped.expand_input.value["query"] == files
    kwargs = {k: v for k, v in mapped.partial_kwargs.items()
              if k in ("database", "workgroup", "output_location", "aws_conn_id", "sleep_time")}
    assert kwargs["workgroup"] == "autocorp-dev" and "pool" not in mapped.partial_kwargs
    assert mapped.partial_kwargs["max_active_tis_per_dag"] == 4 and mapped.partial_kwargs["deferrable"] is True
    boto3.client("athena").create_work_group(Name="autocorp-dev")
    text = (config.include_dir() / "sql" / files[0]).read_text()
    op = AthenaOperator(task_id="run_analytics", query=text, **kwargs)
    op.sleep_time = 0
    query_id = op.execute({"ti": mock.MagicMock(), "task_instance": mock.MagicMock()})
    execution = boto3.client("athena").get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
    assert execution["Query"] == text
    assert execution["QueryExecutionContext"]["Database"] == "autocorp_analytics"
    assert execution["WorkGroup"] == "autocorp-dev"
    assert execution["ResultConfiguration"]["OutputLocation"].startswith("s3://autocorp-datalake-dev/athena-results/")


# ---------------------------------------------------------------- the gate's verdict on a worker
def _gate_result(bucket: str, summary: dict | None, run_id: str = "run_big") -> dict:
    """What the apply_changes Glue job leaves for the batch: its staged manifest and (unless None)
    the gate's result.json; returns the quality_gate task's arguments."""
    import json

    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=bucket, Key=f"staged/sales_order/{run_id}/_batch.json",
                  Body=json.dumps({"name": "sales_order", "rows": 10,
                                   "created_at": datetime.now(timezone.utc).isoformat()}).encode())
    if summary is not None:
        summary = dict(summary, validated_at=datetime.now(timezone.utc).replace(tzinfo=None).isoformat() + "Z")
        s3.put_object(Bucket=bucket, Key=f"logs/quality/sales_order/{run_id}/result.json",
                      Body=json.dumps(summary).encode())
    return {"kind": "table", "name": "sales_order", "run_id": run_id}


def _gate_failures() -> list[float]:
    stats = boto3.client("cloudwatch", region_name=REGION).get_metric_statistics(
        Namespace="AutoCorpLake", MetricName="GateFailures",
        Dimensions=[{"Name": "Environment", "Value": "dev"}],
        StartTime=datetime(2020, 1, 1), EndTime=datetime(2100, 1, 1), Period=3600, Statistics=["Sum", "SampleCount"])
    return [(p["Sum"], p["SampleCount"]) for p in stats["Datapoints"]]


def test_quality_gate_tasks_read_the_staging_jobs_verdict_on_a_worker(aws):
    """On MWAA (no pandas/GX on a worker) the apply_changes Glue job validates every batch it
    stages; each table's quality_gate task reads the verdict from S3, puts GateFailures to
    CloudWatch, and fails on a critical failure or when the job left no result or an error."""
    from autocorp_lake.quality import gate
    from autocorp_lake.targets import aws as steps

    bucket = "autocorp-datalake-dev"
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=bucket)
    mapped = steps.quality_gate("quality_gate", "table", ["customers", "sales_order"], "{{ run_id }}")
    assert mapped.partial_kwargs["retries"] == 0 and mapped.partial_kwargs["python_callable"] is steps.read_gate_verdict
    assert [kw["name"] for kw in mapped.expand_input.value["op_kwargs"]] == ["customers", "sales_order"]

    failed = {"kind": "table", "name": "sales_order", "zone": "sales_order", "run_id": "run_big", "rows": 10,
              "engine": "spark", "key": "order_id",
              "status": "failed", "quarantine": f"s3://{bucket}/quarantine/sales_order/run_big/batch",
              "critical_failures": [{"expectation": "expect_column_values_to_not_be_null", "column": "customer_id",
                                     "rule": "customer required", "unexpected_count": 2, "element_count": 10,
                                     "sample_keys": [4, 5]}], "warnings": [], "results": []}
    with pytest.raises(gate.QualityGateFailed, match=r"expect_column_values_to_not_be_null.*2 unexpected of 10"):
        steps.read_gate_verdict(**_gate_result(bucket, failed))
    with pytest.raises(gate.GateError, match="no quality-gate result for sales_order in run run_lost.*CloudWatch"):
        steps.read_gate_verdict(**_gate_result(bucket, None, "run_lost"))
    error = {"status": "error", "step": "apply_changes", "error": "AnalysisException: column order_date missing"}
    with pytest.raises(gate.GateError, match="apply_changes failed for sales_order.*order_date missing"):
        steps.read_gate_verdict(**_gate_result(bucket, error, "run_error"))
    passed = dict(failed, status="passed", critical_failures=[], quarantine=None, results=[{"success": True}])
    summary = steps.read_gate_verdict(**_gate_result(bucket, passed, "run_ok"))
    assert summary["status"] == "passed" and summary["name"] == "sales_order" and summary["expectations"] == 1
    assert sorted(_gate_failures()) == [(3.0, 4.0)]  # three failed verdicts of four


def test_a_result_older_than_the_staged_batch_is_not_a_verdict(aws):
    """A retry that staged the batch again but did not validate it leaves the first attempt's
    result: it judged other data, so the task fails instead of promoting unvalidated rows."""
    import json

    from autocorp_lake.quality import gate
    from autocorp_lake.targets import aws as steps

    bucket = "autocorp-datalake-dev"
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="logs/quality/sales_order/run_retry/result.json",
                  Body=json.dumps({"status": "passed", "validated_at": "2026-11-29T06:00:00Z"}).encode())
    s3.put_object(Bucket=bucket, Key="staged/sales_order/run_retry/_batch.json",
                  Body=json.dumps({"created_at": "2026-11-29T06:30:00+00:00"}).encode())
    with pytest.raises(gate.GateError, match="did not stage and validate"):
        steps.read_gate_verdict("table", "sales_order", "run_retry")


def test_staging_jobs_read_suites_beside_the_registry(aws, monkeypatch, tmp_path):
    """On Glue the job has only the package zip: it copies config/ (registry + suites) from S3."""
    from pathlib import Path

    from autocorp_lake import config
    from autocorp_lake.quality import suites

    repo = Path(__file__).resolve().parents[2]

    bucket = "autocorp-datalake-dev"
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="config/tables.yaml", Body=(repo / "include/tables.yaml").read_bytes())
    with pytest.raises(config.ConfigError, match="upload include/quality"):
        config.use_include_from(f"s3://{bucket}/config/tables.yaml", with_suites=True)
    for path in sorted((repo / "include/quality").glob("*.json")):
        s3.put_object(Bucket=bucket, Key=f"config/quality/{path.name}", Body=path.read_bytes())
    # the job sets AUTOCORP_INCLUDE_DIR for its process; record its absence so teardown restores it
    monkeypatch.setenv("AUTOCORP_INCLUDE_DIR", "")
    monkeypatch.delenv("AUTOCORP_INCLUDE_DIR")
    config.use_include_from(f"s3://{bucket}/config/tables.yaml", with_suites=True)
    include = Path(os.environ["AUTOCORP_INCLUDE_DIR"])
    assert suites.suites_dir() == include / "quality"
    copied = sorted(p.name for p in (include / "quality").glob("*.json"))
    assert copied == sorted(p.name for p in (repo / "include/quality").glob("*.json"))
    assert suites.read_suite_json("sales_order") == suites.read_suite_json(
        "sales_order", repo / "include" / "quality")


def test_bucket_layout_check_lists_the_s3_table_root_once(aws):
    from autocorp_lake.jobs import promote

    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="lake")
    spec = {"name": "customers", "primary_key": ["customer_id"], "partition": None, "buckets": 4}
    root = "curated/hudi/customers"
    s3.put_object(Bucket="lake", Key=f"{root}/.hoodie/hoodie.properties", Body=b"")
    s3.put_object(Bucket="lake", Key=f"{root}/00000002-6f0c-4b1e-9a57-0d1f2a3b4c5d-0_1-2-3_20261126.parquet", Body=b"")
    promote.check_bucket_layout("s3://lake", spec)
    s3.put_object(Bucket="lake", Key=f"{root}/6f0c4b1e-9a57-0d1f-2a3b-4c5d6e7f8091-0_0-1-2_20261120.parquet", Body=b"")
    with pytest.raises(RuntimeError, match="created without its bucket index"):
        promote.check_bucket_layout("s3://lake", spec)


def test_aws_dags_use_no_deprecated_provider_operator():
    """Point 11: the provider warns (AirflowProviderDeprecationWarning, hidden by the pytest filter
    of pyproject.toml) when GlueCrawlerOperator or another deprecated operator is built."""
    import os
    import warnings
    from pathlib import Path

    from airflow.dag_processing.dagbag import DagBag
    from airflow.exceptions import AirflowProviderDeprecationWarning

    os.environ["LAKE_TARGET"] = "aws"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            from autocorp_lake.targets import aws as steps

            steps.crawl(task_id="crawl_raw_database", crawler="raw_database")
            bag = DagBag(dag_folder=str(Path(__file__).resolve().parents[2] / "dags"))
    finally:
        os.environ["LAKE_TARGET"] = "local"
    assert bag.import_errors == {}
    deprecated = [str(w.message) for w in caught if issubclass(w.category, AirflowProviderDeprecationWarning)]
    assert not deprecated, deprecated
    waits = {t.task_id: t for d in bag.dags.values() for t in d.tasks}
    assert waits["crawl_raw_database"].deferrable and waits["table_pipeline.promote"].deferrable
    assert waits["wait_full_load"].mode == waits["wait_for_cdc_files"].mode == "reschedule"


def test_maintenance_reconciles_in_the_glue_job_on_aws(aws):
    """Point 7: on MWAA the reconcile task starts autocorp-maintenance-<env> (Spark and the source
    are reachable there), reads the per-table counts it wrote and fails on a difference."""
    import json

    from airflow.providers.amazon.aws.hooks.glue import GlueJobHook

    from autocorp_lake import reconcile
    from autocorp_lake.targets import aws as steps

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="autocorp-datalake-dev")
    boto3.client("glue").create_job(
        Name="autocorp-maintenance-dev", Role="arn:aws:iam::123456789012:role/glue",
        Command={"Name": "glueetl", "ScriptLocation": "s3://mwaa/glue_scripts/maintenance.py"})
    rows = [{"table": "customers", "source_rows": 5, "lake_rows": 5, "missing": 0, "extra": 0, "different": 0},
            {"table": "sales_order", "source_rows": 9, "lake_rows": 8, "missing": 1, "extra": 0, "different": 0}]
    started = []
    start = GlueJobHook.initialize_job

    def initialize_job(self, script_arguments=None, run_kwargs=None):
        started.append((self.job_name, script_arguments))
        s3.put_object(Bucket="autocorp-datalake-dev", Key=reconcile.result_key(script_arguments["--run_id"]),
                      Body=json.dumps({"tables": rows}).encode())
        return start(self, script_arguments, run_kwargs)

    with mock.patch.object(GlueJobHook, "initialize_job", initialize_job), \
         mock.patch.object(GlueJobHook, "job_completion", return_value={"JobRunState": "SUCCEEDED"}):
        with pytest.raises(RuntimeError, match="differ for sales_order"):
            steps.reconcile_in_glue_job(run_id="scheduled__2026-11-26T00:00:00+00:00")
        rows[1].update(lake_rows=9, missing=0)
        assert steps.reconcile_in_glue_job(run_id="scheduled__2026-11-26T00:00:00+00:00") == rows
    job, args = started[0]
    assert job == "autocorp-maintenance-dev" and args["--run_id"]
    assert args["--run_id"] == "scheduled__2026-11-26T00_00_00_00_00"


def test_maintenance_job_reconciles_with_the_connections_jdbc(monkeypatch, tmp_path):
    """The maintenance job: the same reconcile() with the Glue connection's JDBC settings, its
    counts written where the task reads them."""
    import json

    from autocorp_lake import reconcile
    from autocorp_lake.jobs import glue, maintenance

    calls = {}
    monkeypatch.setattr(glue, "get_spark", lambda name: "spark")
    monkeypatch.setattr(glue, "glue_context", lambda spark: None)
    monkeypatch.setattr(glue, "jdbc_conf", lambda spark, name: {"url": f"jdbc:{name}", "user": "u", "password": "p"})

    def fake(spark=None, lake_root=None, jdbc=None, tables=None):
        calls.update(spark=spark, lake_root=lake_root, jdbc=jdbc)
        return [{"table": "customers", "source_rows": 1, "lake_rows": 1, "missing": 0, "extra": 0, "different": 0}]

    monkeypatch.setattr(reconcile, "reconcile", fake)
    result = maintenance.main(["--run_id", "r1", "--lake_root", str(tmp_path),
                               "--source_connection", "autocorp-source-dev"])
    assert calls == {"spark": "spark", "lake_root": str(tmp_path),
                     "jdbc": {"url": "jdbc:autocorp-source-dev", "user": "u", "password": "p"}}
    assert json.loads((tmp_path / reconcile.result_key("r1")).read_text()) == result




def test_one_s3_level_lists_its_files_and_its_folders(aws):
    """promote finds a Hudi table's partitions (folders) and its timeline (files) one level deep."""
    from autocorp_lake import lake

    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="lake")
    for key in ("curated/hudi/t/order_month=2024-01/a.parquet", "curated/hudi/t/order_month=2024-02/b.parquet",
                "curated/hudi/t/.hoodie/1.commit", "curated/hudi/t/.hoodie_partition_metadata"):
        s3.put_object(Bucket="lake", Key=key, Body=b"x")
    assert lake.list_folders("s3://lake/curated/hudi/t") == [".hoodie", "order_month=2024-01", "order_month=2024-02"]
    assert lake.list_children("s3://lake/curated/hudi/t/") == ["s3://lake/curated/hudi/t/.hoodie_partition_metadata"]
