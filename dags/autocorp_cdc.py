"""
### autocorp_cdc (every 10 minutes; AUTOCORP_CDC_INTERVAL_MINUTES changes it)
Applies the database's changes: check that replication runs, wait for new CDC files (skip the run
when there are none), then one apply_changes job stages every table's changes (latest per key by
`dms_change_seq`) and validates each batch, a quality_gate task per table reads its verdict, and one
promote job upserts/deletes the tables that passed into Hudi.
"""

from airflow.sdk import DAG, chain

from autocorp_lake import config
from autocorp_lake.dag_support import dag_kwargs, table_names, watch
from autocorp_lake.pipelines import table_pipeline
from autocorp_lake.targets import steps

step = steps()

with DAG(dag_id="autocorp_cdc", schedule=config.CDC_SCHEDULE, **dag_kwargs(__doc__, ["cdc", "dms"])) as dag:
    chain(
        step.check_replication(task_id="check_replication"),
        step.new_cdc_files_or_skip(task_id="wait_for_cdc_files"),
        table_pipeline(step, table_names()),
        step.publish_metrics(task_id="publish_metrics", trigger_rule="all_done"),
    )
    watch(dag)
