"""Airflow as users run it: `make airflow`'s own script (airflow standalone: api-server, scheduler,
dag-processor, triggerer, LocalExecutor) on a free loopback port, against a PostgreSQL cluster of
its own, with the DAGs triggered through the REST API /api/v2 without a logical date.

One Airflow instance and one sequence of DAG runs serve this module (the scheduler test and the
browser test): starting Airflow and running Spark jobs under it cost minutes, so they happen
once. The registry is reduced to two tables and one feed (AUTOCORP_TABLES / AUTOCORP_FEEDS) to keep
the runs to a few minutes on 2 cores; every DAG still runs its full shape.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from autocorp_lake.bench.common import free_loopback_port as free_port
from autocorp_lake.bench.standalone import Api, standalone, standalone_env

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.spark, pytest.mark.scheduler]

TABLES = ("customers", "sales_order")
FEEDS = ("customers",)


@dataclass
class Run:
    dag_id: str
    run_id: str
    state: str
    seconds: float
    tasks: list[dict] = field(default_factory=list)


@dataclass
class Lake:
    """The running Airflow and what the package's DAG runs did."""

    url: str
    password: str
    api: Api
    home: Path
    runs: dict[str, Run] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def _airflow_env(port: int) -> dict[str, str]:
    return standalone_env(
        os.environ, port,
        AUTOCORP_TABLES=",".join(TABLES), AUTOCORP_FEEDS=",".join(FEEDS),
        # only the runs the tests trigger: no cron runs of cdc, files, analytics, maintenance
        AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="False",
        AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="600",
    )


@pytest.fixture(scope="module")
def airflow_lake(tmp_path_factory):
    """PostgreSQL of its own (seeded: source rows and CSV exports), then `scripts/airflow_standalone.sh`
    on a free port (autocorp_lake.bench.standalone); yields a Lake, stops everything afterwards and
    restores the environment."""
    if not (REPO / ".venv/bin/airflow").is_file():
        pytest.skip("needs the repo's .venv (make venv): scripts/airflow_standalone.sh runs .venv/bin/airflow")
    saved = dict(os.environ)
    root = tmp_path_factory.mktemp("airflow-lake")
    os.environ.update({"AUTOCORP_LOCAL_DIR": str(root), "AUTOCORP_PG_PORT": str(free_port()), "LAKE_TARGET": "local"})
    for name in ("AUTOCORP_LAKE_DIR", "AUTOCORP_SPARK_INPROCESS", "AUTOCORP_TABLES", "AUTOCORP_FEEDS"):
        os.environ.pop(name, None)
    from autocorp_lake.local import generator, services

    try:
        services.up(log=lambda *a, **k: None)
        generator.seed(scale="demo", csv=True, progress=False)
        port = free_port()
        with standalone(_airflow_env(port), port, home=root / "airflow", log=root / "airflow_standalone.log") as airflow:
            assert f"password {airflow.password}" in airflow.log.read_text()  # the script says where to log in
            lake = Lake(url=airflow.url, password=airflow.password, api=airflow.api, home=airflow.home)
            lake.timings["airflow_start"] = airflow.start_seconds
            yield lake
    finally:
        services.down(log=lambda *a, **k: None)
        shutil.rmtree(services.cluster_dir(), ignore_errors=True)
        os.environ.clear()
        os.environ.update(saved)


def run_dags(lake: Lake, *dag_ids: str, key: str | None = None) -> None:
    """Trigger the DAGs together (they touch different tables or only read), wait for all."""
    started = time.monotonic()
    run_ids = {dag_id: lake.api.trigger(dag_id) for dag_id in dag_ids}
    for dag_id, run_id in run_ids.items():
        state = lake.api.wait(dag_id, run_id)["state"]
        run = Run(dag_id, run_id, state, time.monotonic() - started, lake.api.task_instances(dag_id, run_id))
        lake.runs[key or dag_id] = run
        lake.timings[key or dag_id] = run.seconds


