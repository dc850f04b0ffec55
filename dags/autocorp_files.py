"""
### autocorp_files (hourly)
Moves the on-premises CSV exports into `raw/csv/` (DataSync on AWS, a checksum-verified local
transfer locally), crawls them, then one clean_feed job cleans every feed (repair what is
repairable, reject the rest with a reason) and validates it, a quality_gate task per feed reads its
verdict, one promote job writes those that passed to the curated `*_history` / `customers_master`
tables.
"""

from airflow.sdk import DAG, chain

from autocorp_lake.dag_support import dag_kwargs, watch, feed_names
from autocorp_lake.pipelines import feed_pipeline
from autocorp_lake.targets import steps

step = steps()

with DAG(dag_id="autocorp_files", schedule="@hourly", **dag_kwargs(__doc__, ["files", "datasync"])) as dag:
    chain(
        step.transfer_exports(task_id="transfer_exports"),
        step.crawl(task_id="crawl_raw_csv", crawler="raw_csv"),
        feed_pipeline(step, feed_names()),
        step.publish_metrics(task_id="publish_metrics", trigger_rule="all_done"),
    )
    watch(dag)
