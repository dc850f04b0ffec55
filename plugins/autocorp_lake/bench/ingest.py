"""`autocorp-lake bench ingest`: measured figures of the local DMS (a benchmark, not a test).

1. Full load of a 1.2M-row table: a scratch table `bench_customers` (the columns of `customers`,
   UNLOGGED so it costs the real slots nothing) filled with generate_series, loaded with the
   replicator's own full-load code path (COPY CSV -> Arrow -> parquet LOAD files, inside a
   REPEATABLE READ transaction; psql + pyarrow streaming CSV -> parquet) into a temp lake. The
   ceiling is the same `COPY (select ...) TO STDOUT` read into nothing by the faster of psycopg
   and psql. Both sides best of 2, in turns (ceiling, ours, ceiling, ours); ratio = ceiling time /
   our time. The table is vacuumed once before and autovacuum is off for it, so no server-side
   vacuum of the fresh rows lands inside one side's measurement.
2. CDC capture delay: `follow` runs in a thread (own slot `autocorp_lake_bench`, temp lake) while
   two load threads, each on its own connection, commit ~1,000 single-row transactions per second
   between them (inserts into `customers` with marked e-mails, deleted at the end) for ~20 s; a
   watcher notes when each change's CDC file becomes visible; delay = visible time - source commit
   time (`dms_commit_ts`), p50/p95/max.
Everything scratch (table, slot, rows, temp lakes) is removed afterwards.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import shutil
import resource
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Callable

import pyarrow.parquet as pq

from autocorp_lake import config
from autocorp_lake.bench.common import variables
from autocorp_lake.local import replicator, services

BENCH_TABLE = "bench_customers"
BENCH_SLOT = "autocorp_lake_bench"
ROWS = {"full": 1_200_000, "demo": 100_000}
LOADERS = 2  # source connections committing the CDC load side by side


def _cpu() -> float:
    """CPU seconds of this process (all threads) and its finished children (psql)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _create_bench_table(conn, rows: int) -> None:
    conn.execute(f"drop table if exists {BENCH_TABLE}")
    # no autovacuum: a vacuum of the fresh rows started by the server mid-measurement would take a
    # core from whichever side it lands on; the table is vacuumed once, before either side reads it
    conn.execute(f"create unlogged table {BENCH_TABLE} (like customers) with (autovacuum_enabled = false)")
    conn.execute(
        f"""
        insert into {BENCH_TABLE}
        select g,
               (array['James','Mary','José','Li','Anna','Ömer','Priya','John','Zoë','Kenji'])[1 + g % 10],
               (array['Smith','Müller','Garcia','Wang','Johnson','Nguyen','Brown','Kim'])[1 + g % 8],
               'customer' || g || '@example.com',
               '555-' || lpad((g % 10000)::text, 4, '0'),
               (g % 9999) || ' Main Street, Suite ' || (g % 100),
               (array['Austin','Boston','Chicago','Denver','Miami','Seattle'])[1 + g % 6],
               (array['TX','MA','IL','CO','FL','WA'])[1 + g % 6],
               lpad((g % 99999)::text, 5, '0'),
               timestamp '2020-01-01' + g * interval '61 seconds',
               case when g % 2 = 0 then timestamp '2024-01-01' + g * interval '7 seconds' end
        from generate_series(1, {rows}) g
        """
    )
    conn.execute(f"vacuum (freeze, analyze) {BENCH_TABLE}")  # hint bits set and written out once


