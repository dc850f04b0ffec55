"""Every task of every DAG on the aws target, run once under moto, as a worker would run it.

Used twice by `make deploy-check`:
- in the clean MWAA-like venv (`mwaa_probe.py`), where it proves that no task needs a package the
  MWAA image lacks (an ImportError fails the check);
- in the dev venv (`test_iam.py`), where every AWS call the tasks make is recorded and held
  against the MWAA execution role's policy rendered from infra/.

Only the AWS APIs are stand-ins (moto); what moto cannot do (run a Glue job's script, finish a
crawler) is replaced by the one output the real service would leave (the job's result JSON).
A task without a runner here fails the check: a new task must be added to the scenario.
"""

from __future__ import annotations

import contextlib
import json
import os
import traceback
from datetime import datetime, timezone
from unittest import mock

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUCKET = "autocorp-datalake-dev"
RUN_ID = "scheduled__2026-11-26T10:00:00+00:00"
SAFE_RUN_ID = "scheduled__2026-11-26T10_00_00_00_00"
VARIABLES_PREFIX = "airflow/variables"


def aws_environment() -> dict[str, str]:
    return {
        "LAKE_TARGET": "aws",
        "LAKE_ENV": "dev",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps({"conn_type": "aws", "extra": {"region_name": REGION}}),
    }


# ------------------------------------------------------------------ recording AWS calls
class CallRecorder:
    """Every botocore API call made while `recording` is on: (service, operation, params)."""

    def __init__(self):
        self.calls: list[tuple[str, str, dict]] = []
        self.recording = False

    @contextlib.contextmanager
    def patch(self):
        import botocore.client

        real = botocore.client.BaseClient._make_api_call
        recorder = self

        def make_api_call(client, operation_name, api_params):
            if recorder.recording:
                recorder.calls.append((client.meta.service_model.service_name, operation_name, dict(api_params)))
            return real(client, operation_name, api_params)

        with mock.patch.object(botocore.client.BaseClient, "_make_api_call", make_api_call):
            yield self

    @contextlib.contextmanager
    def on(self):
        self.recording = True
        try:
            yield
        finally:
            self.recording = False


# ------------------------------------------------------------------ the AWS account under moto
def setup_account() -> dict:
    """The resources Terraform creates, as far as the tasks touch them; returns their ARNs."""
    import boto3

    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    dms = boto3.client("dms", region_name=REGION)
    dms_arn = dms.create_replication_task(
        ReplicationTaskIdentifier="autocorp-full-load-cdc-dev",
        SourceEndpointArn=f"arn:aws:dms:{REGION}:{ACCOUNT}:endpoint:SRC",
        TargetEndpointArn=f"arn:aws:dms:{REGION}:{ACCOUNT}:endpoint:TGT",
        ReplicationInstanceArn=f"arn:aws:dms:{REGION}:{ACCOUNT}:rep:INST",
        MigrationType="full-load-and-cdc", TableMappings='{"rules": []}',
    )["ReplicationTask"]["ReplicationTaskArn"]
    datasync = boto3.client("datasync", region_name=REGION)
    # infra/ uses an NFS location; moto has only SMB, which the task's start and waits do not notice
    source = datasync.create_location_smb(
        ServerHostname="files.dev.internal", Subdirectory="/exports/autocorp", User="svc",
        Password="not-a-secret", AgentArns=[f"arn:aws:datasync:{REGION}:{ACCOUNT}:agent/agent-1"],
    )["LocationArn"]
    target = datasync.create_location_s3(
        S3BucketArn=f"arn:aws:s3:::{BUCKET}", Subdirectory="/raw/csv/",
        S3Config={"BucketAccessRoleArn": f"arn:aws:iam::{ACCOUNT}:role/autocorp-datasync-dev"},
    )["LocationArn"]
    datasync_arn = datasync.create_task(SourceLocationArn=source, DestinationLocationArn=target,
                                        Name="autocorp-exports-dev")["TaskArn"]
    glue = boto3.client("glue", region_name=REGION)
    from autocorp_lake import config

    names = config.aws_names("dev")
    for job in names.glue_jobs.values():
        glue.create_job(Name=job, Role=f"arn:aws:iam::{ACCOUNT}:role/autocorp-glue-dev", GlueVersion="5.0",
                        Command={"Name": "glueetl", "ScriptLocation": f"s3://autocorp-mwaa-dev/glue_scripts/{job}.py"})
    for key, crawler in names.crawlers.items():
        glue.create_crawler(Name=crawler, Role=f"arn:aws:iam::{ACCOUNT}:role/autocorp-glue-dev",
                            DatabaseName="autocorp_raw",
                            Targets={"S3Targets": [{"Path": f"s3://{BUCKET}/raw/"}]})
    boto3.client("athena", region_name=REGION).create_work_group(Name=names.athena_workgroup)
    secrets = boto3.client("secretsmanager", region_name=REGION)
    for name, value in (("autocorp_dms_task_arn", dms_arn), ("autocorp_datasync_task_arn", datasync_arn)):
        secrets.create_secret(Name=f"{VARIABLES_PREFIX}/{name}", SecretString=value)
    # the lake as the DAG runs leave it before each task
    s3.put_object(Bucket=BUCKET, Key="raw/database/public/customers/LOAD00000001.parquet", Body=b"PAR1")
    s3.put_object(Bucket=BUCKET, Key="raw/database/public/customers/2026/11/26/20261126-101500123.parquet",
                  Body=b"PAR1")
    s3.put_object(Bucket=BUCKET, Key="raw/csv/customers.csv", Body=b"customer_id\n1\n")
    return {"dms": dms_arn, "datasync": datasync_arn}


