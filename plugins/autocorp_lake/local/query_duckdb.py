"""Athena SQL answered without a JVM: the curated Hudi tables read by hudi-rs (the `hudi` package)
into Arrow, registered in an in-memory DuckDB under the names Athena uses, and the query
transpiled by sqlglot from Athena engine v3 (Trino) to DuckDB.

- `autocorp_curated.<table>`: the snapshot of `curated/hudi/<table>`; for the merge-on-read
  `sales_order`, `sales_order_rt` is the snapshot (base files merged with the log files not yet
  compacted) and `sales_order_ro` the read-optimized view (base files only), as Hudi's hms sync
  names them. Only the tables a query names are read. hudi-rs lists the snapshot's file slices:
  DuckDB reads the base file of each slice without log files in place (a copy-on-write table's
  every slice, so only the columns and row groups a query needs are read), and hudi-rs merges the
  slices with log files into Arrow; the view is the union of both.
- `autocorp_analytics.<view>`: the views of `include/sql/athena/views/`, built from their files
  (with the tables they read) when a query names them.
- `as_of` / `since`: time travel and incremental reads through hudi-rs, like the Spark path.

A table hudi-rs cannot read is read by Spark's Hudi datasource instead (one JVM, that table only),
with a note on stderr; statements other than queries (DDL) go to the Spark engine, which owns the
catalog. The Spark path (`query_engine`) stays what the autocorp_analytics DAG and the SQL endpoint
run; tests hold both engines to PostgreSQL's answers.
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sqlglot import exp

from autocorp_lake import config, lake
from autocorp_lake.local.query_engine import (
    CURATED_DB,
    READ_DIALECT,
    QueryError,
    hudi_instant,
    split_statements,
)

WRITE_DIALECT = "duckdb"
ANALYTICS_DB = "autocorp_analytics"
VIEWS_DIR = ("sql", "athena", "views")
BOOTSTRAP_FIX = "run `autocorp-lake run autocorp_bootstrap` first (or `make demo`)"


def _note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def table_path(name: str) -> Path:
    return Path(config.lake_uri(lake.hudi_prefix(name)))


def curated_tables() -> list[str]:
    """Names of the curated Hudi tables present (each with its _rt/_ro names if merge-on-read)."""
    root = Path(config.lake_uri(lake.CURATED_PREFIX))
    names: list[str] = []
    if not root.is_dir():
        return names
    for folder in sorted(root.iterdir()):
        if (folder / ".hoodie" / "hoodie.properties").is_file():
            if _is_mor(folder):
                names += [f"{folder.name}_rt", f"{folder.name}_ro"]
            else:
                names.append(folder.name)
    return names


def _is_mor(folder: Path) -> bool:
    props = (folder / ".hoodie" / "hoodie.properties").read_text(encoding="utf-8")
    return "hoodie.table.type=MERGE_ON_READ" in props


def _resolve(name: str) -> tuple[str, str]:
    """autocorp_curated.<name> -> (Hudi table folder name, 'snapshot' | 'read_optimized').

    A merge-on-read table is known as <t>_rt and <t>_ro; a copy-on-write table by its own name."""
    match = re.fullmatch(r"(.+)_(rt|ro)", name)
    if match and (table_path(match.group(1)) / ".hoodie").is_dir() and _is_mor(table_path(match.group(1))):
        return match.group(1), "read_optimized" if match.group(2) == "ro" else "snapshot"
    folder = table_path(name)
    if (folder / ".hoodie").is_dir():
        if _is_mor(folder):
            raise QueryError(
                f"{CURATED_DB}.{name} is merge-on-read: query {CURATED_DB}.{name}_rt (snapshot) "
                f"or {CURATED_DB}.{name}_ro (read-optimized), the names Athena knows")
        return name, "snapshot"
    known = ", ".join(curated_tables()) or "none yet"
    raise QueryError(
        f"table {CURATED_DB}.{name} does not exist: no Hudi table at {folder}. "
        f"Known tables: {known}. If the lake is empty, {BOOTSTRAP_FIX}.")


def _hudi_read(name: str, mode: str, as_of: str | None, since: str | None):
    """(hudi-rs table, read options) of one curated table's read."""
    from hudi import HudiQueryType, HudiReadOptions, HudiTableBuilder

    table = HudiTableBuilder.from_base_uri(str(table_path(name))).build()
    options = HudiReadOptions()
    if mode == "read_optimized":
        options = options.with_hudi_option("hoodie.read.use.read_optimized.mode", "true")
    if as_of:
        options = options.with_as_of_timestamp(hudi_instant(as_of))
    if since:
        options = options.with_query_type(HudiQueryType.Incremental).with_start_timestamp(hudi_instant(since))
    return table, options


