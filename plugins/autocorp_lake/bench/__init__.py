"""`autocorp-lake bench ...`: measured figures, printed, never asserted. Local only: bundle.py leaves
this package out of plugins.zip.

- ingest:    local DMS full load vs a bare COPY TO STDOUT; CDC capture delay under load (ingest.py)
- transform: Hudi upsert of 1M changed rows into a 1.2M-row table vs a plain parquet overwrite;
             bootstrap of the demo data end to end, in a throwaway local environment (transform.py)
- query:     each analytics query on the curated tables, on Spark and on the DuckDB engine (hudi-rs
             reads), vs DuckDB over plain parquet copies; `autocorp-lake query` end to end (query.py)
- cdc:       CDC capture delay under load (ingest.py); one small CDC round's wall time locally, and
             the Glue job runs and DPU-minutes it starts on AWS (rounds.py)
- pipeline:  `run autocorp_bootstrap` and `run autocorp_files` at a scale in a throwaway local
             environment, with the full load and each table's and feed's stage / gate / promote
             seconds (pipeline.py)
- seed:      seconds to write the CSV exports at a scale (seed.py)
- freshness: source commit -> queryable in curated, p50/p95/max, while the real scheduler (airflow
             standalone) runs autocorp_cdc every N minutes and the simulator commits at a steady
             rate, in a throwaway local environment (freshness.py; Airflow's start in standalone.py)
Each returns {"rows": [{"figure", "value", "unit"}], "machine": {...}, ...}. What they share
(BenchError, the machine's figures) is in common.py.
"""

from __future__ import annotations

# the benchmarks that measure this environment (its PostgreSQL, catalog and lake) rather than a
# throwaway one: `bench` starts its services first, as `run` does
USES_LOCAL_SERVICES = ("ingest", "transform", "cdc", "query")


def run(what: str, scale: str = "full", **options) -> dict:
    """`options`: freshness's (minutes, interval_minutes, tps, tables); the others take none."""
    from autocorp_lake.bench.common import machine

    if what == "ingest":
        from autocorp_lake.bench import ingest

        figures = ingest.run(scale=scale)
    elif what == "transform":
        from autocorp_lake.bench import transform

        figures = transform.run(scale=scale)
        figures["rows"].append(transform.bootstrap_demo())
    elif what == "cdc":
        from autocorp_lake.bench import ingest, rounds

        figures = ingest.run(scale=scale, parts=("cdc",))
        figures["rows"] += rounds.run()["rows"]
    elif what == "query":
        from autocorp_lake.bench import query

        figures = query.run(scale)
    elif what == "freshness":
        from autocorp_lake.bench import freshness

        figures = freshness.run(**options)
    elif what == "pipeline":
        from autocorp_lake.bench import pipeline

        figures = pipeline.run(scale)
    elif what == "seed":
        from autocorp_lake.bench import seed

        figures = seed.run(scale)
    else:
        raise ValueError(f"unknown benchmark {what!r}")
    figures["machine"] = machine()
    return figures
