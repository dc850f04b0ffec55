"""The quality gate on real GX Core: staged batches built like apply_changes writes them."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from autocorp_lake import config
from autocorp_lake.lake import BatchArgs
from autocorp_lake.quality import gate, results

REPO = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 1, 10, 12, 0, 0)
COMMIT_TS = "2026-01-10 11:00:00.000000"


def _orders_table(n: int = 12, start_id: int = 1) -> pa.Table:
    ids = list(range(start_id, start_id + n))
    sub = [Decimal("100.00") + i for i in range(n)]
    tax = [(s * Decimal("0.0825")).quantize(Decimal("0.01")) for s in sub]
    total = [s + t for s, t in zip(sub, tax)]
    order_date = [dt.datetime(2024, 3, 1) + dt.timedelta(days=i) for i in range(n)]
    dec = pa.decimal128(12, 2)
    return pa.table({
        "Op": pa.array(["I"] * n),
        "dms_commit_ts": pa.array([COMMIT_TS] * n),
        "order_id": pa.array(ids, pa.int32()),
        "customer_id": pa.array([1 + i % 3 for i in range(n)], pa.int32()),
        "order_date": pa.array(order_date, pa.timestamp("us")),
        "invoice_number": pa.array([f"INV-{i:08d}" for i in ids]),
        "payment_method": pa.array(["Cash"] * n),
        "subtotal": pa.array(sub, dec),
        "tax": pa.array(tax, dec),
        "total_amount": pa.array(total, dec),
        "order_type": pa.array(["Parts"] * n),
        "status": pa.array(["Completed"] * n),
        "notes": pa.array([None] * n, pa.string()),
        "created_at": pa.array(order_date, pa.timestamp("us")),
        "updated_at": pa.array(order_date, pa.timestamp("us")),
        "dms_change_seq": pa.array([f"{i:026d}" for i in ids]),
        "order_month": pa.array([d.strftime("%Y-%m") for d in order_date]),
        "_hoodie_is_deleted": pa.array([False] * n),
    })


def _customers_table(ids) -> pa.Table:
    n = len(ids)
    ts = pa.array([dt.datetime(2024, 1, 1)] * n, pa.timestamp("us"))
    return pa.table({
        "Op": pa.array(["I"] * n), "dms_commit_ts": pa.array([COMMIT_TS] * n),
        "customer_id": pa.array(ids, pa.int32()),
        "first_name": pa.array(["Ann"] * n), "last_name": pa.array(["Lee"] * n),
        "email": pa.array([f"ann{i}@example.com" for i in ids]),
        "phone": pa.array(["(201) 555-0001"] * n), "address": pa.array(["1 Main St"] * n),
        "city": pa.array(["Austin"] * n), "state": pa.array(["TX"] * n), "zip_code": pa.array(["78701"] * n),
        "created_at": ts, "updated_at": ts,
        "dms_change_seq": pa.array([f"{i:026d}" for i in ids]),
        "_hoodie_is_deleted": pa.array([False] * n),
    })


def write_staged(lake: Path, zone: str, run_id: str, table: pa.Table) -> Path:
    folder = lake / "staged" / zone / run_id
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "part-00000.parquet")
    (folder / "_batch.json").write_text(json.dumps({"table": zone, "run_id": run_id, "rows": table.num_rows}))
    return folder


def batch_args(lake: Path, name: str, run_id: str, kind: str = "table") -> dict:
    return {"--kind": kind, "--name": name, "--run_id": run_id, "--lake_root": str(lake),
            "--registry": str(REPO / "include" / "tables.yaml")}


@pytest.fixture()
def lake(tmp_path) -> Path:
    root = tmp_path / "lake"
    # the parent of sales_order, so referential integrity has something to check against
    write_staged(root, "customers", "run_c", _customers_table([1, 2, 3]))
    return root


def test_clean_batch_passes(lake):
    write_staged(lake, "sales_order", "run_1", _orders_table())
    summary = gate.run_gate(batch_args(lake, "sales_order", "run_1"), now=NOW)
    assert summary["status"] == "passed", summary["warnings"]
    assert summary["engine"] == "pandas"
    json.dumps(summary)  # an XCom: plain JSON
    in_suite = len(json.loads((REPO / "include/quality/sales_order.json").read_text())["expectations"])
    assert summary["expectations"] == summary["passed"] == in_suite
    assert (lake / "staged/sales_order/run_1/part-00000.parquet").exists()
    result = json.loads((lake / "logs/quality/sales_order/run_1/result.json").read_text())
    assert result["status"] == "passed" and result["rows"] == 12
    assert (lake / "logs/quality/data_docs/index.html").exists()
    rows, docs = results.latest(table="sales_order", lake_root=str(lake))
    assert len(rows) == in_suite and all(r["success"] for r in rows)
    assert docs.endswith("index.html")


def test_duplicated_key_is_quarantined(lake):
    table = _orders_table()
    table = pa.concat_tables([table, table.slice(4, 1)])  # order_id 5 twice
    write_staged(lake, "sales_order", "run_dup", table)
    with pytest.raises(gate.QualityGateFailed) as info:
        gate.run_gate(batch_args(lake, "sales_order", "run_dup"), now=NOW)
    message = str(info.value)
    assert "sales_order" in message and "expect_column_values_to_be_unique(order_id)" in message
    assert "2 unexpected" in message and "order_id=[5, 5]" in message
    from airflow.sdk.exceptions import AirflowFailException

    assert isinstance(info.value, AirflowFailException)  # Airflow does not retry it
    assert not (lake / "staged/sales_order/run_dup").exists()
    quarantined = lake / "quarantine/sales_order/run_dup"
    assert (quarantined / "batch/part-00000.parquet").exists()
    assert (quarantined / "validation_result.json").exists()
    result = json.loads((lake / "logs/quality/sales_order/run_dup/result.json").read_text())
    assert result["status"] == "failed"
    # the next run is not blocked by the quarantined batch
    write_staged(lake, "sales_order", "run_next", _orders_table(start_id=100))
    assert gate.run_gate(batch_args(lake, "sales_order", "run_next"), now=NOW)["status"] == "passed"


def test_release_revalidates_a_fixed_batch(lake):
    from autocorp_lake.quality import release

    table = _orders_table()
    write_staged(lake, "sales_order", "run_fix", pa.concat_tables([table, table.slice(0, 1)]))
    with pytest.raises(gate.QualityGateFailed):
        gate.run_gate(batch_args(lake, "sales_order", "run_fix"), now=NOW)
    fixed = lake / "quarantine/sales_order/run_fix/batch/part-00000.parquet"
    pq.write_table(table, fixed)  # the fix: drop the duplicate
    summary = release.release(BatchArgs.of_zone("sales_order", "run_fix", str(lake)), now=NOW)
    assert summary["status"] == "passed"
    assert (lake / "staged/sales_order/run_fix/part-00000.parquet").exists()
    assert not (lake / "quarantine/sales_order/run_fix/batch").exists()


def test_warning_only_batch_passes_and_is_recorded(lake):
    table = _orders_table()
    status = table.column("status").to_pylist()
    status[3] = "Lost in transit"  # not in the status value set: a warning
    customer = table.column("customer_id").to_pylist()
    customer[7] = 999  # no such customer: referential integrity is a warning
    table = table.set_column(table.schema.get_field_index("status"), "status", pa.array(status))
    table = table.set_column(table.schema.get_field_index("customer_id"), "customer_id", pa.array(customer, pa.int32()))
    write_staged(lake, "sales_order", "run_warn", table)
    summary = gate.run_gate(batch_args(lake, "sales_order", "run_warn"), now=NOW)
    assert summary["status"] == "warning"
    warned = {w["expectation"]: w for w in summary["warnings"]}
    assert set(warned) == {"expect_column_values_to_be_in_set(status)",
                           "expect_column_values_to_be_null(_chk_orphan_customer_id)"}
    assert warned["expect_column_values_to_be_null(_chk_orphan_customer_id)"]["sample_keys"] == [8]
    assert (lake / "staged/sales_order/run_warn").exists()
    recorded = json.loads((lake / "logs/quality/sales_order/run_warn/result.json").read_text())
    assert recorded["status"] == "warning" and len(recorded["warnings"]) == 2


def test_delete_rows_are_checked_by_key_only(lake):
    table = _orders_table()
    delete = table.slice(0, 1).to_pylist()[0]
    delete.update(order_id=99, Op="D", total_amount=Decimal("-5.00"), invoice_number="INV-00000002")
    table = pa.concat_tables([table, pa.Table.from_pylist([delete], schema=table.schema)])
    write_staged(lake, "sales_order", "run_del", table)
    summary = gate.run_gate(batch_args(lake, "sales_order", "run_del"), now=NOW)
    assert summary["status"] == "passed", summary["critical_failures"] or summary["warnings"]


@pytest.mark.parametrize("drift", ["unexpected_column", "changed_type"])
def test_schema_drift_is_caught(lake, drift):
    table = _orders_table()
    if drift == "unexpected_column":
        table = table.append_column("loyalty_points", pa.array([1] * table.num_rows, pa.int32()))
        failed = "expect_table_columns_to_match_set"
    else:
        index = table.schema.get_field_index("order_id")
        table = table.set_column(index, "order_id", pa.array([str(v) for v in table.column("order_id").to_pylist()]))
        failed = "expect_column_values_to_be_in_type_list(order_id)"
    write_staged(lake, "sales_order", f"run_{drift}", table)
    with pytest.raises(gate.QualityGateFailed) as info:
        gate.run_gate(batch_args(lake, "sales_order", f"run_{drift}"), now=NOW)
    assert failed in str(info.value)
    assert (lake / f"quarantine/sales_order/run_{drift}/batch").exists()


def test_pandas_and_spark_agree(lake, spark):
    table = _orders_table()
    status = table.column("status").to_pylist()
    status[2] = "Unknown"
    table = table.set_column(table.schema.get_field_index("status"), "status", pa.array(status))
    bad = pa.concat_tables([table, table.slice(1, 1)])
    verdicts = {}
    for engine in ("pandas", "spark"):
        write_staged(lake, "sales_order", f"ok_{engine}", table)
        ok = gate.run_gate(batch_args(lake, "sales_order", f"ok_{engine}"), engine=engine, now=NOW)
        write_staged(lake, "sales_order", f"bad_{engine}", bad)
        with pytest.raises(gate.QualityGateFailed) as info:
            gate.run_gate(batch_args(lake, "sales_order", f"bad_{engine}"), engine=engine, now=NOW)
        failed = sorted((r["expectation"], r["column"]) for r in info.value.summary["critical_failures"])
        verdicts[engine] = (ok["status"], [w["expectation"] for w in ok["warnings"]], failed)
        assert ok["engine"] == engine
    assert verdicts["pandas"] == verdicts["spark"]
    assert verdicts["pandas"][0] == "warning"


def test_each_run_adds_its_own_page_to_the_data_docs(lake):
    """A gate run renders its validation's page and the index, not every kept run's page again
    (a CDC round would re-render hundreds); the index still lists every kept run."""
    docs = lake / "logs/quality/data_docs"

    def pages(run_id: str) -> list[Path]:
        return [p for p in (docs / "validations").rglob("*.html") if f"sales_order__{run_id}" in str(p)]

    write_staged(lake, "sales_order", "d1", _orders_table())
    gate.run_gate(batch_args(lake, "sales_order", "d1"), now=NOW)
    [first] = pages("d1")
    rendered = first.stat().st_mtime_ns
    write_staged(lake, "sales_order", "d2", _orders_table())
    gate.run_gate(batch_args(lake, "sales_order", "d2"), now=NOW)
    assert len(pages("d2")) == 1 and first.stat().st_mtime_ns == rendered
    index = (docs / "index.html").read_text()
    assert "sales_order__d1" in index and "sales_order__d2" in index


def test_a_staging_job_builds_the_data_docs_of_all_its_gates_at_once(lake, monkeypatch):
    """The site's index reads every kept result, so a job that gates several batches builds its
    pages and the index in one go, not once per gate; every gated batch still gets its page."""
    from autocorp_lake.jobs import staging
    from autocorp_lake.quality import gx_run

    builds = []
    build_docs = gx_run.build_docs
    monkeypatch.setattr(gx_run, "build_docs", lambda site, runs: (builds.append(list(runs)), build_docs(site, runs)))

    def stage(batch: BatchArgs) -> dict:
        write_staged(lake, batch.zone, batch.run_id, _orders_table())
        return {"name": batch.name}

    batches = [BatchArgs.from_script_args(batch_args(lake, name, "round1")) for name in ("sales_order", "customers")]
    outcomes = staging.stage_and_validate(batches, stage)
    assert outcomes["sales_order"]["gate"] in ("passed", "warning")
    assert outcomes["customers"]["gate"] == "failed"  # orders are not customers: quarantined, still documented
    assert builds == [[("sales_order", "round1"), ("customers", "round1")]]
    docs = lake / "logs/quality/data_docs"
    index = (docs / "index.html").read_text()
    for zone in ("sales_order", "customers"):
        assert [p for p in (docs / "validations").rglob("*.html") if f"{zone}__round1" in str(p)]
        assert f"{zone}__round1" in index
    # a retry of the job: the quarantined batch keeps its verdict unvalidated, so no page of it is built again
    assert staging.stage_and_validate(batches, stage)["customers"]["gate"] == "failed"
    assert builds[-1] == [("sales_order", "round1")]


def test_the_staging_job_gates_a_big_batch_on_spark_and_its_task_fails_as_the_workers_gate(lake, spark, monkeypatch):
    """apply_changes validates every batch it stages (jobs.staging): above
    AUTOCORP_GATE_PANDAS_MAX_ROWS on the job's own Spark session (the Glue job on AWS). The
    table's quality_gate task then reads the verdict and fails exactly as a pandas gate would."""
    from autocorp_lake.jobs import staging
    from autocorp_lake.quality import dispatch

    table = _orders_table()
    bad = pa.concat_tables([table, table.slice(4, 1)])  # order_id 5 twice
    monkeypatch.setenv("AUTOCORP_GATE_PANDAS_MAX_ROWS", "10")
    write_staged(lake, "sales_order", "worker_bad", bad)

    def stage_from(data: pa.Table):
        def stage(batch: BatchArgs) -> dict:
            write_staged(lake, batch.zone, batch.run_id, data)
            return {"name": batch.name, "rows": data.num_rows}
        return stage

    def batch(run_id: str) -> BatchArgs:
        return BatchArgs.from_script_args(batch_args(lake, "sales_order", run_id))

    outcome = staging.stage_and_validate([batch("big_ok")], stage_from(table))["sales_order"]
    assert outcome["gate"] in ("passed", "warning") and outcome["rows"] == 12
    ok = dispatch.verdict(batch("big_ok"))
    assert ok["engine"] == "spark" and not ok["critical_failures"]
    assert ok["passed"] >= ok["expectations"] - len(ok["warnings"])

    assert staging.stage_and_validate([batch("big_bad")], stage_from(bad))["sales_order"]["gate"] == "failed"
    assert (lake / "quarantine/sales_order/big_bad/batch").is_dir() and not (lake / "staged/sales_order/big_bad").exists()
    with pytest.raises(gate.QualityGateFailed) as in_job:
        dispatch.verdict(batch("big_bad"))
    with pytest.raises(gate.QualityGateFailed) as in_worker:
        gate.run_gate(batch_args(lake, "sales_order", "worker_bad"), engine="pandas")
    failed = sorted((r["expectation"], r["column"], r["unexpected_count"])
                    for r in in_job.value.summary["critical_failures"])
    assert failed == sorted((r["expectation"], r["column"], r["unexpected_count"])
                            for r in in_worker.value.summary["critical_failures"])
    assert ("expect_column_values_to_be_unique", "order_id", 2) in failed
    assert "big_bad" in str(in_job.value) and "order_id=[5, 5]" in str(in_job.value)
    # a retry of the run finds the batch in quarantine: it stays failed, nothing is staged again
    again = staging.stage_and_validate([batch("big_bad")], stage_from(table))["sales_order"]
    assert again["gate"] == "failed" and not (lake / "staged/sales_order/big_bad").exists()


