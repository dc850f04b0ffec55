"""Run metrics: rows read/written/rejected per table, CDC freshness, gate results, durations.

AWS: CloudWatch custom metrics (namespace AutoCorpLake). Local: JSON lines under
`logs/metrics/` in the lake, shown by `autocorp-lake status`.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

from autocorp_lake import config


def _collect(context) -> list[dict]:
    """The per-table results of the run's promote tasks.

    Locally promote runs in the task and returns its result dict (XCom). On AWS the task is a
    GlueJobOperator that returns the job run id, so the results are read where promote.py writes
    them on both targets: `logs/runs/<run_id>/promote/<zone>.json` in the lake."""
    ti = context["ti"]
    results = []
    job_runs = 0
    for task_id in ("table_pipeline.promote", "feed_pipeline.promote"):
        values = ti.xcom_pull(task_ids=task_id, default=None)
        if values is None:
            continue
        if isinstance(values, (dict, str)):
            values = [values]
        results.extend(v for v in values if isinstance(v, dict))
        job_runs += sum(1 for v in values if isinstance(v, str))
    if job_runs or (not results and config.target() == "aws"):
        results.extend(promote_results(context["run_id"]))
    return results


def promote_results(run_id: str) -> list[dict]:
    """The result JSON of every promote of one DAG run, from the lake (s3:// or local)."""
    from autocorp_lake import lake

    folder = config.lake_uri(f"{lake.run_prefix(config.safe_run_id(run_id))}/promote")
    return [lake.read_json(uri) for uri in lake.list_files(folder, suffix=".json")]


def run_record(result: dict) -> dict:
    """The metrics of one promote result: rows read/written/rejected, freshness, duration."""
    return {
        "table": result.get("table"),
        "rows_read": result.get("rows"),
        "rows_written": result.get("rows") if result.get("written") else 0,
        "rows_rejected": result.get("rejected") or 0,
        "freshness_seconds": result.get("freshness_seconds"),
        "duration_seconds": result.get("duration_seconds"),
        "operation": result.get("operation") or result.get("skipped"),
        "instant": result.get("instant"),
    }


def publish_run_metrics(**context) -> list[dict]:
    now = datetime.now(timezone.utc)
    records = [
        {"ts": now.isoformat(), "dag_id": context["dag"].dag_id, "run_id": context["run_id"],
         **run_record(result)}
        for result in _collect(context)
    ]
    states = table_state_records(now)
    if config.target() == "aws":
        _put_cloudwatch(records)
        _put_table_states(states)
    else:
        write_local(records)
    return records + states


def table_state_records(now: datetime) -> list[dict]:
    """Blocked tables and freshness (quality/held.py) as metrics: HeldBatches > 0 and
    FreshnessSeconds above the 15-minute goal are what the CloudWatch alarms watch."""
    from autocorp_lake.quality import held

    return [{"ts": now.isoformat(), "table": row["table"], "state": row["state"],
             "held_batches": row["held_batches"], "held_changes": row["held_changes"],
             "freshness_seconds": row["freshness_seconds"]}
            for row in held.table_states(now=now)]


def _put_table_states(states: list[dict]) -> None:
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
    client = _cloudwatch()
    for start in range(0, len(data), 20):
        client.put_metric_data(Namespace=config.aws_names().metrics_namespace, MetricData=data[start:start + 20])


def write_local(records: list[dict]) -> None:
    if not records:
        return
    folder = config.lake_root() / "logs" / "metrics"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{time.strftime('%Y%m%d')}.jsonl", "a", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, default=str) + "\n")


def _cloudwatch():
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    return AwsBaseHook(aws_conn_id="aws_default", client_type="cloudwatch").get_conn()


def _put_cloudwatch(records: list[dict]) -> None:
    client = _cloudwatch()
    data = []
    for record in records:
        dims = [{"Name": "Table", "Value": str(record.get("table", "unknown"))}]
        for name in ("rows_read", "rows_written", "rows_rejected", "freshness_seconds", "duration_seconds"):
            if record.get(name) is not None:
                unit = "Seconds" if name.endswith("seconds") else "Count"
                data.append({"MetricName": name, "Dimensions": dims, "Value": float(record[name]), "Unit": unit})
    for start in range(0, len(data), 20):
        client.put_metric_data(Namespace=config.aws_names().metrics_namespace, MetricData=data[start:start + 20])


def last_values() -> list[dict]:
    """The latest value of each metric per table (run metrics and gate verdicts merged)."""
    folder = config.lake_root() / "logs" / "metrics"
    latest: dict[str, dict] = {}
    for path in sorted(folder.glob("*.jsonl")) if folder.exists() else []:
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            latest.setdefault(str(record.get("table")), {}).update(record)
    return list(latest.values())


def record_gate_result(name: str, run_id: str, passed: bool, warnings: int = 0) -> None:
    """One gate verdict. On AWS `GateFailures` (dimension Environment) feeds the gate alarm."""
    record = {
        "ts": datetime.now(timezone.utc).isoformat(),
        "table": name,
        "run_id": run_id,
        "gate": "passed" if passed else "failed",
        "gate_warnings": warnings,
    }
    if config.target() == "aws":
        _cloudwatch().put_metric_data(
            Namespace=config.aws_names().metrics_namespace,
            MetricData=[{
                "MetricName": "GateFailures",
                "Dimensions": [{"Name": "Environment", "Value": config.environment()}],
                "Value": 0.0 if passed else 1.0,
                "Unit": "Count",
            }],
        )
    else:
        write_local([record])