def _to_arrow(batches, schema):
    """hudi-rs record batches as one table in the schema's column order (timestamps as UTC wall
    clock); file slices written before a column was added lack it: nulls where missing."""
    import pyarrow as pa

    batches = [b for b in batches if b.num_rows]
    if not batches:
        return _naive_utc(schema.empty_table())
    arrow = pa.concat_tables([pa.Table.from_batches([b]) for b in batches], promote_options="permissive")
    columns = [n for n in schema.names if n in arrow.column_names]
    columns += [n for n in arrow.column_names if n not in columns]
    return _naive_utc(arrow.select(columns))


def read_hudi(name: str, mode: str = "snapshot", as_of: str | None = None,
              since: str | None = None):
    """One curated Hudi table into a pyarrow Table with hudi-rs (timestamps as UTC wall clock,
    without a zone, as Athena and Spark show them)."""
    table, options = _hudi_read(name, mode, as_of, since)
    return _to_arrow(table.read(options), table.get_schema_with_meta_fields())


@dataclass
class SnapshotFiles:
    """A snapshot (or read-optimized view) as the engine binds it: the base files of the slices
    without log files, for DuckDB to read in place, and the slices with log files merged by hudi-rs."""

    schema: object  # pyarrow.Schema of the table, with Hudi's meta fields
    base_files: list[str]
    merged: object | None  # pyarrow.Table of the merged slices, None if there are none


def snapshot_files(name: str, mode: str = "snapshot", as_of: str | None = None,
                   since: str | None = None):
    """The engine's reader: SnapshotFiles of a snapshot or read-optimized read (as of a time too);
    an incremental read (`since`) is read_hudi's Arrow table."""
    if since:
        return read_hudi(name, mode, as_of, since)
    table, options = _hudi_read(name, mode, as_of, since)
    schema = table.get_schema_with_meta_fields()
    slices = table.get_file_slices(options)
    with_logs = [s for s in slices if s.has_log_files()]
    merged = None
    if with_logs:
        reader = table.create_file_group_reader_with_options(options)
        merged = _to_arrow([reader.read_file_slice(s, options) for s in with_logs], schema)
    return SnapshotFiles(schema=schema, merged=merged if merged is None or merged.num_rows else None,
                         base_files=[f"{table_path(name)}/{s.base_file_relative_path()}"
                                     for s in slices if not s.has_log_files()])


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _naive_utc(arrow):
    import pyarrow as pa

    fields = []
    for field in arrow.schema:
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            field = field.with_type(pa.timestamp(field.type.unit))
        fields.append(field)
    target = pa.schema(fields)
    return arrow if target == arrow.schema else arrow.cast(target)


def read_with_spark(name: str, mode: str = "snapshot", as_of: str | None = None,
                    since: str | None = None):
    """The fallback: the same read through Spark's Hudi datasource, into Arrow."""
    import pyarrow as pa

    from autocorp_lake.local import spark as local_spark

    spark = local_spark.build_session("autocorp-query")
    reader = spark.read.format("hudi")
    if mode == "read_optimized":
        reader = reader.option("hoodie.datasource.query.type", "read_optimized")
    if as_of:
        reader = reader.option("as.of.instant", hudi_instant(as_of))
    if since:
        reader = (reader.option("hoodie.datasource.query.type", "incremental")
                  .option("hoodie.datasource.read.begin.instanttime", hudi_instant(since)))
    frame = reader.load(str(table_path(name)))
    batches = frame._collect_as_arrow()  # pyspark 3.5 has no public toArrow()
    if not batches:
        return pa.Table.from_pandas(frame.limit(0).toPandas(), preserve_index=False)
    return _naive_utc(pa.Table.from_batches(batches))


