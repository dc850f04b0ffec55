"""On AWS a blocked table shows in CloudWatch: publish_metrics reads the lake bucket's quarantine
and CDC files (moto S3) and puts HeldBatches and FreshnessSeconds per table and per environment,
the metrics that the alarms in infra/modules/monitoring watch."""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest

REGION = "us-east-1"
pytestmark = pytest.mark.aws
NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture()
def bucket(aws):
    from autocorp_lake import config

    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=config.bucket_name())
    return s3, config.bucket_name()


def put_json(s3, bucket: str, key: str, value: dict) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(value).encode())


def test_held_batch_and_waiting_cdc_files_become_cloudwatch_metrics(bucket):
    from autocorp_lake import metrics
    from autocorp_lake.targets import aws as steps

    s3, name = bucket
    put_json(s3, name, "quarantine/sales_order/cdc_7/batch/_batch.json",
             {"rows": 3, "input_rows": 5, "counts": {"I": 1, "U": 2, "D": 0},
              "oldest_change_ts": "2026-11-29 11:30:00.000000"})
    put_json(s3, name, "quarantine/sales_order/cdc_7/result.json",
             {"validated_at": "2026-11-29T11:40:00Z",
              "critical_failures": [{"expectation": "expect_column_values_to_be_unique", "column": "order_id"}]})
    # customers: one CDC file taken by a batch, one still waiting since 11:50
    put_json(s3, name, "staged/_checkpoints/customers.json",
             {"files": ["raw/database/public/customers/2026/11/29/20261129-110000000.parquet"], "batches": ["b"]})
    for stamp in ("110000000", "115000000"):
        s3.put_object(Bucket=name, Key=f"raw/database/public/customers/2026/11/29/20261129-{stamp}.parquet", Body=b"x")

    states = {row["table"]: row for row in metrics.table_state_records(NOW)}
    assert (states["sales_order"]["state"], states["sales_order"]["held_batches"],
            states["sales_order"]["held_changes"]) == ("blocked", 1, 5)
    assert states["sales_order"]["freshness_seconds"] == 1800.0
    assert (states["customers"]["state"], states["customers"]["freshness_seconds"]) == ("ok", 600.0)
    assert states["auto_parts"]["freshness_seconds"] == 0.0

    steps.put_table_states(list(states.values()))
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    names = {(m["MetricName"], m["Dimensions"][0]["Value"])
             for m in cloudwatch.list_metrics(Namespace="AutoCorpLake")["Metrics"]}
    assert ("HeldBatches", "sales_order") in names and ("FreshnessSeconds", "customers") in names
    assert ("HeldBatches", "dev") in names  # the environment total the alarm watches
    total = cloudwatch.get_metric_statistics(
        Namespace="AutoCorpLake", MetricName="HeldBatches",
        Dimensions=[{"Name": "Environment", "Value": "dev"}],
        StartTime=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1),
        EndTime=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1), Period=3600, Statistics=["Maximum"])
    assert [p["Maximum"] for p in total["Datapoints"]] == [1.0]
