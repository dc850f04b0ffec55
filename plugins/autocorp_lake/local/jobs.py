"""Run a Glue job on the local target.

On the job server's warm session when AUTOCORP_JOB_SERVER names one that answers (`make airflow`,
or `autocorp-lake run` beside one; local/job_server.py); else in-process
(`autocorp_lake.jobs.<job>.main(argv)` with the current SparkSession) when AUTOCORP_SPARK_INPROCESS=1
(the tests, `autocorp-lake run`); else as a `spark-submit` child of the job's entry point
`glue_scripts/<job>.py` with the local Spark settings. The job server and spark-submit stream the
job's log and raise with its tail on failure.
"""

from __future__ import annotations

import collections
import importlib
import logging
import re
import subprocess
from pathlib import Path
from typing import Callable

from autocorp_lake import config

# the last line of a Python traceback, e.g. "autocorp_lake.lake.BatchArgsError: --kind 'x' is not ..."
ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Failed)\b.*?: ")


# A spark-submit child's own lines carry their level: log4j's "yy/MM/dd HH:mm:ss LEVEL Class: ..."
# and the scripts' Python logging "yyyy-mm-dd HH:MM:SS,mmm LEVEL ...".
CHILD_LEVEL = re.compile(
    r"^(?:\d{2}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}|\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:[,.]\d+)?)"
    r" (TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|CRITICAL) "
)
LEVELS = {"TRACE": logging.DEBUG, "DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING,
          "WARNING": logging.WARNING, "ERROR": logging.ERROR, "FATAL": logging.CRITICAL,
          "CRITICAL": logging.CRITICAL}
# the first line of a Java stack trace: "org.apache.hudi.exception.HoodieIOException: ..."
JAVA_EXCEPTION = re.compile(r"^(?:[a-z_][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error|Throwable)\b")
child_log = logging.getLogger("autocorp_lake.spark_submit")


class ChildLogLevels:
    """The level of each line a spark-submit child prints: its own when the line has one; a
    continuation (stack frame, indented or `Caused by`) keeps the level of the line it continues;
    a Python traceback is ERROR; any other line (print output) is INFO. Task logs then show a
    successful job's lines as INFO/WARN, not the red ERROR that raw stderr gets."""

    def __init__(self) -> None:
        self.level = logging.INFO
        self.in_record = False  # inside a leveled (log4j / logging) record and its continuation

    def __call__(self, line: str) -> int:
        match = CHILD_LEVEL.match(line)
        continuation = line[:1].isspace() or line.startswith(("Caused by", "..."))
        if match:
            self.level, self.in_record = LEVELS[match.group(1)], True
        elif line.startswith("Traceback (most recent call last)"):
            self.level, self.in_record = logging.ERROR, False
        elif self.in_record and (continuation or JAVA_EXCEPTION.match(line)):
            pass  # e.g. Hudi's WARN "... (this is okay ...)" followed by the exception it tolerated
        elif ERROR_LINE.match(line):
            self.level, self.in_record = logging.ERROR, False
        elif not continuation:
            self.level, self.in_record = logging.INFO, False
        return self.level


class GlueScriptError(RuntimeError):
    """A Glue script failed; the message's first line is the cause, then the tail of its log."""


JOBS = ("apply_changes", "clean_feed", "promote", "maintenance")


def job_name(job: str) -> str:
    """`apply_changes`, `apply_changes.py` or `glue_scripts/apply_changes.py` -> `apply_changes`."""
    name = Path(job).stem
    if name not in JOBS:
        raise ValueError(f"unknown Glue job {job!r}; the jobs are {', '.join(JOBS)}")
    return name


def script_path(job: str) -> Path:
    """The entry point that spark-submit (and Glue) runs for a job."""
    return config.glue_scripts_dir() / f"{job_name(job)}.py"


def to_argv(args: dict) -> list[str]:
    argv: list[str] = []
    for key, value in args.items():
        if value is None:
            continue
        argv += [f"--{key}", str(value)]
    return argv




# JVM errors that a retry in the same process cannot heal: the classpath is fixed at JVM start
JVM_CLASSPATH_ERRORS = ("No suitable driver", "ClassNotFoundException", "NoClassDefFoundError")


def classpath_fix(exc: BaseException) -> str | None:
    """The fix for an error of the JVM's classpath, or None for any other error."""
    text = str(exc)
    if not any(marker in text for marker in JVM_CLASSPATH_ERRORS):
        return None
    from autocorp_lake.local import spark as local_spark

    first = next((line for line in text.splitlines() if any(m in line for m in JVM_CLASSPATH_ERRORS)), "")
    return (f"the Spark JVM of this process lacks a jar ({first.strip()[:200]}); a retry in the same "
            f"process cannot fix that. Run `make venv` (or `autocorp-lake fetch-jars`) to fetch the jars "
            f"into {local_spark.ivy_dir()}, then run again")


def run_in_process(job: str, args: dict):
    module = importlib.import_module(f"autocorp_lake.jobs.{job_name(job)}")
    return module.main(to_argv(args))


def _run_on_job_server(address: str, script: str, args: dict, log: Callable[[str], None], tail_lines: int):
    """The job on the job server's warm session (local/job_server.py); what main() returns."""
    from autocorp_lake.local import job_server

    outcome = job_server.submit(address, script, {k: v for k, v in args.items() if v is not None}, log)
    if outcome.get("ok"):
        return outcome.get("result")
    trace = outcome.get("traceback", "").splitlines()[-tail_lines:]
    raise GlueScriptError(
        f"Glue job {script} failed on the job server ({address}): {outcome.get('error')}"
        f"\narguments: {to_argv(args)}\n" + "\n".join(trace) + f"\ncause: {outcome.get('error')}"
    )


def run_glue_script(script: str, args: dict, in_process: bool | None = None,
                    log: Callable[[str], None] | None = None, tail_lines: int = 60):
    """Run a Glue script locally; in-process and on the job server it returns what main() returns,
    with spark-submit None."""
    if in_process is None:
        in_process = config.spark_in_process()
    address = config.job_server()
    if in_process and not address:
        return run_in_process(script, args)
    if log is None:
        level_of = ChildLogLevels()

        def log(line: str) -> None:
            child_log.log(level_of(line), "%s", line)

    if address:
        from autocorp_lake.local import job_server

        try:
            return _run_on_job_server(address, script, args, log, tail_lines)
        except job_server.Unavailable as exc:
            child_log.warning("%s; running %s %s", exc, script, "in this process" if in_process else "with spark-submit")
    if in_process:
        return run_in_process(script, args)

    from autocorp_lake.local import spark as local_spark

    path = script_path(script)
    command = local_spark.spark_submit_command(str(path), {k: v for k, v in args.items() if v is not None})
    tail: collections.deque[str] = collections.deque(maxlen=tail_lines)
    errors: list[str] = []
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=local_spark.submit_env(),
        cwd=str(config.repo_root()),
    )
    assert process.stdout is not None
    for line in process.stdout:
        line = line.rstrip("\n")
        tail.append(line)
        if ERROR_LINE.match(line):
            errors.append(line)
        log(line)
    code = process.wait()
    if code != 0:
        cause = next((line for line in reversed(errors) if line), "")
        raise GlueScriptError(
            f"Glue script {path.name} failed (exit {code})" + (f": {cause}" if cause else "")
            + f"\narguments: {to_argv(args)}\nlast log lines:\n" + "\n".join(tail)
            + (f"\ncause: {cause}" if cause else f"\nGlue script {path.name} failed (exit {code})")
        )
    return None
