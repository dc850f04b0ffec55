"""A new user's first session, through the `autocorp-lake` command only, on a machine whose
caches are empty: no Spark jars (an empty Ivy cache, HOME and the JVM's user.home pointing at an
empty folder), its own PostgreSQL cluster and lake.

Then what an operator sees: a failed gate fails the run (exit code) while the other tables are
promoted; `status` and `quality` show the table as blocked; `--format json` prints only JSON;
SIGTERM stops a run cleanly and the next run carries on.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.cli]

CLI = [sys.executable, "-m", "autocorp_lake.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def fresh_machine(tmp_path_factory):
    root = tmp_path_factory.mktemp("first-run")
    home = root / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOCORP_", "AIRFLOW", "LAKE_", "SPARK_"))}
    env.update({
        "HOME": str(home),
        # Java takes user.home from the passwd entry, not $HOME: point it at the empty folder too
        "JAVA_TOOL_OPTIONS": f"-Duser.home={home}",
        "AUTOCORP_IVY_DIR": str(root / "ivy"),
        "AUTOCORP_LOCAL_DIR": str(root / "local"),
        "AUTOCORP_PG_PORT": str(free_port()),
        "PYTHONUNBUFFERED": "1",
        # three tables keep the CI minutes down; the full registry runs in `make demo`
        "AUTOCORP_TABLES": "auto_parts,customers,sales_order",
    })
    yield env
    subprocess.run([*CLI, "down"], env=env, capture_output=True, timeout=120)
    shutil.rmtree(root / "local" / "pg", ignore_errors=True)


def cli(env, *args, timeout=900, check=True) -> subprocess.CompletedProcess:
    done = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"autocorp-lake {' '.join(args)} exited {done.returncode}\n"
                             f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}")
    return done


def source(env) -> psycopg.Connection:
    return psycopg.connect(host="127.0.0.1", port=int(env["AUTOCORP_PG_PORT"]), dbname="autocorp",
                           user="autocorp", autocommit=True)


def tables_by_name(env) -> dict[str, dict]:
    status = cli(env, "status", "--format", "json", check=False)
    return {row["table"]: row for row in json.loads(status.stdout)["tables"]}


def test_first_run_from_empty_caches(fresh_machine):
    env = fresh_machine
    cli(env, "up")
    cli(env, "seed", "--quiet")
    run = cli(env, "run", "autocorp_bootstrap")
    assert "autocorp_bootstrap: success" in run.stdout
    assert "No tasks to run" not in run.stdout + run.stderr
    assert "XCom not found" not in run.stdout + run.stderr  # passed_gate reads the gates' verdicts quietly
    assert ":: loading settings" not in run.stdout  # Ivy's chatter stays out of the output
    jars = Path(env["AUTOCORP_IVY_DIR"]) / "jars"
    assert (jars / "org.postgresql_postgresql-42.7.4.jar").is_file()
    assert not (Path(env["HOME"]) / ".ivy2").exists()

    states = tables_by_name(env)
    assert {row["state"] for row in states.values()} == {"ok"}
    query = cli(env, "query", "select count(*) as n from autocorp_curated.customers", "--format", "json")
    with source(env) as conn:
        expected = conn.execute("select count(*) from customers").fetchone()[0]
    assert expected > 0 and json.loads(query.stdout) == [{"n": expected}]


def test_a_failed_gate_fails_the_run_and_blocks_only_its_table(fresh_machine):
    env = fresh_machine
    with source(env) as conn:
        conn.execute("update auto_parts set price = -5 where part_id = 1")  # price >= 0 is critical
        conn.execute("update customers set city = 'Lyon' where customer_id = 1")
    run = cli(env, "run", "autocorp_cdc", check=False)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "autocorp_cdc: failed" in run.stdout
    assert "quality_gate" in run.stdout  # the failed tasks are named

    blocked = tables_by_name(env)["auto_parts"]
    assert (blocked["state"], blocked["held_batches"], blocked["held_changes"]) == ("blocked", 1, 1)
    assert tables_by_name(env)["customers"]["state"] == "ok"
    status = cli(env, "status", check=False)
    assert status.returncode == 1 and "autocorp-lake release auto_parts" in status.stderr
    quality = cli(env, "quality", "--format", "json", check=False)
    assert quality.returncode == 1
    summary = {row["table"]: row for row in json.loads(quality.stdout)}
    assert summary["auto_parts"]["state"] == "blocked" and summary["auto_parts"]["held_changes"] == 1
    assert cli(env, "reconcile", "--table", "customers").returncode == 0  # the other tables promoted


def test_sigterm_stops_a_run_and_the_next_run_carries_on(fresh_machine):
    env = fresh_machine
    with source(env) as conn:
        conn.execute("update customers set city = 'Nice' where customer_id < 50")
        conn.execute("update sales_order set status = 'Cancelled' where order_id < 30")
    process = subprocess.Popen([*CLI, "run", "autocorp_cdc"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    seen = []
    for line in process.stdout:
        seen.append(line)
        if "apply_changes" in line:  # a Glue job of the run is under way
            break
    time.sleep(3)
    process.send_signal(signal.SIGTERM)
    try:
        rest, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("autocorp-lake run did not stop within 60 s of SIGTERM:\n" + "".join(seen))
    assert process.returncode == 143, "".join(seen) + rest
    assert "stopped (SIGTERM)" in rest
    # nothing it started outlives it (the Spark JVM is started with this test's jar cache)
    import psutil

    leftovers = [p for p in psutil.process_iter(["cmdline"])
                 if env["AUTOCORP_IVY_DIR"] in " ".join(p.info["cmdline"] or [])]
    assert leftovers == [], [" ".join(p.info["cmdline"])[:200] for p in leftovers]

    run = cli(env, "run", "autocorp_cdc")
    assert "autocorp_cdc: success" in run.stdout
    for table in ("customers", "sales_order"):
        cli(env, "reconcile", "--table", table)


def test_a_command_run_while_postgresql_is_stopped_says_to_start_it(fresh_machine):
    env = fresh_machine
    cli(env, "down")
    try:
        done = cli(env, "simulate", "--seconds", "1", check=False)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "OperationalError" in done.stderr
        assert (f"PostgreSQL (127.0.0.1:{env['AUTOCORP_PG_PORT']}: the source database and the catalog) "
                "is not running: start it with `autocorp-lake up`") in " ".join(done.stderr.split())
    finally:
        cli(env, "up")
    # running again, the command works
    cli(env, "simulate", "--seconds", "1")
