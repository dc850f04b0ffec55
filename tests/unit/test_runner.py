"""`autocorp-lake run`'s progress lines name mapped tasks by their table or feed."""

from __future__ import annotations

from autocorp_lake import config, runner


def test_mapped_tasks_are_labelled_by_table_or_feed():
    tables, feeds = config.registry().table_names, config.registry().feed_names
    assert runner.task_label("table_pipeline.quality_gate", 1) == f"table_pipeline.quality_gate[{tables[1]}]"
    assert runner.task_label("feed_pipeline.quality_gate", 0) == f"feed_pipeline.quality_gate[{feeds[0]}]"
    assert runner.task_label("run_analytics", 3) == "run_analytics[3]"
    assert runner.task_label("publish_metrics", -1) == "publish_metrics"
