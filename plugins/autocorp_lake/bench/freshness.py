"""`autocorp-lake bench freshness` (issue #14): how long a source change takes to become queryable in
curated while the real scheduler runs `autocorp_cdc` on its schedule. Goal: the schedule interval
+ 30 s at most.

1. A throwaway environment (common.throwaway_environment): PostgreSQL of its own on a free loopback
   port, seeded with the demo data; its own lake and AIRFLOW_HOME. `autocorp-lake run
   autocorp_bootstrap` loads the lake (in-process, before Airflow starts).
2. `make airflow`'s script (standalone.py: airflow standalone, LocalExecutor) with
   AUTOCORP_CDC_INTERVAL_MINUTES=N. Only autocorp_cdc is unpaused; the scheduler runs it on its cron
   `*/N * * * *`, nothing is triggered.
3. The simulator commits about `tps` transactions a second for `minutes` (a child process): the
   measurement window is from just before it starts to just after it ends.
4. Then the bench waits for a round that started after the window (it captured every change of
   the window) to finish, and stops Airflow.
5. Measured from the lake, not by polling. Every curated row carries `dms_commit_ts` (the source
   commit, UTC) and `_hoodie_commit_time` (the Hudi instant that wrote it). Hudi 0.15 (table version
   6) names a completed instant `.hoodie/<instant>.commit` (`.deltacommit` on merge-on-read) and
   writes that file when the instant completes, with no completion time inside: its mtime is when the
   change became queryable. Latency per change = that time - dms_commit_ts, over the rows whose
   dms_commit_ts is inside the window; p50/p95/max by nearest rank.

Beside the latencies: each task's start after its round's start and its run time, p50 over the
rounds that succeeded (`task_timeline`), which shows where the time from the capture
(wait_for_cdc_files) to the promote goes.

Instants are in the writer JVM's zone (hoodie.table.timeline.timezone=LOCAL), which local/spark.py
sets to UTC (-Duser.timezone=UTC); only the instant's name is matched here, its time is not used for
the latency. A key changed again later shows its last change only, and a deleted row none: the
figure covers the changes still visible in curated. The catalog (hms sync) follows the commit: a
new month partition reaches Spark SQL's catalog a few seconds after the timeline; Athena-on-Hudi
readers (hudi-rs, `autocorp-lake query`) see the commit itself.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterable, Mapping

from autocorp_lake.bench.common import BenchError, free_loopback_port, throwaway_environment, variables

DAG_ID = "autocorp_cdc"
GOAL_MARGIN_S = 30
COMPLETED = (".commit", ".deltacommit", ".replacecommit")
FINAL_ROUND_TIMEOUT_S = 20 * 60  # after the next tick: the last round may queue behind a slow one
TS_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
SIMULATE = (
    "import json, sys\n"
    "from autocorp_lake.local import simulator\n"
    "print(json.dumps(simulator.simulate(tps=float(sys.argv[1]), seconds=float(sys.argv[2]), seed=14)))\n"
)


def _stderr(message: str) -> None:
    print(f"[bench freshness {dt.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# --- the pure part (tests/unit/test_bench_freshness.py) ------------------------------------------


def utc(value) -> dt.datetime:
    """A timestamp as an aware UTC datetime: text `yyyy-MM-dd HH:mm:ss[.ffffff]` or a datetime,
    naive ones being UTC (dms_commit_ts, Spark's and hudi-rs' timestamps)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.strip().replace(" ", "T").replace("Z", "+00:00"))
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


def instant_completions(table_dir: Path) -> dict[str, dt.datetime]:
    """{instant: completion time, UTC} of the completed instants on a Hudi table's active
    timeline (the mtime of `.hoodie/<instant>.<action>`, see the module's docs)."""
    timeline = Path(table_dir) / ".hoodie"
    completions = {}
    for path in timeline.iterdir():
        instant, _, action = path.name.partition(".")
        if instant.isdigit() and f".{action}" in COMPLETED:
            completions[instant] = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc)
    return completions


def latencies(changes: Iterable[tuple[str, object]], completions: Mapping[str, dt.datetime],
              window: tuple[dt.datetime, dt.datetime]) -> tuple[list[float], int]:
    """Seconds from each change's source commit to the completion of the instant that wrote it,
    for the changes (instant, dms_commit_ts) committed inside `window` (inclusive); and how many of
    those changes name an instant that is not on the timeline (archived, or not a data commit)."""
    start, end = window
    seconds, unknown = [], 0
    for instant, commit_ts in changes:
        if commit_ts is None:
            continue
        committed = utc(commit_ts)
        if not start <= committed <= end:
            continue
        completed = completions.get(str(instant))
        if completed is None:
            unknown += 1
            continue
        seconds.append((completed - committed).total_seconds())
    return seconds, unknown


