"""clean_feed on real Spark: the generator's exports at default and 10x rates; the reject counts
per reason equal the manifest exactly, and accepted + rejected = input rows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

FEEDS = {"customers": "customers.csv", "sales_orders": "sales_orders.csv",
         "sales_order_parts": "sales_order_parts.csv", "sales_order_services": "sales_order_services.csv"}


def land_exports(tmp_path: Path, multiplier: float) -> tuple[Path, dict]:
    from autocorp_lake.local import generator

    exports = tmp_path / "exports"
    rates = generator.parse_rate_overrides(None, multiplier=multiplier)
    manifest = generator.write_exports(exports, scale="demo", seed=7, rates=rates)
    lake = tmp_path / "lake"
    (lake / "raw/csv").mkdir(parents=True)  # the share as DataSync copies it
    for feed, file in FEEDS.items():
        shutil.copy(exports / file, lake / "raw/csv" / file)
    shutil.copy(exports / generator.MANIFEST_FILE, lake / "raw/csv" / generator.MANIFEST_FILE)
    return lake, manifest


def _expected(manifest: dict, file: str) -> tuple[int, int, dict]:
    """(raw, accepted, rejected per reason) of a file in the manifest (either key spelling)."""
    item = manifest["expected_rows"][file]
    raw = item.get("raw_rows", item.get("raw"))
    accepted = item.get("accepted_rows", item.get("accepted"))
    rejected = item.get("rejected_by_reason", item.get("rejected")) or {}
    return raw, accepted, {reason: count for reason, count in rejected.items() if count}


def test_reason_codes_agree_with_the_generator():
    from autocorp_lake.jobs import clean_feed
    from autocorp_lake.local import generator

    by_file = {file: feed for feed, file in FEEDS.items()}
    for issue, rule in generator.ISSUE_RULES.items():
        files = rule.get("files") or ([rule["file"]] if isinstance(rule["file"], str) else rule["file"])
        for file in files:
            codes = clean_feed.reason_codes(by_file[file])
            if rule["action"] == "reject":
                assert rule["reason"] in codes, (issue, file)
            else:  # repaired or kept: never a reject reason of the cleaner
                assert issue not in codes, (issue, file)


@pytest.mark.parametrize("multiplier", [1.0, 10.0], ids=["default_rates", "10x_rates"])
def test_rejects_equal_the_manifest(spark, tmp_path, multiplier):
    from autocorp_lake.jobs import clean_feed

    lake, manifest = land_exports(tmp_path, multiplier)
    registry = str(REPO / "include" / "tables.yaml")
    injected = sum(v["count"] for v in manifest["injected_issues"].values() if v["action"] == "reject")
    assert injected > 0
    outcomes = clean_feed.main(["--kind", "feed", "--name", ",".join(FEEDS), "--run_id", "run_1",
                                "--lake_root", str(lake), "--registry", registry])  # one job run, as the DAG's
    assert list(outcomes) == list(FEEDS)
    for feed, file in FEEDS.items():
        summary = outcomes[feed]
        raw, accepted, want = _expected(manifest, file)
        assert summary["rejected_by_reason"] == want, feed
        assert summary["input_rows"] == raw == manifest["files"][file]["rows"]
        assert summary["accepted"] == accepted
        assert summary["accepted"] + summary["rejected"] == summary["input_rows"]
        on_disk = json.loads((lake / f"logs/quality/feed_{feed}/run_1/rejects_summary.json").read_text())
        assert on_disk["rejected_by_reason"] == want
        batch = lake / f"staged/feed_{feed}/run_1"
        if summary["gate"] == "failed":  # its gate moved it to quarantine, whole
            batch = lake / f"quarantine/feed_{feed}/run_1/batch"
        assert spark.read.parquet(str(batch)).count() == accepted
        if summary["rejected"]:
            rejects = spark.read.parquet(str(lake / f"quarantine/feed_{feed}/run_1/rejects"))
            by_reason = {r["reject_reason"]: r["count"] for r in rejects.groupBy("reject_reason").count().collect()}
            assert by_reason == want
    if multiplier == 1.0:
        # the cleaned feeds pass their gate in the job (warnings: the nulls kept on purpose, e.g. missing_tax)
        for feed in ("customers", "sales_orders"):
            assert outcomes[feed]["gate"] in ("passed", "warning"), outcomes[feed]
        orders = json.loads((lake / "logs/quality/feed_sales_orders/run_1/result.json").read_text())
        warned = {w["expectation"] for w in orders["warnings"]}
        assert "expect_column_values_to_not_be_null(tax)" in warned


def test_staged_types_and_repairs(spark, tmp_path):
    from autocorp_lake.jobs import clean_feed

    lake = tmp_path / "lake"
    folder = lake / "raw/csv"
    folder.mkdir(parents=True)
    header = ("order_id,customer_id,order_date,invoice_number,payment_method,subtotal,tax,total_amount,"
              "order_type,status,notes,created_at,updated_at")
    rows = [
        '1, 17 ,2024-02-01 10:00:00,INV-00000001,Cash,1000.00,82.50,"1,082.50",Parts,Completed,"said ""hi""\nline 2",2024-02-01 10:00:00,2024-02-01 10:00:00',
        "2,18,2024-13-45,INV-00000002,Cash,10.00,0.83,$10.83,Parts,Completed,,2024-02-01 10:00:00,2024-02-01 10:00:00",
        "3,19,2024-02-02 10:00:00,INV-00000003,,10.00,,10.83,Service,Pending,,2024-02-02 10:00:00,2024-02-02 10:00:00",
        "1,17,2024-02-01 10:00:00,INV-00000001,Cash,1000.00,82.50,1082.50,Parts,Completed,,2024-02-01 10:00:00,2024-02-01 10:00:00",
        "4,20,2022-12-31 23:59:59,INV-00000004,Cash,10.00,0.83,10.83,Parts,Completed,,2024-02-01 10:00:00,2024-02-01 10:00:00",
        "5,,2024-02-01 10:00:00,INV-00000005,Cash,10.00,0.83,-10.83,Parts,Completed,,2024-02-01 10:00:00,2024-02-01 10:00:00",
    ]
    (folder / "sales_orders.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    summary = clean_feed.main(["--kind", "feed", "--name", "sales_orders", "--run_id", "r", "--lake_root", str(lake),
                               "--registry", str(REPO / "include/tables.yaml"),
                               "--order_date_start", "2023-01-01", "--order_date_end", "2024-12-31"])["sales_orders"]
    assert summary["rejected_by_reason"] == {"duplicate_order_id": 1, "malformed_date": 1,
                                             "missing_customer_id": 1, "order_date_before_window": 1}
    staged = spark.read.parquet(str(lake / "staged/feed_sales_orders/r")).orderBy("order_id").collect()
    assert [r["order_id"] for r in staged] == [1, 3]
    first = staged[0]
    assert first["customer_id"] == 17 and str(first["total_amount"]) == "1082.50"
    assert first["notes"] == 'said "hi"\nline 2' and first["order_month"] == "2024-02"
    assert staged[1]["tax"] is None and staged[1]["payment_method"] is None
    types = dict(spark.read.parquet(str(lake / "staged/feed_sales_orders/r")).dtypes)
    assert types["order_id"] == "int" and types["total_amount"] == "decimal(12,2)"
    assert types["order_date"] == "timestamp" and types["_source_file_ts"] == "timestamp"
