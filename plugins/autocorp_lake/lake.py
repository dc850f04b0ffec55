"""The lake as a key space, on either target: a local folder laid out like the bucket, or s3://.

One home for: URIs and their I/O (list, read, write, move, copy to and from local disk), the zone
layout (raw, staged, quarantine, curated, logs) and its paths, the checkpoints, and `BatchArgs`,
the arguments every batch job takes. The Glue jobs, the gate, release, results and held all use it;
it runs on an MWAA worker, in a Glue job (from the package zip) and locally.

A batch's life, with the keys it touches (zone = the table, or `feed_<feed>` for a CSV feed):
  raw/database/<schema>/<table>/...  or  raw/csv/<file>          what DMS / DataSync wrote
  staged/<zone>/<run_id>/*.parquet + _batch.json                 apply_changes / clean_feed
  logs/quality/<zone>/<run_id>/result.json                       the gate's verdict
  quarantine/<zone>/<run_id>/batch/                              a batch the gate refused
  curated/hudi/<table>/                                          promote (Hudi)
  staged/_checkpoints/<zone>.json                                files and batches promoted
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

# --- URIs ----------------------------------------------------------------------------------------


def join(root: str, *keys: str) -> str:
    """root + keys with single slashes (local paths and s3:// URIs alike)."""
    parts = [str(root).rstrip("/")] + [str(k).strip("/") for k in keys if str(k).strip("/")]
    return "/".join(parts)


def is_s3(uri: str) -> bool:
    return str(uri).startswith("s3://")


def split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = str(uri)[len("s3://"):].partition("/")
    return bucket, key


def relative_key(lake_root: str, uri: str) -> str:
    """uri as a key of the lake (what checkpoints and manifests record)."""
    root = str(lake_root).rstrip("/") + "/"
    return uri[len(root):] if uri.startswith(root) else uri


def _s3():
    import boto3  # on MWAA and Glue; only needed for s3:// URIs

    return boto3.client("s3")


def _skipped(name: str) -> bool:
    """Hidden and temporary names ('.x', '_x'): writers use them for files not yet complete."""
    return name.startswith((".", "_"))


# --- listing -------------------------------------------------------------------------------------


def list_keys(uri: str, start_after: str | None = None) -> list[str]:
    """Every object/file under uri (recursive), sorted, as full URIs/paths; with start_after (a
    full URI/path) only those after it in key order (S3 lists from there, not from the start)."""
    if is_s3(uri):
        bucket, prefix = split_s3(uri.rstrip("/") + "/")
        paging = {"StartAfter": split_s3(start_after)[1]} if start_after else {}
        out = []
        for page in _s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, **paging):
            out += [f"s3://{bucket}/{item['Key']}" for item in page.get("Contents", [])]
        return sorted(out)
    if not os.path.isdir(uri):
        return []
    keys = sorted(p.as_posix() for p in Path(uri).rglob("*") if p.is_file())
    return [key for key in keys if key > start_after] if start_after else keys


def _s3_level(uri: str):
    """(bucket, prefix, pages) of one S3 folder level: its objects and its sub-folders."""
    bucket, prefix = split_s3(uri.rstrip("/") + "/")
    return bucket, prefix, _s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/")


def list_folders(uri: str) -> list[str]:
    """The names of the folders directly under uri (a Hudi table's partitions: `order_month=2024-01`)."""
    if is_s3(uri):
        _, prefix, pages = _s3_level(uri)
        return sorted(item["Prefix"][len(prefix):].rstrip("/") for page in pages for item in page.get("CommonPrefixes", []))
    if not os.path.isdir(uri):
        return []
    return sorted(p.name for p in Path(uri).iterdir() if p.is_dir())


def list_children(uri: str) -> list[str]:
    """The files directly under uri (not recursive): Hudi's timeline folder without its subfolders."""
    if is_s3(uri):
        bucket, _, pages = _s3_level(uri)
        return sorted(f"s3://{bucket}/{item['Key']}" for page in pages for item in page.get("Contents", []))
    if not os.path.isdir(uri):
        return []
    return sorted(str(p) for p in Path(uri).iterdir() if p.is_file())