def percentile(ordered: list[float], p: float) -> float | None:
    """Nearest rank: the smallest value with at least p of the values at or below it."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


def summary(values: Iterable[float]) -> dict:
    """{count, p50, p95, max} of the values (seconds, rounded to 0.1; None when there are none)."""
    ordered = sorted(values)

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return {"count": len(ordered), "p50": rounded(percentile(ordered, 0.50)),
            "p95": rounded(percentile(ordered, 0.95)), "max": rounded(ordered[-1] if ordered else None)}


def goal_seconds(interval_minutes: int) -> int:
    return interval_minutes * 60 + GOAL_MARGIN_S


# --- the measurement --------------------------------------------------------------------------------


def _check_interval(interval_minutes: int) -> None:
    """The bounds and message of AUTOCORP_CDC_INTERVAL_MINUTES (config.cdc_interval_minutes)."""
    from autocorp_lake import config

    with variables(AUTOCORP_CDC_INTERVAL_MINUTES=str(interval_minutes)):
        config.cdc_interval_minutes()


def _when(text: str | None) -> dt.datetime | None:
    return utc(text) if text else None


def _final_round(api, after: dt.datetime, deadline: float, log: Callable[[str], None]) -> dict | None:
    """The first round that started after `after`, once it finished (None: none did by `deadline`)."""
    said = None
    while True:
        runs = [r for r in api.runs(DAG_ID) if _when(r.get("start_date")) and _when(r["start_date"]) >= after]
        if runs and runs[0]["state"] in ("success", "failed"):
            return runs[0]
        if time.monotonic() > deadline:
            return None
        status = f"{runs[0]['dag_run_id']} {runs[0]['state']}" if runs else "the next round to start"
        if status != said:
            log(f"waiting for the last round: {status}")
            said = status
        time.sleep(10)


def _rounds(runs: list[dict], since: dt.datetime) -> dict:
    """The scheduled rounds that ran from `since` on: counts by state and wall times."""
    ours = [r for r in runs if r.get("run_type") == "scheduled" and _when(r.get("start_date"))
            and _when(r["start_date"]) >= since]
    states: dict[str, int] = {}
    for run in ours:
        states[run["state"]] = states.get(run["state"], 0) + 1
    walls = [(_when(r["end_date"]) - _when(r["start_date"])).total_seconds()
             for r in ours if r["state"] in ("success", "failed") and r.get("end_date")]
    # the scheduler's delay: a round starts after its tick (run_after), later when one is still running
    delays = [(_when(r["start_date"]) - _when(r["run_after"])).total_seconds() for r in ours if r.get("run_after")]
    return {"count": len(ours), "states": states, "wall": summary(walls), "start_delay": summary(delays)}


def task_timeline(runs: Iterable[tuple[dict, list[dict]]]) -> dict[str, dict]:
    """Per task id (mapped tasks merged), over the rounds: when it started after its round started
    (p50) and how long it ran (p50 of its slowest map index per round), in the DAG's order."""
    starts: dict[str, list[float]] = {}
    durations: dict[str, list[float]] = {}
    for run, instances in runs:
        run_start = _when(run.get("start_date"))
        longest: dict[str, float] = {}
        first: dict[str, float] = {}
        for ti in instances:
            begun, ended = _when(ti.get("start_date")), _when(ti.get("end_date"))
            if run_start is None or begun is None or ended is None:
                continue  # skipped or never ran
            task = ti["task_id"]
            first[task] = min(first.get(task, math.inf), (begun - run_start).total_seconds())
            longest[task] = max(longest.get(task, 0.0), (ended - begun).total_seconds())
        for task in first:
            starts.setdefault(task, []).append(first[task])
            durations.setdefault(task, []).append(longest[task])
    order = sorted(starts, key=lambda task: percentile(sorted(starts[task]), 0.50))
    return {task: {"start_p50": summary(starts[task])["p50"], "duration_p50": summary(durations[task])["p50"],
                   "rounds": len(starts[task])} for task in order}