def failed_tasks(run: Run) -> list[str]:
    """Tasks that did not succeed; the watcher leaf (trigger_rule one_failed) is skipped when none failed."""
    return [f"{t['task_id']}[{t.get('rendered_map_index') or t['map_index']}]={t['state']}"
            for t in run.tasks
            if t["state"] != "success" and not (t["task_id"] == "watcher" and t["state"] == "skipped")]


@pytest.fixture(scope="module")
def lake_runs(airflow_lake):
    """The sequence a user runs: bootstrap; simulated source changes, then cdc and files; analytics
    and maintenance (reconcile); then a CDC round whose sales_order batch breaks a critical
    expectation. DAGs that touch different tables run at the same time, as under a real schedule."""
    from autocorp_lake.local import services, simulator

    lake = airflow_lake
    lake.api.wait_for_dags(["autocorp_bootstrap", "autocorp_cdc", "autocorp_files",
                            "autocorp_analytics", "autocorp_maintenance"])
    run_dags(lake, "autocorp_bootstrap")
    if lake.runs["autocorp_bootstrap"].state == "success":
        simulator.simulate(tps=20, seconds=3, seed=7)
        with services.connect() as conn:  # whatever the simulator chose: both tables change
            conn.execute("update customers set city = 'Lyon' where customer_id = (select max(customer_id) from customers)")
            conn.execute("update sales_order set status = 'Closed' where order_id = (select max(order_id) from sales_order)")
        run_dags(lake, "autocorp_cdc", "autocorp_files")  # database tables / CSV feed tables
        run_dags(lake, "autocorp_analytics", "autocorp_maintenance")  # both only read the lake
        # a negative subtotal: the sales_order gate's critical `subtotal >= 0` fails
        with services.connect() as conn:
            conn.execute("update sales_order set subtotal = -5 where order_id = (select min(order_id) from sales_order)")
            conn.execute("update customers set city = 'Nice' where customer_id = (select min(customer_id) from customers)")
        run_dags(lake, "autocorp_cdc", key="cdc_gate_fails")
    return lake


DAG_IDS = ("autocorp_bootstrap", "autocorp_cdc", "autocorp_files", "autocorp_analytics", "autocorp_maintenance")


def _xcom(lake: Lake, run: Run, task_id: str):
    entry = lake.api.get(f"/dags/{run.dag_id}/dagRuns/{run.run_id}/taskInstances/{task_id}/xcomEntries/return_value",
                         deserialize=True)
    value = entry["value"]
    if isinstance(value, str):
        import ast

        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return ast.literal_eval(value)
    return value


def _log_entries(lake: Lake, run: Run, task_id: str, map_index: int = -1, try_number: int = 1) -> list[dict]:
    response = lake.api.client.get(
        f"/dags/{run.dag_id}/dagRuns/{run.run_id}/taskInstances/{task_id}/logs/{try_number}",
        params={"map_index": map_index, "full_content": True}, headers={"Accept": "application/json"},
    )
    response.raise_for_status()
    return [e for e in response.json()["content"] if isinstance(e, dict)]


