"""The job server (`autocorp-lake job-server`, started by `make airflow`): a task's Glue job runs in
its warm Spark session, with the job's result, log lines and failure brought back to the task."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_quality_gate import _orders_table, write_staged  # noqa: E402


@contextlib.contextmanager
def _serving(monkeypatch, warm_up: str):
    from autocorp_lake.bench.common import free_loopback_port
    from autocorp_lake.local import job_server

    monkeypatch.setenv("AUTOCORP_JOB_SERVER_WARM_UP", warm_up)
    server = job_server.JobServer(free_loopback_port())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    address = f"127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("AUTOCORP_JOB_SERVER", address)
    try:
        assert server.ready.wait(120)
        yield address
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def job_server(spark, monkeypatch):
    # the warm-up has tests of its own; here jobs are taken as soon as the session is built
    with _serving(monkeypatch, warm_up="0") as address:
        yield address


def _promote_args(lake: Path, run_id: str) -> dict:
    return {"kind": "table", "name": "sales_order", "run_id": run_id, "lake_root": str(lake),
            "registry": str(REPO / "include/tables.yaml"), "hive_sync": "false", "JOB_NAME": "promote"}


def test_a_job_runs_on_the_job_server_and_its_failure_reaches_the_task(job_server, spark, tmp_path):
    from autocorp_lake.local import job_server as job_server_module, jobs

    health = json.loads(urllib.request.urlopen(f"http://{job_server}/health", timeout=10).read())
    assert health == {"ok": True, "ready": True, "warm_up": "off", "jobs_run": 0, **job_server_module.environment()}

    lake = tmp_path / "lake"
    orders = _orders_table()
    folder = write_staged(lake, "sales_order", "s1", orders)
    (folder / "_batch.json").write_text(json.dumps({"table": "sales_order", "run_id": "s1", "rows": orders.num_rows,
                                                   "mode": "bulk_insert"}))
    result = jobs.run_glue_script("promote", _promote_args(lake, "s1"), in_process=False, log=lambda line: None)
    assert (result["sales_order"]["written"], result["sales_order"]["rows"]) == (True, 12)
    curated = spark.read.format("hudi").load(str(lake / "curated/hudi/sales_order")).toPandas()
    assert dict(zip(curated["order_id"], curated["invoice_number"])) == dict(
        zip(orders.column("order_id").to_pylist(), orders.column("invoice_number").to_pylist()))

    lines: list[str] = []
    with pytest.raises(jobs.GlueScriptError, match=r"failed on the job server .*FileNotFoundError: no staged batch") as failed:
        jobs.run_glue_script("promote", _promote_args(lake, "missing"), in_process=False, log=lines.append)
    assert "'--run_id', 'missing'" in str(failed.value).split("\n")[1]  # the arguments, after the cause
    assert str(failed.value).splitlines()[-1].startswith("cause: FileNotFoundError: no staged batch")
    assert any("ERROR" in line and "promote of sales_order, run missing, failed" in line for line in lines)
    health = json.loads(urllib.request.urlopen(f"http://{job_server}/health", timeout=10).read())
    assert health["jobs_run"] == 2
    # `autocorp-lake run` (in-process) sends its jobs to the server too while AUTOCORP_JOB_SERVER is set
    with pytest.raises(jobs.GlueScriptError, match="failed on the job server"):
        jobs.run_glue_script("promote", _promote_args(lake, "missing"), in_process=True, log=lines.append)
    assert json.loads(urllib.request.urlopen(f"http://{job_server}/health", timeout=10).read())["jobs_run"] == 3


def test_run_uses_a_job_server_of_its_own_environment_only(job_server, monkeypatch, tmp_path):
    from autocorp_lake import config, runner

    said: list[str] = []
    runner._use_job_server_if_running(said.append)
    assert said == [f"Glue jobs run on the job server at {job_server} (a warm Spark session; 0 jobs run there before)"]
    monkeypatch.setenv("AUTOCORP_LAKE_DIR", str(tmp_path / "another-lake"))
    with pytest.raises(config.ConfigError, match=r"works on \{'lake': .*this command on \{'lake': '.*another-lake"):
        runner._use_job_server_if_running(said.append)


def test_with_no_job_server_answering_run_runs_its_jobs_in_process(spark, monkeypatch, tmp_path):
    from autocorp_lake import runner
    from autocorp_lake.bench.common import free_loopback_port
    from autocorp_lake.local import jobs

    address = f"127.0.0.1:{free_loopback_port()}"
    monkeypatch.setenv("AUTOCORP_JOB_SERVER", address)
    # a job still sent there falls back to this process: the job's own error, not the server's
    with pytest.raises(FileNotFoundError, match="no staged batch"):
        jobs.run_glue_script("promote", _promote_args(tmp_path, "missing"), in_process=True)
    said: list[str] = []
    runner._use_job_server_if_running(said.append)
    assert said == [f"no job server answers at {address}: <urlopen error [Errno 111] Connection refused> "
                    "(AUTOCORP_JOB_SERVER); the Glue jobs run in this process"]
    assert "AUTOCORP_JOB_SERVER" not in os.environ


def test_no_job_server_at_the_address_is_unavailable_and_only_loopback_is_accepted(monkeypatch):
    from autocorp_lake import config
    from autocorp_lake.bench.common import free_loopback_port
    from autocorp_lake.local import job_server

    with pytest.raises(job_server.Unavailable, match="no job server answers"):
        job_server.submit(f"127.0.0.1:{free_loopback_port()}", "promote", {}, print)
    monkeypatch.setenv("AUTOCORP_JOB_SERVER", "10.0.0.5:8081")
    with pytest.raises(config.ConfigError, match="loopback only"):
        config.job_server()


def test_the_warm_up_makes_each_kind_of_hudi_write_of_the_registry_on_throwaway_tables(spark, tmp_path, monkeypatch):
    from autocorp_lake.local import job_server

    monkeypatch.setattr(job_server, "WARM_UP_UPSERTS", 2)  # the second updates the first's inserts
    made = job_server.warm_up(spark, str(tmp_path))
    # the registry's tables: bucket-indexed copy-on-write, GLOBAL_BLOOM copy-on-write and merge-on-read
    assert made == ["COPY_ON_WRITE, unpartitioned", "COPY_ON_WRITE, partitioned", "MERGE_ON_READ, partitioned"]
    updated, inserted, deleted = job_server.WARM_UP_BATCH
    for number in range(len(made)):
        rows = spark.read.format("hudi").load(str(tmp_path / f"warm_up_{number}")).select("id", "dms_change_seq").collect()
        ids = {row.id: int(row.dms_change_seq) // 10_000_000 for row in rows}  # id -> version written last
        upserts = job_server.WARM_UP_UPSERTS
        assert len(ids) == len(rows) == job_server.WARM_UP_ROWS + upserts * (inserted - deleted), made[number]
        last_first = job_server.WARM_UP_ROWS - updated - deleted + (upserts - 1) * inserted
        assert not set(range(last_first, last_first + deleted)) & set(ids)  # the last upsert's deletes
        assert {ids[i] for i in range(last_first + deleted, last_first + deleted + updated + inserted)} == {upserts}


def test_a_job_never_waits_for_the_warm_up_which_gives_way_to_it(spark, tmp_path, monkeypatch):
    import time

    from autocorp_lake.local import job_server, jobs

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))  # where the server's warm-up tables go
    (tmp_path / "tmp").mkdir()
    with _serving(monkeypatch, warm_up="1") as address:
        assert job_server.health(address)["warm_up"] == "running"
        [warm_up_dir] = [p for p in (tmp_path / "tmp").iterdir() if p.name.startswith("autocorp-job-server-warm-up-")]
        lake = tmp_path / "lake"
        orders = _orders_table()
        folder = write_staged(lake, "sales_order", "s1", orders)
        (folder / "_batch.json").write_text(json.dumps({"table": "sales_order", "run_id": "s1",
                                                       "rows": orders.num_rows, "mode": "bulk_insert"}))
        result = jobs.run_glue_script("promote", _promote_args(lake, "s1"), in_process=False, log=lambda line: None)
        assert (result["sales_order"]["written"], result["sales_order"]["rows"]) == (True, 12)
        deadline = time.monotonic() + 60
        while job_server.health(address)["warm_up"] == "running" and time.monotonic() < deadline:
            time.sleep(0.2)
        # it stopped after the write under way when the job came, did not start again, and its tables are gone
        assert job_server.health(address)["warm_up"] == "stopped"
        assert not warm_up_dir.exists()
