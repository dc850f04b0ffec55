"""`autocorp-lake bench cdc`, the round part: what one small CDC round costs.

- locally: the wall time of `autocorp-lake run autocorp_cdc` after a few seconds of simulated source
  changes, in a throwaway environment bootstrapped with the demo data (checked with reconcile):
  once cold (the run starts its own JVM), then WARM_ROUNDS times with a job server running in the
  environment (AUTOCORP_JOB_SERVER: the jobs run in its warm Spark session, as under `make
  airflow`), with the staging and promote jobs' seconds of the last warm round;
- on AWS: the Glue job runs one round starts, counted on the aws target's autocorp_cdc DAG itself
  (every Glue-job task, times the tables its mapped group runs for), and the DPU-minutes they bill
  at least (Glue bills a run for one minute at the least, per DPU of each worker).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

from autocorp_lake.bench.common import BenchError, Throwaway, free_loopback_port, throwaway_environment

CDC_ROUND_GOAL_S = 15
GLUE_RUNS_GOAL = 2
WARM_ROUNDS = 3
JOB_SERVER_START_S = 180
DPU_PER_WORKER = {"G.025X": 0.25, "G.1X": 1, "G.2X": 2, "G.4X": 4, "G.8X": 8}

# In a child process with LAKE_TARGET=aws, so this process keeps its own target.
COUNT_GLUE_TASKS = """
import json, runpy
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
from autocorp_lake import config
dag = runpy.run_path(str(config.repo_root() / "dags" / "autocorp_cdc.py"))["dag"]
tables = len(config.registry().table_names)
counts = {}
for task in dag.tasks:
    cls = getattr(task, "operator_class", type(task))
    if isinstance(cls, type) and issubclass(cls, GlueJobOperator):
        mapped = task.get_closest_mapped_task_group() is not None or hasattr(task, "expand_input")
        counts[task.task_id] = tables if mapped else 1
print(json.dumps(counts))
"""


def glue_runs_per_round() -> dict[str, int]:
    """{task id: Glue job runs per round} of the aws target's autocorp_cdc."""
    from autocorp_lake import config

    env = {**os.environ, "LAKE_TARGET": "aws", "LAKE_ENV": "dev"}
    done = subprocess.run([sys.executable, "-c", COUNT_GLUE_TASKS], env=env, capture_output=True, text=True,
                          cwd=str(config.repo_root()))
    if done.returncode != 0:
        raise BenchError(f"bench cdc: the aws autocorp_cdc DAG did not load:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def glue_workers() -> tuple[str, int]:
    """(worker type, workers per run) of the dev environment (infra/env/dev.tfvars)."""
    import hcl2

    from autocorp_lake import config

    with open(config.repo_root() / "infra" / "env" / "dev.tfvars", encoding="utf-8") as handle:
        values = hcl2.load(handle)
    return str(values["glue_worker_type"]).strip('"'), int(values["glue_number_of_workers"])


def start_job_server(env: Throwaway) -> tuple[subprocess.Popen, str]:
    """`autocorp-lake job-server` in the throwaway environment, once its Spark session is ready and
    its warm-up over (a server started a while before the rounds, as `make airflow`'s is)."""
    from autocorp_lake.local import job_server

    address = f"127.0.0.1:{free_loopback_port()}"
    log_file = env.work / "logs" / "job-server.log"
    process = subprocess.Popen([sys.executable, "-m", "autocorp_lake.cli", "job-server", "--port",
                                address.rsplit(":", 1)[1]], env={**env.env, "AUTOCORP_SPARK_LOG_FILE": str(log_file)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + JOB_SERVER_START_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            answer = job_server.health(address)
            if answer.get("ready") and answer.get("warm_up") != "running":
                return process, address
        except job_server.Unavailable:
            pass
        time.sleep(0.5)
    process.kill()
    tail = log_file.read_text(errors="replace").splitlines()[-30:] if log_file.is_file() else []
    raise BenchError(f"bench cdc: the job server did not get ready in {JOB_SERVER_START_S} s; its log's end:\n"
                     + "\n".join(tail))


def simulated_round(env: Throwaway, seed: int, extra_env: dict[str, str] | None = None) -> float:
    env.step("simulate", "--tps", "10", "--seconds", "10", "--seed", str(seed))
    return env.step("run", "autocorp_cdc", extra_env=extra_env)


def warm_round_jobs(env: Throwaway) -> dict[str, float | None]:
    """The staging and promote jobs' seconds of the newest CDC round (their job-run records)."""
    from autocorp_lake.bench import pipeline

    run = pipeline.newest_run(pipeline.lake_root(env.work), "apply_changes")
    return {"stage": pipeline.job_seconds(run, "apply_changes", "stage_seconds"),
            "gate": pipeline.job_seconds(run, "apply_changes", "gate_seconds"),
            "promote": pipeline.job_seconds(run, "promote")}


def run() -> dict:
    per_task = glue_runs_per_round()
    runs = sum(per_task.values())
    worker_type, workers = glue_workers()
    dpu_minutes = runs * workers * DPU_PER_WORKER[worker_type]
    with throwaway_environment("cdc-round") as env:
        bootstrap_s = env.step("run", "autocorp_bootstrap")
        cold_s = simulated_round(env, 7)
        server, address = start_job_server(env)
        try:
            warm_s = [simulated_round(env, 8 + i, {"AUTOCORP_JOB_SERVER": address}) for i in range(WARM_ROUNDS)]
            jobs = warm_round_jobs(env)
        finally:
            server.terminate()
            server.wait(timeout=60)
        env.step("reconcile")  # exit 1 on any difference
    return {"rows": [
        {"figure": f"CDC round with a small batch, local in-process, cold: `run autocorp_cdc` starts its JVM "
                   f"(goal <= {CDC_ROUND_GOAL_S})", "value": round(cold_s, 1), "unit": "s"},
        {"figure": f"the same round with a job server running (AUTOCORP_JOB_SERVER, a warm Spark session): "
                   f"p50 / max of {WARM_ROUNDS} (goal <= {CDC_ROUND_GOAL_S})",
         "value": f"{statistics.median(warm_s):.1f} / {max(warm_s):.1f}", "unit": "s",
         "rounds": [round(s, 1) for s in warm_s]},
        {"figure": "  its last round's jobs: staging (stage phase / gate phase) / promote",
         "value": f"{jobs['stage']} / {jobs['gate']} / {jobs['promote']}", "unit": "s"},
        {"figure": "bootstrap of the demo data before it", "value": round(bootstrap_s, 1), "unit": "s"},
        {"figure": f"Glue job runs per CDC round on AWS (goal <= {GLUE_RUNS_GOAL})", "value": runs, "unit": "runs",
         "per_task": per_task},
        {"figure": f"DPU-minutes per CDC round on AWS, at least ({workers} x {worker_type}, 1-minute minimum)",
         "value": dpu_minutes, "unit": "DPU-min", "per_day": dpu_minutes * 6 * 24},
    ]}