def test_every_dag_runs_under_the_scheduler_without_a_logical_date(lake_runs):
    lake = lake_runs
    print("\nreal-scheduler timings (s):", json.dumps({k: round(v, 1) for k, v in lake.timings.items()}))
    for dag_id in DAG_IDS:
        run = lake.runs.get(dag_id)
        assert run is not None, f"{dag_id} never ran; bootstrap ended {lake.runs['autocorp_bootstrap'].state}: " \
                                f"{failed_tasks(lake.runs['autocorp_bootstrap'])}"
        assert run.state == "success", f"{dag_id}: {failed_tasks(run)}"
        assert run.tasks and not failed_tasks(run), f"{dag_id}: {failed_tasks(run)}"

    # mapped tasks carry their table / feed names (grid and log titles)
    for dag_id, names in (("autocorp_bootstrap", TABLES), ("autocorp_cdc", TABLES), ("autocorp_files", FEEDS)):
        mapped = [t for t in lake.runs[dag_id].tasks if t["map_index"] >= 0 and "_pipeline." in t["task_id"]]
        assert sorted(t["rendered_map_index"] for t in mapped) == sorted(names), mapped  # one gate each
        assert {t["task_id"].split(".", 1)[1] for t in mapped} == {"quality_gate"}

    # reconcile (autocorp_maintenance) found the source and the lake equal, row by row
    rows = _xcom(lake, lake.runs["autocorp_maintenance"], "reconcile")
    assert sorted(r["table"] for r in rows) == sorted(TABLES)
    for row in rows:
        assert row["source_rows"] > 0 and row["source_rows"] == row["lake_rows"], row
        assert row["missing"] == row["extra"] == row["different"] == 0, row

    # analytics without a logical date: the report is under the run's run_after date
    from autocorp_lake import config

    analytics = lake.api.get(f"/dags/autocorp_analytics/dagRuns/{lake.runs['autocorp_analytics'].run_id}")
    day = analytics["run_after"][:10]
    report = config.lake_root() / "reports" / day
    assert (report / "index.html").is_file()
    assert (report / "revenue_by_month" / "result.csv").stat().st_size > 0

    # the promote recorded an update of the curated Asset (autocorp_analytics runs on it)
    events = lake.api.get("/assets/events", limit=200, source_dag_id="autocorp_bootstrap")["asset_events"]
    promoted = [e for e in events if e["source_task_id"] == "table_pipeline.promote"]
    assert len(promoted) == 1, events

    # a successful Spark job's log holds no ERROR line (its INFO/WARN lines keep their level)
    bootstrap = lake.runs["autocorp_bootstrap"]
    entries = _log_entries(lake, bootstrap, "table_pipeline.promote")
    child = [e for e in entries if e.get("logger") == "autocorp_lake.spark_submit"]
    assert child, "the spark-submit child's lines are in the task log"
    errors = [e for e in entries if str(e.get("level", "")).lower() in ("error", "critical")]
    assert not errors, errors[:5]


def test_a_failed_gate_fails_the_run_and_names_its_cause_last(lake_runs):
    lake = lake_runs
    run = lake.runs.get("cdc_gate_fails")
    assert run is not None, "the earlier runs did not succeed"
    gate = {t["rendered_map_index"]: t for t in run.tasks if t["task_id"] == "table_pipeline.quality_gate"}
    assert gate["sales_order"]["state"] == "failed"
    assert gate["customers"]["state"] == "success"  # one table's bad batch stops only that table
    # promote took only the table that passed
    promote = next(t for t in run.tasks if t["task_id"] == "table_pipeline.promote")
    assert promote["state"] == "success"
    assert _xcom(lake, run, "table_pipeline.passed_gate")["--name"] == "customers"
    from autocorp_lake import config, lake as lake_keys

    quarantine = config.lake_root() / lake_keys.quarantine_prefix("sales_order", config.safe_run_id(run.run_id))
    assert (quarantine / "result.json").is_file()  # the bad batch is held, not promoted
    entries = _log_entries(lake, run, "table_pipeline.quality_gate", gate["sales_order"]["map_index"])
    events = [str(e.get("event", "")) for e in entries]
    last_error = max(i for i, e in enumerate(entries) if str(e.get("level", "")).lower() == "error")
    assert "AutoCorp Lake task failed" in events[last_error]
    assert "expect_column_values_to_be_between(subtotal) [subtotal >= 0]" in events[last_error]
    # outside any collapsed group: every group opened before the cause is closed before it
    opened = sum(1 for e in events[:last_error] if e.startswith("::group::"))
    closed = sum(1 for e in events[:last_error] if e.startswith("::endgroup::"))
    assert opened <= closed, events[-15:]
    if run.state == "success":
        pytest.xfail("a failed quality_gate leaves the run green until the watcher leaf (issue 13, "
                     "trigger_rule one_failed) is merged: publish_metrics (all_done) is the only leaf")
    assert run.state == "failed"