def variables() -> dict[str, str]:
    """The Airflow Variables as MWAA's secrets backend reads them (Secrets Manager)."""
    from airflow.providers.amazon.aws.secrets.secrets_manager import SecretsManagerBackend

    backend = SecretsManagerBackend(variables_prefix=VARIABLES_PREFIX, connections_prefix="airflow/connections",
                                    region_name=REGION)
    return {name: backend.get_variable(name) for name in ("autocorp_dms_task_arn", "autocorp_datasync_task_arn")}


def context_for(task, values: dict, ti=None, conf=None) -> dict:
    ti = ti or mock.MagicMock()
    context = {
        "var": {"value": values},
        "run_id": RUN_ID,
        "ds": "2026-11-26",
        "data_interval_end": datetime(2026, 11, 26, 10, tzinfo=timezone.utc),
        "ti": ti,
        "task_instance": ti,
        "dag_run": mock.MagicMock(conf=conf or {}, run_id=RUN_ID),
        "dag": mock.MagicMock(dag_id=getattr(task, "dag_id", "dag")),
        "params": {},
    }
    task.render_template_fields(context)
    return context


# ------------------------------------------------------------------ stand-ins for what moto cannot run
def _write(key: str, body: dict | str) -> None:
    import boto3

    text = body if isinstance(body, str) else json.dumps(body)
    boto3.client("s3", region_name=REGION).put_object(Bucket=BUCKET, Key=key, Body=text.encode())


@contextlib.contextmanager
def glue_jobs_write_their_results():
    """moto runs no script: as a job run starts, leave the output its script would write."""
    from airflow.providers.amazon.aws.hooks.glue import GlueJobHook

    start = GlueJobHook.initialize_job

    def initialize_job(self, script_arguments=None, run_kwargs=None):
        args = dict(script_arguments or {})
        now = datetime.now(timezone.utc).replace(tzinfo=None).isoformat() + "Z"
        if self.job_name.startswith(("autocorp-apply-changes", "autocorp-clean-feed")):  # staged and gated
            for name in args["--name"].split(","):
                zone = name if args.get("--kind") != "feed" else f"feed_{name}"
                _write(f"logs/quality/{zone}/{args['--run_id']}/result.json", {
                    "kind": args.get("--kind"), "name": name, "zone": zone, "run_id": args["--run_id"],
                    "rows": 10, "engine": "spark", "status": "passed", "critical_failures": [], "warnings": [],
                    "results": [{"success": True}], "validated_at": now})
        if self.job_name.startswith("autocorp-maintenance"):
            from autocorp_lake import config, reconcile

            rows = [{"table": t, "source_rows": 5, "lake_rows": 5, "missing": 0, "extra": 0, "different": 0}
                    for t in config.registry().table_names]
            _write(reconcile.result_key(args["--run_id"]), {"run_id": args["--run_id"], "tables": rows})
        return start(self, script_arguments, run_kwargs)

    with mock.patch.object(GlueJobHook, "initialize_job", initialize_job):
        yield


