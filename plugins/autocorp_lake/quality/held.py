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

from autocorp_lake import config, lake


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
    base = lake.join(lake_root, lake.quarantine_prefix(zone))
    held = []
    for key in lake.batch_manifests(base):
        if not key.endswith(f"/{lake.QUARANTINED_BATCH}/{lake.BATCH_MANIFEST}"):
            continue
        run_id = key[len(base) + 1:].split("/", 1)[0]
        manifest = lake.read_json(key)
        result_uri = lake.join(base, run_id, "result.json")
        result = lake.read_json(result_uri) if lake.exists(result_uri) else {}
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
    the DMS write time, yyyymmdd-hhmmssfff). The listing starts after the newest CDC file the
    checkpoint holds (CDC keys sort by time), so it stays short however long the table has run."""
    if not lake.exists(lake.join(lake_root, lake.checkpoint_key(table))):
        return None  # not bootstrapped: nothing is due in curated yet
    processed = set(lake.read_checkpoint(lake_root, table)["files"])
    newest_taken = max((f for f in processed if lake.is_cdc_key(f)), default=None)
    base = lake.join(lake_root, lake.raw_table_prefix(config.registry().source_schema, table))
    oldest = None
    for key in lake.list_keys(base, start_after=lake.join(lake_root, newest_taken) if newest_taken else None):
        stamp = lake.cdc_file_time(lake.relative_key(lake_root, key))
        if stamp is None or lake.relative_key(lake_root, key) in processed:
            continue
        oldest = stamp if oldest is None or stamp < oldest else oldest
    return oldest


def table_states(lake_root: str | None = None, now: dt.datetime | None = None) -> list[dict]:
    """One row per table and feed: state (ok | blocked), held batches, rows and changes held,
    blocked since, freshness in seconds, and the command that clears a block."""
    root = (lake_root or config.lake_uri()).rstrip("/")
    now = now or dt.datetime.now(dt.timezone.utc)
    registry = config.registry()
    zones = [(t, t, "table") for t in registry.table_names] + [
        (lake.zone_name("feed", f), registry.feed(f).curated_table, "feed") for f in registry.feed_names]
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
            row["fix"] = (f"fix the batch in {lake.join(root, lake.quarantine_prefix(zone, first['run_id']), lake.QUARANTINED_BATCH)} "
                          f"(failed: {', '.join(first['failed']) or 'see result.json'}), then "
                          f"`autocorp-lake release {zone} {first['run_id']}`")
        rows.append(row)
    return rows


def blocked(rows: list[dict]) -> list[dict]:
    return [row for row in rows if row["state"] == "blocked"]
