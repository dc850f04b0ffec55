"""The local DataSync: copy new and changed export files into the lake's raw/csv zone.

Source: `config.export_dir()` (the on-premises share). Destination, exactly as the DataSync task
of infra/ writes it to S3: the share as it is, under `raw/csv/` (DataSync cannot rename or sort
files into folders): `raw/csv/<path in the share>`, e.g. `raw/csv/customers.csv` and
`raw/csv/data_validation_manifest.json`. Only what the task's include filter
(`*.csv|/data_validation_manifest.json`, infra/modules/datasync) selects is copied; other files
are reported as ignored. clean_feed reads each feed's file where this puts it.

Each run (an "execution", like a DataSync task execution):
- compares every source file with the record of the previous transfers (size + sha256, and the
  destination still there with that size): unchanged files are skipped;
- copies a new or changed file to a hidden temp name beside its destination, fsyncs it, reads the
  copy back and verifies its sha256 against the source; a copy that fails verification is deleted
  and retried (AUTOCORP_TRANSFER_ATTEMPTS, default 3); only a verified copy is renamed into place,
  so a half file is never visible;
- writes a task report `logs/transfer/<execution_id>.json` (files transferred / skipped /
  verified / failed, bytes, and per file: destination, size, sha256, attempts, status).
If any file fails, the report is still written and `TransferError` is raised naming the file and
the report.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Callable

from autocorp_lake import config
from autocorp_lake.local.files import fsync_dir
from autocorp_lake.local.services import ServiceError

MANIFEST_FILE = "data_validation_manifest.json"
MANIFEST_FEED = "manifest"
# the DataSync task's include filter (infra/modules/datasync/main.tf): *.csv anywhere, the manifest at the root
INCLUDE_FILTER = f"*.csv|/{MANIFEST_FILE}"
TMP_SUFFIX = ".inprogress"
CHUNK = 4 * 1024 * 1024


class TransferError(ServiceError):
    """A transfer could not complete; the message names the file and the report."""


def csv_root() -> Path:
    return config.lake_root() / "raw" / "csv"


def report_dir() -> Path:
    return config.lake_root() / "logs" / "transfer"


def _record_path() -> Path:
    return report_dir() / "_transferred.json"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while True:
            block = handle.read(CHUNK)
            if not block:
                return digest.hexdigest()
            digest.update(block)


def _copy_file(source: Path, target: Path) -> None:
    """Copy bytes and make them durable (module-level so tests can break it)."""
    with open(source, "rb") as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst, CHUNK)
        dst.flush()
        os.fsync(dst.fileno())


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}{TMP_SUFFIX}")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=False, default=str)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def _feed_of(name: str) -> str | None:
    if name == MANIFEST_FILE:
        return MANIFEST_FEED
    for feed in config.registry().feeds:
        if feed.file == name:
            return feed.name
    return None


def included(relative: str) -> bool:
    """Whether DataSync's SIMPLE_PATTERN include filter selects this path of the share."""
    import fnmatch

    for pattern in INCLUDE_FILTER.split("|"):
        if pattern.startswith("/"):
            if "/" + relative == pattern:
                return True
        elif fnmatch.fnmatchcase(relative.rsplit("/", 1)[-1], pattern):
            return True
    return False


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _attempts() -> int:
    return config.transfer_attempts()