def list_files(uri: str, suffix: str = ".parquet") -> list[str]:
    """Files under uri ending with suffix (recursive), sorted, without hidden or temporary names in
    their path below uri (a Hudi table's .hoodie/, a writer's _temporary/ or .tmp- files)."""
    base = str(uri).rstrip("/")
    return [key for key in list_keys(uri)
            if key.endswith(suffix) and not any(_skipped(part) for part in key[len(base) + 1:].split("/"))]


def some_files(uri: str, suffix: str = ".parquet", limit: int = 100) -> list[str]:
    """Up to `limit` file names directly under uri (one listing call): enough to tell how a
    folder's files are named without listing all of them."""
    if is_s3(uri):
        bucket, prefix = split_s3(uri.rstrip("/") + "/")
        page = _s3().list_objects_v2(Bucket=bucket, Prefix=prefix, Delimiter="/", MaxKeys=limit)
        names = [item["Key"].rsplit("/", 1)[-1] for item in page.get("Contents", [])]
    else:
        names = sorted(os.listdir(uri))[:limit] if os.path.isdir(uri) else []
    return [n for n in names if n.endswith(suffix) and not _skipped(n)]


def batch_manifests(uri: str) -> list[str]:
    """Every `_batch.json` under uri (recursive), sorted: the manifests of staged or quarantined
    batches."""
    return [key for key in list_keys(uri) if key.rsplit("/", 1)[-1] == BATCH_MANIFEST]


# --- reading and writing -------------------------------------------------------------------------


def exists(uri: str) -> bool:
    if is_s3(uri):
        bucket, key = split_s3(uri)
        return _s3().list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1).get("KeyCount", 0) > 0
    return os.path.exists(uri)


def read_text(uri: str) -> str:
    if is_s3(uri):
        bucket, key = split_s3(uri)
        return _s3().get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    return Path(uri).read_text(encoding="utf-8")


def write_text(uri: str, text: str) -> None:
    """Write a whole object: an S3 put, or locally a temp file renamed into place (atomic)."""
    if is_s3(uri):
        bucket, key = split_s3(uri)
        _s3().put_object(Bucket=bucket, Key=key, Body=text.encode("utf-8"))
        return
    folder = os.path.dirname(uri)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, uri)


def read_json(uri: str) -> dict:
    return json.loads(read_text(uri))


def write_json(uri: str, data) -> None:
    write_text(uri, json.dumps(data, indent=2, default=str))


def move_tree(src: str, dst: str) -> None:
    """Move a batch folder (local rename, or S3 copy + delete)."""
    if is_s3(src):
        client = _s3()
        for key in list_keys(src):
            source_bucket, source_key = split_s3(key)
            bucket, target_key = split_s3(join(dst, key[len(src.rstrip("/")) + 1:]))
            client.copy_object(Bucket=bucket, Key=target_key, CopySource={"Bucket": source_bucket, "Key": source_key})
            client.delete_object(Bucket=source_bucket, Key=source_key)
        return
    if os.path.exists(dst):
        shutil.rmtree(dst)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.move(src, dst)


def remove_tree(uri: str) -> None:
    """A folder and everything under it, or one file; nothing when absent."""
    if is_s3(uri):
        client = _s3()
        for key in list_keys(uri) or ([uri] if exists(uri) else []):
            client.delete_object(Bucket=split_s3(key)[0], Key=split_s3(key)[1])
        return
    if os.path.isdir(uri):
        shutil.rmtree(uri, ignore_errors=True)
    elif os.path.exists(uri):
        os.remove(uri)


def download(uri: str, path: str) -> str:
    """One s3:// object into a local file."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    _s3().download_file(*split_s3(uri), path)
    return path


def download_tree(uri: str, dest: str) -> str:
    """An s3:// folder into a local folder."""
    for key in list_keys(uri):
        download(key, os.path.join(dest, key[len(uri.rstrip("/")) + 1:]))
    return dest


