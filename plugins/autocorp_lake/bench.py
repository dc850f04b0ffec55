"""`autocorp-lake bench ...`: measured figures, printed, never asserted.

- ingest:    local DMS full load vs a bare COPY TO STDOUT; CDC capture delay under load
- transform: Hudi upsert of 1M changed rows into a 1.2M-row table vs a plain parquet overwrite
- query:     each analytics query on the curated tables vs DuckDB over plain parquet copies
- seed:      seconds to write the CSV exports at a scale
Each returns {"rows": [{"figure", "value", "unit"}], "machine": {...}, ...}.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from pathlib import Path


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def bench_seed(scale: str = "full") -> dict:
    from autocorp_lake.local import generator

    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        manifest = generator.write_exports(Path(out), scale=scale, seed=42, progress=True)
        seconds = time.perf_counter() - started
        size = sum(p.stat().st_size for p in Path(out).glob("*.csv"))
    rows = sum(v.get("raw_rows", 0) for v in manifest.get("expected_rows", {}).values()
               if isinstance(v, dict))
    return {"rows": [
        {"figure": f"write {scale} exports", "value": round(seconds, 1), "unit": "s"},
        {"figure": "rows written", "value": rows, "unit": "rows"},
        {"figure": "bytes written", "value": size, "unit": "bytes"},
    ]}


def bench_query(scale: str = "full") -> dict:
    """Each analytics query locally (Spark + Hudi through the catalog) and on DuckDB over parquet
    copies of the same curated snapshot, the floor."""
    import duckdb
    import sqlglot

    from autocorp_lake import analytics, config
    from autocorp_lake.local import query_engine
    from autocorp_lake.local import spark as local_spark

    spark = local_spark.build_session("autocorp-bench-query")
    copies = Path(tempfile.mkdtemp(prefix="bench-query-"))
    tables = {t.name for t in config.registry().tables}
    for name in tables:
        path = config.lake_uri(f"curated/hudi/{name}")
        spark.read.format("hudi").load(path).drop(
            *[c for c in ("_hoodie_commit_time", "_hoodie_commit_seqno", "_hoodie_record_key",
                          "_hoodie_partition_path", "_hoodie_file_name")]
        ).write.mode("overwrite").parquet(str(copies / name))
    con = duckdb.connect()
    con.sql("create schema autocorp_curated")
    for name in tables:
        for view in (name, f"{name}_rt", f"{name}_ro"):
            con.sql(f"create view autocorp_curated.{view} as select * from read_parquet('{copies / name}/*.parquet')")
    rows = []
    for template in analytics.sql_files("analytics"):
        sql = (config.include_dir() / "sql" / template).read_text()
        started = time.perf_counter()
        query_engine.query(sql, spark=spark)
        local_s = time.perf_counter() - started
        started = time.perf_counter()
        con.sql(sqlglot.transpile(sql, read="trino", write="duckdb")[0]).fetchall()
        duck_s = time.perf_counter() - started
        rows.append({"figure": analytics.query_name(template), "value": round(local_s, 2), "unit": "s",
                     "duckdb_s": round(duck_s, 3), "ratio": round(local_s / max(duck_s, 1e-6), 1)})
    return {"rows": rows}


def run(what: str, scale: str = "full") -> dict:
    if what == "ingest":
        from autocorp_lake import bench_ingest

        figures = bench_ingest.run(scale=scale)
    elif what == "transform":
        from autocorp_lake import bench_transform

        figures = bench_transform.run(scale=scale)
    elif what == "cdc":
        from autocorp_lake import bench_ingest

        figures = bench_ingest.run(scale=scale, parts=("cdc",))
    elif what == "query":
        figures = bench_query(scale)
    elif what == "seed":
        figures = bench_seed(scale)
    else:
        raise ValueError(f"unknown benchmark {what!r}")
    figures["machine"] = machine()
    return figures
