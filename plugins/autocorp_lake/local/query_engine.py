"""Athena SQL, run locally: the same `.sql` files as on AWS, translated from Athena engine v3
(Trino) to Spark SQL by sqlglot and run on Spark against the local catalog (the PostgreSQL-backed
Hive metastore that Hudi's hms sync fills).

Time travel (`as_of`) and incremental reads (`since`) are Hudi features that Athena does not
offer: here they read each curated table named in the query through Hudi's Spark datasource
(`as.of.instant`, or an incremental query from a commit time) and bind the table name to that
read, so the query text stays the same.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import sqlglot
from sqlglot import exp

from autocorp_lake import config, lake

READ_DIALECT = "trino"  # Athena engine v3
WRITE_DIALECT = "spark"
CURATED_DB = "autocorp_curated"


class QueryError(ValueError):
    """The SQL cannot be parsed or run; the message says where."""


def _spark():
    from autocorp_lake.local import spark as local_spark

    session = local_spark.build_session("autocorp-query")
    local_spark.ensure_databases(session)
    return session


def hudi_instant(ts: str) -> str:
    """'2026-11-26 10:15:00[.fff]' or an instant '20261126101500123' -> Hudi instant text."""
    if re.fullmatch(r"\d{14}(\d{3})?", ts):
        return ts
    try:
        parsed = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError as exc:
        raise QueryError(
            f"time {ts!r} is not understood; use 'YYYY-MM-DD HH:MM:SS' (UTC) or a Hudi instant"
        ) from exc
    return parsed.strftime("%Y%m%d%H%M%S") + f"{parsed.microsecond // 1000:03d}"


def split_statements(sql: str) -> list[exp.Expression]:
    try:
        return [s for s in sqlglot.parse(sql, read=READ_DIALECT) if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise QueryError(f"cannot parse the SQL as Athena (Trino) SQL: {parse_error_text(exc)}") from exc


def parse_error_text(exc: sqlglot.errors.ParseError) -> str:
    """sqlglot's first error as one plain line: where, what, and the text near it."""
    if not exc.errors:
        return re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).splitlines()[0]
    first = exc.errors[0]
    near = " ".join(f"{first.get('start_context', '')}{first.get('highlight', '')}".split())[-60:]
    what = re.sub(r"<Token token_type: [\w.]+, text: (.*?), line: .*?>", r"'\1'", str(first.get("description")))
    return f"line {first.get('line')}, column {first.get('col')}: {what} (near: {near!r})"


def _base_table(name: str) -> str:
    """Hudi's hms sync names a merge-on-read table's views <t>_ro and <t>_rt."""
    return re.sub(r"_(ro|rt)$", "", name)


def bind_hudi_reads(statement: exp.Expression, spark, as_of: str | None, since: str | None) -> exp.Expression:
    """Replace curated table references by temp views reading Hudi as of / since a time."""
    statement = statement.copy()
    for table in statement.find_all(exp.Table):
        if table.db != CURATED_DB:
            continue
        base = _base_table(table.name)
        path = config.lake_uri(lake.hudi_prefix(base))
        if not Path(path).exists():
            raise QueryError(f"{CURATED_DB}.{table.name}: no Hudi table at {path}")
        reader = spark.read.format("hudi")
        if as_of:
            reader = reader.option("as.of.instant", hudi_instant(as_of))
        if since:
            reader = (
                reader.option("hoodie.datasource.query.type", "incremental")
                .option("hoodie.datasource.read.begin.instanttime", hudi_instant(since))
            )
        view = f"__{base}_{'asof' if as_of else 'since'}"
        reader.load(path).createOrReplaceTempView(view)
        table.replace(exp.to_table(view).as_(table.alias or table.name))
    return statement


def to_spark_sql(statement: exp.Expression) -> str:
    return statement.sql(dialect=WRITE_DIALECT)


def query(sql: str, as_of: str | None = None, since: str | None = None, spark=None) -> list[dict]:
    """Run Athena SQL locally; returns the rows of the last statement as dicts."""
    spark = spark or _spark()
    rows: list[dict] = []
    for statement in split_statements(sql):
        if as_of or since:
            statement = bind_hudi_reads(statement, spark, as_of, since)
        text = to_spark_sql(statement)
        try:
            result = spark.sql(text)
            rows = [row.asDict(recursive=True) for row in result.collect()]
        except Exception as exc:  # Spark's AnalysisException and friends
            message = str(exc).split("\n")[0]
            raise QueryError(f"query failed: {message}\nSpark SQL was: {text}") from exc
    return rows


def run_file(path: Path, spark=None, **kwargs) -> list[dict]:
    return query(Path(path).read_text(encoding="utf-8"), spark=spark, **kwargs)
