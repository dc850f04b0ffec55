"""
### autocorp_analytics (daily, and when the curated tables change)
Serves the curated tables through Athena SQL: refreshes the `autocorp_analytics` views, runs the
analytics queries of `include/sql/athena/analytics/` (Athena on AWS, the same files through the
local query engine locally), keeps each result under `reports/<date>/<query>/`, and builds a small
HTML report with charts of revenue by month, service mix and top parts. Runs daily and whenever a
promote updated the curated tables (the Asset `autocorp_curated`), so a report is never older than
its data.
"""

from airflow.sdk import DAG, Param, chain

from autocorp_lake.analytics import REPORT_DATE, query_name, sql_files
from autocorp_lake.dag_support import analytics_schedule, dag_kwargs
from autocorp_lake.targets import steps

step = steps()
ANALYTICS = sql_files("analytics")

PARAMS = {
    "report_date": Param(None, type=["null", "string"], format="date",
                         description="reports/<date>/ to write; empty: the run's date"),
}

with DAG(dag_id="autocorp_analytics", schedule=analytics_schedule(), params=PARAMS,
         **dag_kwargs(__doc__, ["analytics", "athena"])):
    queries = step.athena_sql(task_id="run_analytics", files=ANALYTICS)
    chain(
        step.athena_sql(task_id="create_databases", files=sql_files("ddl")),
        step.athena_sql(task_id="create_views", files=sql_files("views")),
        queries,
        step.keep_results(task_id="keep_results", names=[query_name(f) for f in ANALYTICS],
                          query_ids=queries.output, report_date=REPORT_DATE),
        step.build_report(task_id="build_report", report_date=REPORT_DATE),
    )