def _promote_results() -> None:
    """What promote.py leaves per zone (logs/runs/<run>/promote/<zone>.json), read by metrics."""
    from autocorp_lake import config

    for table in config.registry().table_names:
        _write(f"logs/runs/{SAFE_RUN_ID}/promote/{table}.json",
               {"table": table, "rows": 3, "written": True, "operation": "upsert", "duration_seconds": 2.0})


# ------------------------------------------------------------------ the runners
def _run_operator(task, values, conf=None):
    for attribute, value in (("deferrable", False), ("wait_for_completion", True), ("job_poll_interval", 0),
                             ("poll_interval", 0), ("wait_interval_seconds", 0), ("sleep_time", 0)):
        if hasattr(task, attribute):
            setattr(task, attribute, value)
    if type(task).__name__ == "GlueCrawlerRunOperator":
        task.wait_for_completion = False  # moto's crawlers never finish
    context = context_for(task, values, conf=conf)
    return task.execute(context)


def _batches(kind: str) -> dict:
    """The arguments of one staging or promote job run: every table (or feed) of the registry."""
    from autocorp_lake import config
    from autocorp_lake.lake import BatchArgs

    names = config.registry().table_names if kind == "table" else config.registry().feed_names
    return BatchArgs.script_args_of([BatchArgs.of(kind, name, RUN_ID) for name in names])


def _glue_job_with(task, script_args: dict):
    """A Glue step whose script_args is another task's XCom, with that XCom's value."""
    from airflow.providers.amazon.aws.operators.glue import GlueJobOperator

    return GlueJobOperator(task_id=task.task_id.rsplit(".", 1)[-1], job_name=task.job_name, script_args=script_args,
                           aws_conn_id=task.aws_conn_id, wait_for_completion=True)


def _names(kind: str) -> list[str]:
    from autocorp_lake import config

    return config.registry().table_names if kind == "table" else config.registry().feed_names


