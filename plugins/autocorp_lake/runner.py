"""`autocorp-lake run DAG_ID`: run one DAG end to end on the local target with `dag.test()`.

Tasks run in this process, so every Glue script of the run shares one SparkSession. The Airflow
metadata lives in the local PostgreSQL `airflow` database (created by `autocorp-lake up`).
"""

from __future__ import annotations

import os
import time
from collections import Counter

from autocorp_lake import config


def airflow_env() -> dict[str, str]:
    settings = config.postgres()
    root = config.repo_root()
    return {
        "AIRFLOW_HOME": str(config.local_dir() / "airflow"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": settings.sqlalchemy_url(settings.airflow_db),
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(root / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # task logs at INFO are long; AUTOCORP_RUN_LOG_LEVEL=INFO shows them
        "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get("AUTOCORP_RUN_LOG_LEVEL", "WARNING"),
        "LAKE_TARGET": "local",
    }


def _ensure_metadata_db(log) -> None:
    from airflow.utils import db

    started = time.monotonic()
    db.upgradedb()
    log(f"Airflow metadata database ready ({time.monotonic() - started:.1f}s)")


def run_dag(dag_id: str, conf: dict | None = None, log=print) -> int:
    if dag_id not in config.DAG_IDS:
        raise config.ConfigError(f"unknown DAG {dag_id!r}; the DAGs are: {', '.join(config.DAG_IDS)}")
    if config.target() != "local":
        raise config.ConfigError("`autocorp-lake run` runs the local target; unset LAKE_TARGET or set it to local")
    os.environ.update(airflow_env())
    os.environ["AUTOCORP_SPARK_INPROCESS"] = "1"
    from autocorp_lake.local import services

    services.up(log=log)
    _ensure_metadata_db(log)
    # no pools: MWAA has only default_pool; the steps cap their own concurrency (targets/__init__.py)
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(config.repo_root() / "dags" / f"{dag_id}.py"))
    if bag.import_errors:
        raise RuntimeError(f"DAG file failed to import: {bag.import_errors}")
    dag = bag.dags[dag_id]
    log(f"running {dag_id} on the local target ...")
    started = time.monotonic()
    dag_run = dag.test(run_conf=conf or None)
    instances = dag_run.get_task_instances()
    states = Counter(str(ti.state) for ti in instances)
    log(
        f"{dag_id}: {dag_run.state} in {time.monotonic() - started:.1f}s; task states "
        + ", ".join(f"{state}={count}" for state, count in sorted(states.items()))
    )
    failed = [f"{ti.task_id}[{ti.map_index}]" if ti.map_index >= 0 else ti.task_id
              for ti in instances if str(ti.state) in ("failed", "upstream_failed")]
    if failed:
        log(f"failed tasks: {', '.join(failed)}; rerun with AUTOCORP_RUN_LOG_LEVEL=INFO for their logs")
    return 0 if str(dag_run.state) == "success" else 1


def print_env() -> None:
    """Shell exports of the local Airflow settings (used by `make airflow`)."""
    import shlex

    for key, value in airflow_env().items():
        print(f"export {key}={shlex.quote(value)}")


if __name__ == "__main__":
    print_env()
