"""Every GX suite file loads with all its expectations (GX silently drops malformed ones) and every
expectation carries a severity."""

from __future__ import annotations

import json

import pytest

from autocorp_lake import config
from autocorp_lake.quality import suites

SUITE_FILES = sorted((config.include_dir() / "quality").glob("*.json"))


def test_one_suite_per_table_and_feed():
    assert [p.stem for p in SUITE_FILES] == suites.expected_suite_names()
    assert len(SUITE_FILES) == 11


@pytest.mark.parametrize("path", SUITE_FILES, ids=lambda p: p.stem)
def test_suite_loads_every_expectation(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    expected = len(data["expectations"])  # the count comes from the file itself
    suite = suites.load_suite(path.stem)
    assert suite.name == path.stem == data["name"]
    assert len(suite.expectations) == expected > 0
    assert sorted(type(e).__name__ for e in suite.expectations) == sorted(
        "".join(part.title() for part in item["type"].split("_")) for item in data["expectations"]
    )


@pytest.mark.parametrize("path", SUITE_FILES, ids=lambda p: p.stem)
def test_every_expectation_has_a_severity(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    assert all(item["meta"]["severity"] in ("critical", "warning") for item in data["expectations"])
    assert {item["meta"]["severity"] for item in data["expectations"]} == {"critical", "warning"}
    suite = suites.load_suite(path.stem)
    assert [e.meta["severity"] for e in suite.expectations] == suites.severities(data)


@pytest.mark.parametrize("path", SUITE_FILES, ids=lambda p: p.stem)
def test_suite_covers_the_issue(path):
    """Key not null + unique, schema (column set + types), row-count band and freshness."""
    data = json.loads(path.read_text(encoding="utf-8"))
    key = data["meta"]["autocorp"]["primary_key"][0]
    kinds = [(item["type"], item["kwargs"].get("column")) for item in data["expectations"]]
    assert ("expect_column_values_to_not_be_null", key) in kinds
    assert ("expect_column_values_to_be_unique", key) in kinds
    assert ("expect_table_columns_to_match_set", None) in kinds
    assert ("expect_table_row_count_to_be_between", None) in kinds
    assert any(t == "expect_column_max_to_be_between" for t, _ in kinds)
    column_set = next(i for i in data["expectations"] if i["type"] == "expect_table_columns_to_match_set")
    typed = {c for t, c in kinds if t == "expect_column_values_to_be_in_type_list"}
    derived = {d["name"] for d in suites.derived_columns(data)}
    assert typed | derived == set(column_set["kwargs"]["column_set"])


def test_a_dropped_expectation_fails_loudly():
    data = json.loads(SUITE_FILES[0].read_text(encoding="utf-8"))
    data["expectations"].append({"type": "expect_column_values_to_be_unique", "kwargs": {}, "meta": {"severity": "critical"}})
    with pytest.raises(suites.SuiteError):
        suites.to_gx_suite(data, "broken")


def test_a_missing_severity_fails():
    data = json.loads(SUITE_FILES[0].read_text(encoding="utf-8"))
    del data["expectations"][0]["meta"]["severity"]
    with pytest.raises(suites.SuiteError, match="severity"):
        suites.check_suite_json(data, "broken")
