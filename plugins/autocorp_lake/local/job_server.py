"""A warm Spark application for the Glue jobs of the local scheduler (`make airflow`).

Under the scheduler each Glue job task used to start its own `spark-submit` child: a JVM, Spark,
Hudi's and the Hive metastore client's classes, about 20 s before the job's first line, twice per
CDC round. `make airflow` now starts `autocorp-lake job-server` beside Airflow: one process that
builds the local SparkSession once and runs every job the tasks send it in that session, one job
at a time (as one Spark application would; two DAGs' jobs queue). The tasks find it through
AUTOCORP_JOB_SERVER (`127.0.0.1:<port>`); without it, or when nothing answers there, a task runs
its job with spark-submit as before. On AWS nothing changes: each task starts a Glue job run.

The server runs the same code as spark-submit would (`autocorp_lake.jobs.<job>.main`), imported
once: restart `make airflow` after changing a job.

Protocol, HTTP on loopback only:
- `POST /run` with `{"job": "promote", "args": {"--kind": ..., ...}}` answers with the job's log
  lines as they are written (`yyyy-mm-dd HH:MM:SS,mmm LEVEL logger: message`), then one last line
  `RESULT <json>`: `{"ok": true, "result": ...}` or `{"ok": false, "error": "<Type>: <message>",
  "traceback": "..."}`;
- `GET /health`: `{"ok": true, "ready": bool, "warm_up": state, "jobs_run": n, "lake": ..., "postgres":
  ...}` (ready once the session is built; the warm-up's state, below; the lake and PostgreSQL it
  works on, which a client checks against its own).

Warm-up: once its session is built, the server makes each kind of Hudi write the registry's tables
get (a bulk insert, then small upserts with updates, inserts and deletes; per index and table type)
on throwaway tables outside the lake. A fresh JVM spends most of its first upserts compiling Hudi's
and Spark's code: measured on 2 cores, 6 upserts of 64 rows into a partitioned copy-on-write table
took 7.5, 4.5, 3.5, 3.6, 3.3, 3.3 s in a new session and 3.1, 2.8, 2.6, 2.7, 2.6, 2.8 s after the
warm-up (about 40 s, spent while Airflow starts and waits for its first round). A job never waits
for it: the warm-up stops, after the write under way, as soon as a job comes. Its state: `running`,
`done`, `stopped` (a job came first), `failed` (logged; the jobs run in a colder session) or `off`
(AUTOCORP_JOB_SERVER_WARM_UP=0).
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import shutil
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from autocorp_lake import config

log = logging.getLogger(__name__)

RESULT_PREFIX = "RESULT "
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOOPBACK = "127.0.0.1"


class Unavailable(RuntimeError):
    """No job server answers at the address: run the job another way."""


class _Lines(logging.Handler):
    """Every log record of the process while a job runs, as formatted lines in a queue."""

    def __init__(self, lines: queue.Queue):
        super().__init__(logging.INFO)
        self.lines = lines
        self.setFormatter(logging.Formatter(LOG_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.put(self.format(record))
        except Exception:  # noqa: BLE001 - a log line must never fail the job
            self.handleError(record)


class JobServer(ThreadingHTTPServer):
    """The HTTP server, its SparkSession (built in the background at start) and its one-job lock."""

    daemon_threads = True

    def __init__(self, port: int):
        super().__init__((LOOPBACK, port), _Handler)
        self.job_lock = threading.Lock()
        self.ready = threading.Event()
        self.job_came = threading.Event()  # the warm-up gives way from then on
        self.warm_up_state = "running" if config.job_server_warm_up() else "off"
        self.warm_up_dir = tempfile.mkdtemp(prefix="autocorp-job-server-warm-up-") if config.job_server_warm_up() else None
        self.start_error: BaseException | None = None
        self.jobs_run = 0
        self.environment = environment()
        self.spark = None
        threading.Thread(target=self._warm_up, name="warm-up", daemon=True).start()

    def _warm_up(self) -> None:
        try:
            from autocorp_lake.jobs import glue

            started = time.monotonic()
            self.spark = glue.get_spark("autocorp-job-server")
            log.info("Spark session ready in %.1f s", time.monotonic() - started)
        except BaseException as exc:  # noqa: BLE001 - every request then fails with the cause
            self.start_error = exc
            log.exception("the job server's Spark session could not start")
            self.warm_up_state = "failed"
            return
        finally:
            self.ready.set()
        if self.warm_up_state == "off":
            return
        try:
            started = time.monotonic()
            made = warm_up(self.spark, self.warm_up_dir, lock=self.job_lock, stop=self.job_came.is_set)
            self.warm_up_state = "done" if len(made) == len(warm_up_kinds()) else "stopped"
            log.info("warm-up %s after %.1f s: %s", self.warm_up_state, time.monotonic() - started,
                     "; ".join(made) or "no kind of write made")
        except Exception:  # noqa: BLE001 - a colder session still runs every job
            self.warm_up_state = "failed"
            log.exception("the warm-up failed; the jobs run in a colder session")
        finally:
            self._remove_warm_up_dir()

    def _remove_warm_up_dir(self) -> None:
        if self.warm_up_dir:
            shutil.rmtree(self.warm_up_dir, ignore_errors=True)

    def server_close(self) -> None:
        """Also removes the warm-up's tables when the server stops during it (SIGTERM, Ctrl-C)."""
        super().server_close()
        self._remove_warm_up_dir()

    def run_job(self, job: str, args: dict, write: Callable[[str], None]) -> dict:
        """Run one job in the warm session, writing its log lines as they come; its outcome."""
        from autocorp_lake.local import jobs

        self.job_came.set()
        with self.job_lock:
            self.ready.wait()
            if self.start_error is not None:
                return {"ok": False, "error": f"the job server's Spark session did not start: {self.start_error!r}",
                        "traceback": ""}
            lines: queue.Queue = queue.Queue()
            handler = _Lines(lines)
            root = logging.getLogger()
            root.addHandler(handler)
            outcome: dict = {}

            def work() -> None:
                # the job's glue.get_spark() finds the warm session (the JVM's active session is per thread)
                self.spark._jvm.SparkSession.setActiveSession(self.spark._jsparkSession)
                try:
                    outcome.update(ok=True, result=jobs.run_in_process(job, args))
                except BaseException as exc:  # noqa: BLE001 - sent to the task, which fails with it
                    outcome.update(ok=False, error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())

            worker = threading.Thread(target=work, name=f"job-{job}")
            worker.start()
            try:
                while worker.is_alive() or not lines.empty():
                    try:
                        write(lines.get(timeout=0.5))
                    except queue.Empty:
                        continue
            finally:
                worker.join()
                root.removeHandler(handler)
                self.jobs_run += 1
            return outcome