def test_a_batch_that_fails_to_stage_fails_only_its_own_gate_task(lake, spark, monkeypatch):
    """One table's staging error is recorded as its result: the others are staged and gated, and
    that table's quality_gate task fails with the cause. The batches are staged at the same time
    (each waits for the other at a barrier), and the job run's wall seconds are recorded."""
    import threading

    from autocorp_lake.jobs import staging
    from autocorp_lake.quality import dispatch

    monkeypatch.setenv("AUTOCORP_JOB_THREADS", "2")
    both_staging = threading.Barrier(2, timeout=60)

    def stage(batch: BatchArgs) -> dict:
        both_staging.wait()
        if batch.name == "customers":
            raise ValueError("columns ['customer_id'] are missing from the changes")
        write_staged(lake, batch.zone, batch.run_id, _orders_table())
        return {"name": batch.name}

    batches = [BatchArgs.from_script_args(batch_args(lake, name, "r1")) for name in ("customers", "sales_order")]
    outcomes = staging.stage_and_validate(batches, stage)
    assert outcomes["customers"]["gate"] == "error" and "customer_id" in outcomes["customers"]["error"]
    assert outcomes["sales_order"]["gate"] in ("passed", "warning")
    with pytest.raises(gate.GateError, match=r"apply_changes failed for customers in run r1: ValueError: "
                                             r"columns \['customer_id'\] are missing"):
        dispatch.verdict(batches[0])
    assert dispatch.verdict(batches[1])["rows"] == 12
    job_run = json.loads((lake / "logs/runs/r1/apply_changes.json").read_text())
    assert job_run["zones"] == ["customers", "sales_order"]
    assert job_run["seconds"] == pytest.approx(job_run["stage_seconds"] + job_run["gate_seconds"], abs=0.05)


