"""The local AWS DMS: full load + CDC of the source PostgreSQL into the DMS S3 file contract.

Files written under `config.lake_root()` (the same keys DMS writes to S3):

    raw/database/public/<table>/LOAD00000001.parquet, LOAD00000002.parquet, ...   full load
    raw/database/public/<table>/YYYY/MM/DD/<yyyymmdd-hhmmssfff>.parquet            CDC, one per table per batch
                     (the DMS S3 target puts CDC beside the full load; CdcPath needs PreserveTransactions)
    raw/database/_replicator/state.json                                            replicator state

Columns, in this order: `Op` (I/U/D; always I in the full load), `dms_commit_ts` (string
`yyyy-MM-dd HH:mm:ss.SSSSSS`, UTC: the source commit time, or the transfer time for the full load),
the table's columns (types from the catalog: numeric(p,s) -> decimal128(p,s), money ->
decimal128(19,2), integer -> int32, bigint -> int64, timestamp -> timestamp[us], date -> date32,
boolean -> bool, text -> string), then `dms_change_seq`: 16 hex digits of an LSN + 10 decimal
digits of a position, a fixed-width string that sorts in commit order and never ties.
U rows carry the after image, D rows the before image (replica identity FULL). A primary-key
update is written as a D of the old key followed by an I of the new key.

Handoff between full load and CDC (no gap, no overlap)
------------------------------------------------------
`full_load` opens a `replication=database` connection and runs
`CREATE_REPLICATION_SLOT autocorp_lake LOGICAL wal2json EXPORT_SNAPSHOT`. PostgreSQL returns the
slot's consistent point C and exports the snapshot *of exactly that point*: every transaction that
committed before C is visible in the snapshot, and every transaction that commits after C is
decoded by the slot. While that connection stays open (the exported snapshot lives until it runs
another command), a second connection runs `BEGIN ISOLATION LEVEL REPEATABLE READ;
SET TRANSACTION SNAPSHOT '<id>'` and COPYs every table. So each change is either in the full load
or in the slot, never both, never neither. Full-load rows get `dms_change_seq` = C + row number;
a CDC change gets its transaction's commit end LSN (> C) + its position in the transaction, so a
key's full-load row always sorts before its CDC changes.

Exactly-once
------------
A CDC batch peeks (does not consume) the slot, then: (1) writes every table's file under a hidden
temp name (`.<name>.inprogress`) and fsyncs it; (2) records in the state file a *pending* entry:
the list of temp -> final names and the batch's last commit LSN (write temp, fsync, rename, fsync
directory); (3) renames the files to their final names and fsyncs the directories; (4) commits
the state (`last_lsn`, pending cleared); (5) advances the slot with
`pg_replication_slot_advance`. On start, a pending entry is rolled forward (its complete temp files
renamed, `last_lsn` taken from it), other leftover temp files are deleted (their changes are still
in the slot), transactions whose commit LSN is at or below `last_lsn` are skipped (they are already
in files) and the slot is advanced to `last_lsn`. A crash at any point therefore loses nothing and
duplicates nothing, and a file is visible whole or not at all. A lock file keeps one writer.

Refused on purpose: `TRUNCATE` of a replicated table (transactions before it are written, the
slot is not advanced past it, and `TruncateNotReplicated` names the table and the fix).
Test-only hook: AUTOCORP_REPLICATOR_CRASH_AT=mid_file|before_rename|after_files|after_state
SIGKILLs the process at that point of a CDC batch (mid_load_file: during a full-load file).

Full-load speed: `psql` (C) runs the COPY inside the imported snapshot and pyarrow's streaming CSV
reader parses its output in C++ threads while parquet is written here; no Python loop per row
(AUTOCORP_REPLICATOR_COPY_CLIENT=psycopg reads the COPY with psycopg instead).

Settings (env): AUTOCORP_REPLICATOR_FILE_ROWS (rows per LOAD file, default 1,000,000),
AUTOCORP_REPLICATOR_FILE_BYTES (Arrow bytes per LOAD file, default 512 MB),
AUTOCORP_REPLICATOR_BATCH_CHANGES (max changes peeked per CDC batch, default 200,000),
AUTOCORP_REPLICATOR_RETRIES (connection attempts, default 5), AUTOCORP_REPLICATOR_RETRY_WAIT
(first backoff in seconds, default 0.5, doubling), AUTOCORP_REPLICATOR_SLOT (slot name, default
autocorp_lake), AUTOCORP_REPLICATOR_COPY_CLIENT (psql | psycopg).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import tenacity

from autocorp_lake import config
from autocorp_lake.local.files import fsync_dir
from autocorp_lake.local.services import ServiceError

PLUGIN = "wal2json"
TMP_SUFFIX = ".inprogress"
META_COLUMNS = ("Op", "dms_commit_ts", "dms_change_seq")
TS_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
STATE_VERSION = 1


REBUILD_HINT = "`autocorp-lake run autocorp_bootstrap --conf '{\"reset\": true}'`"


class ReplicatorError(ServiceError):
    """The replicator cannot go on; the message says why and what to do."""


class SourceUnavailable(ReplicatorError):
    """The source PostgreSQL cannot be reached after the configured retries."""


class TruncateNotReplicated(ReplicatorError):
    """A TRUNCATE of a replicated table reached the slot."""


# --------------------------------------------------------------------------- settings, paths


def slot_name() -> str:
    return config.replicator_settings().slot


def raw_dir() -> Path:
    return config.lake_root() / "raw" / "database"


def schema_name() -> str:
    return config.registry().source_schema


def load_dir(table: str) -> Path:
    return raw_dir() / schema_name() / table


def cdc_dir(table: str) -> Path:
    """CDC files go to the table's own folder, in YYYY/MM/DD/ date folders, as DMS writes them."""
    return load_dir(table)


