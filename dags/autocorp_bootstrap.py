"""
### autocorp_bootstrap (manual)
First load of the lake: start the database replication (DMS full-load-and-cdc on AWS, the local
replicator locally), wait until every table is fully loaded, crawl the raw zone, then for the
tables of `include/tables.yaml`: one apply_changes job stages and validates every table's load, a
quality_gate task per table reads its verdict, one promote job bulk-inserts those that passed into
the curated Hudi tables. Rerunning it is safe: a finished full load is not redone.
"""

from airflow.sdk import DAG, chain

from autocorp_lake.dag_support import dag_kwargs, watch, table_names
from autocorp_lake.pipelines import table_pipeline
from autocorp_lake.targets import steps

step = steps()

with DAG(dag_id="autocorp_bootstrap", schedule=None, **dag_kwargs(__doc__, ["bootstrap", "dms"])) as dag:
    chain(
        step.start_replication(task_id="start_replication"),
        step.full_load_finished(task_id="wait_full_load"),
        step.crawl(task_id="crawl_raw_database", crawler="raw_database"),
        table_pipeline(step, table_names()),
        step.publish_metrics(task_id="publish_metrics", trigger_rule="all_done"),
    )
    watch(dag)
