"""`autocorp-lake run`'s progress lines name mapped tasks by their table or feed."""

from __future__ import annotations

from autocorp_lake import config, runner


def test_mapped_tasks_are_labelled_by_table_or_feed():
    tables, feeds = config.registry().table_names, config.registry().feed_names
    assert runner.task_label("table_pipeline.quality_gate", 1) == f"table_pipeline.quality_gate[{tables[1]}]"
    assert runner.task_label("feed_pipeline.quality_gate", 0) == f"feed_pipeline.quality_gate[{feeds[0]}]"
    assert runner.task_label("run_analytics", 3) == "run_analytics[3]"
    assert runner.task_label("publish_metrics", -1) == "publish_metrics"


def test_a_task_waiting_for_its_retry_is_announced_with_its_next_try():
    """dag.test() hands the progress filter task instances read back from the database, without
    their task: the filter finds the task in the DAG instead of failing the run."""
    import datetime as dt
    import logging

    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(config.repo_root() / "dags" / "autocorp_files.py")).dags["autocorp_files"]

    class ReadBack:  # what dag.test's loop passes: state from the database, no task
        task, task_id, map_index, state = None, "transfer_exports", -1, "up_for_retry"

        def next_retry_datetime(self):
            return dt.datetime(2026, 11, 29, 14, 31) + self.task.retry_delay

    lines: list[str] = []
    progress = runner._Progress(dag, lines.append)
    record = logging.LogRecord("airflow", logging.WARNING, __file__, 1, "No tasks to run. unrunnable tasks: %s",
                               ([ReadBack()],), None)
    assert progress.filter(record) is False
    assert lines == ["waiting to retry transfer_exports (next try at 14:33:00 UTC); its error is in the log above"]


def test_a_line_logged_while_the_early_jvm_start_has_stdout_waits_for_it(monkeypatch):
    """The run starts its Spark JVM in the background (runner._start_spark_early); while that start
    points the process's stdout at the Spark log, a progress line waits instead of going there."""
    import threading

    from autocorp_lake.jobs import glue
    from autocorp_lake.local import spark as local_spark

    started = threading.Event()
    monkeypatch.setattr(glue, "get_spark", lambda app_name: started.set())
    lines: list[str] = []
    log = runner._start_spark_early(lines.append)
    assert started.wait(10)
    with local_spark.JVM_START_OUTPUT:  # as while the JVM starts
        printer = threading.Thread(target=log, args=("[1/15 done] wait_for_cdc_files",))
        printer.start()
        printer.join(0.3)
        assert printer.is_alive() and lines == []
    printer.join(5)
    assert lines == ["[1/15 done] wait_for_cdc_files"]