class _Handler(BaseHTTPRequestHandler):
    server: JobServer
    protocol_version = "HTTP/1.0"  # the answer's end is the connection's end: lines stream as they come

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        log.debug("%s " + format, self.address_string(), *args)

    def _answer(self, status: int, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path != "/health":
            self._answer(404)
            return
        self._answer(200)
        self.wfile.write(json.dumps({"ok": self.server.start_error is None, "ready": self.server.ready.is_set(),
                                     "warm_up": self.server.warm_up_state,
                                     "jobs_run": self.server.jobs_run, **self.server.environment}).encode())

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        if self.path != "/run":
            self._answer(404)
            return
        try:
            request = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            job, args = request["job"], dict(request["args"])
        except (ValueError, KeyError, TypeError) as exc:
            self._answer(400, "text/plain")
            self.wfile.write(f"a run request is {{\"job\": name, \"args\": {{...}}}}: {exc}\n".encode())
            return
        self._answer(200, "text/plain; charset=utf-8")

        def write(line: str) -> None:
            self.wfile.write((line.replace("\n", "\n  ") + "\n").encode())
            self.wfile.flush()

        outcome = self.server.run_job(job, args, write)
        write(RESULT_PREFIX + json.dumps(outcome, default=str))


WARM_UP_ROWS = 2_000  # the bulk insert of each throwaway table
WARM_UP_BATCH = (40, 10, 5)  # each upsert: updated, inserted, deleted rows
WARM_UP_UPSERTS = 3


def warm_up(spark, folder: str, lock=contextlib.nullcontext(), stop: Callable[[], bool] = lambda: False) -> list[str]:
    """Each kind of Hudi write the registry's tables get, made on throwaway tables in `folder`
    with the promote job's options: a bulk insert, then WARM_UP_UPSERTS small upserts read from
    staged parquet as the promote reads them. Each write holds `lock`; once `stop()` is true no
    other write starts. Returns the kinds made whole, e.g. `MERGE_ON_READ, partitioned`."""
    from autocorp_lake.jobs import promote

    made = []
    for number, (table_type, partitioned) in enumerate(warm_up_kinds()):
        spec = {"name": f"warm_up_{number}", "primary_key": ["id"], "ordering_field": "dms_change_seq",
                "partition": {"field": "order_month"} if partitioned else None,
                "hudi_table_type": table_type, "buckets": 1}
        batches = [_warm_up_rows(spark, 0, WARM_UP_ROWS, 0)]
        updated, inserted, deleted = WARM_UP_BATCH
        for version in range(1, WARM_UP_UPSERTS + 1):
            first = WARM_UP_ROWS - updated - deleted + (version - 1) * inserted
            batches.append(_warm_up_rows(spark, first, updated + deleted + inserted, version, deleted=deleted))
        for version, rows in enumerate(batches):
            if stop():
                return made
            staged = f"{folder}/staged/{spec['name']}/{version}"
            operation = "bulk_insert" if version == 0 else "upsert"
            options = promote.hudi_options(spec, operation, f"warm-up-{version}", hive_sync=False,
                                           metadata=False, rows=None if version == 0 else sum(WARM_UP_BATCH))
            with lock:
                rows.write.parquet(staged)
                (spark.read.parquet(staged).write.format("hudi").options(**options)
                 .mode("overwrite" if version == 0 else "append").save(f"{folder}/{spec['name']}"))
        made.append(f"{table_type}, {'partitioned' if partitioned else 'unpartitioned'}")
    return made


def warm_up_kinds() -> list[tuple[str, bool]]:
    """(Hudi table type, partitioned) of the registry's tables: each has its index (promote.index_options)."""
    return sorted({(t.hudi_table_type, t.partition is not None) for t in config.registry().tables})


def _warm_up_rows(spark, first: int, count: int, version: int, deleted: int = 0):
    """Rows of ids first..first+count-1 at a version (their dms_change_seq grows with it); the
    first `deleted` of them are deletes."""
    from pyspark.sql import functions as F

    return spark.range(first, first + count).select(
        F.col("id").cast("int").alias("id"),
        F.format_string("2024-%02d", (F.col("id") % 12 + 1).cast("int")).alias("order_month"),
        (F.col("id") * 3 + version).cast("decimal(10,2)").alias("amount"),
        F.concat(F.lit("status-"), (F.col("id") % 5).cast("string")).alias("status"),
        F.timestamp_seconds(F.lit(1_704_067_200) + F.col("id")).alias("updated_at"),
        F.format_string("%020d", F.col("id") + version * 10_000_000).alias("dms_change_seq"),
        (F.col("id") < first + deleted).alias("_hoodie_is_deleted"),
    )


def environment() -> dict[str, str]:
    """What a job's data and catalog depend on beyond its arguments: a client whose environment
    differs must not send its jobs here (they would write another lake and metastore)."""
    pg = config.postgres()
    return {"lake": str(config.lake_root()), "postgres": f"{pg.host}:{pg.port}"}


def serve(port: int) -> None:
    """Run the job server on 127.0.0.1:port until interrupted."""
    server = JobServer(port)
    log.info("job server on %s:%d (AUTOCORP_JOB_SERVER=%s:%d)", LOOPBACK, port, LOOPBACK, port)
    try:
        server.serve_forever()
    finally:
        server.server_close()


# --- the client: a task's side -----------------------------------------------------------------


def health(address: str) -> dict:
    """The job server's /health answer; Unavailable when none answers at `address`."""
    try:
        with urllib.request.urlopen(f"http://{address}/health", timeout=10) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError) as exc:
        raise Unavailable(f"no job server answers at {address}: {exc}") from exc