def _full_load_figures(rows: int, log: Callable) -> list[dict]:
    with services.connect() as conn:
        log(f"creating {BENCH_TABLE} with {rows:,} rows")
        _create_bench_table(conn, rows)
    lake = tempfile.mkdtemp(prefix="autocorp-bench-lake-")
    try:
        with variables(AUTOCORP_LAKE_DIR=lake):
            conn = replicator._connect(log=log)
            try:
                columns = replicator.table_columns(conn, [BENCH_TABLE])[BENCH_TABLE]
                select = ", ".join(c.select for c in columns)
                ceiling_sql = f"copy (select {select} from public.{BENCH_TABLE}) to stdout with (format csv)"

                def ceiling_psycopg() -> float:
                    t0 = time.perf_counter()
                    n = 0
                    with conn.cursor() as cur, cur.copy(ceiling_sql) as copy:
                        for _ in copy:
                            n += 1
                    assert n == rows
                    return time.perf_counter() - t0

                def ceiling_psql() -> float:
                    psql = replicator._psql()
                    if psql is None:
                        return float("inf")
                    settings = config.postgres()
                    t0 = time.perf_counter()
                    subprocess.run(
                        [str(psql), "-X", "-q", "-h", settings.host, "-p", str(settings.port),
                         "-U", settings.user, "-d", settings.source_db, "-c", ceiling_sql],
                        stdout=subprocess.DEVNULL, check=True,
                    )
                    return time.perf_counter() - t0

                def full_load() -> tuple[float, float, replicator._LoadFileWriter]:
                    shutil.rmtree(replicator.load_dir(BENCH_TABLE), ignore_errors=True)
                    cpu0 = _cpu()
                    t0 = time.perf_counter()
                    conn.execute("begin isolation level repeatable read read only")
                    writer = replicator._copy_table(
                        conn, BENCH_TABLE, columns, "0" * 16, replicator._now_text()
                    )
                    conn.execute("commit")
                    seconds, cpu = time.perf_counter() - t0, _cpu() - cpu0
                    assert writer.rows == rows
                    return seconds, cpu, writer

                # both sides best of 2, taken in turns: the ceiling (the fastest client reading the
                # same COPY into nothing) and ours (its first run in the process pays first-use costs)
                ceilings = {"psycopg": [ceiling_psycopg()], "psql": [ceiling_psql()]}
                runs = [full_load()]
                ceilings["psycopg"].append(ceiling_psycopg())
                ceilings["psql"].append(ceiling_psql())
                runs.append(full_load())
                ours, ours_cpu, writer = min(runs, key=lambda run: run[0])
                size = sum(p.stat().st_size for p in Path(lake).rglob("LOAD*.parquet"))
            finally:
                conn.close()
    finally:
        shutil.rmtree(lake, ignore_errors=True)
        with services.connect() as conn:
            conn.execute(f"drop table if exists {BENCH_TABLE}")
    client, best_ceiling = min(((k, min(v)) for k, v in ceilings.items()), key=lambda kv: kv[1])
    return [
        {"figure": "full load rows", "value": rows, "unit": "rows"},
        {"figure": "full load (COPY -> parquet LOAD files)", "value": round(rows / ours), "unit": "rows/s"},
        {"figure": "full load time (best of 2)", "value": round(ours, 2), "unit": "s"},
        {"figure": "full load time, first / second run", "value": f"{runs[0][0]:.2f} / {runs[1][0]:.2f}", "unit": "s"},
        {"figure": "full load files", "value": len(writer.files), "unit": "files"},
        {"figure": "full load parquet size", "value": round(size / 1e6, 1), "unit": "MB"},
        {"figure": "full load client CPU (all threads + psql)", "value": round(ours_cpu, 2), "unit": "s"},
        {"figure": f"COPY TO STDOUT into nothing (ceiling: {client}, best of 2)", "value": round(rows / best_ceiling), "unit": "rows/s"},
        {"figure": "COPY into nothing, psycopg / psql", "value": f"{min(ceilings['psycopg']):.2f} / {min(ceilings['psql']):.2f}", "unit": "s"},
        {"figure": "full load / ceiling", "value": round(best_ceiling / ours, 3), "unit": "ratio"},
    ]


