"""Airflow as users run it (`make airflow`: scripts/airflow_standalone.sh, i.e. airflow standalone
with its api-server, scheduler, dag-processor and triggerer on the LocalExecutor) on a free loopback
port, and its REST API /api/v2 with a token of the simple auth manager's generated admin password.

`bench freshness` and the scheduler tests (tests/scheduler/test_real_airflow.py) run against it.
The caller gives the environment (standalone_env: its PostgreSQL, lake and AIRFLOW_HOME come from
AUTOCORP_LOCAL_DIR / AUTOCORP_PG_PORT); `standalone()` starts the script, waits for the banner it
prints once the UI answers, and stops the whole process group afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

from autocorp_lake.bench.common import BenchError, free_loopback_port

SCRIPT = Path("scripts") / "airflow_standalone.sh"
TERMINAL = {"success", "failed"}
RUN_TIMEOUT = 15 * 60  # one DAG run


class Api:
    """The REST API /api/v2 with a token from the simple auth manager's /auth/token."""

    def __init__(self, url: str, password: str):
        import httpx

        self.url = url
        token = httpx.post(f"{url}/auth/token", json={"username": "admin", "password": password}, timeout=30)
        token.raise_for_status()
        self.client = httpx.Client(
            base_url=f"{url}/api/v2", timeout=60,
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )

    def get(self, path: str, **params) -> dict:
        response = self.client.get(path, params=params or None)
        response.raise_for_status()
        return response.json()

    def patch(self, path: str, body: dict) -> dict:
        response = self.client.patch(path, json=body)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: dict) -> dict:
        response = self.client.post(path, json=body)
        if response.status_code not in (200, 201):
            raise BenchError(f"POST {path}: {response.status_code} {response.text}")
        return response.json()

    def wait_for_dags(self, dag_ids, timeout: float = 240) -> dict[str, dict]:
        """The DAGs once the dag-processor has parsed them all; an import error stops the wait."""
        deadline = time.monotonic() + timeout
        while True:
            found = {d["dag_id"]: d for d in self.get("/dags", limit=100)["dags"]}
            if set(dag_ids) <= set(found):
                return found
            errors = self.get("/importErrors")
            if errors.get("import_errors"):
                raise BenchError(f"DAG import errors: {json.dumps(errors['import_errors'])[:4000]}")
            if time.monotonic() > deadline:
                raise BenchError(f"DAGs not parsed in {timeout:.0f}s: {sorted(found)}")
            time.sleep(3)

    def unpause(self, dag_id: str) -> None:
        self.patch(f"/dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        """A run without a logical date, as the REST API and the CLI allow in Airflow 3."""
        self.unpause(dag_id)
        run = self.post(f"/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf or {}})
        if run["logical_date"] is not None:
            raise BenchError(f"{dag_id}: a run without a logical date got {run['logical_date']}")
        return run["dag_run_id"]

    def wait(self, dag_id: str, run_id: str, timeout: float = RUN_TIMEOUT) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            run = self.get(f"/dags/{dag_id}/dagRuns/{run_id}")
            if run["state"] in TERMINAL:
                return run
            if time.monotonic() > deadline:
                raise BenchError(f"{dag_id} {run_id} still {run['state']} after {timeout:.0f}s")
            time.sleep(5)

    def runs(self, dag_id: str) -> list[dict]:
        """The DAG's runs (the API's page: up to 100), oldest first."""
        return sorted(self.get(f"/dags/{dag_id}/dagRuns", limit=100)["dag_runs"], key=lambda r: r["run_after"])

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=200)["task_instances"]

    def log(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1, try_number: int = 1) -> str:
        response = self.client.get(
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
            params={"map_index": map_index, "full_content": True}, headers={"Accept": "text/plain"},
        )
        response.raise_for_status()
        return response.text


def standalone_env(base: Mapping[str, str], port: int, **settings: str) -> dict[str, str]:
    """`base` without its Airflow settings (the script sets them for its own home and port) nor
    what would change how tasks run (in-process Spark, a lake elsewhere, the CLI's Spark log file),
    plus AIRFLOW_PORT, a free port for the job server and `settings`."""
    env = {key: value for key, value in base.items()
           if not key.startswith("AIRFLOW")
           and key not in ("AUTOCORP_SPARK_INPROCESS", "AUTOCORP_LAKE_DIR", "AUTOCORP_SPARK_LOG_FILE",
                           "AUTOCORP_JOB_SERVER")}
    env.update({"AIRFLOW_PORT": str(port), "AUTOCORP_JOB_SERVER_PORT": str(free_loopback_port()),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False", **settings})
    return env


@dataclass
class Airflow:
    """A running `airflow standalone`: where it answers and how to log in."""

    url: str
    password: str
    api: Api
    home: Path
    log: Path
    start_seconds: float


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the script's process group (the script stops airflow standalone's components),
    SIGKILL after a minute."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


@contextlib.contextmanager
def standalone(env: Mapping[str, str], port: int, home: Path, log: Path,
               timeout: float = 600) -> Iterator[Airflow]:
    """Start scripts/airflow_standalone.sh with `env` (see standalone_env; AIRFLOW_HOME is `home`,
    the script's $AUTOCORP_LOCAL_DIR/airflow), its output in `log`; yield once the UI answers."""
    from autocorp_lake import config

    repo = config.repo_root()
    if not (repo / ".venv" / "bin" / "airflow").is_file():
        raise BenchError(f"needs the repo's .venv (make venv): {SCRIPT} runs .venv/bin/airflow in {repo}")
    url = f"http://127.0.0.1:{port}"
    banner = f"Airflow UI: {url}"
    started = time.monotonic()
    with open(log, "w") as output:
        process = subprocess.Popen(["bash", str(repo / SCRIPT)], cwd=repo, env=dict(env), stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + timeout
            while banner not in log.read_text(errors="replace"):
                if process.poll() is not None:
                    raise BenchError(f"{SCRIPT} stopped (exit {process.returncode}):\n"
                                     f"{log.read_text(errors='replace')[-4000:]}")
                if time.monotonic() > deadline:
                    raise BenchError(f"Airflow did not answer on {url} in {timeout:.0f}s; see {log}")
                time.sleep(2)
            password = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())["admin"]
            yield Airflow(url=url, password=password, api=Api(url, password), home=home, log=log,
                          start_seconds=time.monotonic() - started)
        finally:
            stop(process)
