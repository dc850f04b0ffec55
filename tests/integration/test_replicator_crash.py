"""SIGKILL the replicator at several points of a batch, restart: nothing lost, nothing duplicated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from autocorp_lake import config
from autocorp_lake.local import replicator

try:
    from test_replicator import assert_replay_equals_source, lake, seed_small  # noqa: F401
except ImportError:  # tests/ laid out as packages
    from tests.integration.test_replicator import assert_replay_equals_source, lake, seed_small  # noqa: F401

pytestmark = pytest.mark.integration

CDC_POINTS = ["mid_file", "before_rename", "after_files", "after_state"]


def run_killed(function: str, point: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AUTOCORP_REPLICATOR_CRASH_AT": point}
    code = f"from autocorp_lake.local import replicator; replicator.{function}(log=lambda *a: None)"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == -signal.SIGKILL, (point, result.stdout, result.stderr)
    return result


def cdc_rows(table: str) -> list[dict]:
    return [
        row
        for path in replicator.data_files(table)
        if not path.name.startswith("LOAD")
        for row in pq.read_table(path).to_pylist()
    ]


def test_sigkill_during_full_load_then_restart(source_db, lake):
    with source_db.connect() as conn:
        seed_small(conn)
        run_killed("full_load", "mid_load_file")
        assert list(lake.rglob("*" + replicator.TMP_SUFFIX))  # the half file, never visible
        assert not replicator.status()["full_load_done"]
        report = replicator.replicate(log=lambda *a: None)
        assert report["mode"] == "full_load"
        assert not list(lake.rglob("*" + replicator.TMP_SUFFIX))
        assert_replay_equals_source(conn)


def test_sigkill_at_every_point_of_a_cdc_batch_loses_and_duplicates_nothing(source_db, lake):
    quiet = lambda *a: None  # noqa: E731
    with source_db.connect() as conn:
        seed_small(conn)
        replicator.full_load(log=quiet)
        expected_customer_changes = 0
        for round_no, point in enumerate(CDC_POINTS):
            # a round of changes in two tables, one multi-table transaction among them
            with conn.transaction():
                conn.execute(
                    "insert into customers (first_name, last_name, email) values (%s, 'K', %s)",
                    (f"Crash{round_no}", f"crash{round_no}@x"),
                )
                conn.execute(
                    "update service set labor_minutes = %s where serviceid = 'SVC-1'", (round_no,)
                )
            conn.execute("update customers set city = %s where customer_id = 1", (point,))
            conn.execute("delete from customers where email = %s", (f"crash{round_no}@x",))
            expected_customer_changes += 3

            run_killed("capture_batch", point)
            leftovers = list(lake.rglob("*" + replicator.TMP_SUFFIX))
            if point in ("mid_file", "before_rename"):
                assert leftovers, point  # killed before the files became visible
            visible = [p for p in lake.rglob("*.parquet") if not p.name.startswith(".")]
            for path in visible:  # every visible file is whole
                pq.read_table(path)

            replicator.capture_batch(log=quiet)  # the restart
            assert not list(lake.rglob("*" + replicator.TMP_SUFFIX)), point
            assert replicator.capture_batch(log=quiet)["batch"] is None

            rows = cdc_rows("customers")
            seqs = [r["dms_change_seq"] for r in rows]
            assert len(seqs) == len(set(seqs)) == expected_customer_changes, point
            assert [r["city"] for r in rows if r["Op"] == "U"] == CDC_POINTS[: round_no + 1]
            minutes = [r["labor_minutes"] for r in cdc_rows("service")]
            assert minutes == list(range(round_no + 1)), point
            assert_replay_equals_source(conn)
            status = replicator.status()
            assert status["confirmed_lsn"] == status["last_lsn_written"] and not status["pending"]
        assert set(replicator.status()["files"]) == set(config.registry().table_names)
