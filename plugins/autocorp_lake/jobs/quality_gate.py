"""Glue job quality_gate: the quality gate of one staged batch on Spark, for batches too big for a
worker.

The `quality_gate` task of a pipeline starts this job when the batch has at least
AUTOCORP_GATE_PANDAS_MAX_ROWS rows (see autocorp_lake.quality.dispatch). It runs the same suite
and the same gate code as the worker (`autocorp_lake.quality.gate.run_gate`, on Spark): it writes
`logs/quality/<zone>/<run_id>/result.json`, rebuilds the Data Docs, and on a critical failure
moves the batch to quarantine and fails, so the task fails and promote does not run.

Arguments: those of every batch job (`lake.BatchArgs`). The suites are read beside the registry
(`<registry folder>/quality/*.json`): on AWS `s3://<lake>/config/`, uploaded by Terraform; GX
comes with `--additional-python-modules`.
"""

from __future__ import annotations

from typing import Sequence

from autocorp_lake import config, lake
from autocorp_lake.jobs import glue


def main(argv: Sequence[str] | None = None) -> dict:
    from autocorp_lake.quality import gate

    batch, args = lake.BatchArgs.from_argv(argv, "quality_gate")
    config.use_include_from(batch.registry, with_suites=True)
    _, job = glue.start(args["JOB_NAME"], args, "autocorp-quality-gate")
    summary = gate.run_gate(batch, engine="spark")  # raises QualityGateFailed on critical failures
    job.commit()
    return summary
