"""Per-table and per-feed task groups, mapped over the registry by the DAGs.

Each table runs its own chain prepare_batch -> apply/clean -> quality_gate -> promote, so a batch
that fails its gate stops only its own table. The same group is built on both targets: only the
operators behind `steps.glue_job` and `steps.quality_gate` differ.
"""

from __future__ import annotations

from types import ModuleType

from airflow.sdk import chain, task, task_group

from autocorp_lake.dag_support import curated_asset
from autocorp_lake.lake import BatchArgs


# Mapped tasks are labelled by their table or feed in the grid and in the logs' titles (not 0..n):
# prepare_batch by its own argument, every later task by the batch prepare_batch returned (an XCom
# every target's operator has, whatever its own fields are called).
NAME_OF_PREPARE_BATCH = "{{ task.op_kwargs['name'] }}"


def name_of_batch(group_id: str) -> str:
    return ("{{ ti.xcom_pull(task_ids='%s.prepare_batch', map_indexes=ti.map_index)['--name'] }}"
            % group_id)


def labelled(operator, kind: str):
    """The operator (of either target) labelled by the table / feed of its mapped index."""
    operator.map_index_template = name_of_batch(f"{kind}_pipeline")
    return operator


@task(task_id="prepare_batch", retries=0, map_index_template=NAME_OF_PREPARE_BATCH)
def prepare_batch(kind: str, name: str, run_id: str | None = None) -> dict[str, str]:
    """The batch's job arguments (`lake.BatchArgs`), the same on Glue and under local spark-submit."""
    return BatchArgs.of(kind, name, run_id or "manual").script_args()


def _pipeline(steps: ModuleType, kind: str, transform_job: str):
    """prepare_batch -> apply_changes / clean_feed -> quality_gate -> promote, for one table or feed."""

    def chain_for(name: str) -> None:
        batch = prepare_batch(kind=kind, name=name, run_id="{{ run_id }}")
        chain(
            batch,
            labelled(steps.glue_job(task_id=transform_job, job=transform_job, script_args=batch), kind),
            labelled(steps.quality_gate("quality_gate", batch), kind),
            labelled(steps.glue_job(task_id="promote", job="promote", script_args=batch,
                                    outlets=[curated_asset()]), kind),
        )

    return chain_for


def table_pipeline(steps: ModuleType):
    build = _pipeline(steps, "table", "apply_changes")

    @task_group(group_id="table_pipeline")
    def pipeline(table: str):
        build(table)

    return pipeline


def feed_pipeline(steps: ModuleType):
    build = _pipeline(steps, "feed", "clean_feed")

    @task_group(group_id="feed_pipeline")
    def pipeline(feed: str):
        build(feed)

    return pipeline
