"""The local DMS against a real PostgreSQL: the file contract, CDC replay, hard cases, refusals."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from psycopg.rows import dict_row

from autocorp_lake import config
from autocorp_lake.local import replicator

pytestmark = pytest.mark.integration

TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$")
SEQ_RE = re.compile(r"^[0-9A-F]{16}\d{10}$")


# --------------------------------------------------------------------------- helpers (shared)


@pytest.fixture()
def lake(tmp_path, monkeypatch) -> Path:
    """A private lake for the test (the session workspace is shared), quick retries."""
    monkeypatch.setenv("AUTOCORP_LAKE_DIR", str(tmp_path / "lake"))
    monkeypatch.setenv("AUTOCORP_REPLICATOR_RETRY_WAIT", "0.01")
    monkeypatch.setenv("AUTOCORP_REPLICATOR_RETRIES", "2")
    return config.lake_root()


def seed_small(conn) -> None:
    """A few rows per table with the awkward values: Unicode, NULLs, money, scales, newlines."""
    conn.execute(
        """
        insert into auto_parts (sku, name, category, price, created_at, updated_at) values
          ('BRK-001', 'Brake pad — ceramic', 'Brakes', 49.99, '2024-01-02 03:04:05.123456', null),
          ('FLT-002', 'Ölfilter 🚗', 'Filters', 0.01, '2024-02-29 00:00:00', '2024-03-01 12:00:00'),
          ('TIR-003', null, null, null, null, null),
          ('ENG-004', 'Spark plug "Iridium", 4-pack', 'Engine', 99999999.99, '2023-12-31 23:59:59.999999', null),
          ('SUS-005', 'Strut', 'Suspension', 120.50, '2024-05-05 05:05:05', null)
        """
    )
    conn.execute(
        """
        insert into customers (first_name, last_name, email, phone, address, city, state, zip_code,
                               created_at, updated_at) values
          ('José', 'Müller', 'jose@example.com', '+1 555 0100', E'1 Main St\\nApt 2', 'Zürich', 'ZH', '8001', '2024-01-01 00:00:00', null),
          ('李', '小龙', 'li@example.com', null, null, null, null, null, '2024-01-02 10:00:00.5', null),
          ('Ann', 'O''Neil', 'ann@example.com', '', 'x,y;"z"', 'Boston', 'MA', '02101', null, null),
          ('Bob', 'Smith', 'bob@example.com', '555', '2 Side', 'Austin', 'TX', '73301', '2024-03-03 03:03:03', '2024-03-04 04:04:04'),
          ('Eve', 'Ng', 'eve@example.com', null, null, 'Paris', null, null, '2024-04-04 04:04:04', null)
        """
    )
    conn.execute(
        """
        insert into service (serviceid, service, category, labor_minutes, labor_cost) values
          ('SVC-1', 'Brake job', 'Brakes', 90, '1234567.89'),
          ('SVC-2', 'Oil change', 'Fluids & Filters', 30, '-12.50'),
          ('SVC-3', 'Inspection ✓', 'General Preventive Maintenance', null, null)
        """
    )
    conn.execute(
        """
        insert into service_parts (serviceid, sku, quantity, created_at) values
          ('SVC-1', 'BRK-001', 2, '2024-01-01 00:00:00'), ('SVC-2', 'FLT-002', 1, null)
        """
    )
    conn.execute(
        """
        insert into sales_order (customer_id, order_date, invoice_number, payment_method, subtotal,
                                 tax, total_amount, order_type, status, notes, created_at, updated_at)
        values
          (1, '2024-01-05 10:00:00', 'INV-1', 'Card', 100.00, 8.25, 108.25, 'Parts', 'Completed',
           E'line one\\nline "two", with comma', '2024-01-05 10:00:00', null),
          (2, '2024-01-06 11:00:00', 'INV-2', null, 90.00, null, 90.00, 'Service', 'Open', null, null, null),
          (3, '2024-01-07 12:00:00', 'INV-3', 'Cash', 0.00, 0.00, 0.00, 'Mixed', 'Cancelled', '', null, null)
        """
    )
    conn.execute(
        """
        insert into sales_order_parts (order_id, part_id, sku, part_description, quantity,
                                       unit_price, line_total, created_at) values
          (1, 1, 'BRK-001', 'Brake pad — ceramic', 2, 49.99, 99.98, '2024-01-05 10:00:00'),
          (1, 2, 'FLT-002', null, 1, 0.02, 0.02, null),
          (3, 5, 'SUS-005', 'Strut', 1, 0.00, 0.00, null)
        """
    )
    conn.execute(
        """
        insert into sales_order_services (order_id, serviceid, service_description, quantity,
            labor_minutes, labor_cost, parts_cost, line_total, vehicle_id, technician_id,
            service_status, created_at) values
          (2, 'SVC-2', 'Oil change', 1, 30, 45.00, 45.00, 90.00, 7, 3, 'Done', '2024-01-06 11:00:00'),
          (3, 'SVC-1', null, 1, 90, 0.00, null, 0.00, null, null, null, null)
        """
    )


def source_rows(conn, table: str) -> list[dict]:
    """The source table as the lake should carry it (money as numeric), ordered by key."""
    columns = replicator.table_columns(conn, [table])[table]
    key = ", ".join(config.registry().table(table).primary_key)
    select = ", ".join(
        f"{c.select} as {replicator._quote(c.name)}" if c.typname == "money" else replicator._quote(c.name)
        for c in columns
    )
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(f"select {select} from {table} order by {key}").fetchall()


def assert_replay_equals_source(conn) -> None:
    for table in config.registry().table_names:
        expected = source_rows(conn, table)
        if not expected and not replicator.data_files(table):
            continue
        got = replicator.rebuild(table)
        assert len(got) == len(expected), table
        for g, e in zip(got, expected):
            assert g == e, f"{table}: lake {g} != source {e}"


def all_seqs(table: str) -> list[str]:
    return replicator.read_changes(table).column("dms_change_seq").to_pylist()


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("client", ["psql", "psycopg"])
def test_full_load_follows_the_contract(source_db, lake, monkeypatch, client):
    monkeypatch.setenv("AUTOCORP_REPLICATOR_COPY_CLIENT", client)
    monkeypatch.setenv("AUTOCORP_REPLICATOR_FILE_ROWS", "2")  # cap -> several LOAD files
    with source_db.connect() as conn:
        seed_small(conn)
        result = replicator.full_load(log=lambda *a: None)
        by_table = {t["table"]: t for t in result["tables"]}
        assert by_table["customers"]["rows"] == 5

        for table in config.registry().table_names:
            files = sorted((lake / "raw/database/public" / table).iterdir())
            count = conn.execute(f"select count(*) from {table}").fetchone()[0]
            assert [f.name for f in files] == [
                f"LOAD{i:08X}.parquet" for i in range(1, (count + 1) // 2 + 1)
            ], table
            columns = replicator.table_columns(conn, [table])[table]
            for path in files:
                t = pq.read_table(path)
                assert t.column_names == ["Op", "dms_commit_ts", *[c.name for c in columns], "dms_change_seq"]
                assert t.num_rows <= 2
                assert set(t.column("Op").to_pylist()) == {"I"}
                assert all(TS_RE.match(v) for v in t.column("dms_commit_ts").to_pylist())
                assert all(SEQ_RE.match(v) for v in t.column("dms_change_seq").to_pylist())
            seqs = all_seqs(table)
            assert len(seqs) == count and len(set(seqs)) == count

        schema = pq.read_schema(lake / "raw/database/public/auto_parts/LOAD00000001.parquet")
        assert schema.field("part_id").type == pa.int32()
        assert schema.field("price").type == pa.decimal128(10, 2)
        assert schema.field("created_at").type == pa.timestamp("us")
        assert schema.field("name").type == pa.string()
        schema = pq.read_schema(lake / "raw/database/public/service/LOAD00000001.parquet")
        assert schema.field("labor_cost").type == pa.decimal128(19, 2)
        assert schema.field("labor_minutes").type == pa.int32()
        assert pq.read_schema(
            lake / "raw/database/public/sales_order/LOAD00000001.parquet"
        ).field("total_amount").type == pa.decimal128(12, 2)

        service = {r["serviceid"]: r for r in replicator.rebuild("service")}
        assert service["SVC-1"]["labor_cost"] == Decimal("1234567.89")
        assert service["SVC-2"]["labor_cost"] == Decimal("-12.50")
        assert service["SVC-3"]["labor_cost"] is None and service["SVC-3"]["service"] == "Inspection ✓"
        customers = {r["customer_id"]: r for r in replicator.rebuild("customers")}
        assert customers[2]["first_name"] == "李" and customers[2]["phone"] is None
        assert customers[3]["phone"] == ""  # empty string stays distinct from NULL
        assert customers[1]["address"] == "1 Main St\nApt 2"
        assert_replay_equals_source(conn)
        with pytest.raises(replicator.ReplicatorError, match="already done"):
            replicator.full_load(log=lambda *a: None)


def test_cdc_replay_rebuilds_every_table_with_the_hard_cases(source_db, lake):
    quiet = lambda *a: None  # noqa: E731
    with source_db.connect() as conn:
        seed_small(conn)
        replicator.full_load(log=quiet)
        try:
            # a transaction touching several tables
            with conn.transaction():
                conn.execute(
                    "insert into sales_order (customer_id, order_date, invoice_number, total_amount,"
                    " subtotal, tax, order_type, status) values (4, '2024-06-01', 'INV-4', 10.80,"
                    " 10.00, 0.80, 'Parts', 'Open')"
                )
                conn.execute(
                    "insert into sales_order_parts (order_id, part_id, sku, quantity, unit_price,"
                    " line_total) values (4, 1, 'BRK-001', 1, 10.00, 10.00)"
                )
                conn.execute("update customers set updated_at = '2024-06-01 00:00:00' where customer_id = 4")
            # one row updated many times in one batch, inside and across transactions
            for i in range(3):
                conn.execute("update customers set city = %s where customer_id = 5", (f"City {i}",))
            with conn.transaction():
                conn.execute("update customers set city = 'Lyon' where customer_id = 5")
                conn.execute("update customers set city = 'Nice' where customer_id = 5")
            # inserted and deleted in the same batch
            conn.execute("insert into auto_parts (sku, name, price) values ('TMP-1', 'temp', 1.00)")
            conn.execute("delete from auto_parts where sku = 'TMP-1'")
            # Unicode and money through CDC
            conn.execute(
                "insert into customers (first_name, last_name, email) values ('Zoë', '😀', 'z@x')"
            )
            conn.execute("update service set labor_cost = '-1,234.56' where serviceid = 'SVC-2'")
            first = replicator.capture_batch(log=quiet)
            assert first["batch"] and first["changes"] >= 12

            # primary-key updates (text and integer keys)
            conn.execute("update service set serviceid = 'SVC-9', service = 'renamed' where serviceid = 'SVC-3'")
            conn.execute("update auto_parts set part_id = 50 where part_id = 3")
            # cascade delete: order 1 and its lines
            conn.execute("delete from sales_order where order_id = 1")
            # ADD COLUMN, then changes that carry it
            conn.execute("alter table auto_parts add column warranty_months integer")
            conn.execute("update auto_parts set warranty_months = 24 where part_id = 4")
            conn.execute("insert into auto_parts (sku, name, price, warranty_months) values ('NEW-9', 'new', 5.55, 6)")
            conn.execute("update service_parts set quantity = 3 where service_part_id = 1")
            conn.execute("update sales_order_services set service_status = 'Billed' where line_item_id = 1")
            second = replicator.capture_batch(log=quiet)
            assert second["batch"] > first["batch"]
            assert replicator.capture_batch(log=quiet)["batch"] is None  # nothing left

            assert_replay_equals_source(conn)

            changes = replicator.read_changes("customers").to_pylist()
            city = [r["city"] for r in changes if r["customer_id"] == 5 and r["Op"] == "U"]
            assert city == ["City 0", "City 1", "City 2", "Lyon", "Nice"]
            temp = [r["Op"] for r in replicator.read_changes("auto_parts").to_pylist() if r["sku"] == "TMP-1"]
            assert temp == ["I", "D"]
            svc = [(r["Op"], r["serviceid"]) for r in replicator.read_changes("service").to_pylist()
                   if r["Op"] != "I" or r["serviceid"] == "SVC-9"]
            assert ("D", "SVC-3") in svc and ("I", "SVC-9") in svc
            assert svc.index(("D", "SVC-3")) + 1 == svc.index(("I", "SVC-9"))
            money = [r["labor_cost"] for r in replicator.read_changes("service").to_pylist()
                     if r["serviceid"] == "SVC-2"]
            assert money == [Decimal("-12.50"), Decimal("-1234.56")]
            deleted_lines = [r for r in replicator.read_changes("sales_order_parts").to_pylist() if r["Op"] == "D"]
            assert len(deleted_lines) == 2 and deleted_lines[0]["part_description"] == "Brake pad — ceramic"

            # the multi-table transaction: one commit LSN prefix and commit time in both files
            order = [r for r in replicator.read_changes("sales_order").to_pylist() if r["order_id"] == 4][0]
            line = [r for r in replicator.read_changes("sales_order_parts").to_pylist() if r["order_id"] == 4][0]
            assert order["dms_change_seq"][:16] == line["dms_change_seq"][:16]
            assert order["dms_commit_ts"] == line["dms_commit_ts"] and TS_RE.match(order["dms_commit_ts"])

            for table in config.registry().table_names:
                seqs = all_seqs(table)
                assert len(seqs) == len(set(seqs)) and seqs == sorted(seqs)
                assert all(SEQ_RE.match(s) for s in seqs)
            # full-load rows sort before every CDC change
            state = replicator._load_state()
            consistent = replicator.lsn_to_int(state["full_load"]["consistent_lsn"])
            for path in replicator.data_files("customers"):
                seqs = pq.read_table(path).column("dms_change_seq").to_pylist()
                if path.name.startswith("LOAD"):
                    assert all(int(s[:16], 16) == consistent for s in seqs)
                else:
                    assert all(int(s[:16], 16) > consistent for s in seqs)

            # schema: identical between full load and CDC; the new column only in later files
            load_schema = pq.read_schema(replicator.data_files("customers")[0])
            for path in replicator.data_files("customers")[1:]:
                assert pq.read_schema(path) == load_schema
            parts_files = replicator.data_files("auto_parts")
            assert "warranty_months" not in pq.read_schema(parts_files[0]).names
            assert "warranty_months" not in pq.read_schema(parts_files[-2]).names
            assert pq.read_schema(parts_files[-1]).field("warranty_months").type == pa.int32()
        finally:
            conn.execute("alter table auto_parts drop column if exists warranty_months")


def test_truncate_is_refused_naming_the_table(source_db, lake):
    quiet = lambda *a: None  # noqa: E731
    with source_db.connect() as conn:
        seed_small(conn)
        replicator.full_load(log=quiet)
        conn.execute("update customers set city = 'Before' where customer_id = 1")
        conn.execute("truncate sales_order_services")
        conn.execute("update customers set city = 'After' where customer_id = 2")
        for _ in range(2):  # refused again: the slot never moves past the TRUNCATE
            with pytest.raises(replicator.TruncateNotReplicated) as info:
                replicator.capture_batch(log=quiet)
            message = str(info.value)
            assert "TRUNCATE of public.sales_order_services is not replicated" in message
            assert "autocorp-lake run autocorp_bootstrap" in message
        cities = [r["city"] for r in replicator.read_changes("customers").to_pylist() if r["Op"] == "U"]
        assert cities == ["Before"]  # written once, before the TRUNCATE; nothing after it
        assert not replicator.cdc_files("sales_order_services")
        assert not list(lake.rglob("*" + replicator.TMP_SUFFIX))


def test_source_down_fails_clearly_without_files(source_db, lake, monkeypatch):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AUTOCORP_PG_PORT", str(port))
    monkeypatch.setenv("AUTOCORP_REPLICATOR_RETRIES", "3")
    lines: list[str] = []
    started = time.monotonic()
    with pytest.raises(replicator.SourceUnavailable) as info:
        replicator.replicate(log=lines.append)
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message and "AUTOCORP_PG_PORT" in message
    assert "after 3 attempts" in message
    assert sum("retrying" in line for line in lines) == 2  # backoff between the 3 attempts
    assert time.monotonic() - started < 20
    assert not [p for p in lake.rglob("*") if p.is_file() and p.name != "lock"]


def test_source_down_during_cdc_writes_nothing(source_db, lake, monkeypatch):
    import socket

    with source_db.connect() as conn:
        seed_small(conn)
        replicator.full_load(log=lambda *a: None)
        conn.execute("update customers set city = 'Pending' where customer_id = 1")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    real_port = os.environ["AUTOCORP_PG_PORT"]
    monkeypatch.setenv("AUTOCORP_PG_PORT", str(port))
    with pytest.raises(replicator.SourceUnavailable, match=f"127.0.0.1:{port}"):
        replicator.capture_batch(log=lambda *a: None)
    assert not any(replicator.cdc_files(t) for t in ("customers", "sales_order"))
    monkeypatch.setenv("AUTOCORP_PG_PORT", real_port)  # back up: the change is still there
    assert replicator.capture_batch(log=lambda *a: None)["changes"] == 1


def test_type_mapping_and_money_parsing():
    col = replicator._column
    assert col("a", "numeric", "numeric(12,2)", (12 << 16 | 2) + 4).arrow == pa.decimal128(12, 2)
    assert col("a", "money", "money", -1).arrow == pa.decimal128(19, 2)
    assert col("a", "money", "money", -1).select == '"a"::numeric(19,2)'
    assert col("a", "int4", "integer", -1).arrow == pa.int32()
    assert col("a", "int8", "bigint", -1).arrow == pa.int64()
    assert col("a", "bool", "boolean", -1).arrow == pa.bool_()
    assert col("a", "date", "date", -1).arrow == pa.date32()
    assert col("a", "timestamp", "timestamp without time zone", -1).arrow == pa.timestamp("us")
    assert col("a", "varchar", "character varying(50)", 54).arrow == pa.string()
    assert col("a", "text", "text", -1).arrow == pa.string()
    for text, value in [("$1,234.56", "1234.56"), ("-$1,234.56", "-1234.56"), ("($5.00)", "-5.00"),
                        ("$0.00", "0.00"), ("$92,233,720,368,547,758.07", "92233720368547758.07")]:
        assert replicator._parse_money(text) == Decimal(value)
    assert replicator._parse_money(None) is None
    assert replicator.change_seq(0x1_0000_00FF, 7) == "00000001000000FF0000000007"
    assert replicator.int_to_lsn(replicator.lsn_to_int("16/B374D848")) == "16/B374D848"


def test_replicate_follow_and_status(source_db, lake):
    quiet = lambda *a: None  # noqa: E731
    with source_db.connect() as conn:
        seed_small(conn)
        report = replicator.replicate(log=quiet)
        rows = {r["table"]: r for r in report["tables"]}
        assert rows["auto_parts"]["full_load_rows"] == 5 and rows["auto_parts"]["files"] == 1
        assert set(rows["auto_parts"]) == {"table", "full_load_rows", "cdc_inserts", "cdc_updates", "cdc_deletes", "files"}

        stop = threading.Event()
        thread = threading.Thread(
            target=replicator.follow, kwargs={"log": quiet, "poll_interval": 0.1, "stop": stop}
        )
        thread.start()
        try:
            conn.execute("insert into customers (first_name, last_name, email) values ('F', 'L', 'f@l')")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not replicator.cdc_files("customers"):
                time.sleep(0.05)
        finally:
            stop.set()
            thread.join(10)
        assert not thread.is_alive()
        assert len(replicator.rebuild("customers")) == 6
        conn.execute("delete from customers where email = 'f@l'")
        report = replicator.replicate(log=quiet)
        assert {r["table"]: r for r in report["tables"]}["customers"]["cdc_deletes"] == 1
        status = replicator.status()
        assert status["slot_exists"] and status["slot"] == "autocorp_lake" and status["full_load_done"]
        assert status["confirmed_lsn"] == status["last_lsn_written"]
        assert status["files"]["customers"] == {"load": 1, "cdc": 2}
        assert status["lag_bytes"] is not None

        # what apply_changes has not processed yet (its checkpoint lists the processed files)
        assert replicator.has_unprocessed_cdc_files()
        checkpoints = lake / "staged" / "_checkpoints"
        checkpoints.mkdir(parents=True)
        for table in config.registry().table_names:
            files = [str(p.relative_to(lake)) for p in replicator.data_files(table)]
            (checkpoints / f"{table}.json").write_text(json.dumps({"files": files}))
        assert not replicator.has_unprocessed_cdc_files()
        conn.execute("delete from service where serviceid = 'SVC-3'")
        replicator.capture_batch(log=quiet)
        assert replicator.has_unprocessed_cdc_files() and replicator.has_unprocessed_cdc_files("service")
        assert not replicator.has_unprocessed_cdc_files("customers")

        with source_db.connect() as admin:
            admin.execute("select pg_drop_replication_slot('autocorp_lake')")
        assert replicator.status()["slot"] is None


def test_empty_source_full_load_then_cdc(source_db, lake):
    quiet = lambda *a: None  # noqa: E731
    with source_db.connect() as conn:
        report = replicator.replicate(log=quiet)
        assert all(r["full_load_rows"] == 0 and r["files"] == 0 for r in report["tables"])
        assert not list(lake.rglob("LOAD*.parquet"))  # as DMS: no file for an empty table
        seed_small(conn)
        report = replicator.replicate(log=quiet)
        assert {r["table"]: r for r in report["tables"]}["customers"]["cdc_inserts"] == 5
        assert_replay_equals_source(conn)


def test_handoff_under_concurrent_writes_has_no_gap_and_no_overlap(source_db, lake):
    """Writes keep committing while the slot is created and the tables are copied."""
    quiet = lambda *a: None  # noqa: E731
    with source_db.connect() as conn:
        seed_small(conn)
    stop = threading.Event()
    written = {"n": 0}

    def writer() -> None:
        with source_db.connect() as wconn:
            i = 0
            while not stop.is_set():
                i += 1
                with wconn.transaction():
                    wconn.execute(
                        "insert into customers (first_name, last_name, email) values ('W', %s, %s)",
                        (str(i), f"w{i}@x"),
                    )
                    wconn.execute("update customers set city = %s where customer_id = %s", (f"c{i}", i % 5 + 1))
                written["n"] = i

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while written["n"] < 20:
            time.sleep(0.01)
        replicator.full_load(log=quiet)
        mark = written["n"]
        while written["n"] < mark + 20:
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(10)
    replicator.capture_batch(log=quiet)
    with source_db.connect() as conn:
        assert_replay_equals_source(conn)
    rows = replicator.read_changes("customers").to_pylist()
    inserted = [r["email"] for r in rows if r["Op"] == "I" and r["email"].startswith("w")]
    assert len(inserted) == len(set(inserted)) == written["n"]  # each insert exactly once
    seqs = [r["dms_change_seq"] for r in rows]
    assert len(seqs) == len(set(seqs))