def _measure_lake(window: tuple[dt.datetime, dt.datetime]) -> dict:
    """Latencies of the changes of `window` in every curated table of the registry (in this
    process's settings, pointed at the throwaway lake)."""
    from autocorp_lake import config
    from autocorp_lake.local import query_duckdb

    all_seconds: list[float] = []
    per_table, unknown, unreadable, write_times = {}, 0, {}, []
    for table in config.registry().table_names:
        folder = query_duckdb.table_path(table)
        if not (folder / ".hoodie" / "hoodie.properties").is_file():
            unreadable[table] = "no Hudi table"
            continue
        completions = instant_completions(folder)
        try:
            rows = query_duckdb.read_hudi(table).select(["_hoodie_commit_time", "dms_commit_ts"])
        except Exception as exc:  # noqa: BLE001 - reported, the other tables still count
            unreadable[table] = f"{type(exc).__name__}: {exc}"[:300]
            continue
        seconds, missing = latencies(zip(rows.column(0).to_pylist(), rows.column(1).to_pylist()),
                                     completions, window)
        all_seconds += seconds
        unknown += missing
        per_table[table] = summary(seconds)
        # instant time (the writer's clock, taken as UTC) -> completion: seconds if the zone is UTC
        for instant, completed in completions.items():
            started = dt.datetime.strptime(instant[:14], "%Y%m%d%H%M%S").replace(tzinfo=dt.timezone.utc)
            if window[0] <= completed:
                write_times.append((completed - started).total_seconds())
    return {"all": summary(all_seconds), "per_table": per_table, "unknown_instant": unknown,
            "unreadable": unreadable, "write": summary(write_times)}


def run(minutes: float = 12.0, interval_minutes: int = 2, tps: float = 5.0, tables: str | None = None,
        log: Callable[[str], None] = _stderr) -> dict:
    """The measurement (see the module's docs); {"rows": [{"figure", "value", "unit"}...], ...}."""
    if minutes <= 0 or tps <= 0:
        raise BenchError("bench freshness: --minutes and --tps must be > 0")
    _check_interval(interval_minutes)
    from autocorp_lake import config
    from autocorp_lake.bench.standalone import standalone, standalone_env

    settings = {"AUTOCORP_CDC_INTERVAL_MINUTES": str(interval_minutes)}
    if tables:
        settings["AUTOCORP_TABLES"] = tables
    log(f"throwaway environment: PostgreSQL, demo data{f', tables {tables}' if tables else ''}")
    with throwaway_environment("freshness", **settings) as lake:
        log(f"bootstrap (in {lake.work})")
        bootstrap_s = lake.step("run", "autocorp_bootstrap")
        port = free_loopback_port()
        env = standalone_env(lake.env, port, AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="True")
        log(f"bootstrap took {bootstrap_s:.0f}s; starting Airflow on port {port}")
        with standalone(env, port, home=lake.work / "airflow", log=lake.work / "airflow_standalone.log") as airflow:
            api = airflow.api
            dags = api.wait_for_dags(config.DAG_IDS)
            for dag_id in dags:
                if dag_id != DAG_ID and not dags[dag_id]["is_paused"]:
                    api.patch(f"/dags/{dag_id}", {"is_paused": True})
            schedule = api.get(f"/dags/{DAG_ID}/details").get("timetable_summary")
            if schedule != f"*/{interval_minutes} * * * *":
                raise BenchError(f"{DAG_ID} is scheduled {schedule!r}, not every {interval_minutes} minute(s): "
                                 "AUTOCORP_CDC_INTERVAL_MINUTES did not reach the dag-processor")
            api.unpause(DAG_ID)
            since = dt.datetime.now(dt.timezone.utc)
            log(f"Airflow up in {airflow.start_seconds:.0f}s ({airflow.url}); {DAG_ID} unpaused ({schedule}); "
                f"simulating {tps:g} tps for {minutes:g} min")
            window_start = dt.datetime.now(dt.timezone.utc)
            done = subprocess.run([sys.executable, "-c", SIMULATE, str(tps), str(minutes * 60)], env=lake.env,
                                  capture_output=True, text=True)
            window_end = dt.datetime.now(dt.timezone.utc)
            if done.returncode != 0:
                raise BenchError(f"bench freshness: the simulator failed:\n{done.stderr[-2000:]}")
            simulated = json.loads(done.stdout.strip().splitlines()[-1])
            log(f"{simulated['transactions']} transactions committed; waiting for a round that starts after them")
            deadline = time.monotonic() + interval_minutes * 60 + FINAL_ROUND_TIMEOUT_S
            final = _final_round(api, window_end, deadline, log)
            runs = api.runs(DAG_ID)
            rounds = _rounds(runs, since)
            rounds["tasks"] = task_timeline(
                (run, api.task_instances(DAG_ID, run["dag_run_id"])) for run in runs
                if run.get("run_type") == "scheduled" and run["state"] == "success"
                and _when(run.get("start_date")) and _when(run["start_date"]) >= since)
            log("stopping Airflow")
        with lake.here():
            measured = _measure_lake((window_start, window_end))
    return figures(measured, rounds, final, simulated, interval_minutes, bootstrap_s, airflow.start_seconds,
                   window=(window_start, window_end), settings={"minutes": minutes, "interval_minutes": interval_minutes,
                                                                "tps": tps, "tables": tables or "all"})


