"""`bench pipeline` reads what the jobs recorded in the lake: each job run's wall seconds and each
batch's stage, gate and promote seconds."""

from __future__ import annotations

import json

from autocorp_lake.bench import pipeline


def test_the_breakdown_reads_the_job_runs_and_their_batches(tmp_path):
    run = tmp_path / "logs/runs/manual__1"
    (run / "apply_changes").mkdir(parents=True)
    (run / "promote").mkdir()
    (run / "apply_changes.json").write_text(json.dumps({"stage_seconds": 38.42, "gate_seconds": 66.05, "seconds": 104.47}))
    (run / "promote.json").write_text(json.dumps({"seconds": 82.01}))
    (run / "apply_changes/customers.json").write_text(json.dumps(
        {"rows": 1200, "gate": "passed", "stage_seconds": 24.37, "gate_seconds": 18.05}))
    (run / "promote/customers.json").write_text(json.dumps({"duration_seconds": 22.4, "operation": "bulk_insert"}))

    assert pipeline.newest_run(tmp_path, "apply_changes") == run
    stage, promote = pipeline._job_rows(run, "apply_changes", "table")
    assert (stage["value"], promote["value"]) == ("38.4 / 66.0", 82.0)
    [row] = pipeline._breakdown("table", pipeline._per_batch(run, "apply_changes"))
    assert row["value"] == "24.4 / 18.1 / 22.4" and "1200 rows, gate passed, bulk_insert" in row["figure"]
