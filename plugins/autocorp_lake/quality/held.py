"""Which tables are blocked, and how fresh each curated table is.

A batch that failed its gate waits in `quarantine/<zone>/<run_id>/batch/` until it is fixed and
released: its changes are not in curated, and for a database table its raw files are held back.
Such a table is **blocked**, whatever its latest (maybe empty) run says. Freshness is the age of
the oldest source change not yet in curated: the oldest change of a held batch, or of a raw file
that no batch has taken yet. It is 0 when nothing waits and grows while changes wait.

Works on a local lake and on s3:// (the metrics step publishes it to CloudWatch on AWS).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re

from autocorp_lake import config
from autocorp_lake.quality import gate

CDC_FILE = re.compile(r"(\d{8})-(\d{6})(\d{3})\.parquet$")


def _parse_ts(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def held_batches(lake_root: str, zone: str) -> list[dict]:
    """The quarantined batches of a zone, oldest first: run id, since, rows, changes, failures."""
    base = gate.join(lake_root, "quarantine", zone)
    held = []
    for key in gate.list_keys(base):
        if not key.endswith(f"/{gate.QUARANTINE_BATCH_DIR}/_batch.json"):
            continue
        run_id = key[len(base) + 1:].split("/", 1)[0]
        manifest = json.loads(gate.read_text(key))
        result_uri = gate.join(base, run_id, "result.json")
        result = json.loads(gate.read_text(result_uri)) if gate.exists(result_uri) else {}
        counts = manifest.get("counts") or {}
        held.append({
            "run_id": run_id,
            "since": result.get("validated_at") or manifest.get("created_at"),
            "rows": int(manifest.get("rows") or 0),
            "changes": int(manifest.get("input_rows") or sum(counts.values()) or manifest.get("rows") or 0),
            "oldest_change": manifest.get("oldest_change_ts") or manifest.get("created_at"),
            "failed": sorted({f"{r['expectation']}({r['column']})" if r.get("column") else r["expectation"]
                              for r in result.get("critical_failures", [])}),
        })
    return sorted(held, key=lambda b: b["since"] or "")


def _waiting_raw_changes(lake_root: str, table: str) -> dt.datetime | None:
    """Commit time of the oldest CDC file of a table that no batch has taken yet (its name is
    the DMS write time, yyyymmdd-hhmmssfff)."""
    checkpoint_uri = gate.join(lake_root, f"staged/_checkpoints/{table}.json")
    if not gate.exists(checkpoint_uri):
        return None  # not bootstrapped: nothing is due in curated yet
    processed = set(json.loads(gate.read_text(checkpoint_uri)).get("files") or [])
    schema = config.registry().source_schema
    base = gate.join(lake_root, f"raw/database/cdc/{schema}/{table}")
    oldest = None
    for key in gate.list_keys(base):
        match = CDC_FILE.search(key)
        relative = key[len(lake_root.rstrip("/")) + 1:].replace(os.sep, "/")
        if not match or relative in processed:
            continue
        stamp = dt.datetime.strptime("".join(match.groups()), "%Y%m%d%H%M%S%f").replace(tzinfo=dt.timezone.utc)
        oldest = stamp if oldest is None or stamp < oldest else oldest
    return oldest


def table_states(lake_root: str | None = None, now: dt.datetime | None = None) -> list[dict]:
    """One row per table and feed: state (ok | blocked), held batches, rows and changes held,
    blocked since, freshness in seconds, and the command that clears a block."""
    root = (lake_root or config.lake_uri()).rstrip("/")
    now = now or dt.datetime.now(dt.timezone.utc)
    registry = config.registry()
    zones = [(t, t, "table") for t in registry.table_names] + [
        (f"feed_{f}", registry.feed(f).curated_table, "feed") for f in registry.feed_names]
    rows = []
    for zone, curated, kind in zones:
        held = held_batches(root, zone)
        waiting = [_parse_ts(b["oldest_change"]) for b in held]
        if kind == "table":
            waiting.append(_waiting_raw_changes(root, zone))
        waiting = [w for w in waiting if w is not None]
        oldest = min(waiting) if waiting else None
        row = {
            "table": zone, "curated_table": curated, "state": "blocked" if held else "ok",
            "held_batches": len(held), "held_rows": sum(b["rows"] for b in held),
            "held_changes": sum(b["changes"] for b in held),
            "blocked_since": held[0]["since"] if held else None,
            "freshness_seconds": round(max(0.0, (now - oldest).total_seconds()), 1) if oldest else 0.0,
            "fix": None,
        }
        if held:
            first = held[0]
            row["fix"] = (f"fix the batch in {gate.join(root, 'quarantine', zone, first['run_id'], gate.QUARANTINE_BATCH_DIR)} "
                          f"(failed: {', '.join(first['failed']) or 'see result.json'}), then "
                          f"`autocorp-lake release {zone} {first['run_id']}`")
        rows.append(row)
    return rows


def blocked(rows: list[dict]) -> list[dict]:
    return [row for row in rows if row["state"] == "blocked"]