def _cdc_figures(seconds: float, tps: float, poll_interval: float, log: Callable) -> list[dict]:
    marker = f"bench-{uuid.uuid4().hex[:8]}"
    lake = tempfile.mkdtemp(prefix="autocorp-bench-cdc-")
    delays: list[float] = []
    committed = 0
    with variables(AUTOCORP_LAKE_DIR=lake, AUTOCORP_REPLICATOR_SLOT=BENCH_SLOT):
        try:
            replicator.full_load(log=lambda *a: None, reset=True)
            stop_follow, stop_watch = threading.Event(), threading.Event()
            seen_files: set[str] = set()
            seen_rows: set[str] = set()
            cdc_root = replicator.cdc_dir("customers")

            def watch() -> None:
                while not stop_watch.is_set():
                    for path in replicator.cdc_files("customers") if cdc_root.exists() else []:
                        if path.name.startswith(".") or str(path) in seen_files:
                            continue
                        visible = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
                        seen_files.add(str(path))
                        table = pq.read_table(path, columns=["Op", "email", "dms_commit_ts"])
                        for op, email, ts in zip(*(table.column(i).to_pylist() for i in range(3))):
                            if op == "I" and email.startswith(marker):
                                commit = dt.datetime.strptime(ts, replicator.TS_FORMAT)
                                delays.append((visible - commit).total_seconds())
                                seen_rows.add(email)
                    time.sleep(0.01)

            def load(first: int, step: int) -> None:
                """Every step-th insert from `first`, paced to tps / step: LOADERS of these on their
                own connections keep the rate where one connection's commit round trips cannot."""
                nonlocal committed
                with services.connect() as conn:
                    i = first
                    while time.perf_counter() - start < seconds:
                        conn.execute(
                            "insert into customers (first_name, last_name, email, created_at)"
                            " values ('Bench', 'Load', %s, now())",
                            (f"{marker}-{i}@bench.invalid",),
                        )
                        with counting:
                            committed += 1
                        i += step
                        pause = start + i / tps - time.perf_counter()
                        if pause > 0:
                            time.sleep(pause)

            threads = [
                threading.Thread(target=replicator.follow, kwargs={
                    "log": lambda *a: None, "poll_interval": poll_interval, "stop": stop_follow}),
                threading.Thread(target=watch),
            ]
            for thread in threads:
                thread.start()
            log(f"CDC: {tps:.0f} tps of single-row inserts for {seconds:.0f} s with follow running")
            counting = threading.Lock()
            loaders = [threading.Thread(target=load, args=(n, LOADERS)) for n in range(LOADERS)]
            start = time.perf_counter()
            for loader in loaders:
                loader.start()
            for loader in loaders:
                loader.join()
            elapsed = time.perf_counter() - start
            deadline = time.monotonic() + 15
            while len(seen_rows) < committed and time.monotonic() < deadline:
                time.sleep(0.05)
            stop_follow.set()
            stop_watch.set()
            for thread in threads:
                thread.join(30)
        finally:
            with services.connect() as conn:
                conn.execute("delete from customers where email like %s", (f"{marker}-%",))
                with contextlib.suppress(Exception):
                    conn.execute("select pg_drop_replication_slot(%s)", (BENCH_SLOT,))
            shutil.rmtree(lake, ignore_errors=True)
    ordered = sorted(delays)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))] if ordered else float("nan")

    return [
        {"figure": f"CDC load achieved (asked {tps:,.0f} tps from {LOADERS} connections)",
         "value": round(committed / elapsed, 1), "unit": "tps"},
        {"figure": "CDC changes committed / captured", "value": f"{committed} / {len(seen_rows)}", "unit": "rows"},
        {"figure": "CDC commit -> file visible p50", "value": round(pct(0.50), 3), "unit": "s"},
        {"figure": "CDC commit -> file visible p95 (goal < 1 s at 1,000 tps)", "value": round(pct(0.95), 3), "unit": "s"},
        {"figure": "CDC commit -> file visible max", "value": round(max(ordered), 3) if ordered else None, "unit": "s"},
        {"figure": "CDC commit -> file visible mean", "value": round(statistics.fmean(ordered), 3) if ordered else None, "unit": "s"},
        {"figure": "follow poll interval", "value": poll_interval, "unit": "s"},
    ]


def run(scale: str = "full", log: Callable = print, cdc_seconds: float = 20.0, tps: float = 1000.0,
        poll_interval: float = 0.5, parts: tuple[str, ...] = ("full_load", "cdc")) -> dict:
    """The measurements (parts: full_load, cdc) against the configured PostgreSQL;
    returns {"rows": [{"figure", "value", "unit"}, ...], "machine": {...}, ...}."""
    if scale not in ROWS:
        raise ValueError(f"scale {scale!r} is not one of {', '.join(ROWS)}")
    unknown = set(parts) - {"full_load", "cdc"}
    if unknown:
        raise ValueError(f"unknown parts {sorted(unknown)}: use full_load and/or cdc")
    with services.connect() as conn:
        version = conn.execute("show server_version").fetchone()[0]
    rows: list[dict] = []
    if "full_load" in parts:
        rows += _full_load_figures(ROWS[scale], log)
    if "cdc" in parts:
        rows += _cdc_figures(cdc_seconds, tps, poll_interval, log)
    machine = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "postgresql": version,
    }
    return {"benchmark": "ingest", "scale": scale, "machine": machine, "rows": rows}