def upload_tree(folder: str, uri: str) -> None:
    client = _s3()
    for path in Path(folder).rglob("*"):
        if path.is_file():
            bucket, key = split_s3(join(uri, str(path.relative_to(folder))))
            client.upload_file(str(path), bucket, key)


# --- the zones -----------------------------------------------------------------------------------

BATCH_MANIFEST = "_batch.json"
QUARANTINED_BATCH = "batch"  # quarantine/<zone>/<run_id>/batch/: the staged folder as the gate found it
EXPORT_MANIFEST_KEY = "raw/csv/data_validation_manifest.json"


def zone_name(kind: str, name: str) -> str:
    """A table's zone is its name; a CSV feed's is `feed_<feed>` (the name of its GX suite too),
    so a feed and a table of one name never share a folder."""
    if kind not in ("table", "feed"):
        raise ValueError(f"kind {kind!r} is not table or feed")
    return name if kind == "table" else f"feed_{name}"


RAW_DATABASE_PREFIX = "raw/database"
RAW_CSV_PREFIX = "raw/csv"


def raw_table_prefix(schema: str, table: str) -> str:
    """A database table's DMS files, full load and CDC in one folder (CdcPath applies only with
    PreserveTransactions, which infra/ does not set):
      raw/database/<schema>/<table>/LOAD00000001.parquet
      raw/database/<schema>/<table>/YYYY/MM/DD/<yyyymmdd-hhmmssfff>.parquet"""
    return f"{RAW_DATABASE_PREFIX}/{schema}/{table}"


def is_cdc_key(key: str) -> bool:
    """A DMS CDC file: `<table folder>/YYYY/MM/DD/<name>.parquet`. Such keys sort in time order,
    and before the table's LOAD files."""
    parts = key.split("/")
    return (len(parts) >= 4 and key.endswith(".parquet") and not _skipped(parts[-1])
            and all(p.isdigit() for p in parts[-4:-1]) and len(parts[-4]) == 4)


def cdc_file_time(key: str) -> dt.datetime | None:
    """When DMS wrote a CDC file: its name, yyyymmdd-hhmmssfff (UTC); None for another key."""
    if not is_cdc_key(key):
        return None
    try:
        return dt.datetime.strptime(key.rsplit("/", 1)[-1][:-len(".parquet")] + "000", "%Y%m%d-%H%M%S%f").replace(
            tzinfo=dt.timezone.utc)
    except ValueError:
        return None


def raw_csv_key(file: str) -> str:
    """Where DataSync puts a feed's file: it copies the share as it is under raw/csv/."""
    return f"{RAW_CSV_PREFIX}/{file}"


def staged_prefix(zone: str, run_id: str | None = None) -> str:
    return f"staged/{zone}/{run_id}" if run_id else f"staged/{zone}"


def quarantine_prefix(zone: str, run_id: str | None = None) -> str:
    return f"quarantine/{zone}/{run_id}" if run_id else f"quarantine/{zone}"


def rejects_prefix(zone: str, run_id: str) -> str:
    """A feed's rejected rows, with their reasons."""
    return f"{quarantine_prefix(zone, run_id)}/rejects"


def quality_prefix(zone: str, run_id: str | None = None) -> str:
    """The gate's results of a batch (result.json, validation_result.json)."""
    return f"logs/quality/{zone}/{run_id}" if run_id else f"logs/quality/{zone}"


QUALITY_RESULTS_PREFIX = "logs/quality/gx_results"
DATA_DOCS_PREFIX = "logs/quality/data_docs"


def rejects_summary_key(zone: str, run_id: str) -> str:
    return f"{quality_prefix(zone, run_id)}/rejects_summary.json"


def run_prefix(run_id: str) -> str:
    """What a DAG run's steps leave for its later tasks (promote results, reconcile)."""
    return f"logs/runs/{run_id}"


