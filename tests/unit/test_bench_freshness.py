"""`bench freshness`'s pure part (the figures themselves are printed, never asserted): latencies from
instant completion times and dms_commit_ts, their percentiles, and AUTOCORP_CDC_INTERVAL_MINUTES."""

from __future__ import annotations

import datetime as dt
import os
import re

import pytest

from autocorp_lake import config
from autocorp_lake.bench import freshness

UTC = dt.timezone.utc
WINDOW = (dt.datetime(2026, 11, 29, 12, 0, tzinfo=UTC), dt.datetime(2026, 11, 29, 12, 10, tzinfo=UTC))


def test_latency_is_instant_completion_minus_source_commit_inside_the_window():
    completions = {
        "20261129120130000": dt.datetime(2026, 11, 29, 12, 1, 45, tzinfo=UTC),
        "20261129120330000": dt.datetime(2026, 11, 29, 12, 3, 40, 500000, tzinfo=UTC),
    }
    changes = [
        ("20261129120130000", "2026-11-29 12:00:15.000000"),  # 90 s
        ("20261129120330000", "2026-11-29 12:02:40.500000"),  # 60 s
        ("20261129120330000", dt.datetime(2026, 11, 29, 12, 3, 10)),  # naive = UTC: 30.5 s
        ("20261129120130000", "2026-11-29 11:59:59.999999"),  # before the window (the bootstrap's rows)
        ("20261129120330000", None),  # no source commit time: not a change
        ("20261129115900000", "2026-11-29 12:05:00.000000"),  # instant not on the active timeline
    ]
    seconds, unknown = freshness.latencies(changes, completions, WINDOW)
    assert seconds == [90.0, 60.0, 30.5]
    assert unknown == 1


def test_percentiles_by_nearest_rank():
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert freshness.summary(reversed(values)) == {"count": 100, "p50": 50.0, "p95": 95.0, "max": 100.0}
    assert freshness.summary([7.04]) == {"count": 1, "p50": 7.0, "p95": 7.0, "max": 7.0}
    assert freshness.summary([10.0, 20.0, 30.0]) == {"count": 3, "p50": 20.0, "p95": 30.0, "max": 30.0}
    assert freshness.summary([]) == {"count": 0, "p50": None, "p95": None, "max": None}


def test_completions_are_the_completed_instant_files_times(tmp_path):
    timeline = tmp_path / ".hoodie"
    (timeline / "metadata").mkdir(parents=True)
    done = dt.datetime(2026, 11, 29, 12, 2, 3, tzinfo=UTC).timestamp()
    for name in ("20261129120130000.commit", "20261129120230000.deltacommit", "20261129120330000.inflight",
                 "20261129120330000.commit.requested", ".20261129120130000.commit.crc", "hoodie.properties"):
        (timeline / name).write_text("{}")
        os.utime(timeline / name, (done, done))
    completions = freshness.instant_completions(tmp_path)
    assert completions == {"20261129120130000": dt.datetime.fromtimestamp(done, UTC),
                           "20261129120230000": dt.datetime.fromtimestamp(done, UTC)}
    assert freshness.goal_seconds(2) == 150


@pytest.mark.parametrize(("value", "minutes"), [(None, 10), ("1", 1), (" 5 ", 5), ("60", 60)])
def test_cdc_interval_from_the_environment(monkeypatch, value, minutes):
    if value is None:
        monkeypatch.delenv("AUTOCORP_CDC_INTERVAL_MINUTES", raising=False)
    else:
        monkeypatch.setenv("AUTOCORP_CDC_INTERVAL_MINUTES", value)
    assert config.CDC_INTERVAL_MINUTES == minutes
    assert config.CDC_SCHEDULE == f"*/{minutes} * * * *"
    assert config.commits_in_time_travel() == 7 * 24 * 60 // minutes


@pytest.mark.parametrize(("value", "message"), [
    ("0", "AUTOCORP_CDC_INTERVAL_MINUTES=0: autocorp_cdc runs every N minutes with N from 1 to 60 (unset: 10)"),
    ("61", "AUTOCORP_CDC_INTERVAL_MINUTES=61: autocorp_cdc runs every N minutes with N from 1 to 60"),
    ("2.5", "AUTOCORP_CDC_INTERVAL_MINUTES='2.5' is not an integer"),
])
def test_a_wrong_cdc_interval_says_what_is_wanted(monkeypatch, value, message):
    monkeypatch.setenv("AUTOCORP_CDC_INTERVAL_MINUTES", value)
    with pytest.raises(config.ConfigError, match=re.escape(message)):
        config.CDC_SCHEDULE  # noqa: B018 - read when used, not at import


def test_the_bench_checks_its_interval_as_config_does(monkeypatch):
    monkeypatch.setenv("AUTOCORP_CDC_INTERVAL_MINUTES", "7")
    freshness._check_interval(2)
    with pytest.raises(config.ConfigError, match="N from 1 to 60"):
        freshness._check_interval(0)
    assert os.environ["AUTOCORP_CDC_INTERVAL_MINUTES"] == "7"  # restored


def test_task_timeline_orders_tasks_by_start_and_takes_each_rounds_slowest_map_index():
    def ti(task, start, end, map_index=-1):
        at = lambda s: None if s is None else f"2026-11-29T12:00:{s:06.3f}Z"  # noqa: E731
        return {"task_id": task, "map_index": map_index, "start_date": at(start), "end_date": at(end)}

    run = {"start_date": "2026-11-29T12:00:00.000Z"}
    rounds = [
        (run, [ti("promote", 20, 34), ti("gate", 10, 12, 0), ti("gate", 11, 15, 1), ti("stage", 2, 9),
               ti("metrics", None, None)]),  # never ran: left out
        (run, [ti("promote", 22, 40), ti("gate", 12, 13, 0), ti("stage", 4, 10)]),
    ]
    timeline = freshness.task_timeline(rounds)
    assert list(timeline) == ["stage", "gate", "promote"]
    assert timeline["gate"] == {"start_p50": 10.0, "duration_p50": 1.0, "rounds": 2}  # rounds: 4 s, 1 s
    assert timeline["promote"] == {"start_p50": 20.0, "duration_p50": 14.0, "rounds": 2}