def cdc_files(table: str) -> list[Path]:
    """A table's visible CDC files (the date folders; not the LOAD files beside them)."""
    folder = cdc_dir(table)
    return sorted(p for p in folder.glob("[0-9][0-9][0-9][0-9]/[0-9][0-9]/[0-9][0-9]/*.parquet")
                  if not p.name.startswith("."))


def state_path() -> Path:
    return raw_dir() / "_replicator" / "state.json"


def _crash_point(name: str) -> None:
    """Test hook: SIGKILL this process at a named point (AUTOCORP_REPLICATOR_CRASH_AT)."""
    if config.replicator_settings().crash_at == name:
        os.kill(os.getpid(), signal.SIGKILL)


# --------------------------------------------------------------------------- LSNs, durability


def lsn_to_int(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def int_to_lsn(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def change_seq(lsn: int, position: int) -> str:
    return f"{lsn:016X}{position:010d}"


def _tmp_name(final: Path) -> Path:
    return final.with_name(f".{final.name}{TMP_SUFFIX}")


def _write_bytes_durably(path: Path, data: bytes, crash_mid: str | None = None) -> None:
    with open(path, "wb") as handle:
        view = memoryview(data)
        if crash_mid and config.replicator_settings().crash_at == crash_mid:
            handle.write(view[: len(data) // 2])
            handle.flush()
            os.fsync(handle.fileno())
            _crash_point(crash_mid)
        handle.write(view)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _load_state() -> dict:
    path = state_path()
    if not path.exists():
        return {}
    return json.loads(path.read_text())


def _save_state(state: dict) -> None:
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    state["version"] = STATE_VERSION
    state["updated_at"] = _now_text()
    tmp = _tmp_name(path)
    _write_bytes_durably(tmp, json.dumps(state, indent=2, sort_keys=True).encode())
    os.replace(tmp, path)
    fsync_dir(path.parent)


@contextlib.contextmanager
def _lock(timeout: float = 120.0):
    """One replicator at a time per lake (a DAG task and `replicate --follow` may overlap)."""
    path = state_path().parent / "lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ReplicatorError(
                        f"another replicator holds {path} (for over {timeout:.0f} s); "
                        "stop it (`autocorp-lake replicate --follow`?) and retry"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _now_text() -> str:
    return _now().strftime(TS_FORMAT)


# --------------------------------------------------------------------------- connections


def _connect(replication: bool = False, log: Callable = print) -> psycopg.Connection:
    """Connect to the source with exponential backoff; a clear error after the last attempt."""
    settings = config.postgres()
    attempts, first_wait = config.replicator_settings().retries, config.replicator_settings().retry_wait
    dsn = settings.dsn() + (" replication=database" if replication else "")

    def before_sleep(state: tenacity.RetryCallState) -> None:
        log(
            f"source {settings.host}:{settings.port} not reachable "
            f"(attempt {state.attempt_number}/{attempts}); retrying in "
            f"{state.next_action.sleep if state.next_action else 0:.1f} s"
        )

    try:
        for attempt in tenacity.Retrying(
            stop=tenacity.stop_after_attempt(attempts),
            wait=tenacity.wait_exponential(multiplier=first_wait, min=first_wait, max=30),
            retry=tenacity.retry_if_exception_type(psycopg.OperationalError),
            before_sleep=before_sleep,
            reraise=True,
        ):
            with attempt:
                conn = psycopg.connect(dsn, autocommit=True, connect_timeout=5)
                if not replication:
                    conn.execute("set timezone = 'UTC'")
                    conn.execute("set datestyle = 'ISO, YMD'")
                    conn.execute("set extra_float_digits = 3")
                return conn
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise SourceUnavailable(
            f"cannot reach the source PostgreSQL at {settings.host}:{settings.port} "
            f"(database {settings.source_db}) after {attempts} attempts with backoff: {reason}. "
            f"Start it with `autocorp-lake up`, or set AUTOCORP_PG_HOST / AUTOCORP_PG_PORT "
            f"(now AUTOCORP_PG_PORT={settings.port}) to where it runs; "
            f"attempts: AUTOCORP_REPLICATOR_RETRIES. No files were written."
        ) from exc
    raise AssertionError("unreachable")  # pragma: no cover


# --------------------------------------------------------------------------- types


def _parse_money(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    text = str(value).strip()
    negative = text.startswith("-") or (text.startswith("(") and text.endswith(")"))
    digits = text.strip("()-+ ").replace("$", "").replace(",", "").strip()
    amount = Decimal(digits)
    return -amount if negative else amount


def _to_decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _to_timestamp(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    return dt.datetime.fromisoformat(value)


def _to_timestamptz(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


def _to_date(value: Any) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


def _to_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def _identity(value: Any) -> Any:
    return value


def _to_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _to_int(value: Any) -> int | None:
    return None if value is None else int(value)


@dataclass(frozen=True)
class Column:
    name: str
    typname: str
    formatted: str
    arrow: pa.DataType
    select: str
    convert: Callable[[Any], Any]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _column(name: str, typname: str, formatted: str, typmod: int) -> Column:
    q = _quote(name)
    if typname == "int2":
        return Column(name, typname, formatted, pa.int16(), q, _to_int)
    if typname == "int4":
        return Column(name, typname, formatted, pa.int32(), q, _to_int)
    if typname == "int8":
        return Column(name, typname, formatted, pa.int64(), q, _to_int)
    if typname == "numeric":
        if typmod >= 4:
            precision, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
        else:  # unconstrained numeric: widest decimal128 with a generous scale
            precision, scale = 38, 10
        return Column(name, typname, formatted, pa.decimal128(precision, scale), q, _to_decimal)
    if typname == "money":
        return Column(
            name, typname, formatted, pa.decimal128(19, 2), f"{q}::numeric(19,2)", _parse_money
        )
    if typname == "float4":
        return Column(name, typname, formatted, pa.float32(), q, _to_float)
    if typname == "float8":
        return Column(name, typname, formatted, pa.float64(), q, _to_float)
    if typname == "bool":
        return Column(name, typname, formatted, pa.bool_(), q, _identity)
    if typname == "date":
        return Column(name, typname, formatted, pa.date32(), q, _to_date)
    if typname == "timestamp":
        return Column(name, typname, formatted, pa.timestamp("us"), q, _to_timestamp)
    if typname == "timestamptz":
        return Column(
            name, typname, formatted, pa.timestamp("us", tz="UTC"),
            f"({q} at time zone 'UTC')", _to_timestamptz,
        )
    return Column(name, typname, formatted, pa.string(), f"{q}::text", _to_text)


def table_columns(conn: psycopg.Connection, tables: Iterable[str]) -> dict[str, list[Column]]:
    """The current columns of the tables, in attnum order, with their lake types."""
    rows = conn.execute(
        """
        select c.relname, a.attname, t.typname, format_type(a.atttypid, a.atttypmod), a.atttypmod
        from pg_attribute a
        join pg_class c on c.oid = a.attrelid
        join pg_namespace n on n.oid = c.relnamespace
        join pg_type t on t.oid = a.atttypid
        where n.nspname = %s and c.relname = any(%s) and a.attnum > 0 and not a.attisdropped
        order by c.relname, a.attnum
        """,
        (schema_name(), list(tables)),
    ).fetchall()
    result: dict[str, list[Column]] = {}
    for relname, attname, typname, formatted, typmod in rows:
        result.setdefault(relname, []).append(_column(attname, typname, formatted, typmod))
    return result


def arrow_schema(columns: list[Column]) -> pa.Schema:
    fields = [pa.field("Op", pa.string()), pa.field("dms_commit_ts", pa.string())]
    fields += [pa.field(c.name, c.arrow) for c in columns]
    fields.append(pa.field("dms_change_seq", pa.string()))
    return pa.schema(fields)


# --------------------------------------------------------------------------- recovery


def _cleanup(state: dict, log: Callable) -> dict:
    """Roll a pending batch forward, then delete leftover temp files of crashed runs."""
    root = raw_dir()
    pending = state.get("pending")
    if pending:
        dirs = set()
        for tmp_rel, final_rel in pending["files"]:
            tmp, final = root / tmp_rel, root / final_rel
            if tmp.exists():
                os.replace(tmp, final)
                dirs.add(final.parent)
        for directory in dirs:
            fsync_dir(directory)
        state["last_lsn"] = pending["last_lsn"]
        state["last_batch"] = pending["batch"]
        state["batches"] = state.get("batches", 0) + 1
        state["pending"] = None
        _save_state(state)
        log(f"recovered batch {pending['batch']} (changes up to {pending['last_lsn']})")
    if root.exists():
        removed = 0
        for path in root.rglob(f"*{TMP_SUFFIX}"):
            path.unlink(missing_ok=True)
            removed += 1
        if removed:
            log(f"removed {removed} temp file(s) left by an interrupted run")
    return state


# --------------------------------------------------------------------------- full load


class _LoadFileWriter:
    """Writes one table's LOAD files from CSV chunks: row groups, size-capped files, hex names."""

    def __init__(self, table: str, columns: list[Column], prefix: str, commit_ts: str) -> None:
        self.table = table
        self.columns = columns
        self.schema = arrow_schema(columns)
        self.data_schema = pa.schema([pa.field(c.name, c.arrow) for c in columns])
        self.prefix = prefix
        self.commit_ts = commit_ts
        settings = config.replicator_settings()
        self.max_rows, self.max_bytes = settings.file_rows, settings.file_bytes
        self.directory = load_dir(table)
        self.writer: pq.ParquetWriter | None = None
        self.tmp: Path | None = None
        self.final: Path | None = None
        self.rows_in_file = 0
        self.bytes_in_file = 0
        self.files: list[dict] = []
        self.rows = 0

    def convert_options(self) -> pacsv.ConvertOptions:
        return pacsv.ConvertOptions(
            column_types=self.data_schema,
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,  # "" is an empty string, an empty field is NULL
            null_values=[""],
            true_values=["t"],
            false_values=["f"],
        )

    def write_chunk(self, data: bytes, rows: int) -> None:
        """psycopg path: parse a chunk of whole CSV rows, then write it."""
        parsed = pacsv.read_csv(
            pa.BufferReader(data),  # not a Python file: parsing must not need the GIL
            read_options=pacsv.ReadOptions(
                column_names=self.data_schema.names, block_size=max(1 << 20, len(data) + 1)
            ),
            # a value with a line break is quoted; without any, the faster parser is exact
            parse_options=pacsv.ParseOptions(newlines_in_values=data.count(b"\n") != rows),
            convert_options=self.convert_options(),
        )
        self.write_parsed(parsed)

    def write_parsed(self, parsed: pa.Table | pa.RecordBatch) -> None:
        """Add Op / dms_commit_ts / dms_change_seq and write; roll files at the row/byte caps."""
        offset = 0
        total = parsed.num_rows
        while offset < total:
            if self.writer is None:
                self._open_file()
            n = min(total - offset, self.max_rows - self.rows_in_file)
            part = parsed.slice(offset, n)
            first_row = self.rows + 1
            numbers = pa.array(np.arange(first_row, first_row + n, dtype=np.int64))
            seq = pc.binary_join_element_wise(
                self.prefix, pc.utf8_lpad(pc.cast(numbers, pa.string()), width=10, padding="0"), ""
            )
            arrays = [pa.repeat("I", n), pa.repeat(self.commit_ts, n)]
            arrays += [part.column(i) for i in range(part.num_columns)]
            arrays.append(seq)
            self.writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema))
            _crash_point("mid_load_file")
            self.rows_in_file += n
            self.bytes_in_file += part.nbytes
            self.rows += n
            offset += n
            if self.rows_in_file >= self.max_rows or self.bytes_in_file >= self.max_bytes:
                self._close_file()

    def _open_file(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.final = self.directory / f"LOAD{len(self.files) + 1:08X}.parquet"
        self.tmp = _tmp_name(self.final)
        # no dictionary pages: measured faster to write and no bigger (snappy catches repeats)
        self.writer = pq.ParquetWriter(
            self.tmp, self.schema, compression="snappy", use_dictionary=False
        )
        self.rows_in_file = 0
        self.bytes_in_file = 0

    def _close_file(self) -> None:
        assert self.writer is not None and self.tmp and self.final
        self.writer.close()
        _fsync_file(self.tmp)
        os.replace(self.tmp, self.final)
        fsync_dir(self.directory)
        self.files.append({"file": str(self.final.relative_to(config.lake_root())),
                           "rows": self.rows_in_file})
        self.writer = None

    def finish(self) -> None:
        if self.writer is not None:
            self._close_file()

    def abort(self) -> None:
        if self.writer is not None:
            with contextlib.suppress(Exception):
                self.writer.close()
            if self.tmp:
                self.tmp.unlink(missing_ok=True)
            self.writer = None


def copy_sql(table: str, columns: list[Column]) -> str:
    select = ", ".join(c.select for c in columns)
    return (
        f"copy (select {select} from {_quote(schema_name())}.{_quote(table)}) "
        "to stdout with (format csv)"
    )


def _psql() -> Path | None:
    """psql reads COPY output in C (about 5x less client CPU than a Python loop over rows)."""
    settings = config.replicator_settings()
    if settings.copy_client == "psycopg":
        return None
    from autocorp_lake.local.services import PG_BIN

    path = Path(settings.psql or PG_BIN / "psql")
    return path if path.exists() else shutil.which("psql") and Path(shutil.which("psql"))


def _copy_table(
    conn: psycopg.Connection, table: str, columns: list[Column], prefix: str, commit_ts: str,
    snapshot: str | None = None,
) -> _LoadFileWriter:
    """COPY one table (CSV, inside the snapshot) into LOAD files.

    With psql (the default): `psql` runs BEGIN REPEATABLE READ; SET TRANSACTION SNAPSHOT; COPY
    ... TO STDOUT and pyarrow's streaming CSV reader parses its output in C++ threads while this
    thread writes parquet. Without psql: psycopg reads the rows and a worker thread parses them.
    `conn` must already be inside the snapshot transaction (used by the psycopg path).
    """
    writer = _LoadFileWriter(table, columns, prefix, commit_ts)
    psql = _psql()
    try:
        if psql is not None:
            _copy_with_psql(psql, writer, copy_sql(table, columns), snapshot)
        else:
            _copy_with_psycopg(conn, writer, copy_sql(table, columns))
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    return writer


def _copy_with_psql(psql: Path, writer: _LoadFileWriter, sql: str, snapshot: str | None) -> None:
    settings = config.postgres()
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10", "PGAPPNAME": "autocorp-replicator"}
    if settings.password:
        env["PGPASSWORD"] = settings.password  # never on the command line
    command = [
        str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1",
        "-h", settings.host, "-p", str(settings.port), "-U", settings.user, "-d", settings.source_db,
        "-c", "set timezone = 'UTC'", "-c", "set datestyle = 'ISO, YMD'",
        "-c", "set extra_float_digits = 3",
        "-c", "begin isolation level repeatable read read only",
    ]
    if snapshot:
        command += ["-c", f"set transaction snapshot '{snapshot}'"]
    command += ["-c", sql]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        reader = pacsv.open_csv(
            pa.PythonFile(process.stdout, mode="r"),
            read_options=pacsv.ReadOptions(column_names=writer.data_schema.names, block_size=8 << 20),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=writer.convert_options(),
        )
        for batch in reader:
            writer.write_parsed(batch)
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc) and process.wait() == 0:
            return  # an empty table: no LOAD file (as DMS)
        process.kill()
        process.wait()
        error = process.stderr.read().decode(errors="replace").strip()
        if error:
            raise ReplicatorError(f"COPY of {writer.table} failed: {error}") from exc
        raise ReplicatorError(f"cannot parse the COPY output of {writer.table}: {exc}") from exc
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        process.stdout.close()
    error = process.stderr.read().decode(errors="replace").strip()
    if process.wait() != 0:
        raise ReplicatorError(f"COPY of {writer.table} with psql failed: {error}")


def _copy_with_psycopg(conn: psycopg.Connection, writer: _LoadFileWriter, sql: str,
                       chunk_rows: int = 65536) -> None:
    chunk_rows = min(chunk_rows, writer.max_rows)
    future: concurrent.futures.Future | None = None
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        try:
            with conn.cursor() as cur, cur.copy(sql) as copy:
                buffer: list = []
                for row in copy:
                    buffer.append(bytes(row))  # bytes: a memoryview would pin its libpq result
                    if len(buffer) >= chunk_rows:
                        data = b"".join(buffer)
                        buffer = []
                        if future is not None:
                            future.result()
                        future = pool.submit(writer.write_chunk, data, chunk_rows)
                if future is not None:
                    future.result()
                    future = None
                if buffer:
                    writer.write_chunk(b"".join(buffer), len(buffer))
        finally:
            if future is not None:
                with contextlib.suppress(BaseException):
                    future.result()


def _drop_slot_if_exists(conn: psycopg.Connection) -> None:
    row = conn.execute(
        "select active_pid from pg_replication_slots where slot_name = %s", (slot_name(),)
    ).fetchone()
    if row is None:
        return
    if row[0] is not None:
        conn.execute("select pg_terminate_backend(%s)", (row[0],))
        time.sleep(0.2)
    conn.execute("select pg_drop_replication_slot(%s)", (slot_name(),))


def _remove_lake_database_files() -> None:
    root = raw_dir()
    for sub in (root / schema_name(), root / "cdc"):
        shutil.rmtree(sub, ignore_errors=True)


def full_load(log: Callable = print, reset: bool = False) -> dict:
    """Create the slot and its snapshot, and write every table's LOAD files from that snapshot."""
    with _lock():
        state = _load_state()
        if state.get("full_load", {}).get("done") and not reset:
            raise ReplicatorError(
                f"the full load is already done (consistent point "
                f"{state['full_load']['consistent_lsn']}); CDC continues with `autocorp-lake "
                f"replicate`. To start over, call full_load(reset=True) (drops the slot and the "
                f"raw/database files) or run {REBUILD_HINT}"
            )
        conn = _connect(log=log)  # fails cleanly (no files) if the source is down
        tables = [t.name for t in config.registry().tables]
        started = time.monotonic()
        try:
            _drop_slot_if_exists(conn)
            _cleanup({}, log)
            _remove_lake_database_files()
            state_path().unlink(missing_ok=True)
            repl = _connect(replication=True, log=log)
            try:
                _, consistent, snapshot, _plugin = repl.execute(
                    f"CREATE_REPLICATION_SLOT {slot_name()} LOGICAL {PLUGIN} EXPORT_SNAPSHOT"
                ).fetchone()
                log(f"slot {slot_name()} created at consistent point {consistent}, snapshot {snapshot}")
                conn.execute("begin isolation level repeatable read read only")
                conn.execute(f"set transaction snapshot '{snapshot}'")
                columns = table_columns(conn, tables)
                missing = [t for t in tables if t not in columns]
                if missing:
                    raise ReplicatorError(
                        f"source tables missing in {schema_name()}: {', '.join(missing)}; "
                        "create the schema with `autocorp-lake up`"
                    )
                prefix = f"{lsn_to_int(consistent):016X}"
                report = []
                for table in tables:
                    t0 = time.monotonic()
                    writer = _copy_table(conn, table, columns[table], prefix, _now_text(), snapshot)
                    report.append({"table": table, "rows": writer.rows, "files": writer.files})
                    log(f"full load {table}: {writer.rows} rows, {len(writer.files)} file(s) "
                        f"in {time.monotonic() - t0:.2f} s")
                conn.execute("commit")
            finally:
                repl.close()
        except BaseException:
            with contextlib.suppress(Exception):
                conn.close()
            # nothing half-done stays: LOAD files of this attempt and temp files go
            _remove_lake_database_files()
            with contextlib.suppress(Exception):
                with _connect(log=log) as c2:
                    _drop_slot_if_exists(c2)
            raise
        conn.close()
        state = {
            "slot": slot_name(),
            "full_load": {
                "done": True,
                "consistent_lsn": consistent,
                "snapshot": snapshot,
                "finished_at": _now_text(),
                "seconds": round(time.monotonic() - started, 3),
                "tables": {r["table"]: {"rows": r["rows"], "files": len(r["files"])} for r in report},
            },
            "last_lsn": consistent,
            "last_batch": "",
            "batches": 0,
            "pending": None,
        }
        _save_state(state)
        return {
            "consistent_lsn": consistent,
            "seconds": round(time.monotonic() - started, 3),
            "tables": report,
        }


# --------------------------------------------------------------------------- CDC


def _peek_sql(tables: list[str]) -> str:
    add_tables = ",".join(f"{schema_name()}.{t}" for t in tables)
    return (
        "select lsn::text, data from pg_logical_slot_peek_changes(%s, NULL, %s, "
        "'format-version', '2', 'include-lsn', '1', 'include-timestamp', '1', "
        "'include-xids', '1', 'include-transaction', '1', "
        f"'add-tables', '{add_tables}')"
    )


@dataclass
class _Txn:
    xid: Any
    timestamp: str
    changes: list
    truncates: list
    commit_lsn: int = 0


def _parse_changes(rows: list, last_lsn: int) -> tuple[list[_Txn], int]:
    """Group wal2json v2 rows into committed transactions newer than last_lsn."""
    txns: list[_Txn] = []
    skipped = 0
    current: _Txn | None = None
    for _lsn, data in rows:
        msg = json.loads(data, parse_float=Decimal)
        action = msg.get("action")
        if action == "B":
            current = _Txn(msg.get("xid"), msg.get("timestamp"), [], [])
        elif action in ("I", "U", "D"):
            if current is not None:
                current.changes.append(msg)
        elif action == "T":
            if current is not None:
                current.truncates.append(f"{msg.get('schema')}.{msg.get('table')}")
        elif action == "C":
            if current is None:
                continue
            current.commit_lsn = lsn_to_int(msg["nextlsn"])
            current.timestamp = msg.get("timestamp") or current.timestamp
            if current.commit_lsn <= last_lsn:
                skipped += 1  # already in files (written before a crash / restart)
            else:
                txns.append(current)
            current = None
        # "M" (logical messages) and anything else: not table data
    return txns, skipped


def _commit_ts_text(value: str | None) -> str:
    if not value:
        return _now_text()
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc).strftime(TS_FORMAT)


def _values(items: list | None) -> dict:
    return {item["name"]: item.get("value") for item in (items or [])}


def _change_rows(txns: list[_Txn]) -> dict[str, list[tuple[str, str, str, dict]]]:
    """(Op, commit ts, change seq, values) per table, in commit order."""
    registry = config.registry()
    out: dict[str, list] = {}
    for txn in txns:
        ts = _commit_ts_text(txn.timestamp)
        position = 0
        for msg in txn.changes:
            table = msg["table"]
            if msg.get("schema") != schema_name() or table not in registry.table_names:
                continue
            key = registry.table(table).primary_key
            rows = out.setdefault(table, [])
            action = msg["action"]
            if action == "I":
                emitted = [("I", _values(msg.get("columns")))]
            elif action == "U":
                new = _values(msg.get("columns"))
                old = _values(msg.get("identity"))
                for name, value in old.items():  # unchanged TOASTed values are not in "columns"
                    new.setdefault(name, value)
                if old and any(old.get(k) != new.get(k) for k in key):
                    emitted = [("D", old), ("I", new)]  # primary-key update
                else:
                    emitted = [("U", new)]
            else:  # D: the before image (replica identity FULL: every column)
                emitted = [("D", _values(msg.get("identity")))]
            for op, values in emitted:
                position += 1
                rows.append((op, ts, change_seq(txn.commit_lsn, position), values))
    return out


def _arrow_table(columns: list[Column], rows: list[tuple[str, str, str, dict]]) -> pa.Table:
    arrays = [pa.array([r[0] for r in rows], pa.string()), pa.array([r[1] for r in rows], pa.string())]
    for column in columns:
        try:
            values = [column.convert(r[3].get(column.name)) for r in rows]
            arrays.append(pa.array(values, column.arrow))
        except Exception as exc:
            raise ReplicatorError(
                f"cannot convert column {column.name} ({column.formatted}) to {column.arrow}: {exc}"
            ) from exc
    arrays.append(pa.array([r[2] for r in rows], pa.string()))
    return pa.Table.from_arrays(arrays, schema=arrow_schema(columns))


def _batch_name(previous: str) -> tuple[dt.datetime, str]:
    while True:
        now = _now()
        name = now.strftime("%Y%m%d-%H%M%S") + f"{now.microsecond // 1000:03d}"
        if name > (previous or ""):
            return now, name
        time.sleep(0.001)


def _empty_report() -> dict:
    return {"table": "", "cdc_inserts": 0, "cdc_updates": 0, "cdc_deletes": 0, "files": []}


def _slot_lsn(conn: psycopg.Connection) -> int | None:
    row = conn.execute(
        "select confirmed_flush_lsn::text from pg_replication_slots where slot_name = %s", (slot_name(),)
    ).fetchone()
    if row is None:
        return None
    return lsn_to_int(row[0]) if row[0] else 0


def _advance(conn: psycopg.Connection, target: int) -> None:
    current = _slot_lsn(conn)
    if current is not None and target > current:
        conn.execute("select pg_replication_slot_advance(%s, %s::pg_lsn)", (slot_name(), int_to_lsn(target)))


def capture_batch(log: Callable = print, conn: psycopg.Connection | None = None) -> dict:
    """Write one CDC batch: every committed change in the slot (up to the batch limit)."""
    with _lock():
        state = _cleanup(_load_state(), log)
        if not state.get("full_load", {}).get("done"):
            raise ReplicatorError(
                "no full load yet: run `autocorp-lake replicate` (or replicator.full_load()) first"
            )
        own = conn is None
        if own:
            conn = _connect(log=log)
        try:
            return _capture(conn, state, log)
        finally:
            if own:
                conn.close()


def _capture(conn: psycopg.Connection, state: dict, log: Callable) -> dict:
    started = time.monotonic()
    tables = config.registry().table_names
    last_lsn = lsn_to_int(state["last_lsn"])
    slot_lsn = _slot_lsn(conn)
    if slot_lsn is None:
        raise ReplicatorError(
            f"replication slot {slot_name()} does not exist (dropped?) while the lake has a full load: "
            f"changes since may be lost; rebuild the lake with {REBUILD_HINT}"
        )
    if slot_lsn < last_lsn:  # a crash after the state commit, before the slot advance
        _advance(conn, last_lsn)
    limit = config.replicator_settings().batch_changes
    rows = conn.execute(_peek_sql(tables), (slot_name(), limit)).fetchall()
    txns, skipped = _parse_changes(rows, last_lsn)
    refused: _Txn | None = None
    for index, txn in enumerate(txns):
        if txn.truncates:
            refused = txn
            txns = txns[:index]
            break
    per_table = _change_rows(txns)
    report = {
        "batch": None,
        "transactions": len(txns),
        "skipped_transactions": skipped,
        "changes": sum(len(v) for v in per_table.values()),
        "last_lsn": state["last_lsn"],
        "full": len(rows) >= limit,
        "tables": [],
    }
    if txns:
        target = txns[-1].commit_lsn
        files: list[tuple[Path, Path]] = []
        if per_table:
            now, batch = _batch_name(state.get("last_batch", ""))
            columns = table_columns(conn, per_table)
            gone = [t for t in per_table if t not in columns]
            if gone:
                raise ReplicatorError(
                    f"changes of {', '.join(gone)} are in the slot but the table is gone from the "
                    f"catalog (dropped?); rebuild the lake with {REBUILD_HINT}"
                )
            try:
                for table, changes in per_table.items():
                    directory = cdc_dir(table) / now.strftime("%Y/%m/%d")
                    directory.mkdir(parents=True, exist_ok=True)
                    final = directory / f"{batch}.parquet"
                    tmp = _tmp_name(final)
                    sink = pa.BufferOutputStream()
                    pq.write_table(_arrow_table(columns[table], changes), sink, compression="snappy")
                    files.append((tmp, final))
                    _write_bytes_durably(tmp, sink.getvalue().to_pybytes(), crash_mid="mid_file")
                    ops = [c[0] for c in changes]
                    report["tables"].append({
                        "table": table,
                        "cdc_inserts": ops.count("I"),
                        "cdc_updates": ops.count("U"),
                        "cdc_deletes": ops.count("D"),
                        "files": [str(final.relative_to(config.lake_root()))],
                    })
                for directory in {f.parent for _, f in files}:
                    fsync_dir(directory)
            except BaseException:
                for tmp, _ in files:
                    tmp.unlink(missing_ok=True)
                raise
            root = raw_dir()
            state["pending"] = {
                "batch": batch,
                "last_lsn": int_to_lsn(target),
                "files": [[str(t.relative_to(root)), str(f.relative_to(root))] for t, f in files],
            }
            _save_state(state)
            _crash_point("before_rename")
            for tmp, final in files:
                os.replace(tmp, final)
            for directory in {f.parent for _, f in files}:
                fsync_dir(directory)
            _crash_point("after_files")
            state["last_batch"] = batch
            state["batches"] = state.get("batches", 0) + 1
            report["batch"] = batch
        state["pending"] = None
        state["last_lsn"] = int_to_lsn(target)
        _save_state(state)
        _crash_point("after_state")
        _advance(conn, target)
        report["last_lsn"] = state["last_lsn"]
        log(
            f"cdc batch {report['batch'] or '-'}: {len(txns)} transaction(s), "
            f"{report['changes']} change(s), {len(files)} file(s) in "
            f"{time.monotonic() - started:.2f} s; slot at {state['last_lsn']}"
        )
    elif skipped:
        _advance(conn, last_lsn)
    report["seconds"] = round(time.monotonic() - started, 3)
    if refused is not None:
        names = ", ".join(sorted(set(refused.truncates)))
        raise TruncateNotReplicated(
            f"TRUNCATE of {names} is not replicated (transaction {refused.xid}, committed "
            f"{_commit_ts_text(refused.timestamp)}): the lake cannot express it as row changes. "
            f"Changes before it are written; the slot stays before it. Rebuild the lake with "
            f"{REBUILD_HINT} (new slot, raw/database loaded again, curated tables rebuilt)."
        )
    return report


# --------------------------------------------------------------------------- public API


def _full_load_done() -> bool:
    return bool(_load_state().get("full_load", {}).get("done"))


def replicate(log: Callable = print) -> dict:
    """The DMS task's unit of work: the full load if not done yet, else one CDC batch."""
    rows = {
        t: {"table": t, "full_load_rows": 0, "cdc_inserts": 0, "cdc_updates": 0,
            "cdc_deletes": 0, "files": 0}
        for t in config.registry().table_names
    }
    if not _full_load_done():
        result = full_load(log=log)
        for item in result["tables"]:
            rows[item["table"]]["full_load_rows"] = item["rows"]
            rows[item["table"]]["files"] = len(item["files"])
        return {"mode": "full_load", "consistent_lsn": result["consistent_lsn"],
                "tables": list(rows.values())}
    result = capture_batch(log=log)
    for item in result["tables"]:
        row = rows[item["table"]]
        for key in ("cdc_inserts", "cdc_updates", "cdc_deletes"):
            row[key] = item[key]
        row["files"] = len(item["files"])
    return {"mode": "cdc", "batch": result["batch"], "last_lsn": result["last_lsn"],
            "tables": list(rows.values())}


def follow(
    log: Callable = print,
    poll_interval: float = 0.5,
    stop: threading.Event | None = None,
    max_seconds: float | None = None,
) -> dict:
    """Capture continuously (full load first if needed) until `stop` is set or max_seconds pass."""
    stop = stop or threading.Event()
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    if not _full_load_done():
        full_load(log=log)
    totals = {"batches": 0, "changes": 0}
    conn: psycopg.Connection | None = None
    try:
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            if conn is None or conn.closed:
                conn = _connect(log=log)
            try:
                result = capture_batch(log=log, conn=conn)
            except psycopg.OperationalError as exc:
                log(f"source connection lost ({exc}); reconnecting")
                with contextlib.suppress(Exception):
                    conn.close()
                conn = None
                continue
            if result["batch"]:
                totals["batches"] += 1
                totals["changes"] += result["changes"]
            if not result["full"]:
                stop.wait(poll_interval)
    except KeyboardInterrupt:
        log("stopped")
    finally:
        if conn is not None:
            conn.close()
    return totals


def data_files(table: str) -> list[Path]:
    """A table's visible files: LOAD files in order, then CDC files in batch order."""
    loads = sorted(p for p in load_dir(table).glob("LOAD*.parquet"))
    cdc = sorted(cdc_files(table), key=lambda p: p.name)
    return loads + cdc


def read_changes(table: str) -> pa.Table:
    """Every raw row of a table (full load + CDC) in dms_change_seq order, as a pyarrow Table.

    Files written before an `ADD COLUMN` lack the new column: it is null there.
    """
    parts = [pq.read_table(p) for p in data_files(table)]
    if not parts:
        raise ReplicatorError(f"no raw files for {table} under {raw_dir()}: run the full load first")
    combined = pa.concat_tables(parts, promote_options="default")
    data = [n for n in combined.column_names if n not in META_COLUMNS]
    combined = combined.select(["Op", "dms_commit_ts", *data, "dms_change_seq"])
    return combined.sort_by("dms_change_seq")


def rebuild(table: str) -> list[dict]:
    """Replay full load + CDC: latest change per key by dms_change_seq, D removes the key."""
    key = config.registry().table(table).primary_key
    image: dict[tuple, dict] = {}
    for row in read_changes(table).to_pylist():
        op = row.pop("Op")
        row.pop("dms_commit_ts")
        row.pop("dms_change_seq")
        k = tuple(row[c] for c in key)
        if op == "D":
            image.pop(k, None)
        else:
            image[k] = row
    return [image[k] for k in sorted(image)]


def has_unprocessed_cdc_files(table: str | None = None) -> bool:
    """Whether raw files (LOAD or CDC) exist that the apply_changes job has not processed yet.

    "Processed" is the job's committed checkpoint `staged/_checkpoints/<table>.json` (its
    "files": keys relative to the lake root, advanced by promote after the Hudi commit).
    """
    from autocorp_lake import lake

    root = config.lake_root()
    for name in [table] if table else config.registry().table_names:
        done = set(lake.read_checkpoint(str(root), name)["files"])
        if any(str(p.relative_to(root)) not in done for p in data_files(name)):
            return True
    return False


def status() -> dict:
    """Slot, confirmed LSN, lag in bytes, files in the lake."""
    state = _load_state()
    files = {
        t: {"load": len(list(load_dir(t).glob("LOAD*.parquet"))),
            "cdc": len(cdc_files(t))}
        for t in config.registry().table_names
    }
    result: dict[str, Any] = {
        "slot": None,  # the slot's name when it exists in the source, else None
        "slot_name": slot_name(),
        "full_load_done": bool(state.get("full_load", {}).get("done")),
        "consistent_lsn": state.get("full_load", {}).get("consistent_lsn"),
        "last_lsn_written": state.get("last_lsn"),
        "last_batch": state.get("last_batch"),
        "batches": state.get("batches", 0),
        "pending": bool(state.get("pending")),
        "files": files,
        "slot_exists": None,
        "confirmed_lsn": None,
        "lag_bytes": None,
    }
    try:
        with _connect(log=lambda *a, **k: None) as conn:
            row = conn.execute(
                "select confirmed_flush_lsn::text, "
                "pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint, active "
                "from pg_replication_slots where slot_name = %s",
                (slot_name(),),
            ).fetchone()
    except SourceUnavailable as exc:
        result["error"] = str(exc)
        return result
    result["slot_exists"] = row is not None
    if row:
        result["slot"] = slot_name()
        result["confirmed_lsn"], result["lag_bytes"], result["slot_active"] = row
    return result
