"""`autocorp-lake bench query`: each analytics query on the curated tables, on Spark and on the
DuckDB engine (hudi-rs reads), vs DuckDB over plain parquet copies; `autocorp-lake query` end to end."""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path

from autocorp_lake.bench.common import BenchError

FULL_SCALE_MIN_CUSTOMERS = 1_000_000
QUERY_GOAL_S = 10.0
HUDI_META_COLUMNS = ("_hoodie_commit_time", "_hoodie_commit_seqno", "_hoodie_record_key",
                     "_hoodie_partition_path", "_hoodie_file_name")


def _same_answer(a: list[dict], b: list[dict]) -> bool:
    from decimal import Decimal

    def norm(value):
        if isinstance(value, (Decimal, float)):
            return round(Decimal(str(value)), 2)
        return value.isoformat() if hasattr(value, "isoformat") else value

    return [[norm(v) for v in r.values()] for r in a] == [[norm(v) for v in r.values()] for r in b]


def cli_query_seconds(sql: str, runs: int = 3) -> list[float]:
    """Wall time of `autocorp-lake query SQL --format json` as a new process, each run."""
    import shutil
    import subprocess
    import sys

    exe = shutil.which("autocorp-lake") or str(Path(sys.executable).parent / "autocorp-lake")
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([exe, "query", sql, "--format", "json"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds.append(time.perf_counter() - started)
    return seconds


def run(scale: str = "full") -> dict:
    """Each analytics query locally, three ways: Spark (Athena SQL through sqlglot on Spark + Hudi,
    via the catalog), cold (first run) and warm (second run); the DuckDB engine of `autocorp-lake
    query` (hudi-rs lists each Hudi table's file slices and merges those with log files, DuckDB
    reads the other base files in place, sqlglot -> DuckDB; a fresh engine per run, so every run
    reads the tables again); and DuckDB over parquet copies of the same curated snapshot
    (the floor). Ratios are to the floor. The analytics SQL reads the replicated tables, so at full
    scale they must hold the full-scale data (the volume of the full-scale feeds)."""
    from autocorp_lake import config, lake
    from autocorp_lake.local import spark as local_spark

    spark = local_spark.build_session("autocorp-bench-query")
    tables = sorted(t.name for t in config.registry().tables)
    counts = {name: spark.read.format("hudi").load(config.lake_uri(lake.hudi_prefix(name))).count()
              for name in tables}
    if scale == "full" and counts.get("customers", 0) < FULL_SCALE_MIN_CUSTOMERS:
        raise BenchError(
            f"bench query --scale full needs full-scale curated tables; customers has {counts.get('customers', 0):,} "
            "rows. Load them first: `autocorp-lake seed --db-scale full` then "
            "`autocorp-lake run autocorp_bootstrap --conf '{\"reset\": true}'` (or use --scale demo)"
        )
    rows = [{"figure": f"rows in {name}", "value": count, "unit": "rows"} for name, count in counts.items()]
    with _parquet_copies(spark, tables) as con:
        rows += _query_figures(spark, con)
    for figure, sql in (("cli query 'select 1'", "select 1"),
                        ("cli query revenue_by_month",
                         (config.include_dir() / "sql" / "athena" / "analytics" / "revenue_by_month.sql").read_text())):
        seconds = cli_query_seconds(sql)
        rows.append({"figure": figure, "value": round(seconds[0], 2), "unit": "s",
                     "warm_s": round(min(seconds[1:]), 2), "engine": "duckdb"})
    return {"rows": rows, "scale": scale,
            "columns": {"value": "Spark, first run", "warm_s": "Spark, second run",
                        "duckdb_s": "floor: DuckDB over parquet copies (best of 2)",
                        "ratio": "Spark first run / floor",
                        "engine_s": "DuckDB engine (hudi-rs file slices + DuckDB), first run",
                        "engine_warm_s": "DuckDB engine, second run (reads again)",
                        "engine_read_s": "of which binding the tables (hudi-rs: listing, merging the slices "
                                         "with log files)", "engine_ratio": "engine best of 2 / floor",
                        "same_answer": "DuckDB engine answer == Spark answer"}}


@contextlib.contextmanager
def _parquet_copies(spark, tables: list[str]):
    """DuckDB with a view per curated table over a plain parquet copy of its snapshot (the floor);
    the copies, as big as the curated zone, are removed afterwards."""
    import duckdb

    from autocorp_lake import config, lake

    with tempfile.TemporaryDirectory(prefix="bench-query-") as folder, contextlib.closing(duckdb.connect()) as con:
        copies = Path(folder)
        con.sql("create schema autocorp_curated")
        for name in tables:
            path = config.lake_uri(lake.hudi_prefix(name))
            spark.read.format("hudi").load(path).drop(*HUDI_META_COLUMNS).write.mode("overwrite").parquet(str(copies / name))
            for view in (name, f"{name}_rt", f"{name}_ro"):
                con.sql(f"create view autocorp_curated.{view} as select * from read_parquet('{copies / name}/*.parquet')")
        yield con


def _query_figures(spark, con) -> list[dict]:
    """Each analytics query on Spark (cold, warm), on the DuckDB engine (twice) and on the floor."""
    import sqlglot

    from autocorp_lake import analytics, config
    from autocorp_lake.local import query_duckdb, query_engine

    rows = []
    for template in analytics.sql_files("analytics"):
        sql = (config.include_dir() / "sql" / template).read_text()
        runs = []
        for _ in range(2):
            started = time.perf_counter()
            spark_rows = query_engine.query(sql, spark=spark)
            runs.append(time.perf_counter() - started)
        engine_runs, read_s = [], 0.0
        for _ in range(2):
            engine = query_duckdb.Engine()
            started = time.perf_counter()
            engine_rows = query_duckdb.query(sql, engine=engine)
            engine_runs.append(time.perf_counter() - started)
            read_s = engine.read_seconds
        floor_runs = []
        for _ in range(2):
            started = time.perf_counter()
            con.sql(sqlglot.transpile(sql, read="trino", write="duckdb")[0]).fetchall()
            floor_runs.append(time.perf_counter() - started)
        duck_s = max(min(floor_runs), 1e-6)
        rows.append({"figure": analytics.query_name(template), "value": round(runs[0], 2), "unit": "s",
                     "warm_s": round(runs[1], 2), "duckdb_s": round(duck_s, 3),
                     "ratio": round(runs[0] / duck_s, 1),
                     "engine_s": round(engine_runs[0], 3), "engine_warm_s": round(engine_runs[1], 3),
                     "engine_read_s": round(read_s, 3),
                     "engine_ratio": round(min(engine_runs) / duck_s, 1),
                     "same_answer": _same_answer(engine_rows, spark_rows),
                     f"under_{QUERY_GOAL_S:g}s": runs[0] < QUERY_GOAL_S and engine_runs[0] < QUERY_GOAL_S})
    return rows