def transfer(source_dir: str | Path | None = None, log: Callable = print) -> dict:
    """One execution of the local DataSync task; returns (and writes) its task report."""
    source = Path(source_dir) if source_dir else config.export_dir()
    if not source.is_dir():
        raise TransferError(
            f"export folder {source} does not exist; write the exports with "
            f"`autocorp-lake seed --csv` or set AUTOCORP_EXPORT_DIR to the share"
        )
    started = _now()
    execution_id = f"exec-{started.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    record_path = _record_path()
    records: dict = json.loads(record_path.read_text()) if record_path.exists() else {}
    # temp files of an interrupted run are never valid data
    if csv_root().exists():
        for leftover in csv_root().rglob(f"*{TMP_SUFFIX}"):
            leftover.unlink(missing_ok=True)

    entries: list[dict] = []
    totals = {"transferred": 0, "skipped": 0, "verified": 0, "failed": 0, "ignored": 0,
              "bytes_transferred": 0, "bytes_scanned": 0}
    shared = sorted(p for p in source.rglob("*")
                    if p.is_file() and not any(part.startswith(".") for part in p.relative_to(source).parts))
    for path in shared:
        relative = path.relative_to(source).as_posix()
        if not included(relative):
            totals["ignored"] += 1
            entries.append({"source": str(path), "status": "IGNORED",
                            "reason": f"outside the DataSync task's include filter {INCLUDE_FILTER}"})
            continue
        feed = _feed_of(path.name) if "/" not in relative else None
        key = f"raw/csv/{relative}"
        target = config.lake_root() / key
        size = path.stat().st_size
        checksum = sha256_of(path)
        totals["bytes_scanned"] += size
        entry = {"source": str(path), "destination": config.lake_uri(key), "key": key,
                 "feed": feed, "size": size, "sha256": checksum}
        previous = records.get(key)
        if (
            previous
            and previous["size"] == size
            and previous["sha256"] == checksum
            and target.is_file()
            and target.stat().st_size == size
        ):
            totals["skipped"] += 1
            entries.append({**entry, "status": "SKIPPED", "reason": "unchanged (size + sha256)"})
            continue

        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}{TMP_SUFFIX}")
        attempts, failures, done = 0, [], False
        while attempts < _attempts() and not done:
            attempts += 1
            try:
                _copy_file(path, tmp)
                copied = sha256_of(tmp)
                if copied != checksum:
                    # the source may have changed while copying: hash it again before blaming the copy
                    checksum_now = sha256_of(path)
                    if copied == checksum_now:
                        checksum, entry["sha256"] = checksum_now, checksum_now
                        entry["size"] = size = path.stat().st_size
                        done = True
                    else:
                        failures.append(f"attempt {attempts}: checksum of the copy {copied[:12]}... "
                                        f"!= source {checksum[:12]}...")
                        tmp.unlink(missing_ok=True)
                        checksum = checksum_now
                        entry["sha256"] = checksum
                else:
                    done = True
            except OSError as exc:
                failures.append(f"attempt {attempts}: {exc}")
                tmp.unlink(missing_ok=True)
        entry.update(attempts=attempts, verification_failures=failures)
        if not done:
            tmp.unlink(missing_ok=True)
            totals["failed"] += 1
            entries.append({**entry, "status": "FAILED", "verified": False})
            log(f"FAILED {path.name}: {'; '.join(failures)}")
            continue
        os.replace(tmp, target)
        fsync_dir(target.parent)
        totals["transferred"] += 1
        totals["verified"] += 1
        totals["bytes_transferred"] += size
        records[key] = {"size": size, "sha256": checksum, "execution_id": execution_id,
                        "transferred_at": _now().isoformat()}
        _write_json(record_path, records)
        entries.append({**entry, "status": "TRANSFERRED", "verified": True})
        log(f"transferred {path.name} -> {key} ({size} bytes, sha256 verified"
            + (f", after {attempts} attempts)" if attempts > 1 else ")"))

    finished = _now()
    report = {
        "execution_id": execution_id,
        "task": config.aws_names().datasync_task_name,
        "status": "ERROR" if totals["failed"] else "SUCCESS",
        "source": str(source),
        "destination": config.lake_uri("raw/csv"),
        "started_at": started.isoformat(),
        "finished_at": finished.isoformat(),
        "duration_seconds": round((finished - started).total_seconds(), 3),
        "verify_mode": "POINT_IN_TIME_CONSISTENT (sha256 of every copy)",
        "transfer_mode": "CHANGED (size + sha256 against the previous transfers)",
        "files_transferred": totals["transferred"],
        "files_skipped": totals["skipped"],
        "files_verified": totals["verified"],
        "files_failed": totals["failed"],
        "files_ignored": totals["ignored"],
        "bytes_transferred": totals["bytes_transferred"],
        "bytes_scanned": totals["bytes_scanned"],
        "files": entries,
    }
    report_path = report_dir() / f"{execution_id}.json"
    _write_json(report_path, report)
    report["report_path"] = str(report_path)
    log(f"transfer {execution_id}: {totals['transferred']} transferred, {totals['skipped']} "
        f"skipped, {totals['failed']} failed; report {report_path}")
    if totals["failed"]:
        names = ", ".join(Path(e["source"]).name for e in entries if e["status"] == "FAILED")
        raise TransferError(
            f"{totals['failed']} file(s) failed verification after {_attempts()} attempts: {names}; "
            f"nothing partial was left in raw/csv; see the report {report_path} and rerun the transfer"
        )
    return report
