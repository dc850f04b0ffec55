"""Source vs curated, row by row: each source table (PostgreSQL, via Spark JDBC) against the
snapshot of its Hudi table (`curated/hudi/<table>`), on the primary key and every source column.

Type-aware: decimals compare by value (numeric(10,2) vs decimal(12,2) alike), `money` is read as
numeric(19,2) (the lake carries it as decimal(19,2)), timestamps compare at the microsecond (the
JVM and the Spark session run in UTC, as the replicator writes wall-clock values). NULLs compare
equal to NULLs. Lake-only columns (Op, dms_*, the partition column, Hudi meta columns) are ignored.
Where it runs is the target's reconcile step: local Spark against the local source
(targets/local.py), or the maintenance Glue job through its JDBC connection (targets/aws.py).
"""

from __future__ import annotations

import logging

from autocorp_lake import config, lake

log = logging.getLogger(__name__)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def source_query(table: str, columns: list[tuple[str, str]], schema: str = "public") -> str:
    """SELECT of every column of a source table; money as numeric(19,2)."""
    parts = []
    for name, data_type in columns:
        if data_type == "money":
            parts.append(f"{_quote(name)}::numeric(19,2) as {_quote(name)}")
        else:
            parts.append(_quote(name))
    return f"select {', '.join(parts)} from {_quote(schema)}.{_quote(table)}"


def source_columns(table: str, schema: str = "public") -> list[tuple[str, str]]:
    from autocorp_lake.local import services

    with services.connect(config.postgres().source_db) as conn:
        rows = conn.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = %s and table_name = %s order by ordinal_position",
            (schema, table),
        ).fetchall()
    if not rows:
        raise LookupError(f"source table {schema}.{table} not found in database {config.postgres().source_db}")
    return [(name, data_type) for name, data_type in rows]


def _jdbc_reader(spark, jdbc: dict):
    return (
        spark.read.format("jdbc")
        .option("url", jdbc["url"])
        .option("driver", "org.postgresql.Driver")
        .option("user", jdbc["user"])
        .option("password", jdbc["password"])
        .option("fetchsize", "10000")
    )


def source_columns_jdbc(spark, jdbc: dict, table: str, schema: str = "public") -> list[tuple[str, str]]:
    """The columns of a source table read over JDBC (the Glue job has no psycopg connection)."""
    query = ("select column_name, data_type from information_schema.columns "
             f"where table_schema = '{schema}' and table_name = '{table}' order by ordinal_position")
    rows = _jdbc_reader(spark, jdbc).option("query", query).load().collect()
    if not rows:
        raise LookupError(f"source table {schema}.{table} not found at {jdbc['url']}")
    return [(row["column_name"], row["data_type"]) for row in rows]


def read_source(spark, table: str, schema: str = "public", jdbc: dict | None = None):
    """The source table through Spark JDBC: the local cluster, or `jdbc` (url, user, password:
    on Glue, from the job's connection)."""
    if jdbc is not None:
        query = source_query(table, source_columns_jdbc(spark, jdbc, table, schema), schema)
        return _jdbc_reader(spark, jdbc).option("query", query).load()
    pg = config.postgres()
    query = source_query(table, source_columns(table, schema), schema)
    reader = (
        spark.read.format("jdbc")
        .option("url", pg.jdbc_url(pg.source_db))
        .option("driver", "org.postgresql.Driver")
        .option("user", pg.user)
        .option("query", query)
        .option("fetchsize", "10000")
    )
    if pg.password:
        reader = reader.option("password", pg.password)
    return reader.load()


def read_lake(spark, table: str, lake_root: str | None = None):
    """The Hudi snapshot, or None when the table does not exist yet."""
    import os

    path = lake.hudi_table_uri((lake_root or config.lake_uri()).rstrip("/"), table)
    if not path.startswith("s3://") and not os.path.exists(os.path.join(path, ".hoodie")):
        return None
    return spark.read.format("hudi").load(path)


def compare(source, lake, keys: list[str]) -> dict:
    """Counts of source rows, lake rows, missing (source only), extra (lake only) and different
    (same key, any column differs) between two DataFrames."""
    from pyspark.sql import functions as F

    columns = source.columns
    src = source.select(*[F.col(c).alias(f"s_{c}") for c in columns]).withColumn("_s", F.lit(True))
    if lake is None:
        n = source.count()
        return {"source_rows": n, "lake_rows": 0, "missing": n, "extra": 0, "different": 0}
    types = dict(source.dtypes)
    lake_cols = []
    absent = []
    for c in columns:
        if c in lake.columns:
            column = F.col(c)
            if dict(lake.dtypes)[c] != types[c]:
                column = column.cast(types[c])
            lake_cols.append(column.alias(f"l_{c}"))
        else:
            absent.append(c)
            lake_cols.append(F.lit(None).cast(types[c]).alias(f"l_{c}"))
    lk = lake.select(*lake_cols).withColumn("_l", F.lit(True))
    joined = src.join(
        lk, on=[F.col(f"s_{k}") == F.col(f"l_{k}") for k in keys], how="full_outer"
    )
    same = F.lit(True)
    for c in columns:
        if c in absent:
            same = F.lit(False)
            break
        same = same & F.col(f"s_{c}").eqNullSafe(F.col(f"l_{c}"))
    both = F.col("_s").isNotNull() & F.col("_l").isNotNull()
    row = joined.agg(
        F.sum(F.when(F.col("_s").isNotNull(), 1).otherwise(0)).alias("source_rows"),
        F.sum(F.when(F.col("_l").isNotNull(), 1).otherwise(0)).alias("lake_rows"),
        F.sum(F.when(F.col("_l").isNull(), 1).otherwise(0)).alias("missing"),
        F.sum(F.when(F.col("_s").isNull(), 1).otherwise(0)).alias("extra"),
        F.sum(F.when(both & ~same, 1).otherwise(0)).alias("different"),
    ).collect()[0]
    return {k: int(row[k] or 0) for k in ("source_rows", "lake_rows", "missing", "extra", "different")}


def reconcile(tables: list[str] | None = None, spark=None, lake_root: str | None = None,
              jdbc: dict | None = None) -> list[dict]:
    """One row per table: {table, source_rows, lake_rows, missing, extra, different}."""
    registry = config.registry()
    names = tables or registry.table_names
    if spark is None:
        from autocorp_lake.local.spark import build_session

        spark = build_session("autocorp-reconcile")
    rows = []
    for name in names:
        table = registry.table(name)
        source = read_source(spark, name, registry.source_schema, jdbc)
        lake = read_lake(spark, name, lake_root)
        counts = compare(source, lake, list(table.primary_key))
        rows.append({"table": name, **counts})
    return rows


def result_key(run_id: str) -> str:
    """Where the maintenance Glue job (the reconcile step on AWS) leaves the per-table counts of one run."""
    return f"{lake.run_prefix(run_id)}/reconcile.json"


def fail_on_difference(rows: list[dict]) -> list[dict]:
    """The reconcile task's verdict on the per-table rows (of either target's run): each logged,
    a RuntimeError naming the tables that differ, else the rows."""
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
