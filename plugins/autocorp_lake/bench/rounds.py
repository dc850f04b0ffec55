"""`autocorp-lake bench cdc`, the round part: what one small CDC round costs.

- locally: the wall time of `autocorp-lake run autocorp_cdc` after a few seconds of simulated source
  changes, in a throwaway environment bootstrapped with the demo data (checked with reconcile);
- on AWS: the Glue job runs one round starts, counted on the aws target's autocorp_cdc DAG itself
  (every Glue-job task, times the tables its mapped group runs for), and the DPU-minutes they bill
  at least (Glue bills a run for one minute at the least, per DPU of each worker).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from autocorp_lake.bench.common import BenchError, throwaway_lake

CDC_ROUND_GOAL_S = 15
GLUE_RUNS_GOAL = 2
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


def run() -> dict:
    per_task = glue_runs_per_round()
    runs = sum(per_task.values())
    worker_type, workers = glue_workers()
    dpu_minutes = runs * workers * DPU_PER_WORKER[worker_type]
    with throwaway_lake("cdc-round") as step:
        bootstrap_s = step("run", "autocorp_bootstrap")
        step("simulate", "--tps", "10", "--seconds", "10", "--seed", "7")
        round_s = step("run", "autocorp_cdc")
        step("reconcile")  # exit 1 on any difference
    return {"rows": [
        {"figure": f"CDC round with a small batch, local in-process (goal <= {CDC_ROUND_GOAL_S})",
         "value": round(round_s, 1), "unit": "s"},
        {"figure": "bootstrap of the demo data before it", "value": round(bootstrap_s, 1), "unit": "s"},
        {"figure": f"Glue job runs per CDC round on AWS (goal <= {GLUE_RUNS_GOAL})", "value": runs, "unit": "runs",
         "per_task": per_task},
        {"figure": f"DPU-minutes per CDC round on AWS, at least ({workers} x {worker_type}, 1-minute minimum)",
         "value": dpu_minutes, "unit": "DPU-min", "per_day": dpu_minutes * 6 * 24},
    ]}
