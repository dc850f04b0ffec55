"""
### autocorp_maintenance (daily)
Reconciles every source table with its curated Hudi snapshot, row by row, and fails loudly on any
difference (the per-table counts are in the task log).
"""

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, chain

from autocorp_lake.dag_support import dag_kwargs
from autocorp_lake.tasks import reconcile_all

with DAG(dag_id="autocorp_maintenance", schedule="@daily", **dag_kwargs(__doc__, ["maintenance"])):
    chain(PythonOperator(task_id="reconcile", python_callable=reconcile_all, retries=0))