def check_serves_this_environment(address: str) -> dict:
    """health(address), after checking that the server works on this process's lake and
    PostgreSQL; ValueError naming both otherwise."""
    answer = health(address)
    theirs = {key: answer.get(key) for key in environment()}
    if theirs != environment():
        raise ValueError(
            f"the job server at {address} works on {theirs}, this command on {environment()}: start a job "
            f"server in this environment (`autocorp-lake job-server --port N`) or unset AUTOCORP_JOB_SERVER")
    return answer


def submit(address: str, job: str, args: dict, log_line: Callable[[str], None]) -> dict:
    """Run `job` on the job server at `address` (host:port), passing each log line to `log_line`;
    the job's outcome (`ok`, and `result` or `error` + `traceback`). Raises Unavailable when no
    server answers (nothing was run), RuntimeError when the server went away mid-job."""
    body = json.dumps({"job": job, "args": args}).encode()
    request = urllib.request.Request(f"http://{address}/run", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        response = urllib.request.urlopen(request, timeout=None)  # a job runs as long as it runs
    except (urllib.error.URLError, ConnectionError) as exc:
        raise Unavailable(f"no job server answers at {address}: {exc}") from exc
    with response:
        for raw in response:
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            if line.startswith(RESULT_PREFIX):
                return json.loads(line[len(RESULT_PREFIX):])
            log_line(line)
    raise RuntimeError(f"the job server at {address} closed the connection before {job} finished; "
                       "see its log (.local/logs/job-server.log), then rerun the task")