class Engine:
    """One DuckDB connection; curated tables and views are bound on first use."""

    def __init__(self, as_of: str | None = None, since: str | None = None,
                 reader: Callable | None = None, fallback: Callable | None = None):
        import duckdb

        self.as_of, self.since = as_of, since
        self.reader = reader or snapshot_files
        self.fallback = fallback or read_with_spark
        self.con = duckdb.connect(":memory:")
        self.con.execute("set TimeZone = 'UTC'")
        # the footers a binding reads (describe of a table's base files) serve the query too
        self.con.execute("set parquet_metadata_cache = true")
        for schema in (CURATED_DB, ANALYTICS_DB):
            self.con.execute(f"create schema if not exists {schema}")
        self.bound: dict[tuple[str, str], str] = {}  # (db, name) -> how it was read
        self.fell_back: list[str] = []
        self.read_seconds = 0.0  # time spent reading Hudi tables into Arrow

    # --- binding names -------------------------------------------------------------------
    def bind_curated(self, name: str) -> None:
        if (CURATED_DB, name) in self.bound:
            return
        base, mode = _resolve(name)
        started = time.perf_counter()
        relation = f"__curated_{name}"
        try:
            source = self._relation(relation, self.reader(base, mode, self.as_of, self.since))
            how = "hudi-rs"
        except QueryError:
            raise
        except Exception as exc:  # noqa: BLE001 - anything hudi-rs cannot read goes to Spark
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            _note(f"note: hudi-rs cannot read {CURATED_DB}.{name} ({first}); reading it with Spark")
            try:
                arrow = self.fallback(base, mode, self.as_of, self.since)
            except Exception as spark_exc:  # noqa: BLE001 - one line naming both readers
                spark_first = (str(spark_exc).strip().splitlines() or [type(spark_exc).__name__])[0]
                raise QueryError(f"cannot read {CURATED_DB}.{name} at {table_path(base)}: hudi-rs: "
                                 f"{first}; Spark: {spark_first}") from spark_exc
            source = self._relation(relation, arrow)
            how = "spark"
            self.fell_back.append(name)
        self.con.execute(f'create or replace view {CURATED_DB}."{name}" as {source}')
        self.read_seconds += time.perf_counter() - started
        self.bound[(CURATED_DB, name)] = how

    def _relation(self, relation: str, read) -> str:
        """The SELECT of a table read: an Arrow table registered as `relation`, or a snapshot's
        base files read in place (timestamps as UTC wall clock, as the Arrow reads have them),
        union by name the slices hudi-rs merged."""
        if not isinstance(read, SnapshotFiles):
            self.con.register(relation, read)
            return f'select * from "{relation}"'
        files, parts = read, []
        if files.base_files:
            source = (f"read_parquet([{', '.join(map(_sql_string, files.base_files))}], union_by_name = true, "
                      "hive_partitioning = false)")
            types = {row[0]: row[1] for row in self.con.execute(f"describe select * from {source}").fetchall()}
            columns = files.schema.names
            order = [c for c in columns if c in types] + [c for c in types if c not in columns]
            # UTC wall clock from the epoch, not a cast: the cast converts through ICU's calendar,
            # which made revenue_by_day (791,532 order dates) 2-3 times slower
            parts.append("select " + ", ".join(
                f'make_timestamp(epoch_us("{c}")) as "{c}"' if types[c] == "TIMESTAMP WITH TIME ZONE" else f'"{c}"'
                for c in order) + f" from {source}")
        if files.merged is not None or not parts:
            self.con.register(relation, files.merged if files.merged is not None
                              else _naive_utc(files.schema.empty_table()))
            parts.append(f'select * from "{relation}"')
        return " union all by name ".join(parts)

    def bind_view(self, name: str) -> None:
        if (ANALYTICS_DB, name) in self.bound:
            return
        path = config.include_dir().joinpath(*VIEWS_DIR, f"{name}.sql")
        if not path.is_file():
            known = ", ".join(sorted(p.stem for p in path.parent.glob("*.sql")))
            raise QueryError(
                f"view {ANALYTICS_DB}.{name} does not exist (no {path.name} in "
                f"include/sql/athena/views/). Known views: {known}")
        self.bound[(ANALYTICS_DB, name)] = "view"
        for statement in split_statements(path.read_text(encoding="utf-8")):
            self._bind_names(statement)
            self.con.execute(statement.sql(dialect=WRITE_DIALECT))

    def _bind_names(self, statement: exp.Expression) -> None:
        ctes = {cte.alias_or_name for cte in statement.find_all(exp.CTE)}
        created = None
        if isinstance(statement, exp.Create):
            created = statement.this if isinstance(statement.this, exp.Table) else statement.this.find(exp.Table)
        for table in statement.find_all(exp.Table):
            if table is created or not table.name:
                continue
            if table.db == CURATED_DB:
                self.bind_curated(table.name)
            elif table.db == ANALYTICS_DB:
                self.bind_view(table.name)
            elif not table.db and table.name not in ctes:
                # unqualified names resolve in autocorp_curated, the SQL endpoint's default schema
                if (table_path(table.name) / ".hoodie").is_dir() or re.fullmatch(r".+_(rt|ro)", table.name):
                    self.bind_curated(table.name)
                    table.set("db", exp.to_identifier(CURATED_DB))

    # --- running -------------------------------------------------------------------------
    def run(self, statement: exp.Expression) -> list[dict]:
        self._bind_names(statement)
        text = statement.sql(dialect=WRITE_DIALECT)
        try:
            cursor = self.con.execute(text)
            columns = [d[0] for d in cursor.description] if cursor.description else []
            return [dict(zip(columns, row)) for row in cursor.fetchall()]
        except Exception as exc:  # duckdb's CatalogException, BinderException, ...
            message = str(exc).strip().splitlines()[0]
            raise QueryError(f"query failed: {message}\nDuckDB SQL was: {text}") from exc


