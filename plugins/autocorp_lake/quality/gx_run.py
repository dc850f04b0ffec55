"""GX Core wiring of the gate: an ephemeral context whose validation results persist in the lake,
one validation of a suite on a pandas or Spark dataframe, its results as summary rows, and the
Data Docs site.

GX validation results are kept in `logs/quality/gx_results/` (the newest AUTOCORP_GATE_DOCS_KEEP
per suite); every run adds its page to the site at `logs/quality/data_docs/` and rebuilds its index
(a staging job's gates: their pages and the index in one build, `publish_runs`). GX 1.x has no S3
stores: with an s3:// lake both are local copies in the run's work folder, and `keep_results` and
`build_docs` upload them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from autocorp_lake import config, lake

SAMPLE_SIZE = 20


def gx_context(results_dir: str, docs_dir: str):
    """An ephemeral GX context whose validation results persist in results_dir (files) and whose
    Data Docs site is docs_dir: every gate run adds its result and rebuilds the whole site."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    defaults = InMemoryStoreBackendDefaults(init_temp_docs_sites=False)
    stores = dict(defaults.stores)
    stores["validation_results_store"] = {
        "class_name": "ValidationResultsStore",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(results_dir)},
    }
    project = DataContextConfig(
        store_backend_defaults=defaults,
        stores=stores,
        data_docs_sites={
            "lake": {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=project)


@dataclass(frozen=True)
class Site:
    """One run's GX context and the local folders of its results and Data Docs."""

    lake_root: str
    results: str
    docs: str
    context: Any


def open_site(lake_root: str, workdir: str) -> Site:
    """The lake's own folders locally; on S3 copies in workdir (the results downloaded first)."""
    if lake.is_s3(lake_root):
        results, docs = os.path.join(workdir, "gx_results"), os.path.join(workdir, "data_docs")
        lake.download_tree(lake.join(lake_root, lake.QUALITY_RESULTS_PREFIX), results)
    else:
        results = lake.join(lake_root, lake.QUALITY_RESULTS_PREFIX)
        docs = lake.join(lake_root, lake.DATA_DOCS_PREFIX)
    return Site(lake_root, results, docs, gx_context(results, docs))


def validate(context, suite, data, engine: str, zone: str, run_id: str, key: str | None,
             parameters: dict, run_time: dt.datetime):
    """Run the suite on a pandas or Spark dataframe; the GX ExpectationSuiteValidationResult.

    Every expectation that fails carries its counts and samples (SUMMARY, with the key of each
    sampled row). On Spark each metric of those is a Spark job of its own (51 jobs for
    sales_order_parts' suite against 13 for pass or fail only: 11 against 5 s on its 1.69M rows in
    a warm session), so a first pass decides pass or fail and a second pass describes only the
    expectations that failed; the stored result holds both."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    if engine == "pandas":
        source = context.data_sources.add_pandas(f"autocorp_{engine}")
    else:
        source = context.data_sources.add_spark(f"autocorp_{engine}")
    asset = source.add_dataframe_asset(zone)
    batch_definition = asset.add_batch_definition_whole_dataframe("staged_batch")
    suite = context.suites.add(suite)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=run_name(zone, run_id), data=batch_definition, suite=suite)
    )
    detailed: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE}
    if key and key in list(data.columns):
        detailed["unexpected_index_column_names"] = [key]
    result = definition.run(
        batch_parameters={"dataframe": data},
        expectation_parameters=parameters,
        result_format=detailed if engine == "pandas" else {"result_format": "BOOLEAN_ONLY"},
        run_id=RunIdentifier(run_name=run_name(zone, run_id), run_time=run_time.replace(tzinfo=dt.timezone.utc)),
    )
    failed = [index for index, item in enumerate(result.results) if not item.success]
    if engine != "pandas" and failed:
        _describe_failures(context, result, failed, batch_definition, data, parameters, detailed, zone, run_id)
    return result


def _signature(config) -> str:
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
    return config.type + json.dumps(kwargs, sort_keys=True, default=str)


def _describe_failures(context, result, failed: list[int], batch_definition, data, parameters: dict,
                       detailed: dict, zone: str, run_id: str) -> None:
    """The failed expectations validated again with counts and samples; their results replace the
    first pass's, in the result and in the results store."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
    from great_expectations.validator.v1_validator import Validator

    configs = [result.results[index].expectation_config for index in failed]
    suite = gx.ExpectationSuite(name=f"{zone}__failed", expectations=[  # copies: not bound to the run's suite
        ExpectationConfiguration(type=c.type, kwargs=c.kwargs, meta=c.meta).to_domain_obj() for c in configs])
    validator = Validator(batch_definition=batch_definition, batch_parameters={"dataframe": data},
                          result_format=detailed)
    described = {_signature(item.expectation_config): item
                 for item in validator.validate_expectation_suite(suite, parameters).results}
    for index in failed:
        result.results[index] = described.get(_signature(result.results[index].expectation_config),
                                              result.results[index])
    store = context.validation_results_store
    for stored in store.list_keys():
        if stored.run_id.run_name == run_name(zone, run_id):
            store.set(stored, result)


def jsonable(value):
    try:
        from great_expectations.util import convert_to_json_serializable

        return convert_to_json_serializable(value)
    except Exception:
        return json.loads(json.dumps(value, default=str))


def summarize(gx_result, key: str | None) -> list[dict]:
    """One row per expectation: type, column, severity, rule, success, counts, samples."""
    rows = []
    for item in gx_result.results:
        expectation = item.expectation_config
        result = item.result or {}
        kwargs = {k: v for k, v in expectation.kwargs.items() if k != "batch_id"}
        sample_keys = []
        for entry in result.get("partial_unexpected_index_list") or []:
            if isinstance(entry, dict) and key in entry:
                sample_keys.append(entry[key])
        exception = (item.exception_info or {}).get("exception_message") if item.exception_info else None
        rows.append(
            {
                "expectation": expectation.type,
                "column": kwargs.get("column"),
                "severity": (expectation.meta or {}).get("severity", "critical"),
                "rule": (expectation.meta or {}).get("rule"),
                "success": bool(item.success),
                "unexpected_count": result.get("unexpected_count"),
                "element_count": result.get("element_count"),
                "observed_value": jsonable(result.get("observed_value")),
                "sample_unexpected": jsonable((result.get("partial_unexpected_list") or [])[:SAMPLE_SIZE]),
                "sample_keys": jsonable(sample_keys[:SAMPLE_SIZE]),
                "exception": exception,
            }
        )
    return rows


def prune_results(results_dir: str, zone: str) -> None:
    """Keep the newest AUTOCORP_GATE_DOCS_KEEP (default 50) GX results of a suite, so the Data
    Docs rebuild stays quick with a CDC run every 10 minutes (result.json files are all kept)."""
    keep = config.gate_docs_keep()
    folder = Path(results_dir) / zone
    if not folder.is_dir():
        return
    runs = sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in runs[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def sync_results_up(results_local: str, results_uri: str, zone: str) -> None:
    """S3 copy of one suite's GX results = the local (pruned) folder: upload new, delete pruned."""
    local = Path(results_local) / zone
    remote = lake.join(results_uri, zone)
    if local.is_dir():
        lake.upload_tree(str(local), remote)
    kept = {str(p.relative_to(local)) for p in local.rglob("*") if p.is_file()} if local.is_dir() else set()
    for key in lake.list_keys(remote):
        if key[len(remote) + 1:] not in kept:
            lake.remove_tree(key)


def run_name(zone: str, run_id: str) -> str:
    """The GX run name of one batch's validation (its result's key and its Data Docs page)."""
    return f"{zone}__{run_id}"


def keep_results(site: Site, zone: str) -> None:
    """Prune the suite's GX results to the newest kept; on S3 upload what is kept."""
    prune_results(site.results, zone)
    if lake.is_s3(site.lake_root):
        sync_results_up(site.results, lake.join(site.lake_root, lake.QUALITY_RESULTS_PREFIX), zone)


def build_docs(site: Site, runs: Sequence[tuple[str, str]]) -> None:
    """Add the runs' pages (zone, run_id) and their suites' pages to the Data Docs site and rebuild
    its index once (not every kept result's page: a CDC round adds one page per table instead of
    rendering hundreds); on S3 upload them."""
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    names = {run_name(zone, run_id) for zone, run_id in runs}
    new = [key for key in site.context.validation_results_store.list_keys() if key.run_id.run_name in names]
    suites = [ExpectationSuiteIdentifier(name=zone) for zone in sorted({zone for zone, _ in runs})]
    site.context.build_data_docs(resource_identifiers=[*new, *suites])
    if lake.is_s3(site.lake_root):
        lake.upload_tree(site.docs, lake.join(site.lake_root, lake.DATA_DOCS_PREFIX))


def publish(site: Site, zone: str, run_id: str) -> None:
    """One gate run's results kept and its Data Docs pages built."""
    keep_results(site, zone)
    build_docs(site, [(zone, run_id)])


def publish_runs(lake_root: str, runs: Sequence[tuple[str, str]]) -> None:
    """The Data Docs of several gate runs (a staging job's, each gated with docs=False) in one build:
    the index reads every kept result (11 suites x 50 runs in steady state), so it is built once
    per job, not once per gate: with 550 kept, a CDC round's 7 pages took 2.5 s in 7 builds, 0.5 s
    in one (warm process)."""
    if runs:
        with tempfile.TemporaryDirectory(prefix="gate-docs-") as workdir:
            build_docs(open_site(lake_root, workdir), runs)
