"""`autocorp-lake run DAG_ID`: run one DAG end to end on the local target with `dag.test()`.

Tasks run in this process, so every Glue script of the run shares one SparkSession. The Airflow
metadata lives in the local PostgreSQL `airflow` database (created by `autocorp-lake up`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
import warnings
from unittest import mock
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
        "AIRFLOW__LOGGING__LOGGING_LEVEL": config.run_log_level(),
        "LAKE_TARGET": "local",
    }


def _ensure_metadata_db(log) -> None:
    from airflow.utils import db

    started = time.monotonic()
    try:
        db.check_migrations(timeout=1)  # at Airflow's head already: no upgrade (about 1 s a run)
    except TimeoutError:
        db.upgradedb()
    log(f"Airflow metadata database ready ({time.monotonic() - started:.1f}s)")


class _Progress(logging.Filter):
    """Turns dag.test()'s loop logging into progress lines: one line per task started, with how
    many of the run's tasks are done, and one line when the run waits for a retry (dag.test logs
    "No tasks to run" every second while it waits)."""

    def __init__(self, dag, log):
        super().__init__()
        self.dag, self.dag_id, self.log, self.waiting_for = dag, dag.dag_id, log, None

    def _counts(self) -> tuple[int, int, Counter]:
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session

        with create_session() as session:
            states = [str(s) for (s,) in session.query(TaskInstance.state).filter(
                TaskInstance.dag_id == self.dag_id, TaskInstance.run_id == self.run_id())]
        done = sum(1 for s in states if s in FINISHED)
        return done, len(states), Counter(s for s in states if s in FINISHED)

    def run_id(self) -> str | None:
        from airflow.models.dagrun import DagRun
        from airflow.utils.session import create_session

        with create_session() as session:
            run = session.query(DagRun.run_id).filter(DagRun.dag_id == self.dag_id).order_by(
                DagRun.id.desc()).first()
        return run[0] if run else None

    def _next_try(self, ti):
        """When a task waiting for its retry runs again (dag.test hands over task instances read
        back from the database, without their task)."""
        if getattr(ti, "task", None) is None:
            ti.task = self.dag.get_task(ti.task_id)
        return ti.next_retry_datetime()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _stop.is_set() and message.startswith(("[DAG TEST] starting task_id=", "No tasks to run")):
            raise KeyboardInterrupt  # dag.test's loop catches Exception only: start no other task
        if message.startswith("[DAG TEST] starting task_id="):
            self.waiting_for = None
            task_id, map_index = record.args[0], record.args[1]
            done, total, states = self._counts()
            label = task_label(task_id, map_index)
            failed = states.get("failed", 0) + states.get("upstream_failed", 0)
            self.log(f"[{done}/{total} done{f', {failed} failed' if failed else ''}] {label}")
            return False
        if message.startswith("No tasks to run"):
            waiting = sorted(task_label(ti.task_id, ti.map_index)
                             for ti in record.args[0] if str(ti.state) == "up_for_retry")
            if waiting and waiting != self.waiting_for:
                self.waiting_for = waiting
                next_try = min((self._next_try(ti) for ti in record.args[0]
                                if str(ti.state) == "up_for_retry"), default=None)
                when = f" at {next_try:%H:%M:%S} UTC" if next_try else ""
                self.log(f"waiting to retry {', '.join(waiting)} (next try{when}); its error is in the log above")
            return False
        return record.levelno >= logging.WARNING and not message.startswith("[DAG TEST]")


def task_label(task_id: str, map_index) -> str:
    """`table_pipeline.quality_gate[customers]`: a mapped task by its table or feed, as the UI's
    map_index_template shows it."""
    if map_index is None or int(map_index) < 0:
        return task_id
    names = {"table_pipeline": config.registry().table_names, "feed_pipeline": config.registry().feed_names}
    group = names.get(task_id.split(".", 1)[0])
    return f"{task_id}[{group[int(map_index)] if group and int(map_index) < len(group) else map_index}]"


FINISHED = {"success", "failed", "upstream_failed", "skipped", "removed"}
_stop = threading.Event()


@contextlib.contextmanager
def _sigterm_stops_the_run():
    """SIGTERM stops `run` as Ctrl-C does. Airflow's in-process task runner replaces the SIGTERM
    handler at every task with one that only calls the operator's on_kill, and turns any exception
    of a task, KeyboardInterrupt included, into a failed task; so the handler it installs is
    chained with ours, and the stop is also flagged for the loop (see _Progress.filter)."""
    ours = signal.getsignal(signal.SIGTERM)

    def stop(signum, frame):
        _stop.set()
        if callable(ours):
            ours(signum, frame)
        raise KeyboardInterrupt

    real_signal = signal.signal

    def install(signum, handler):
        if signum == signal.SIGTERM and callable(handler) and handler is not stop:
            def chained(sig, frame, airflow_handler=handler):
                airflow_handler(sig, frame)  # the operator's on_kill: stops its child processes
                stop(sig, frame)
            return real_signal(signum, chained)
        return real_signal(signum, handler)

    _stop.clear()
    real_signal(signal.SIGTERM, stop)
    try:
        with mock.patch.object(signal, "signal", install):
            yield
    finally:
        real_signal(signal.SIGTERM, ours)
    if _stop.is_set():
        raise KeyboardInterrupt


def _use_job_server_if_running(log) -> bool:
    """With AUTOCORP_JOB_SERVER set, the run's Glue jobs go to that job server's warm Spark session
    (no JVM start in this process); when none answers there, they run in this process."""
    address = config.job_server()
    if not address:
        return False
    from autocorp_lake.local import job_server

    try:
        state = job_server.check_serves_this_environment(address)
    except job_server.Unavailable as exc:
        os.environ.pop("AUTOCORP_JOB_SERVER")
        log(f"{exc} (AUTOCORP_JOB_SERVER); the Glue jobs run in this process")
        return False
    except ValueError as exc:
        raise config.ConfigError(str(exc)) from None
    log(f"Glue jobs run on the job server at {address} (a warm Spark session; {state['jobs_run']} jobs run there before)")
    return True


def _start_spark_early(log):
    """Start this process's Spark session in the background: its JVM (a process of its own) comes
    up while Airflow prepares the run, instead of in the first Glue task (a small CDC round: 56 ->
    50 s, `bench cdc`). A start that fails is left to that task, which fails with the cause. Returns
    `log` made to wait while the JVM's start has the process's stdout and stderr."""
    from autocorp_lake.jobs import glue
    from autocorp_lake.local import spark as local_spark

    def start() -> None:
        try:
            glue.get_spark("autocorp-lake-run")
        except Exception:  # noqa: BLE001 - the first Glue task starts it again and fails with the cause
            logging.getLogger(__name__).debug("early Spark start failed", exc_info=True)

    threading.Thread(target=start, name="spark-early-start", daemon=True).start()

    def log_outside_jvm_start(line: str) -> None:
        with local_spark.JVM_START_OUTPUT:
            log(line)

    return log_outside_jvm_start


def run_dag(dag_id: str, conf: dict | None = None, log=print) -> int:
    if dag_id not in config.DAG_IDS:
        raise config.ConfigError(f"unknown DAG {dag_id!r}; the DAGs are: {', '.join(config.DAG_IDS)}")
    if config.target() != "local":
        raise config.ConfigError("`autocorp-lake run` runs the local target; unset LAKE_TARGET or set it to local")
    # dag.test() runs tasks through Airflow's in-process API client; its test-client import warns
    warnings.filterwarnings("ignore", message=".*starlette.testclient.*")
    os.environ.update(airflow_env())
    os.environ["AUTOCORP_SPARK_INPROCESS"] = "1"
    from autocorp_lake.local import services

    services.up(log=log)
    if not _use_job_server_if_running(log):
        log = _start_spark_early(log)
    _ensure_metadata_db(log)
    # no pools: MWAA has only default_pool; the steps cap their own concurrency (targets/__init__.py)
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(config.repo_root() / "dags" / f"{dag_id}.py"))
    if bag.import_errors:
        raise RuntimeError(f"DAG file failed to import: {bag.import_errors}")
    dag = bag.dags[dag_id]
    log(f"running {dag_id} on the local target ...")
    started = time.monotonic()
    dag_logger = logging.getLogger("airflow.sdk.definitions.dag")
    progress = _Progress(dag, log)
    dag_logger.addFilter(progress)
    dag_logger.setLevel(logging.INFO)
    try:
        with _sigterm_stops_the_run():
            dag_run = dag.test(run_conf=conf or None)
    finally:
        dag_logger.removeFilter(progress)
    instances = dag_run.get_task_instances()
    states = Counter(str(ti.state) for ti in instances)
    log(
        f"{dag_id}: {dag_run.state} in {time.monotonic() - started:.1f}s; task states "
        + ", ".join(f"{state}={count}" for state, count in sorted(states.items()))
    )
    failed = [task_label(ti.task_id, ti.map_index)
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
