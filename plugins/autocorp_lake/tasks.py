"""Task callables shared by both targets (the body of PythonOperators)."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def reconcile_all(**context) -> list[dict]:
    """Compare every source table with its curated snapshot; fail on any difference.

    Locally on local Spark against the local source. On AWS the MWAA worker reaches neither Spark
    nor the source: the Glue job `autocorp-maintenance-<env>` runs the same `reconcile.reconcile`
    (JDBC through its Glue connection) and writes the per-table counts, which the task reads."""
    from autocorp_lake import config, reconcile

    if config.target() == "aws":
        rows = reconcile.reconcile_in_glue_job(context.get("run_id") or "manual")
    else:
        rows = reconcile.reconcile()
    for row in rows:
        log.info(
            "reconcile %(table)s: source=%(source_rows)s lake=%(lake_rows)s missing=%(missing)s "
            "extra=%(extra)s different=%(different)s",
            row,
        )
    differs = [r["table"] for r in rows if r["missing"] or r["extra"] or r["different"]]
    if differs:
        raise RuntimeError(
            f"source and lake differ for {', '.join(differs)}; see the counts above. "
            "Run `autocorp-lake reconcile --table T` locally for the keys."
        )
    return rows
