"""The local Glue crawler: registers the raw zone's tables, with their inferred schemas, in the
catalog database `autocorp_raw` (the PostgreSQL-backed Hive metastore that every Spark process
shares).

- raw_database: `autocorp_raw.<table>` over the full-load files and `autocorp_raw.cdc_<table>`
  over the CDC files (the table folder's YYYY/MM/DD/ date folders), parquet, schemas merged so added columns appear.
- raw_csv: `autocorp_raw.csv_<feed>` over `raw/csv/<file>`, header row, every column a string
  (typing is the cleaning job's work, as with a Glue crawler's CSV classifier).
Each crawl re-creates the table definitions (data is never touched: the tables are external).
"""

from __future__ import annotations

from autocorp_lake import config

DATABASE = "autocorp_raw"


def _register(spark, name: str, fmt: str, path: str, options: dict[str, str]) -> dict:
    reader = spark.read.format(fmt)
    for key, value in options.items():
        reader = reader.option(key, value)
    schema = reader.load(path).schema
    columns = ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in schema.fields)
    option_sql = ", ".join(f"'{k}' '{v}'" for k, v in {**options, "path": path}.items())
    spark.sql(f"drop table if exists {DATABASE}.{name}")
    spark.sql(f"create table {DATABASE}.{name} ({columns}) using {fmt} options ({option_sql})")
    return {"table": f"{DATABASE}.{name}", "columns": len(schema.fields), "location": path}


def crawl(crawler: str, spark=None) -> dict:
    from autocorp_lake.local import spark as local_spark

    spark = spark or local_spark.build_session("autocorp-crawler")
    spark.sql(f"create database if not exists {DATABASE}")
    root = config.lake_root()
    registry = config.registry()
    tables: list[dict] = []
    if crawler == "raw_database":
        for table in registry.tables:
            # one folder per table, as DMS writes it: LOAD files, and CDC files under YYYY/MM/DD/
            folder = root / "raw/database" / registry.source_schema / table.name
            if any(folder.glob("LOAD*.parquet")):
                tables.append(_register(spark, table.name, "parquet", str(folder),
                                        {"mergeSchema": "true", "pathGlobFilter": "LOAD*.parquet"}))
            if any(folder.glob("[0-9][0-9][0-9][0-9]/*/*/*.parquet")):
                tables.append(_register(spark, f"cdc_{table.name}", "parquet", str(folder),
                                        {"mergeSchema": "true", "recursiveFileLookup": "true",
                                         "pathGlobFilter": "[0-9]*.parquet"}))
    elif crawler == "raw_csv":
        for feed in registry.feeds:
            path = root / "raw/csv" / feed.file  # the share as DataSync copies it
            if path.exists():
                tables.append(_register(spark, f"csv_{feed.name}", "csv", str(path),
                                        {"header": "true", "inferSchema": "false"}))
    else:
        raise config.ConfigError(f"unknown crawler {crawler!r}; the crawlers are raw_database, raw_csv")
    if not tables:
        raise RuntimeError(f"crawler {crawler}: nothing to crawl under {root / 'raw'}; did ingestion run?")
    return {"crawler": crawler, "tables": tables}
