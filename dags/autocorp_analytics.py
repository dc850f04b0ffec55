"""
### autocorp_analytics (daily)
Serves the curated tables through Athena SQL: refreshes the `autocorp_analytics` views, runs the
analytics queries of `include/sql/athena/analytics/` (Athena on AWS, the same files through the
local query engine locally), keeps each result under `reports/<date>/<query>/`, and builds a small
HTML report with charts of revenue by month, service mix and top parts.
"""

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, chain

from autocorp_lake.analytics import build_report, keep_results, query_name, sql_files
from autocorp_lake.dag_support import dag_kwargs
from autocorp_lake.targets import steps

step = steps()
ANALYTICS = sql_files("analytics")

with DAG(dag_id="autocorp_analytics", schedule="@daily", **dag_kwargs(__doc__, ["analytics", "athena"])):
    queries = step.athena_sql(task_id="run_analytics", files=ANALYTICS)
    chain(
        step.athena_sql(task_id="create_databases", files=sql_files("ddl")),
        step.athena_sql(task_id="create_views", files=sql_files("views")),
        queries,
        PythonOperator(
            task_id="keep_results",
            python_callable=keep_results,
            op_kwargs={"names": [query_name(f) for f in ANALYTICS], "query_ids": queries.output,
                       "report_date": "{{ ds }}"},
        ),
        PythonOperator(task_id="build_report", python_callable=build_report, op_kwargs={"report_date": "{{ ds }}"}),
    )
