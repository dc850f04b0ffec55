"""The query layer on the demo data: every Athena SQL file runs locally (sqlglot -> Spark on the
local catalog) and gives the answer PostgreSQL gives to the same question; views build; time
travel and incremental reads see exactly the CDC round's change."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from autocorp_lake import analytics, config
from autocorp_lake.local import generator, query_engine, replicator
from autocorp_lake.local.jobs import run_glue_script

pytestmark = [pytest.mark.integration, pytest.mark.spark]

SQL = config.include_dir() / "sql"


def promote_all(run_id: str) -> None:
    for table in config.registry().in_load_order():
        args = {"table": table.name, "run_id": run_id}
        run_glue_script("apply_changes.py", args, in_process=True)
        run_glue_script("promote.py", args, in_process=True)


def instants(table: str) -> list[str]:
    timeline = Path(config.lake_uri(f"curated/hudi/{table}")) / ".hoodie"
    return sorted(p.name.split(".")[0] for p in timeline.glob("*.commit"))


@pytest.fixture(scope="module")
def demo_lake(tmp_path_factory, pg, spark):
    """The demo data seeded, fully loaded and promoted; then one customer changes city."""
    lake = tmp_path_factory.mktemp("query-lake")
    os.environ["AUTOCORP_LAKE_DIR"] = str(lake)
    with pg.connect() as conn:
        for (slot,) in conn.execute("select slot_name from pg_replication_slots").fetchall():
            conn.execute("select pg_drop_replication_slot(%s)", (slot,))
        conn.execute("drop table if exists autocorp_seed_info")
    for name in config.registry().table_names + ["sales_order_ro", "sales_order_rt"]:
        spark.sql(f"drop table if exists autocorp_curated.{name}")
    generator.seed(scale="demo", seed=11, progress=False)
    replicator.full_load(log=lambda *a: None)
    promote_all("q1")
    before = instants("customers")[-1]
    with pg.connect() as conn:
        customer = conn.execute("select min(customer_id) from customers").fetchone()[0]
        conn.execute("update customers set city = 'Time Travel City' where customer_id = %s", (customer,))
    replicator.capture_batch(log=lambda *a: None)
    promote_all("q2")
    after = instants("customers")[-1]
    assert after > before, "the CDC round made no commit on customers"
    yield {"first_instant": before, "second_instant": after, "customer": customer}
    os.environ.pop("AUTOCORP_LAKE_DIR", None)


def postgres_sql(athena_sql: str) -> str:
    """The same question for the source database: curated tables are the source tables."""
    tree = sqlglot.parse_one(athena_sql, read="trino")
    for table in tree.find_all(exp.Table):
        if table.db == "autocorp_curated":
            table.set("this", exp.to_identifier(query_engine._base_table(table.name)))
            table.set("db", exp.to_identifier("public"))
    return tree.sql(dialect="postgres")


def normalise(value):
    if isinstance(value, (Decimal, float)):
        return round(Decimal(str(value)), 2)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


@pytest.mark.parametrize("template", analytics.sql_files("analytics"))
def test_analytics_file_matches_postgres(demo_lake, pg, spark, template):
    text = (SQL / template).read_text()
    lake_rows = query_engine.query(text, spark=spark)
    with pg.connect() as conn:
        cursor = conn.execute(postgres_sql(text))
        columns = [c.name for c in cursor.description]
        source_rows = [dict(zip(columns, row)) for row in cursor.fetchall()]
    assert lake_rows, f"{template} returned nothing"
    assert list(lake_rows[0]) == columns
    assert [[normalise(v) for v in r.values()] for r in lake_rows] == \
        [[normalise(v) for v in r.values()] for r in source_rows]


def test_views_build_and_cover_the_source(demo_lake, pg, spark):
    for template in analytics.sql_files("ddl") + analytics.sql_files("views"):
        query_engine.query((SQL / template).read_text(), spark=spark)
    expected = {
        "v_order_facts": "select count(*) from sales_order",
        "v_service_mix": "select count(*) from sales_order_services",
        "v_parts_demand": "select count(*) from auto_parts",
        "v_customer_lifetime_value": "select count(*) from customers",
    }
    with pg.connect() as conn:
        for view, source_sql in expected.items():
            source = conn.execute(source_sql).fetchone()[0]
            lake = query_engine.query(f"select count(*) as n from autocorp_analytics.{view}", spark=spark)
            assert lake[0]["n"] == source, view
        lifetime = conn.execute("select sum(total_amount) from sales_order").fetchone()[0]
    lake_lifetime = query_engine.query(
        "select sum(lifetime_value) as v from autocorp_analytics.v_customer_lifetime_value", spark=spark)
    assert Decimal(str(lake_lifetime[0]["v"])) == lifetime


def test_time_travel_reads_old_value_before_the_commit(demo_lake, spark):
    sql = f"select city from autocorp_curated.customers where customer_id = {demo_lake['customer']}"
    assert query_engine.query(sql, spark=spark)[0]["city"] == "Time Travel City"
    old = query_engine.query(sql, as_of=demo_lake["first_instant"], spark=spark)[0]["city"]
    assert old != "Time Travel City"
    assert query_engine.query(sql, as_of=demo_lake["second_instant"], spark=spark)[0]["city"] == "Time Travel City"


def test_incremental_returns_exactly_the_changed_keys(demo_lake, spark):
    rows = query_engine.query("select customer_id, city from autocorp_curated.customers",
                              since=demo_lake["first_instant"], spark=spark)
    assert rows == [{"customer_id": demo_lake["customer"], "city": "Time Travel City"}]


def test_bad_time_is_a_clear_error(demo_lake, spark):
    with pytest.raises(query_engine.QueryError, match="YYYY-MM-DD"):
        query_engine.query("select 1 from autocorp_curated.customers", as_of="yesterday", spark=spark)
