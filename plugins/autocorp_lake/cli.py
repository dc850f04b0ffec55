"""The `autocorp-lake` command: local services, data, DAG runs, checks and benchmarks.

Each subcommand is a thin shell over a function of the package; heavy modules (Spark, GX,
Airflow) are imported only by the subcommands that need them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from typing import Sequence

from rich.console import Console
from rich.table import Table as RichTable

# piped output (make demo, CI logs) gets a wide table instead of rich's 80-column default
console = Console(width=None if sys.stdout.isatty() else 150)
err_console = Console(stderr=True)


def _print_rows(title: str, rows: list[dict], fmt: str = "table") -> None:
    if fmt == "json":
        print(json.dumps(rows, indent=2, default=str))
        return
    if fmt == "csv":
        import csv

        fields = list(dict.fromkeys(c for row in rows for c in row))
        writer = csv.DictWriter(sys.stdout, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
        return
    table = RichTable(title=title)
    columns = list(dict.fromkeys(c for row in rows for c in row))  # rows may differ in keys
    for column in columns:
        table.add_column(str(column), overflow="fold")
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row[c]) for c in columns))
    console.print(table)


def cmd_up(args: argparse.Namespace) -> int:
    from autocorp_lake.local import services

    result = services.up(log=console.print)
    if args.sql_endpoint:
        from autocorp_lake.local import sql_endpoint

        result["services"].append(sql_endpoint.start(log=console.print))
    _print_rows("local services", result["services"])
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    from autocorp_lake.local import services, sql_endpoint

    sql_endpoint.stop()
    _print_rows("local services", services.down(log=console.print)["services"])
    return 0


def _table_states() -> list[dict]:
    from autocorp_lake.quality import held

    return held.table_states()


def _report_blocked(states: list[dict]) -> int:
    """Exit 1 and say what to run when a table is blocked by a quarantined batch."""
    blocked = [row for row in states if row["state"] == "blocked"]
    for row in blocked:
        err_console.print(
            f"[red]blocked:[/red] {row['table']} since {row['blocked_since']}: {row['held_batches']} batch(es), "
            f"{row['held_changes']} change(s) held; {row['fix']}", soft_wrap=True)
    return 1 if blocked else 0


def cmd_status(args: argparse.Namespace) -> int:
    from autocorp_lake import metrics
    from autocorp_lake.local import services, sql_endpoint

    report = {
        "services": services.status()["services"] + [sql_endpoint.status()],
        "tables": [{k: v for k, v in row.items() if k != "fix"} for row in _table_states()],
    }
    shown = ("table", "rows_read", "rows_written", "rows_rejected", "duration_seconds", "gate",
             "gate_warnings", "ts")
    report["last_metrics"] = [{k: row.get(k) for k in shown} for row in metrics.last_values()]
    if args.format == "json":
        print(json.dumps(report, indent=2, default=str))
    else:
        _print_rows("local services", report["services"], args.format)
        _print_rows("tables (freshness: age of the oldest source change not yet in curated)",
                    report["tables"], args.format)
        if report["last_metrics"]:
            _print_rows("last run metrics per table", report["last_metrics"], args.format)
    return _report_blocked(_table_states())


def cmd_fetch_jars(args: argparse.Namespace) -> int:
    from autocorp_lake.local import spark

    jars = spark.fetch_jars(log=err_console.print)
    err_console.print(f"{len(jars)} Spark jars in {spark.ivy_dir()}")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from autocorp_lake.local import generator

    rates = generator.parse_rate_overrides(args.rate or [], args.rate_multiplier)
    report = generator.seed(
        scale=args.scale,
        db_scale=args.db_scale,
        seed=args.seed,
        csv=args.csv,
        rates=rates,
        export_dir=args.export_dir,
        progress=not args.quiet,
    )
    _print_rows("source database", report["tables"])
    if report.get("exports"):
        _print_rows("CSV exports", report["exports"])
        console.print(f"manifest: {report['manifest_path']}")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from autocorp_lake.local import simulator

    report = simulator.simulate(tps=args.tps, seconds=args.seconds, seed=args.seed)
    _print_rows("changes applied", report["actions"])
    return 0


def cmd_replicate(args: argparse.Namespace) -> int:
    from autocorp_lake.local import replicator

    if args.follow:
        replicator.follow(log=console.print)
        return 0
    report = replicator.replicate(log=console.print)
    _print_rows("replicated", report["tables"])
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from autocorp_lake import runner

    conf = json.loads(args.conf) if args.conf else {}
    # plain text: a task label like `promote[auto_parts]` is not rich markup
    return runner.run_dag(args.dag_id, conf=conf, log=lambda line: console.print(line, markup=False, highlight=False))


def cmd_job_server(args: argparse.Namespace) -> int:
    import logging

    from autocorp_lake import config
    from autocorp_lake.local import job_server

    log_file = config.spark_settings().log_file
    if log_file and not args.verbose:
        os.makedirs(os.path.dirname(log_file), exist_ok=True)
    logging.basicConfig(level=logging.INFO, format=job_server.LOG_FORMAT,
                        filename=log_file if log_file and not args.verbose else None)
    err_console.print(f"job server on {job_server.LOOPBACK}:{args.port}: Glue jobs run in one warm Spark session"
                      + (f"; its log: {log_file}" if log_file and not args.verbose else ""))
    job_server.serve(args.port)
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    from autocorp_lake import reconcile

    rows = reconcile.reconcile(tables=[args.table] if args.table else None)
    _print_rows("source vs curated", rows)
    differs = [r for r in rows if r["missing"] or r["extra"] or r["different"]]
    if differs:
        err_console.print(
            f"[red]{len(differs)} table(s) differ: {', '.join(r['table'] for r in differs)}[/red]"
        )
        return 1
    return 0


class _StdoutToStderr:
    """While the engine runs, file descriptor 1 points at stderr: JVM, Ivy and Spark chatter
    (also from child processes started meanwhile) never mixes with the result on stdout."""

    def __enter__(self):
        import os

        sys.stdout.flush()
        self.saved_fd = os.dup(1)
        self.saved = sys.stdout
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        return self

    def __exit__(self, *exc):
        import os

        sys.stdout.flush()
        os.dup2(self.saved_fd, 1)
        os.close(self.saved_fd)
        sys.stdout = self.saved
        return False


def cmd_query(args: argparse.Namespace) -> int:
    from autocorp_lake.local.query_engine import QueryError

    try:
        with _StdoutToStderr():
            if args.engine == "spark":
                from autocorp_lake.local import query_engine

                rows = query_engine.query(args.sql, as_of=args.as_of, since=args.since)
            else:
                from autocorp_lake.local import query_duckdb

                rows = query_duckdb.query(args.sql, as_of=args.as_of, since=args.since)
    except QueryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _print_rows("result", rows, args.format)
    return 0


def _quality_summary(rows: list[dict], states: list[dict]) -> list[dict]:
    summary: dict[str, dict] = {}
    for row in rows:
        entry = summary.setdefault(row["table"], {
            "table": row["table"], "state": "ok", "run_id": row["run_id"], "expectations": 0,
            "failed_critical": 0, "failed_warning": 0})
        if row.get("expectation", "").startswith("(empty"):
            entry["note"] = "empty batch"
            continue
        entry["expectations"] += 1
        if not row.get("success"):
            entry["failed_" + ("critical" if row.get("severity") == "critical" else "warning")] += 1
    for state in states:
        if state["state"] != "blocked":
            continue
        entry = summary.setdefault(state["table"], {"table": state["table"]})
        # the latest run may be an empty or passing one: the held batch still blocks the table
        entry.update(state="blocked", held_batches=state["held_batches"], held_changes=state["held_changes"],
                     blocked_since=state["blocked_since"])
    return list(summary.values())


def cmd_quality(args: argparse.Namespace) -> int:
    from autocorp_lake.quality import results

    rows, docs = results.latest(table=args.table, run=args.run)
    states = _table_states()
    if args.table:
        states = [s for s in states if s["table"] in (args.table, f"feed_{args.table}")]
    if not args.table and not args.details:
        rows = _quality_summary(rows, states)
    _print_rows("quality results" + ("" if args.table or args.details else " (per table; --table T for each expectation)"),
                rows, args.format)
    (console if args.format == "table" else err_console).print(f"Data Docs: {docs}")
    return _report_blocked(states)


def cmd_release(args: argparse.Namespace) -> int:
    """Optionally fix a quarantined batch, re-validate it; when it passes, promote it to curated."""
    from autocorp_lake import config
    from autocorp_lake.lake import BatchArgs
    from autocorp_lake.local import jobs
    from autocorp_lake.quality import gate, release

    batch = BatchArgs.of_zone(args.name, args.run_id)
    if args.exclude_keys or args.drop_column:
        from autocorp_lake.local.spark import build_session

        registry = config.registry()
        key = (registry.feed(batch.name) if batch.kind == "feed" else registry.table(batch.name)).primary_key[0]
        keys = []
        if args.exclude_keys:
            with open(args.exclude_keys, encoding="utf-8") as handle:
                keys = [line.strip() for line in handle if line.strip()]
        fixed = release.fix_batch(build_session("autocorp-release"), batch, key, exclude_keys=keys,
                                  drop_columns=args.drop_column or [])
        err_console.print(f"fixed {args.name} {args.run_id}: {fixed['rows_removed']} row(s) removed, "
                          f"columns dropped: {', '.join(fixed['dropped_columns']) or 'none'}")
    promote_args = {k.removeprefix("--"): v for k, v in batch.script_args().items()}
    try:
        result = release.release_and_promote(
            batch, lambda: jobs.run_glue_script("promote", promote_args, in_process=True)[batch.name])
    except (gate.GateError, gate.QualityGateFailed) as exc:
        err_console.print(f"[red]release failed:[/red] {exc}", soft_wrap=True)
        return 1
    promoted = result["promote"] or {}
    console.print(f"released {args.name} run {args.run_id}: gate {result.get('status', 'passed')}; promoted "
                  f"{promoted.get('rows')} row(s) into {promoted.get('table')} (instant {promoted.get('instant')})",
                  markup=False)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from autocorp_lake import bench

    if args.what in bench.USES_LOCAL_SERVICES:
        from autocorp_lake.local import services

        services.up(log=err_console.print)  # stdout holds only the figures
    options = {}
    if args.what == "freshness":
        options = {"minutes": args.minutes, "interval_minutes": args.interval, "tps": args.tps, "tables": args.tables}
    figures = bench.run(args.what, scale=args.scale, **options)
    print(json.dumps(figures, indent=2, default=str))
    _print_rows(f"bench {args.what}", figures.get("rows", []))
    return 0


_stopped_by: str | None = None


def _stop_children(timeout: float = 20.0) -> None:
    """Stop what this command started (the Spark JVM, spark-submit children): a JVM interrupted
    while it starts would otherwise outlive us, its py4j server thread keeping it alive."""
    import psutil

    children = psutil.Process().children(recursive=True)
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.terminate()  # the JVM's shutdown hooks stop Spark
    _, alive = psutil.wait_procs(children, timeout=timeout)
    for child in alive:
        with contextlib.suppress(psutil.Error):
            child.kill()


def _stop_on_sigterm() -> None:
    """SIGTERM stops a command the way Ctrl-C does (KeyboardInterrupt in the main thread), so
    `run`, `replicate --follow` and the SQL endpoint stop cleanly under kill, systemd or CI."""
    import signal

    def handler(signum, frame):
        global _stopped_by
        if _stopped_by is None:
            _stopped_by = "SIGTERM"
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autocorp-lake", description="AutoCorp Lake: local target and checks"
    )
    parser.add_argument("--verbose", action="store_true",
                        help="JVM, Spark and Hudi output on stderr (default: .local/logs/<command>.log)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("up", help="start local services (PostgreSQL, catalog); idempotent")
    p.add_argument("--sql-endpoint", action="store_true", help="also start the SQL endpoint for BI tools")
    p.set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop local services").set_defaults(func=cmd_down)
    p = sub.add_parser("status", help="services, each table's state (blocked?) and freshness, last metrics; "
                                      "exit 1 when a table is blocked")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.set_defaults(func=cmd_status)

    sub.add_parser("fetch-jars", help="fetch Spark's jars (Hudi, JDBC) from Maven Central; make venv runs it"
                   ).set_defaults(func=cmd_fetch_jars)

    p = sub.add_parser("seed", help="create and fill the source database; write the CSV exports")
    p.add_argument("--scale", choices=["demo", "full"], default="demo")
    p.add_argument("--db-scale", choices=["demo", "full"], default=None,
                   help="size of the database (default: demo-sized sample)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--csv", action="store_true", help="write the four CSV exports and the manifest")
    p.add_argument("--export-dir", default=None)
    p.add_argument("--rate", action="append", metavar="ISSUE=RATE",
                   help="override an injected-issue rate, e.g. missing_tax=0.01 (repeatable)")
    p.add_argument("--rate-multiplier", type=float, default=1.0,
                   help="multiply every default rate (0 for clean files, 10 for a stress run)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_seed)

    p = sub.add_parser("simulate", help="apply realistic inserts/updates/deletes to the source")
    p.add_argument("--tps", type=float, default=10)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--seed", type=int, default=None)
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("replicate", help="the local DMS: one batch, or continuously with --follow")
    p.add_argument("--follow", action="store_true")
    p.set_defaults(func=cmd_replicate)

    p = sub.add_parser("run", help="run one DAG end to end on the local target")
    p.add_argument("dag_id")
    p.add_argument("--conf", default=None, help="DAG run conf as JSON")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("job-server", help="run the local Glue jobs in one warm Spark session (make airflow starts "
                                          "it; its tasks, and `run`, find it through AUTOCORP_JOB_SERVER)")
    p.add_argument("--port", type=int, required=True, help="the port on 127.0.0.1")
    p.set_defaults(func=cmd_job_server)

    p = sub.add_parser("reconcile", help="compare source and curated row by row; exit 1 on any difference")
    p.add_argument("--table", default=None)
    p.set_defaults(func=cmd_reconcile)

    p = sub.add_parser("query", help="run Athena SQL locally")
    p.add_argument("sql")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--as-of", default=None, help="time travel: read Hudi tables as of TS")
    group.add_argument("--since", default=None, help="incremental: rows changed after commit TS")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb",
                   help="duckdb (default): hudi-rs + DuckDB, no JVM; spark: Spark SQL on the catalog")
    p.set_defaults(func=cmd_query)

    p = sub.add_parser("quality", help="last quality-gate results")
    p.add_argument("--table", default=None)
    p.add_argument("--run", default="latest")
    p.add_argument("--details", action="store_true", help="every expectation of every table")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.set_defaults(func=cmd_quality)

    p = sub.add_parser("release", help="re-validate a fixed quarantined batch and promote it")
    p.add_argument("name", help="table name, or feed_<feed> for a CSV feed")
    p.add_argument("run_id", help="the batch's run id (the folder name under quarantine/<name>/)")
    p.add_argument("--exclude-keys", metavar="FILE", default=None,
                   help="first drop the rows whose key is listed in FILE (one key a line)")
    p.add_argument("--drop-column", metavar="C", action="append", default=None,
                   help="first drop column C from the batch (repeatable)")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("bench", help="measured figures, as JSON and a table")
    p.add_argument("what", choices=["ingest", "transform", "cdc", "query", "seed", "freshness", "pipeline"])
    p.add_argument("--scale", choices=["demo", "full"], default="full")
    freshness = p.add_argument_group("freshness", "commit -> queryable in curated under the real scheduler")
    freshness.add_argument("--minutes", type=float, default=12, help="minutes of simulated source changes (12)")
    freshness.add_argument("--interval", type=int, default=2, help="autocorp_cdc's schedule, every N minutes (2)")
    freshness.add_argument("--tps", type=float, default=5, help="source transactions a second (5)")
    freshness.add_argument("--tables", default=None,
                           help="comma-separated registry tables (AUTOCORP_TABLES); default: all")
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--verbose" in argv:  # accepted anywhere on the line, not only before the command
        argv = ["--verbose", *[a for a in argv if a != "--verbose"]]
    args = parser.parse_args(argv)
    if not args.verbose:  # Airflow, GX and friends log at INFO once Airflow is imported
        os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    _stop_on_sigterm()
    log_file = _chatter_to_log_file(args)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        _stop_children()
        err_console.print(f"stopped ({_stopped_by or 'Ctrl-C'}); nothing half-written is kept: "
                          "the next run carries on where this one stopped")
        return 143 if _stopped_by == "SIGTERM" else 130
    except Exception as exc:
        if not _says_what_to_do(exc):
            return _unexpected(exc, args, log_file)
        err_console.print(f"[red]error:[/red] {exc}")
        return 2


# errors whose message names the problem and the fix: printed as they are (module, class), checked
# only when their module is loaded, so a command imports no module just to name its errors
USER_ERRORS = (("autocorp_lake.config", "ConfigError"), ("autocorp_lake.bench.common", "BenchError"),
               ("autocorp_lake.local.spark", "JarsError"), ("autocorp_lake.local.services", "ServiceError"))


def _says_what_to_do(exc: Exception) -> bool:
    return any(module in sys.modules and isinstance(exc, getattr(sys.modules[module], name))
               for module, name in USER_ERRORS)


def _unexpected(exc: Exception, args: argparse.Namespace, log_file: str | None) -> int:
    """One clear line on stderr; the traceback goes to the command's log (or shows with --verbose)."""
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").startswith("autocorp_lake"):
        err_console.print(f"[red]error:[/red] `{args.command}` is not built yet ({exc.name} missing)")
        return 2
    if args.verbose or log_file is None:
        raise exc
    import traceback

    with open(log_file, "a", encoding="utf-8") as handle:
        handle.write("".join(traceback.format_exception(exc)))
    first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    err_console.print(f"[red]error:[/red] {type(exc).__name__}: {first}\nfull log: {log_file}", soft_wrap=True)
    if hint := _postgres_down_hint(exc):
        err_console.print(hint, soft_wrap=True)
    return 1


