"""
### autocorp_maintenance (daily)
Reconciles every source table with its curated Hudi snapshot, row by row, and fails loudly on any
difference (the per-table counts are in the task log). Locally on local Spark against the local
source; on AWS in the Glue job `autocorp-maintenance-<env>` (JDBC through its Glue connection).
"""

from airflow.sdk import DAG, chain

from autocorp_lake.dag_support import dag_kwargs
from autocorp_lake.targets import steps

step = steps()

with DAG(dag_id="autocorp_maintenance", schedule="@daily", **dag_kwargs(__doc__, ["maintenance"])):
    chain(step.reconcile_lake(task_id="reconcile", retries=0))
