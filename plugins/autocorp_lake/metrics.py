"""Run metrics: rows read/written/rejected per table, CDC freshness, gate results, durations.

What is measured is the same on both targets and built here; where it goes is the target's step:
`targets/aws.py` puts it to CloudWatch (namespace AutoCorpLake), `targets/local.py` appends it as
JSON lines under `logs/metrics/` in the lake (`append_jsonl`), shown by `autocorp-lake status`
(`last_values`).
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

from autocorp_lake import config


def promote_results(run_id: str) -> list[dict]:
    """The result JSON of every promote of one DAG run, from the lake (s3:// or local)."""
    from autocorp_lake import lake

    folder = config.lake_uri(f"{lake.run_prefix(config.safe_run_id(run_id))}/promote")
    return [lake.read_json(uri) for uri in lake.list_files(folder, suffix=".json")]


def run_record(result: dict) -> dict:
    """The metrics of one promote result: rows read/written/rejected, freshness, duration."""
    return {
        "table": result.get("table"),
        "rows_read": result.get("rows"),
        "rows_written": result.get("rows") if result.get("written") else 0,
        "rows_rejected": result.get("rejected") or 0,
        "freshness_seconds": result.get("freshness_seconds"),
        "duration_seconds": result.get("duration_seconds"),
        "operation": result.get("operation") or result.get("skipped"),
        "instant": result.get("instant"),
    }


def run_metrics(context) -> tuple[list[dict], list[dict]]:
    """(one record per promoted table, one state per registry table) of one DAG run, stamped now.
    The promote results are read where the promote job writes them on both targets,
    `logs/runs/<run_id>/promote/<zone>.json` in the lake (on AWS the task's XCom is a job run id)."""
    now = datetime.now(timezone.utc)
    records = [
        {"ts": now.isoformat(), "dag_id": context["dag"].dag_id, "run_id": context["run_id"],
         **run_record(result)}
        for result in promote_results(context["run_id"])
    ]
    return records, table_state_records(now)


def table_state_records(now: datetime) -> list[dict]:
    """Blocked tables and freshness (quality/held.py) as metrics: HeldBatches > 0 and
    FreshnessSeconds above the 15-minute goal are what the CloudWatch alarms watch."""
    from autocorp_lake.quality import held

    return [{"ts": now.isoformat(), "table": row["table"], "state": row["state"],
             "held_batches": row["held_batches"], "held_changes": row["held_changes"],
             "freshness_seconds": row["freshness_seconds"]}
            for row in held.table_states(now=now)]


def append_jsonl(records: list[dict]) -> None:
    """The local metric sink: records appended to `logs/metrics/<yyyymmdd>.jsonl` in the lake."""
    if not records:
        return
    folder = config.lake_root() / "logs" / "metrics"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{time.strftime('%Y%m%d')}.jsonl", "a", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, default=str) + "\n")


def last_values() -> list[dict]:
    """The latest value of each metric per table (run metrics and gate verdicts merged)."""
    folder = config.lake_root() / "logs" / "metrics"
    latest: dict[str, dict] = {}
    for path in sorted(folder.glob("*.jsonl")) if folder.exists() else []:
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            latest.setdefault(str(record.get("table")), {}).update(record)
    return list(latest.values())


def gate_record(name: str, run_id: str, result: dict | None) -> dict:
    """One gate verdict as a metric record: `result` is the gate's summary, None when it failed."""
    warnings = (result or {}).get("warnings", [])
    return {
        "ts": datetime.now(timezone.utc).isoformat(),
        "table": name,
        "run_id": run_id,
        "gate": "failed" if result is None else "passed",
        "gate_warnings": len(warnings) if isinstance(warnings, list) else int(warnings or 0),
    }