def run_task(dag_id: str, task, values: dict) -> object:
    """Run one task of the DagBag the way a worker would, with the scenario's inputs."""
    from autocorp_lake import analytics, config

    task_id = task.task_id
    short = task_id.rsplit(".", 1)[-1]
    kind = "feed" if task_id.startswith("feed_pipeline") else "table"
    if short == "prepare_batches":
        return task.python_callable(kind=kind, names=_names(kind), run_id=RUN_ID)
    if short in ("apply_changes", "clean_feed", "promote"):
        return _run_operator(_glue_job_with(task, _batches(kind)), values)
    if short == "quality_gate":  # mapped: one verdict per table, read from S3 on the worker
        return [task.partial_kwargs["python_callable"](**kwargs | {"run_id": RUN_ID})
                for kwargs in task.expand_input.value["op_kwargs"]]
    if short == "passed_gate":
        verdicts = [{"name": name} for name in _names(kind)]
        return task.python_callable(kind=kind, names=_names(kind), run_id=RUN_ID, verdicts=verdicts)
    if task_id == "publish_metrics":
        _promote_results()
        context = {"ti": mock.MagicMock(), "dag": mock.MagicMock(dag_id=dag_id), "run_id": RUN_ID}
        return task.python_callable(**context)
    if task_id in ("create_databases", "create_views", "run_analytics"):
        from airflow.providers.amazon.aws.operators.athena import AthenaOperator

        ids = []
        for path in task.expand_input.value["query"]:
            text = (config.include_dir() / "sql" / path).read_text()
            kwargs = {k: v for k, v in task.partial_kwargs.items()
                      if k in ("database", "workgroup", "output_location", "aws_conn_id")}
            op = AthenaOperator(task_id=task_id, query=text, **kwargs)
            ids.append(_run_operator(op, values))
        return ids
    if task_id == "keep_results":
        import boto3

        athena = boto3.client("athena", region_name=REGION)
        names, ids = [], []
        for path in analytics.sql_files("analytics"):
            query_id = athena.start_query_execution(
                QueryString="select 1", WorkGroup=config.aws_names().athena_workgroup,
                ResultConfiguration={"OutputLocation": f"s3://{BUCKET}/athena-results/"})["QueryExecutionId"]
            location = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"][
                "ResultConfiguration"]["OutputLocation"]
            x, y = analytics.CHARTS.get(analytics.query_name(path), ("label", "value"))[:2]
            _write(location.removeprefix(f"s3://{BUCKET}/"), f"{x},{y}\nA,10.5\nB,3\n")
            names.append(analytics.query_name(path))
            ids.append(query_id)
        return task.python_callable(names=names, query_ids=ids, report_date="2026-11-26")
    if task_id == "build_report":
        return task.python_callable(report_date="2026-11-26")
    if task_id == "reconcile":
        return task.python_callable(run_id=RUN_ID)
    if task_id in ("start_replication", "check_replication", "transfer_exports") or task_id.startswith("crawl_"):
        return _run_operator(task, values)
    if task_id == "watcher":  # runs only when a task failed, and then fails the run on purpose
        from airflow.sdk.exceptions import AirflowFailException

        try:
            task.python_callable()
        except AirflowFailException:
            return "fails the run as designed"
        raise AssertionError("the watcher must fail the run")
    if task_id in ("wait_full_load", "wait_for_cdc_files"):
        return task.poke(context_for(task, values))
    raise LookupError(f"{dag_id}.{task_id} ({type(task).__name__}) has no runner in tests/deploy/aws_scenario.py")


def run_all(dags_folder: str, recorder: CallRecorder | None = None) -> dict:
    """Parse the DAGs (LAKE_TARGET=aws) and run every task; {dag.task: 'ok' | error}."""
    from airflow.dag_processing.dagbag import DagBag
    from moto import mock_aws

    report: dict = {"tasks": {}, "import_errors": {}}
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.dict(os.environ, aws_environment()))
        stack.enter_context(mock_aws())
        if recorder is not None:
            stack.enter_context(recorder.patch())
        stack.enter_context(glue_jobs_write_their_results())
        setup_account()
        bag = DagBag(dag_folder=dags_folder)
        report["import_errors"] = {k: str(v) for k, v in bag.import_errors.items()}
        report["dags"] = sorted(bag.dag_ids)
        with (recorder.on() if recorder is not None else contextlib.nullcontext()):
            values = variables()
        order = ["autocorp_bootstrap", "autocorp_cdc", "autocorp_files", "autocorp_analytics", "autocorp_maintenance"]
        for dag_id in sorted(bag.dag_ids, key=lambda d: order.index(d) if d in order else 99):
            dag = bag.dags[dag_id]
            for task in dag.topological_sort() if hasattr(dag, "topological_sort") else dag.tasks:
                key = f"{dag_id}.{task.task_id}"
                try:
                    with (recorder.on() if recorder is not None else contextlib.nullcontext()):
                        run_task(dag_id, task, values)
                    report["tasks"][key] = "ok"
                except ImportError as exc:
                    report["tasks"][key] = f"ImportError: {exc}\n{traceback.format_exc(limit=6)}"
                except Exception as exc:  # noqa: BLE001 - reported, the caller decides
                    report["tasks"][key] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}"
    return report