def job_result_key(run_id: str, job: str, zone: str) -> str:
    """What a job did for one batch of a DAG run (apply_changes / clean_feed: staged and gated, with
    the seconds of each; promote: the Hudi commit), read by metrics, status and `bench`."""
    return f"{run_prefix(run_id)}/{job}/{zone}.json"


def job_run_key(run_id: str, job: str) -> str:
    """One job run of a DAG run as a whole: its wall seconds (per phase) and its batches, read by
    `bench` (a job stages or promotes several batches at a time, so their seconds overlap)."""
    return f"{run_prefix(run_id)}/{job}.json"


def write_job_run(batches: list, job: str, seconds: float, **details) -> None:
    """Record one job run of a DAG run (`job_run_key`): its zones, wall seconds and `details`."""
    if batches:
        write_json(batches[0].uri(job_run_key(batches[0].run_id, job)),
                   {"job": job, "zones": [batch.zone for batch in batches], **details,
                    "seconds": round(seconds, 2)})


CURATED_PREFIX = "curated/hudi"


def hudi_prefix(table: str) -> str:
    return f"{CURATED_PREFIX}/{table}"


def hudi_table_uri(lake_root: str, table: str) -> str:
    return join(lake_root, hudi_prefix(table))


def hudi_table_exists(lake_root: str, table: str) -> bool:
    return exists(join(lake_root, hudi_prefix(table), ".hoodie", "hoodie.properties"))


def built_from_raw(table: str) -> list[str]:
    """What the lake built from a table's raw files, which a new full load supersedes: its
    checkpoint, its staged and quarantined batches, its curated table."""
    return [checkpoint_key(table), staged_prefix(table) + "/", quarantine_prefix(table) + "/",
            hudi_prefix(table) + "/"]


# --- checkpoints ---------------------------------------------------------------------------------


def checkpoint_key(zone: str) -> str:
    """The committed checkpoint of a zone: raw files processed, batches promoted."""
    return f"staged/_checkpoints/{zone}.json"


def read_checkpoint(lake_root: str, zone: str) -> dict:
    uri = join(lake_root, checkpoint_key(zone))
    data = read_json(uri) if exists(uri) else {"table": zone}
    data.setdefault("files", [])
    data.setdefault("batches", [])
    return data


def advance_checkpoint(lake_root: str, zone: str, manifest: dict, instant: str | None) -> dict:
    """Append a promoted batch's files and id to its zone's checkpoint."""
    checkpoint = read_checkpoint(lake_root, zone)
    known = set(checkpoint["files"])
    checkpoint["files"] += [f for f in manifest.get("files", []) if f not in known]
    if manifest["run_id"] not in checkpoint["batches"]:
        checkpoint["batches"].append(manifest["run_id"])
    checkpoint["last_instant"] = instant or checkpoint.get("last_instant")
    checkpoint["updated_at"] = dt.datetime.now(dt.timezone.utc).isoformat()
    write_json(join(lake_root, checkpoint_key(zone)), checkpoint)
    return checkpoint


# --- the arguments of a batch job ----------------------------------------------------------------


class BatchArgsError(ValueError):
    """A job's arguments do not name a batch; the message says which are missing or wrong."""


