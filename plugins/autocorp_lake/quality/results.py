"""Last quality-gate results, for `autocorp-lake quality [--table T] [--run latest]`.

Reads `logs/quality/<zone>/<run_id>/result.json` (written by the gate) from the lake (local folder
or S3) and returns one row per expectation of the chosen run(s), with where the Data Docs are.
"""

from __future__ import annotations

from autocorp_lake import lake


def _lake_root(lake_root: str | None) -> str:
    if lake_root:
        return lake_root.rstrip("/")
    from autocorp_lake import config

    return config.lake_uri()


def load_results(lake_root: str | None = None, zone: str | None = None) -> list[dict]:
    """Every result.json under logs/quality/ (one zone, or all), oldest first."""
    root = _lake_root(lake_root)
    base = lake.join(root, lake.quality_prefix(zone) if zone else lake.quality_prefix(""))
    out = []
    for key in lake.list_keys(base):
        if not key.endswith("/result.json") or "/data_docs/" in key or "/gx_results/" in key:
            continue
        try:
            out.append(lake.read_json(key))
        except (OSError, ValueError):
            continue
    return sorted(out, key=lambda r: r.get("validated_at", ""))


def _zones(name: str | None) -> list[str] | None:
    """--table may name a table, a feed (`feed_<feed>` or the bare feed name), or nothing (all)."""
    if not name:
        return None
    return [name] if name.startswith("feed_") else [name, f"feed_{name}"]


def latest(table: str | None = None, run: str = "latest", lake_root: str | None = None) -> tuple[list[dict], str]:
    """(rows, data_docs_location): rows = table, run_id, expectation, severity, success,
    unexpected count, for the latest run of each table/feed (or the run named by `run`)."""
    root = _lake_root(lake_root)
    zones = _zones(table)
    found = [r for r in load_results(root) if zones is None or r.get("zone") in zones]
    chosen: dict[str, dict] = {}
    for result in found:
        if run not in (None, "", "latest") and result.get("run_id") != run:
            continue
        chosen[result["zone"]] = result  # oldest first: the newest wins
    rows = []
    for zone in sorted(chosen):
        result = chosen[zone]
        if not result.get("results"):
            rows.append({"table": zone, "run_id": result["run_id"],
                         "expectation": f"({result.get('status')}: {result.get('rows', 0)} rows)",
                         "severity": "", "success": True, "unexpected": 0})
        for item in result.get("results", []):
            label = item["expectation"] + (f"({item['column']})" if item.get("column") else "")
            rows.append({"table": zone, "run_id": result["run_id"], "expectation": label,
                         "severity": item["severity"], "success": item["success"],
                         "unexpected": item.get("unexpected_count")})
    return rows, lake.join(root, lake.DATA_DOCS_PREFIX, "index.html")
