"""The table and feed pipelines of the DAGs, built over the registry.

One DAG run stages every table (or feed) in one job run, gates each batch in a task of its own,
and promotes those that passed in one more job run:

    prepare_batches -> apply_changes / clean_feed -> quality_gate [one per table, mapped]
                    -> passed_gate -> promote

so a CDC round starts two Glue job runs, not three per table, and runs locally in one Spark
session. The staging job validates each batch with its GX suite (`jobs.staging`); each table's
`quality_gate` task reads its verdict and fails on a critical failure (the batch is in
quarantine), so a bad batch stops only its own table; `passed_gate` hands promote the tables
whose gate passed. The same group is built on both targets: only the operators behind
`steps.glue_job` and `steps.quality_gate` differ.
"""

from __future__ import annotations

from types import ModuleType

from airflow.sdk import chain, task, task_group

from autocorp_lake.dag_support import curated_asset
from autocorp_lake.lake import BatchArgs

RUN_ID = "{{ run_id }}"


@task(task_id="prepare_batches", retries=0)
def prepare_batches(kind: str, names: list[str], run_id: str | None = None) -> dict[str, str]:
    """The staging job's arguments (`lake.BatchArgs`, `--name a,b,...`), the same on Glue and locally."""
    return BatchArgs.script_args_of([BatchArgs.of(kind, name, run_id or "manual") for name in names])


@task(task_id="passed_gate", retries=0, trigger_rule="all_done")
def passed_gate(kind: str, names: list[str], run_id: str, verdicts) -> dict[str, str]:
    """Promote's arguments: the batches whose quality_gate task succeeded (a failed one has no
    verdict); skips promote when none did."""
    from airflow.sdk.exceptions import AirflowSkipException

    # one slice read of the gates' XComs: iterating Airflow's lazy sequence asks for one past the
    # end and logs that 404 as an error in a green run
    values = verdicts[:] if verdicts is not None else []
    passed = {verdict["name"] for verdict in values if isinstance(verdict, dict) and verdict.get("name")}
    if not passed:
        raise AirflowSkipException("no batch of this run passed its quality gate: nothing to promote")
    return BatchArgs.script_args_of([BatchArgs.of(kind, name, run_id) for name in names if name in passed])


def _pipeline(steps: ModuleType, kind: str, transform_job: str, names: list[str]):
    @task_group(group_id=f"{kind}_pipeline")
    def pipeline():
        batches = prepare_batches(kind=kind, names=names, run_id=RUN_ID)
        gates = steps.quality_gate("quality_gate", kind, names, RUN_ID)
        passed = passed_gate(kind=kind, names=names, run_id=RUN_ID, verdicts=gates.output)
        chain(
            batches,
            steps.glue_job(task_id=transform_job, job=transform_job, script_args=batches),
            gates,
            passed,
            steps.glue_job(task_id="promote", job="promote", script_args=passed, outlets=[curated_asset()]),
        )

    return pipeline()


def table_pipeline(steps: ModuleType, names: list[str]):
    """apply_changes -> quality_gate per table -> promote, for the registry's database tables."""
    return _pipeline(steps, "table", "apply_changes", names)


def feed_pipeline(steps: ModuleType, names: list[str]):
    """clean_feed -> quality_gate per feed -> promote, for the registry's CSV feeds."""
    return _pipeline(steps, "feed", "clean_feed", names)