def query(sql: str, as_of: str | None = None, since: str | None = None,
          engine: Engine | None = None) -> list[dict]:
    """Run Athena SQL on DuckDB over the curated Hudi tables; the rows of the last statement."""
    if as_of:
        hudi_instant(as_of)  # a bad time fails before any read
    if since:
        hudi_instant(since)
    statements = split_statements(sql)
    if not statements:
        raise QueryError("no SQL statement given")
    if not all(isinstance(s, exp.Query) for s in statements):
        kinds = sorted({type(s).__name__.upper() for s in statements if not isinstance(s, exp.Query)})
        if as_of or since:
            raise QueryError(f"--as-of/--since apply to queries only, not {', '.join(kinds)}")
        _note(f"note: {', '.join(kinds)} changes the catalog: running the SQL on Spark")
        from autocorp_lake.local import query_engine

        return query_engine.query(sql)
    engine = engine or Engine(as_of=as_of, since=since)
    rows: list[dict] = []
    for statement in statements:
        rows = engine.run(statement)
    return rows


def run_file(path: Path, **kwargs) -> list[dict]:
    return query(Path(path).read_text(encoding="utf-8"), **kwargs)


def transpile(sql: str) -> list[str]:
    """The DuckDB text of each statement (for messages and the bench)."""
    return [s.sql(dialect=WRITE_DIALECT) for s in split_statements(sql)]


__all__ = ["Engine", "QueryError", "SnapshotFiles", "curated_tables", "query", "read_hudi", "read_with_spark",
           "run_file", "snapshot_files", "transpile", "READ_DIALECT"]
