#!/usr/bin/env bash
# make demo: the lake end to end on this machine, then what landed.
set -euo pipefail
cd "$(dirname "$0")/.."
LAKE=.venv/bin/autocorp-lake
step() { printf '\n\033[1;34m== %s\033[0m\n' "$*"; }

step "1/9 local services (PostgreSQL 15 + wal2json, catalog)"
$LAKE up
step "2/9 source database (demo scale) and the CSV exports"
$LAKE seed --scale demo --csv
step "3/9 autocorp_bootstrap: full load -> crawl -> apply -> quality gate -> Hudi"
$LAKE run autocorp_bootstrap
step "4/9 simulate source activity (inserts, updates, deletes)"
$LAKE simulate --tps 10 --seconds 5
step "5/9 autocorp_cdc: capture -> apply -> gate -> Hudi upsert/delete"
$LAKE run autocorp_cdc
step "6/9 autocorp_files: transfer exports -> crawl -> clean -> gate -> Hudi"
$LAKE run autocorp_files
step "7/9 autocorp_analytics: views, analytics queries, report"
$LAKE run autocorp_analytics
step "8/9 what landed: source vs lake row by row, quality, each table's state and freshness"
$LAKE reconcile
$LAKE quality
$LAKE status
step "9/9 a query, as Athena would run it"
$LAKE query "select order_month, orders, revenue from (select date_format(order_date, '%Y-%m') as order_month, count(*) as orders, sum(total_amount) as revenue from autocorp_curated.sales_order_rt group by 1) as m order by order_month desc limit 6"
report=$(ls -d .local/lake/*/reports/*/index.html 2>/dev/null | tail -1 || true)
echo
echo "Report with charts: ${report:-not built}"
echo "Next: make airflow (UI on localhost:8080), autocorp-lake status, README.md"
