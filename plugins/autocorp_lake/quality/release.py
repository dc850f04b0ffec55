"""Re-release a quarantined batch after it was fixed: one call (wired as a CLI subcommand).

    python -c "from autocorp_lake.quality.release import release; release('sales_order', '<run_id>')"

`release(name, run_id)` moves `quarantine/<zone>/<run_id>/batch/` back to `staged/<zone>/<run_id>/`
and runs the gate again on it: a batch that still fails goes straight back to quarantine (and the
call raises `QualityGateFailed`); a passing batch stays staged, and promote for that run_id
publishes it (rerun the DAG's promote task, or `glue_scripts/promote.py --run_id <run_id>`).
`name` is a table name, a feed name with kind="feed", or the zone name `feed_<feed>`.
"""

from __future__ import annotations

import datetime as dt

from autocorp_lake.quality import gate, suites


def release(name: str, run_id: str, kind: str | None = None, lake_root: str | None = None,
            registry: str | None = None, engine: str | None = None, now: dt.datetime | None = None) -> dict:
    if kind is None:
        kind = "feed" if name.startswith("feed_") else "table"
    if kind == "feed" and name.startswith("feed_"):
        name = name[len("feed_"):]
    zone = suites.suite_name(kind, name)
    run_id = gate.safe_run_id(run_id)
    if lake_root is None:
        from autocorp_lake import config

        lake_root = config.lake_uri()
    lake_root = lake_root.rstrip("/")
    source = gate.join(gate.quarantine_uri(lake_root, zone, run_id), gate.QUARANTINE_BATCH_DIR)
    target = gate.staged_uri(lake_root, zone, run_id)
    if not gate.exists(source):
        raise gate.GateError(f"no quarantined batch at {source}; nothing to release")
    if gate.exists(target):
        raise gate.GateError(f"{target} already exists; promote or remove it before releasing {run_id}")
    gate.move_tree(source, target)
    batch = {"--kind": kind, "--name": name, "--run_id": run_id, "--lake_root": lake_root}
    if registry:
        batch["--registry"] = registry
    summary = gate.run_gate(batch, engine=engine, now=now)
    summary["released_from"] = source
    return summary