def _postgres_down_hint(exc: BaseException) -> str | None:
    """What to do when the error is the local PostgreSQL (source database and catalog) not
    answering and it is not running: psycopg's refused connection, or Spark's metastore client."""
    chain, cause = [], exc
    while cause is not None and len(chain) < 10:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    about_postgres = any(type(e).__name__ == "OperationalError" or "SessionHiveMetaStoreClient" in str(e)
                         for e in chain)
    if not about_postgres:
        return None
    from autocorp_lake import config
    from autocorp_lake.local import services

    if any(s["name"] == "postgresql" and s["running"] for s in services.status()["services"]):
        return None
    pg = config.postgres()
    return (f"PostgreSQL ({pg.host}:{pg.port}: the source database and the catalog) is not running: "
            "start it with `autocorp-lake up` (or `make up`), then run the command again")


def _chatter_to_log_file(args: argparse.Namespace) -> str | None:
    """JVM/Spark/Hudi output of this command goes to .local/logs/<command>.log (stderr with
    --verbose), so stdout holds only the result."""
    if args.verbose:
        return None
    from autocorp_lake import config

    path = config.local_dir() / "logs" / f"{args.command}.log"
    os.environ.setdefault("AUTOCORP_SPARK_LOG_FILE", str(path))  # for this process and its children
    return config.spark_settings().log_file


if __name__ == "__main__":
    sys.exit(main())