def figures(measured: dict, rounds: dict, final: dict | None, simulated: dict, interval_minutes: int,
            bootstrap_s: float, airflow_s: float, window: tuple[dt.datetime, dt.datetime], settings: dict) -> dict:
    goal = goal_seconds(interval_minutes)
    latency = measured["all"]
    load_s = (window[1] - window[0]).total_seconds()
    note = ("changes committed in the window still visible in curated: a key changed again later "
            "shows its last change only, a deleted row none")
    if measured["unknown_instant"]:
        note += f"; {measured['unknown_instant']} change(s) named an instant not on the active timeline, left out"
    states = rounds["states"]
    rows = [
        {"figure": f"commit -> queryable in curated p50 (goal <= {goal})", "value": latency["p50"], "unit": "s"},
        {"figure": f"commit -> queryable in curated p95 (goal <= {goal})", "value": latency["p95"], "unit": "s"},
        {"figure": f"commit -> queryable in curated max (goal <= {goal})", "value": latency["max"], "unit": "s"},
        *({"figure": f"  {table}: p50 / p95 / max ({each['count']} changes)",
           "value": f"{each['p50']} / {each['p95']} / {each['max']}", "unit": "s"}
          for table, each in measured["per_table"].items()),
        {"figure": "goal: schedule interval + 30 s", "value": goal, "unit": "s"},
        {"figure": "changes measured", "value": latency["count"], "unit": "changes", "note": note},
        {"figure": "source transactions committed (simulator)", "value": simulated["transactions"], "unit": "txn",
         "tps": round(simulated["transactions"] / load_s, 2) if load_s else None},
        {"figure": f"rounds run by the scheduler (every {interval_minutes} min)", "value": rounds["count"],
         "unit": "runs", "states": states},
        {"figure": "rounds succeeded", "value": states.get("success", 0), "unit": "runs"},
        {"figure": "round wall time p50 / max", "value": f"{rounds['wall']['p50']} / {rounds['wall']['max']}",
         "unit": "s"},
        {"figure": "round start after its tick p50 / max", "value":
         f"{rounds['start_delay']['p50']} / {rounds['start_delay']['max']}", "unit": "s",
         "note": "max_active_runs=1: a round waits while the previous one runs"},
        *({"figure": f"  {task}: starts after the round's start / runs, p50",
           "value": f"{each['start_p50']} / {each['duration_p50']}", "unit": "s"}
          for task, each in rounds.get("tasks", {}).items()),
        {"figure": "last round after the load", "value": final["state"] if final else "not finished", "unit": "",
         "note": "it captured every change of the window" if final else
                 "the figures miss the changes it would have promoted"},
        {"figure": "Hudi write: instant start -> completed p50 / max",
         "value": f"{measured['write']['p50']} / {measured['write']['max']}", "unit": "s",
         "note": "instants taken as UTC (the writers' JVM zone): small and positive when they are"},
        {"figure": "bootstrap of the demo data before it", "value": round(bootstrap_s, 1), "unit": "s"},
        {"figure": "Airflow start (airflow_standalone.sh)", "value": round(airflow_s, 1), "unit": "s"},
    ]
    if measured["unreadable"]:
        rows.append({"figure": "tables not measured", "value": len(measured["unreadable"]), "unit": "tables",
                     "why": measured["unreadable"]})
    return {"rows": rows, "settings": settings,
            "window": {"start": window[0].isoformat(), "end": window[1].isoformat()}}