# --- the UI in a browser ---------------------------------------------------------------------------

CHROMIUM = Path(os.environ.get("AUTOCORP_CHROMIUM", "/usr/bin/chromium"))


@pytest.fixture(scope="module")
def browser_page(lake_runs):
    """Debian's Chromium driven by Playwright (its own browser download is not needed), logged in."""
    playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (requirements-dev.txt)")
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (.ci/run does)")
    lake = lake_runs
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1500, "height": 950})
        page.set_default_timeout(60_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{lake.url}/dags")
        page.wait_for_url("**/auth/login**")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", lake.password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{lake.url}/dags**")
        yield page, errors
        browser.close()


@pytest.mark.browser
def test_the_ui_shows_dags_runs_mapped_names_and_a_failed_tasks_cause(lake_runs, browser_page, tmp_path):
    lake, (page, js_errors) = lake_runs, browser_page
    started = time.monotonic()
    shots = tmp_path / "screenshots"
    shots.mkdir()

    # the five DAGs with their tags
    page.goto(f"{lake.url}/dags")
    for dag_id in DAG_IDS:
        page.get_by_role("link", name=dag_id, exact=True).wait_for()
    body = page.inner_text("body")
    for tag in ("autocorp", "bootstrap", "cdc", "files", "analytics", "maintenance", "local"):
        assert tag in body
    page.screenshot(path=str(shots / "01_dags.png"), full_page=True)

    # each DAG's docs (doc_md) open from its page
    for dag_id in DAG_IDS:
        page.goto(f"{lake.url}/dags/{dag_id}")
        page.get_by_label("Dag Docs").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text(dag_id, exact=False).first.wait_for()
        assert "###" not in dialog.inner_text()  # rendered markdown, not its source
        if dag_id == "autocorp_bootstrap":
            page.screenshot(path=str(shots / "02_docs.png"))
        page.keyboard.press("Escape")

    # a run's grid, and the mapped tasks by table name
    bootstrap = lake.runs["autocorp_bootstrap"]
    page.goto(f"{lake.url}/dags/autocorp_bootstrap/runs/{bootstrap.run_id}")
    page.get_by_text("table_pipeline", exact=False).first.wait_for()
    page.screenshot(path=str(shots / "03_grid.png"), full_page=True)
    page.goto(f"{lake.url}/dags/autocorp_bootstrap/runs/{bootstrap.run_id}/tasks/table_pipeline.quality_gate/mapped")
    for table in TABLES:
        page.get_by_role("link", name=table, exact=True).first.wait_for()
    page.screenshot(path=str(shots / "04_mapped_by_table.png"), full_page=True)

    # a failed task's log: its cause is visible without expanding anything
    failed = lake.runs["cdc_gate_fails"]
    gate = next(t for t in failed.tasks
                if t["task_id"] == "table_pipeline.quality_gate" and t["rendered_map_index"] == "sales_order")
    page.goto(f"{lake.url}/dags/autocorp_cdc/runs/{failed.run_id}/tasks/table_pipeline.quality_gate"
              f"/mapped/{gate['map_index']}")
    cause = page.get_by_text("AutoCorp Lake task failed", exact=False).last
    cause.wait_for()
    assert cause.is_visible()
    expectation = page.get_by_text("[subtotal >= 0]", exact=False).last
    assert expectation.is_visible()
    page.screenshot(path=str(shots / "05_failed_log.png"), full_page=True)

    assert not js_errors, js_errors
    lake.timings["browser_test"] = time.monotonic() - started
    print(f"\nbrowser test: {lake.timings['browser_test']:.1f}s; screenshots in {shots}")
