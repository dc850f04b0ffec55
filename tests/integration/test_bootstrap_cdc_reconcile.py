"""Source -> local DMS -> apply -> promote -> Hudi, for all 7 tables, then a CDC round:
`reconcile()` reports zero differences (keys and every value) before and after the changes."""

from __future__ import annotations

import pytest

from autocorp_lake import config
from autocorp_lake.local import replicator
from autocorp_lake.local.jobs import run_glue_script
from autocorp_lake.reconcile import reconcile

pytestmark = [pytest.mark.integration, pytest.mark.spark]

SEED = [
    """insert into auto_parts (sku, name, category, price, created_at, updated_at) values
       ('BRK-001', 'Brake pad — ceramic', 'Brakes', 49.99, '2024-01-02 03:04:05.123456', null),
       ('FLT-002', 'Ölfilter', 'Filters', 0.01, '2024-02-29 00:00:00', '2024-03-01 12:00:00'),
       ('TIR-003', null, null, null, null, null)""",
    """insert into customers (first_name, last_name, email, phone, address, city, state, zip_code,
                              created_at, updated_at) values
       ('José', 'Müller', 'jose@example.com', '+1 555 0100', E'1 Main St\\nApt 2', 'Zürich', 'ZH', '8001',
        '2024-01-01 00:00:00.000001', null),
       ('Ann', 'O''Neil', 'ann@example.com', '', 'x,y;"z"', 'Boston', 'MA', '02101', null, null),
       ('Bob', 'Smith', 'bob@example.com', '555', '2 Side', 'Austin', 'TX', '73301',
        '2024-03-03 03:03:03', '2024-03-04 04:04:04')""",
    """insert into service (serviceid, service, category, labor_minutes, labor_cost) values
       ('SVC-1', 'Brake job', 'Brakes', 90, '1234567.89'),
       ('SVC-2', 'Oil change', 'Fluids & Filters', 30, '12.50'),
       ('SVC-3', 'Inspection', 'General Preventive Maintenance', null, null)""",
    """insert into service_parts (serviceid, sku, quantity, created_at) values
       ('SVC-1', 'BRK-001', 2, '2024-01-01 00:00:00'), ('SVC-2', 'FLT-002', 1, null)""",
    """insert into sales_order (customer_id, order_date, invoice_number, payment_method, subtotal, tax,
                                total_amount, order_type, status, notes, created_at, updated_at) values
       (1, '2024-01-05 10:00:00', 'INV-1', 'Card', 100.00, 8.25, 108.25, 'Parts', 'Completed',
        E'line one\\nline "two"', '2024-01-05 10:00:00', null),
       (2, '2024-02-06 11:00:00', 'INV-2', null, 90.00, null, 90.00, 'Service', 'Open', null, null, null),
       (3, '2024-03-07 12:00:00.5', 'INV-3', 'Cash', 0.00, 0.00, 0.00, 'Mixed', 'Cancelled', '', null, null)""",
    """insert into sales_order_parts (order_id, part_id, sku, part_description, quantity, unit_price,
                                      line_total, created_at) values
       (1, 1, 'BRK-001', 'Brake pad', 2, 49.99, 99.98, '2024-01-05 10:00:00'),
       (1, 2, 'FLT-002', null, 1, 0.02, 0.02, '2024-01-05 10:00:00'),
       (3, 3, 'TIR-003', 'Tire', 1, 0.00, 0.00, '2024-03-07 12:00:00')""",
    """insert into sales_order_services (order_id, serviceid, service_description, quantity, labor_minutes,
                                         labor_cost, parts_cost, line_total, vehicle_id, technician_id,
                                         service_status, created_at) values
       (2, 'SVC-2', 'Oil change', 1, 30, 45.00, 45.00, 90.00, 7, 3, 'Done', '2024-02-06 11:00:00'),
       (3, 'SVC-1', null, 1, 90, 0.00, null, 0.00, null, null, null, '2024-03-07 12:00:00')""",
]

CHANGES = [
    # many updates of one key, a money change, a month move of an order, deletes, a re-insert
    "update customers set city = 'Lyon' where customer_id = 1",
    "update customers set city = 'Nice', updated_at = '2024-06-01 01:02:03.456789' where customer_id = 1",
    "update service set labor_cost = '99.99' where serviceid = 'SVC-2'",
    "update sales_order set order_date = '2024-05-05 05:05:05', status = 'Moved' where order_id = 1",
    "delete from sales_order where order_id = 3",  # cascades to its line items
    "insert into auto_parts (sku, name, price) values ('NEW-9', 'New part', 12.34)",
    "delete from auto_parts where sku = 'NEW-9'",
    "delete from service_parts where service_part_id = 2",
    "insert into service_parts (service_part_id, serviceid, sku, quantity) values (2, 'SVC-3', 'X', 5)",
    "update auto_parts set part_id = 100 where part_id = 3",  # primary-key change
    """insert into customers (first_name, last_name, email, created_at)
       values ('Eve', 'Ng', 'eve@example.com', '2024-07-07 07:07:07')""",
    """insert into sales_order_parts (order_id, part_id, sku, quantity, unit_price, line_total, created_at)
       values (2, 1, 'BRK-001', 3, 49.99, 149.97, '2024-02-06 11:00:00')""",
]


@pytest.fixture()
def lake(tmp_path, monkeypatch, spark):
    monkeypatch.setenv("AUTOCORP_LAKE_DIR", str(tmp_path / "lake"))
    for name in config.registry().table_names + ["sales_order_ro", "sales_order_rt"]:
        spark.sql(f"drop table if exists autocorp_curated.{name}")
    return config.lake_uri()


def apply_and_promote_all(run_id: str) -> None:
    """One apply_changes run stages and gates every table, one promote run writes them, as the DAG does."""
    names = ",".join(table.name for table in config.registry().in_load_order())
    outcomes = run_glue_script("apply_changes", {"kind": "table", "name": names, "run_id": run_id})
    assert {name: o["gate"] for name, o in outcomes.items()
            if o["gate"] not in ("passed", "warning", "empty")} == {}, outcomes
    run_glue_script("promote", {"kind": "table", "name": names, "run_id": run_id})


def assert_no_differences(spark, lake):
    rows = reconcile(spark=spark, lake_root=lake)
    assert {r["table"] for r in rows} == set(config.registry().table_names)
    bad = [r for r in rows if r["missing"] or r["extra"] or r["different"] or r["source_rows"] != r["lake_rows"]]
    assert not bad, rows
    return {r["table"]: r["source_rows"] for r in rows}


def test_bootstrap_then_cdc_reconciles(source_db, spark, lake):
    with source_db.connect() as conn:
        for statement in SEED:
            conn.execute(statement)
    replicator.full_load(log=lambda *a, **k: None)
    apply_and_promote_all("bootstrap")
    counts = assert_no_differences(spark, lake)
    assert counts["customers"] == 3 and counts["sales_order_parts"] == 3

    with source_db.connect() as conn:
        for statement in CHANGES:
            conn.execute(statement)
    replicator.capture_batch(log=lambda *a, **k: None)
    apply_and_promote_all("cdc_1")
    counts = assert_no_differences(spark, lake)
    assert counts["customers"] == 4 and counts["sales_order"] == 2 and counts["sales_order_parts"] == 3

    # a difference is seen: change the source behind the lake's back
    with source_db.connect() as conn:
        conn.execute("update customers set city = 'Rome' where customer_id = 2")
    row = next(r for r in reconcile(tables=["customers"], spark=spark, lake_root=lake))
    assert row["different"] == 1 and row["missing"] == 0 and row["extra"] == 0
