"""GX suites as JSON files in include/quality/: one per registry table (`<table>.json`) and one per
CSV feed (`feed_<feed>.json`).

A suite file is GX 1.x suite JSON (`name`, `expectations` [{type, kwargs, meta}], `meta`), with two
house rules checked here:
- every expectation has `meta.severity` in (critical, warning): critical blocks promote, warning
  is recorded;
- GX must keep every expectation: GX silently drops malformed ones in some paths, so the loader
  counts the expectations of the file and of the loaded `ExpectationSuite` and raises
  `SuiteError` when they differ.

`meta.autocorp.derived_columns` lists the `_chk_*` columns the gate adds before validating
(cross-column differences, referential-integrity orphans, parsed commit time); see derived.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SEVERITIES = ("critical", "warning")


class SuiteError(ValueError):
    """A suite file is missing or malformed; the message names the file and the fix."""


def suite_name(kind: str, name: str) -> str:
    """The suite (and zone) name of a batch: the table name, or `feed_<feed>` for a CSV feed."""
    if kind == "feed":
        return f"feed_{name}"
    if kind == "table":
        return name
    raise SuiteError(f"--kind {kind!r} is not 'table' or 'feed'")


def suites_dir() -> Path:
    from autocorp_lake import config

    return config.include_dir() / "quality"


def suite_path(name: str, directory: Path | None = None) -> Path:
    return Path(directory or suites_dir()) / f"{name}.json"


def read_suite_json(name: str, directory: Path | None = None) -> dict[str, Any]:
    path = suite_path(name, directory)
    if not path.is_file():
        raise SuiteError(f"no suite file {path}; add include/quality/{name}.json (GX 1.x suite JSON)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SuiteError(f"{path}: not valid JSON ({exc})") from exc
    check_suite_json(data, str(path))
    return data


def check_suite_json(data: dict[str, Any], where: str = "suite") -> None:
    """House rules on the raw JSON: a name, a list of expectations, each with a type and a severity."""
    if not isinstance(data.get("name"), str) or not data["name"]:
        raise SuiteError(f"{where}: the suite has no 'name'")
    expectations = data.get("expectations")
    if not isinstance(expectations, list) or not expectations:
        raise SuiteError(f"{where}: 'expectations' must be a non-empty list")
    for index, item in enumerate(expectations):
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise SuiteError(f"{where}: expectation #{index} has no 'type'")
        severity = (item.get("meta") or {}).get("severity")
        if severity not in SEVERITIES:
            raise SuiteError(
                f"{where}: expectation #{index} ({item['type']}) has meta.severity={severity!r}; "
                f"set it to one of {SEVERITIES}"
            )


def to_gx_suite(data: dict[str, Any], where: str = "suite"):
    """The JSON as a GX `ExpectationSuite`; raises SuiteError if GX kept fewer expectations."""
    import great_expectations as gx

    expected = len(data["expectations"])
    try:
        suite = gx.ExpectationSuite(
            name=data["name"],
            expectations=[dict(item) for item in data["expectations"]],
            meta=data.get("meta") or {},
            notes=data.get("notes"),
        )
    except Exception as exc:  # GX raises pydantic / InvalidExpectationConfigurationError
        raise SuiteError(f"{where}: GX rejected the suite: {exc}") from exc
    loaded = len(suite.expectations)
    if loaded != expected:
        raise SuiteError(
            f"{where}: the file has {expected} expectations but GX loaded {loaded}; "
            "a malformed expectation was dropped: fix its type/kwargs"
        )
    for index, expectation in enumerate(suite.expectations):
        if (expectation.meta or {}).get("severity") not in SEVERITIES:
            raise SuiteError(f"{where}: GX lost meta.severity of expectation #{index}")
    return suite


def load_suite(name: str, directory: Path | None = None):
    """Load include/quality/<name>.json as a GX ExpectationSuite (checked, see module doc)."""
    data = read_suite_json(name, directory)
    return to_gx_suite(data, str(suite_path(name, directory)))


def expected_suite_names() -> list[str]:
    """One suite per registry table and per feed."""
    from autocorp_lake import config

    registry = config.registry()
    return sorted(registry.table_names + [suite_name("feed", f) for f in registry.feed_names])


def severities(data: dict[str, Any]) -> list[str]:
    return [item["meta"]["severity"] for item in data["expectations"]]


def derived_columns(data: dict[str, Any]) -> list[dict[str, Any]]:
    return list(((data.get("meta") or {}).get("autocorp") or {}).get("derived_columns") or [])