@pytest.mark.parametrize("variable, read", [
    ("AUTOCORP_GATE_PANDAS_MAX_ROWS", lambda: gate.choose_engine(10)),
    ("AUTOCORP_GATE_ENGINE", lambda: gate.choose_engine(10)),
    ("AUTOCORP_GATE_ROWCOUNT_MIN_RATIO", lambda: gate.suite_parameters("table", 100, NOW)),
    ("AUTOCORP_GATE_ROWCOUNT_MAX_RATIO", lambda: gate.suite_parameters("table", 100, NOW)),
    ("AUTOCORP_GATE_FRESHNESS_HOURS", lambda: gate.suite_parameters("table", 100, NOW)),
    ("AUTOCORP_GATE_FEED_FRESHNESS_DAYS", lambda: gate.suite_parameters("feed", 100, NOW)),
    ("AUTOCORP_GATE_DOCS_KEEP", lambda: config.gate_docs_keep()),
])
def test_a_bad_gate_setting_names_its_variable(monkeypatch, variable, read):
    """The gate's settings are read in config: a bad value is a ConfigError naming the variable."""
    monkeypatch.delenv("AUTOCORP_GATE_ENGINE", raising=False)
    monkeypatch.setenv(variable, "lots")
    with pytest.raises(config.ConfigError, match=variable):
        read()


def test_gate_settings_defaults_and_overrides(monkeypatch):
    for variable in ("AUTOCORP_GATE_PANDAS_MAX_ROWS", "AUTOCORP_GATE_ENGINE", "AUTOCORP_GATE_ROWCOUNT_MIN_RATIO"):
        monkeypatch.delenv(variable, raising=False)
    assert gate.choose_engine(499_999) == "pandas" and gate.choose_engine(500_000) == "spark"
    assert gate.suite_parameters("table", 100, NOW)["row_count_min"] == 10
    monkeypatch.setenv("AUTOCORP_GATE_PANDAS_MAX_ROWS", "1e3")
    monkeypatch.setenv("AUTOCORP_GATE_ROWCOUNT_MIN_RATIO", "0.5")
    assert gate.choose_engine(999) == "pandas" and gate.choose_engine(1000) == "spark"
    assert gate.suite_parameters("table", 100, NOW)["row_count_min"] == 50
    monkeypatch.setenv("AUTOCORP_GATE_ENGINE", "spark")
    assert gate.choose_engine(1) == "spark"
    with pytest.raises(gate.GateError, match="gate engine 'duckdb' is not pandas or spark"):
        gate.choose_engine(1, "duckdb")
