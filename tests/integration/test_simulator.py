"""`simulate`: realistic changes on the seeded source; constraints and invariants still hold and the
row counts changed exactly as reported."""

from __future__ import annotations

import pytest

from autocorp_lake.local import generator, simulator
from source_invariants import check_invariants

pytestmark = pytest.mark.integration

TABLES = ["auto_parts", "customers", "service", "service_parts", "sales_order",
          "sales_order_parts", "sales_order_services"]


def _counts(conn) -> dict[str, int]:
    return {t: conn.execute(f"select count(*) from {t}").fetchone()[0] for t in TABLES}


def test_simulate_keeps_constraints_and_reports_exact_changes(source_db):
    generator.seed(scale="demo", seed=42, progress=False)
    with source_db.connect() as conn:
        before = _counts(conn)
        max_updated = conn.execute("select max(updated_at) from sales_order").fetchone()[0]
    report = simulator.simulate(tps=20, seconds=3, seed=5)
    assert report["transactions"] == sum(a["count"] for a in report["actions"])
    assert report["transactions"] >= 40  # about 20 per second for 3 seconds
    assert 2.0 <= report["elapsed_s"] < 8.0
    assert len(report["actions"]) >= 5
    with source_db.connect() as conn:
        after = _counts(conn)
        check_invariants(conn)
        # every constraint is still valid (none was disabled or left unvalidated)
        assert conn.execute(
            "select count(*) from pg_constraint c join pg_namespace n on n.oid = c.connamespace "
            "where n.nspname = 'public' and not c.convalidated").fetchone()[0] == 0
        changed = conn.execute(
            "select count(*) from sales_order where updated_at > %s", (max_updated,)).fetchone()[0]
    by_table = {r["table"]: r for r in report["tables"]}
    for table in TABLES:
        assert after[table] - before[table] == by_table[table]["inserted"] - by_table[table]["deleted"], table
    assert by_table["sales_order"]["inserted"] > 0
    assert changed > 0  # updated_at maintained on changed orders
