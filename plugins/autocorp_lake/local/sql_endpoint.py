"""A local SQL endpoint for BI tools: the Spark Thrift Server (HiveServer2 protocol, JDBC/ODBC)
on loopback, over the same catalog and Hudi tables as the jobs and the query engine.

Connect with any Hive JDBC/ODBC client, for example the beeline that ships in pyspark's jars:
    java -cp "$(python -c 'import pyspark,os;print(os.path.dirname(pyspark.__file__))')/jars/*" \
        org.apache.hive.beeline.BeeLine -u jdbc:hive2://127.0.0.1:10001/autocorp_curated -n lake \
        -e 'select count(*) from customers'
The endpoint speaks Spark SQL, not Athena SQL: BI tools send their own dialect.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from autocorp_lake import config

THRIFT_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"


def port() -> int:
    return config.sql_endpoint_port()


def _dir() -> Path:
    path = config.local_dir() / "sql-endpoint"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _pid() -> int | None:
    pid_file = _dir() / "pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        pid_file.unlink()
        return None
    return pid


def _listening(host: str, port_number: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port_number)) == 0


def jdbc_url(database: str = "autocorp_curated") -> str:
    return f"jdbc:hive2://127.0.0.1:{port()}/{database}"


def beeline_command(sql: str, database: str = "autocorp_curated") -> list[str]:
    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    return ["java", "-cp", f"{jars}/*", "org.apache.hive.beeline.BeeLine",
            "-u", jdbc_url(database), "-n", "lake", "--outputformat=csv2", "-e", sql]


def status() -> dict:
    pid = _pid()
    running = pid is not None and _listening("127.0.0.1", port())
    return {"name": "sql-endpoint", "running": running, "where": jdbc_url(),
            "detail": f"Spark Thrift Server (pid {pid})" if pid else "not started (autocorp-lake up --sql-endpoint)"}


def start(log=print, timeout: float = 180.0) -> dict:
    if _pid() is not None:
        return status()
    if _listening("127.0.0.1", port()):
        raise RuntimeError(
            f"port {port()} on 127.0.0.1 is in use by another program; set AUTOCORP_SQL_ENDPOINT_PORT to a free port"
        )
    from autocorp_lake.local import spark as local_spark

    command = local_spark.spark_submit_command(
        "spark-internal", {}, app_name="autocorp-sql-endpoint", hudi_on_driver_classpath=True)
    # spark_submit_command ends with the script path; the Thrift Server takes a class instead
    command = [command[0], "--class", THRIFT_CLASS, *command[1:-1], "spark-internal",
               "--hiveconf", f"hive.server2.thrift.port={port()}",
               "--hiveconf", "hive.server2.thrift.bind.host=127.0.0.1"]
    log_file = _dir() / "thriftserver.log"
    log(f"starting the SQL endpoint on 127.0.0.1:{port()} (log {log_file})")
    with open(log_file, "ab") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT,
                                   env=local_spark.submit_env(), start_new_session=True)
    (_dir() / "pid").write_text(str(process.pid))
    deadline = time.monotonic() + timeout
    while not _listening("127.0.0.1", port()):
        if process.poll() is not None or time.monotonic() > deadline:
            stop()
            tail = log_file.read_text(errors="replace")[-1500:]
            raise RuntimeError(f"the SQL endpoint did not start; end of its log:\n{tail}")
        time.sleep(1)
    return status()


def stop() -> dict:
    pid = _pid()
    if pid is not None:
        os.killpg(pid, signal.SIGTERM)
        for _ in range(30):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.5)
        (_dir() / "pid").unlink(missing_ok=True)
    return status()