@dataclass(frozen=True)
class BatchArgs:
    """One batch, as every batch job (apply_changes, clean_feed, promote), the gate and release
    see it. Only `--kind`, `--name`, `--run_id`, `--lake_root` and `--registry`
    travel; everything else is derived here."""

    kind: str
    name: str
    run_id: str
    lake_root: str
    registry: str

    @classmethod
    def of(cls, kind: str, name: str, run_id: str, lake_root: str | None = None,
           registry: str | None = None) -> "BatchArgs":
        from autocorp_lake import config

        if kind not in ("table", "feed"):
            raise BatchArgsError(f"--kind {kind!r} is not table or feed")
        if not name:
            raise BatchArgsError(f"--name is empty; pass the {kind}'s name from include/tables.yaml")
        return cls(kind, name, config.safe_run_id(run_id or "manual"),
                   str(lake_root or config.lake_uri()).rstrip("/"), str(registry or config.registry_uri()))

    @classmethod
    def of_zone(cls, zone: str, run_id: str, lake_root: str | None = None,
                registry: str | None = None) -> "BatchArgs":
        """A batch named by its zone (`customers`, `feed_customers`), as `release` and `status` show it."""
        kind = "feed" if zone.startswith("feed_") else "table"
        return cls.of(kind, zone.removeprefix("feed_"), run_id, lake_root, registry)

    @classmethod
    def many_from_argv(cls, argv: Sequence[str] | None, job: str,
                       **extra: str | None) -> tuple[list["BatchArgs"], dict]:
        """(the batches, the job's own `extra` options) from `--name value` pairs (sys.argv on
        Glue). Every batch job runs every table (or feed) of a DAG run in one Spark application:
        `--name a,b,c` (see `script_args_of`), one batch per name."""
        from autocorp_lake.jobs import glue

        args = glue.parse_args(argv, required=["kind", "name"],
                               optional={"run_id": None, "lake_root": None, "registry": None,
                                         "JOB_NAME": job, **extra})
        names = [name.strip() for name in args["name"].split(",") if name.strip()]
        if not names:
            raise BatchArgsError(f"{job}: --name names no table or feed")
        batches = [cls.of(args["kind"], name, args["run_id"], args["lake_root"], args["registry"])
                   for name in names]
        return batches, {name: args[name] for name in ("JOB_NAME", *extra)}

    @staticmethod
    def script_args_of(batches: Sequence["BatchArgs"]) -> dict[str, str]:
        """One job run's arguments for several batches of one kind and run: `--name a,b,c`."""
        if not batches:
            raise BatchArgsError("no batch to run")
        first = batches[0]
        if any((b.kind, b.run_id, b.lake_root, b.registry) != (first.kind, first.run_id, first.lake_root,
                                                               first.registry) for b in batches):
            raise BatchArgsError("one job run takes batches of one kind, run, lake and registry")
        return first.script_args() | {"--name": ",".join(b.name for b in batches)}

    @classmethod
    def from_script_args(cls, script_args: dict) -> "BatchArgs":
        """A `{"--kind": ..., "--name": ...}` dict of one batch (a job's script arguments)."""
        def arg(name: str) -> str | None:
            value = script_args.get(f"--{name}", script_args.get(name))
            return None if value is None else str(value)

        if not arg("name") or not arg("run_id"):
            raise BatchArgsError(f"a batch needs --name and --run_id, got {sorted(script_args)}")
        return cls.of(arg("kind") or "table", arg("name"), arg("run_id"), arg("lake_root"), arg("registry"))

    def script_args(self) -> dict[str, str]:
        return {"--kind": self.kind, "--name": self.name, "--run_id": self.run_id,
                "--lake_root": self.lake_root, "--registry": self.registry}

    @property
    def zone(self) -> str:
        return zone_name(self.kind, self.name)

    def registry_data(self):
        from autocorp_lake import config

        return config.registry_at(self.registry)

    @property
    def curated_table(self) -> str:
        """The Hudi table the batch goes to (a feed's differs from its name)."""
        if self.kind == "table":
            return self.name
        return self.registry_data().feed(self.name).curated_table

    def uri(self, key: str) -> str:
        return join(self.lake_root, key)

    @property
    def staged(self) -> str:
        return self.uri(staged_prefix(self.zone, self.run_id))

    @property
    def manifest(self) -> str:
        return join(self.staged, BATCH_MANIFEST)

    @property
    def quarantine(self) -> str:
        return self.uri(quarantine_prefix(self.zone, self.run_id))

    @property
    def quality_results(self) -> str:
        return self.uri(quality_prefix(self.zone, self.run_id))

    @property
    def transform_job(self) -> str:
        """The job that stages this kind of batch."""
        return "apply_changes" if self.kind == "table" else "clean_feed"
