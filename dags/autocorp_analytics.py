"""
### autocorp_analytics (daily)
Serves the curated tables through Athena SQL: refreshes the `autocorp_analytics` views and runs
the analytics queries of `include/sql/athena/`, keeping the results under `reports/<date>/`.
Its tasks arrive with the query layer (issue 6); until then the DAG has none.
"""

from airflow.sdk import DAG

from autocorp_lake.dag_support import dag_kwargs

with DAG(dag_id="autocorp_analytics", schedule="@daily", **dag_kwargs(__doc__, ["analytics", "athena"])):
    pass
