"""`autocorp-lake bench pipeline`: the bootstrap and the CSV feeds end to end at a scale, with a
per-step breakdown.

In a throwaway environment seeded at the scale (full: 4.2M source rows, 4.2M CSV rows), it runs
`autocorp-lake run autocorp_bootstrap` (checked with reconcile), then `autocorp-lake run
autocorp_files`, and reads what each step recorded in the throwaway lake: the full load's start and
end (the replicator's state), each job run's wall seconds (`logs/runs/<run_id>/<job>.json`), and per
table or feed the seconds the staging job spent staging and gating its batch and the promote job
spent writing it (`logs/runs/<run_id>/<job>/<zone>.json`; batches staged or promoted at the same
time overlap).
"""

from __future__ import annotations

import json
from pathlib import Path

from autocorp_lake.bench.common import throwaway_environment

BOOTSTRAP_GOAL_S = 180
FEEDS_GOAL_S = 300


def lake_root(work: Path) -> Path:
    roots = [p for p in (work / "lake").iterdir() if p.is_dir()]
    return roots[0]


def newest_run(root: Path, job: str) -> Path:
    runs = [p for p in (root / "logs" / "runs").iterdir() if (p / job).is_dir()]
    return max(runs, key=lambda p: (p / job).stat().st_mtime)


def _per_batch(run: Path, staging_job: str) -> list[dict]:
    rows = []
    for staged in sorted((run / staging_job).glob("*.json")):
        outcome = json.loads(staged.read_text())
        promoted = run / "promote" / staged.name
        result = json.loads(promoted.read_text()) if promoted.is_file() else {}
        rows.append({"zone": staged.stem, "rows": outcome.get("rows", outcome.get("accepted")), "gate": outcome.get("gate"),
                     "stage_s": outcome.get("stage_seconds"), "gate_s": outcome.get("gate_seconds"),
                     "promote_s": result.get("duration_seconds"), "operation": result.get("operation")})
    return rows


def job_seconds(run: Path, job: str, phase: str = "seconds") -> float | None:
    """A job run's wall seconds (`logs/runs/<run_id>/<job>.json`; its batches overlap)."""
    summary = run / f"{job}.json"
    return round(json.loads(summary.read_text())[phase], 1) if summary.is_file() else None


def _full_load_seconds(root: Path) -> float | None:
    """What the local DMS's full load took (its state file in the raw zone)."""
    state = root / "raw" / "database" / "_replicator" / "state.json"
    seconds = (json.loads(state.read_text()).get("full_load") or {}).get("seconds") if state.is_file() else None
    return None if seconds is None else round(seconds, 1)


def _breakdown(label: str, rows: list[dict]) -> list[dict]:
    return [{"figure": f"{label} {row['zone']}: stage / gate / promote ({row['rows']} rows, gate {row['gate']}, "
                       f"{row['operation']})",
             "value": " / ".join("-" if row[k] is None else f"{row[k]:.1f}" for k in ("stage_s", "gate_s", "promote_s")),
             "unit": "s"} for row in rows]


def _job_rows(run: Path, staging_job: str, what: str) -> list[dict]:
    """The staging job's wall seconds (its stage phase: several batches at a time; then each gate)
    and the promote job's."""
    return [
        {"figure": f"  {staging_job} job: stage phase ({what}s several at a time) / gate phase (one after the other)",
         "value": f"{job_seconds(run, staging_job, 'stage_seconds')} / {job_seconds(run, staging_job, 'gate_seconds')}",
         "unit": "s"},
        {"figure": f"  promote job (every {what}'s Hudi write, several at a time)", "value": job_seconds(run, "promote"),
         "unit": "s"},
    ]


def run(scale: str = "full") -> dict:
    with throwaway_environment("pipeline", scale=scale) as env:
        bootstrap_s = env.step("run", "autocorp_bootstrap")
        reconcile_s = env.step("reconcile")  # exit 1 on any difference
        files_s = env.step("run", "autocorp_files")
        root = lake_root(env.work)
        table_run, feed_run = newest_run(root, "apply_changes"), newest_run(root, "clean_feed")
        tables, feeds = _per_batch(table_run, "apply_changes"), _per_batch(feed_run, "clean_feed")
        table_jobs, feed_jobs = _job_rows(table_run, "apply_changes", "table"), _job_rows(feed_run, "clean_feed", "feed")
        full_load_s = _full_load_seconds(root)
    rows = [
        {"figure": f"{scale}-scale bootstrap, `run autocorp_bootstrap` (goal <= {BOOTSTRAP_GOAL_S} at full scale)",
         "value": round(bootstrap_s, 1), "unit": "s"},
        {"figure": "  full load (the local DMS: COPY into the DMS parquet files)", "value": full_load_s, "unit": "s"},
        *table_jobs,
        *_breakdown("  table", tables),
        {"figure": "reconcile after it (source vs curated, row by row)", "value": round(reconcile_s, 1), "unit": "s"},
        {"figure": f"{scale}-scale feeds, `run autocorp_files` (goal <= {FEEDS_GOAL_S} at full scale)",
         "value": round(files_s, 1), "unit": "s"},
        *feed_jobs,
        *_breakdown("  feed", feeds),
    ]
    return {"rows": rows, "scale": scale}
