"""Glue job: the quality gate of one staged batch on Spark, for batches too big for a worker.

The `quality_gate` task of a pipeline starts this job when the batch has at least
AUTOCORP_GATE_PANDAS_MAX_ROWS rows (see autocorp_lake.quality.dispatch). It runs the same suite
and the same gate code as the worker (`autocorp_lake.quality.gate.run_gate`, on Spark): it writes
`logs/quality/<zone>/<run_id>/result.json`, rebuilds the Data Docs, and on a critical failure
moves the batch to quarantine and fails, so the task fails and promote does not run.

Arguments (the pipeline's script_args): --run_id, --kind table|feed, --name, --lake_root,
--registry. The suites are read beside the registry (`<registry folder>/quality/*.json`): on AWS
`s3://<lake>/config/`, uploaded by Terraform; the `autocorp_lake` package comes with
`--extra-py-files .../autocorp_lake.zip` (built by `make bundle`) and GX with
`--additional-python-modules`.
"""

from __future__ import annotations

import os
import tempfile
from typing import Sequence

import glue_compat


def include_from_registry(registry: str | None) -> None:
    """On S3, copy the registry and the suites to a local include/ folder the gate reads."""
    if not registry or not registry.startswith("s3://"):
        return  # local: the repo's include/ is found by autocorp_lake.config
    folder = registry.rsplit("/", 1)[0]
    include = tempfile.mkdtemp(prefix="autocorp-include-")
    os.makedirs(os.path.join(include, "quality"))
    with open(os.path.join(include, "tables.yaml"), "w", encoding="utf-8") as handle:
        handle.write(glue_compat.read_text(registry))
    suites = glue_compat.list_files(glue_compat.join(folder, "quality"), suffix=".json")
    if not suites:
        raise FileNotFoundError(f"no suites under {folder}/quality/; upload include/quality/*.json there (terraform apply)")
    for uri in suites:
        with open(os.path.join(include, "quality", uri.rsplit("/", 1)[1]), "w", encoding="utf-8") as handle:
            handle.write(glue_compat.read_text(uri))
    os.environ["AUTOCORP_INCLUDE_DIR"] = include


def batch_arguments(args: dict) -> dict[str, str]:
    """The job's arguments back in the pipeline's `--name value` form, as run_gate takes them."""
    return {f"--{key}": value for key, value in args.items() if value is not None and key != "JOB_NAME"}


def main(argv: Sequence[str] | None = None) -> dict:
    args = glue_compat.parse_args(
        argv,
        required=["run_id"],
        optional={"kind": "table", "name": None, "table": None, "feed": None, "lake_root": None,
                  "registry": None, "JOB_NAME": "quality_gate"},
    )
    args["name"] = args["name"] or args.get(args["kind"])
    if not args["name"]:
        raise glue_compat.ArgumentError("pass --kind table|feed and --name (the table or the feed)")
    try:
        from autocorp_lake.quality import gate
    except ImportError as exc:
        raise ImportError(
            "autocorp_lake is not importable: add autocorp_lake.zip (built by `make bundle`) to --extra-py-files, "
            "and great_expectations to --additional-python-modules"
        ) from exc
    include_from_registry(args["registry"])
    spark = glue_compat.get_spark("autocorp-quality-gate")
    context = glue_compat.glue_context(spark)
    job = glue_compat.job(context)
    job.init(args["JOB_NAME"], args)
    summary = gate.run_gate(batch_arguments(args), engine="spark")  # raises QualityGateFailed on critical failures
    job.commit()
    return summary


if __name__ == "__main__":
    main()
