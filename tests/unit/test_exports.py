"""CSV exports: the manifest's injected counts equal what an independent scan of the files finds.

The scan below parses the files with the csv module and its own rules; it does not use the
generator's bookkeeping.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from autocorp_lake.local import generator

ISSUES = [
    "missing_customer_id", "missing_order_date", "missing_tax", "missing_invoice_number",
    "missing_payment_method", "missing_subtotal", "malformed_date", "customer_id_whitespace",
    "thousands_separator", "currency_symbol", "duplicate_order_id", "negative_amount",
    "order_date_after_window", "order_date_before_window", "zero_quantity",
]
THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+\.\d{2}$")
CURRENCY = re.compile(r"^\$\d+\.\d{2}$")
PLAIN = re.compile(r"^-?\d+\.\d{2}$")


def _rows(path: Path):
    with open(path, newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


def scan(folder: Path, start: dt.date, end: dt.date) -> tuple[Counter, dict]:
    """Count every issue type in the files; also check each row has at most one issue."""
    found: Counter = Counter()
    per_file: Counter = Counter()
    seen: set[str] = set()
    for row in _rows(folder / "sales_orders.csv"):
        issues = []
        if row["order_id"] in seen:
            found["duplicate_order_id"] += 1
            continue
        seen.add(row["order_id"])
        cid = row["customer_id"]
        if cid == "":
            issues.append("missing_customer_id")
        elif cid != cid.strip():
            issues.append("customer_id_whitespace")
            assert cid.strip().isdigit()
        else:
            assert cid.isdigit(), row
        date_text = row["order_date"]
        if date_text == "":
            issues.append("missing_order_date")
        else:
            try:
                when = dt.datetime.strptime(date_text, "%Y-%m-%d %H:%M:%S").date()
            except ValueError:
                issues.append("malformed_date")
            else:
                if when > end:
                    issues.append("order_date_after_window")
                elif when < start:
                    issues.append("order_date_before_window")
        for column, issue in (("tax", "missing_tax"), ("invoice_number", "missing_invoice_number"),
                              ("payment_method", "missing_payment_method"), ("subtotal", "missing_subtotal")):
            if row[column] == "":
                issues.append(issue)
        total_text = row["total_amount"]
        if CURRENCY.match(total_text):
            issues.append("currency_symbol")
            total = Decimal(total_text[1:])
        elif THOUSANDS.match(total_text):
            issues.append("thousands_separator")
            total = Decimal(total_text.replace(",", ""))
        else:
            assert PLAIN.match(total_text), f"unexpected total_amount {total_text!r}"
            total = Decimal(total_text)
            if total < 0:
                issues.append("negative_amount")
        if total >= 0 and row["subtotal"] and row["tax"]:
            # a repaired value equals the true amount: the totals invariant holds again
            assert total == Decimal(row["subtotal"]) + Decimal(row["tax"]), row
        assert len(issues) <= 1, f"row {row['order_id']} carries several issues: {issues}"
        found.update(issues)
    for name in ("sales_order_parts.csv", "sales_order_services.csv"):
        for row in _rows(folder / name):
            quantity = int(row["quantity"])
            assert quantity >= 0
            if quantity == 0:
                found["zero_quantity"] += 1
                per_file[name] += 1
    return found, dict(per_file)


def _count_rows(path: Path) -> int:
    return sum(1 for _ in _rows(path))


def _check(folder: Path, manifest: dict) -> Counter:
    start = dt.date.fromisoformat(manifest["config"]["ORDER_DATE_START"])
    end = dt.date.fromisoformat(manifest["config"]["ORDER_DATE_END"])
    found, per_file = scan(folder, start, end)
    on_disk = json.loads((folder / "data_validation_manifest.json").read_text(encoding="utf-8"))
    assert on_disk["injected_issues"] == manifest["injected_issues"]
    for issue in ISSUES:
        assert found[issue] == manifest["injected_issues"][issue]["count"], issue
    zero = manifest["injected_issues"]["zero_quantity"]["counts_by_file"]
    assert per_file.get("sales_order_parts.csv", 0) == zero["sales_order_parts.csv"]
    assert per_file.get("sales_order_services.csv", 0) == zero["sales_order_services.csv"]
    # raw row counts and expected accepted rows
    expected = manifest["expected_rows"]
    for name in ("customers.csv", "sales_orders.csv", "sales_order_parts.csv", "sales_order_services.csv"):
        raw = _count_rows(folder / name)
        assert raw == expected[name]["raw_rows"] == manifest["files"][name]["rows"]
        assert (folder / name).stat().st_size == manifest["files"][name]["bytes"]
    rejected = sum(found[i] for i in ISSUES
                   if generator.ISSUE_RULES[i]["action"] == "reject" and i != "zero_quantity")
    assert expected["sales_orders.csv"]["accepted_rows"] == expected["sales_orders.csv"]["raw_rows"] - rejected
    by_type = expected["sales_orders.csv"]["by_order_type"]
    assert sum(v["raw_rows"] for v in by_type.values()) == expected["sales_orders.csv"]["raw_rows"]
    assert sum(v["accepted_rows"] for v in by_type.values()) == expected["sales_orders.csv"]["accepted_rows"]
    return found


@pytest.fixture(scope="module")
def default_export(tmp_path_factory):
    folder = tmp_path_factory.mktemp("exports-default")
    return folder, generator.write_exports(folder, scale="demo", seed=7, rates=None)


def test_rules_cover_every_issue():
    assert list(generator.DEFAULT_RATES) == ISSUES
    assert set(generator.ISSUE_RULES) == set(ISSUES)
    actions = {i: r["action"] for i, r in generator.ISSUE_RULES.items()}
    assert {i for i, a in actions.items() if a == "repair"} == {
        "customer_id_whitespace", "thousands_separator", "currency_symbol"}
    assert {i for i, a in actions.items() if a == "keep_null"} == {
        "missing_tax", "missing_payment_method", "missing_subtotal"}
    for issue, rule in generator.ISSUE_RULES.items():
        if rule["action"] == "reject":
            assert rule["reason"] == issue


def test_default_rates_counts_match_a_scan(default_export):
    folder, manifest = default_export
    found = _check(folder, manifest)
    assert manifest["config"]["scale"] == "demo"
    assert manifest["files"]["customers.csv"]["rows"] == 12_000
    assert manifest["expected_rows"]["sales_orders.csv"]["raw_rows"] == 7_915 + found["duplicate_order_id"]
    for issue in ISSUES:  # every issue present at the default rates at demo scale
        assert manifest["injected_issues"][issue]["count"] >= 1, issue
        assert manifest["injected_issues"][issue]["count"] == round(
            generator.DEFAULT_RATES[issue]
            * (7_915 if issue != "zero_quantity"
               else manifest["expected_rows"]["sales_order_parts.csv"]["raw_rows"]
               + manifest["expected_rows"]["sales_order_services.csv"]["raw_rows"]))
    assert manifest["revenue"]["orders"] == manifest["expected_rows"]["sales_orders.csv"]["accepted_rows"]
    assert manifest["generated_at"] == generator.write_exports(
        folder / "again", scale="demo", seed=7)["generated_at"]


def test_same_seed_gives_identical_files(default_export, tmp_path):
    folder, _ = default_export
    generator.write_exports(tmp_path, scale="demo", seed=7)
    for name in ("customers.csv", "sales_orders.csv", "sales_order_parts.csv",
                 "sales_order_services.csv", "data_validation_manifest.json"):
        a, b = (folder / name).read_bytes(), (tmp_path / name).read_bytes()
        if name.endswith(".json"):
            a, b = (json.loads(x)["injected_issues"] for x in (a, b))
        assert a == b, name
    assert not list(tmp_path.glob(".*tmp*")), "temporary files left behind"


def test_zero_rates_give_clean_files(tmp_path):
    rates = generator.parse_rate_overrides([], 0)
    manifest = generator.write_exports(tmp_path, scale="demo", seed=7, rates=rates)
    found = _check(tmp_path, manifest)
    assert sum(found.values()) == 0
    assert all(v["count"] == 0 for v in manifest["injected_issues"].values())
    expected = manifest["expected_rows"]
    for name in ("sales_orders.csv", "sales_order_parts.csv", "sales_order_services.csv"):
        assert expected[name]["accepted_rows"] == expected[name]["raw_rows"]


def test_ten_times_rates_match(tmp_path):
    rates = generator.parse_rate_overrides(["missing_tax=0.02"], 10)
    assert rates["missing_tax"] == 0.02
    assert rates["missing_customer_id"] == pytest.approx(0.07)
    manifest = generator.write_exports(tmp_path, scale="demo", seed=11, rates=rates)
    found = _check(tmp_path, manifest)
    assert found["missing_customer_id"] == round(0.07 * 7_915)
    assert found["missing_tax"] == round(0.02 * 7_915)


def test_order_window_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ORDER_DATE_START", "2024-01-01")
    monkeypatch.setenv("ORDER_DATE_END", "2024-06-30")
    manifest = generator.write_exports(tmp_path, scale="demo", seed=3)
    assert manifest["config"]["ORDER_DATE_START"] == "2024-01-01"
    _check(tmp_path, manifest)


def test_rate_overrides_validate_names():
    with pytest.raises(ValueError, match="missing_customer_id"):
        generator.parse_rate_overrides(["missing_taxes=0.1"], 1)
    with pytest.raises(ValueError):
        generator.parse_rate_overrides(["missing_tax"], 1)
    with pytest.raises(ValueError):
        generator.parse_rate_overrides(["missing_tax=2"], 1)
    assert generator.parse_rate_overrides([], 1) == generator.DEFAULT_RATES


def test_replace_column_addresses_a_column_by_name():
    table = pa.table({"a": [1, 2], "b": [3, 4], "c": [5, 6]})
    replaced = generator.replace_column(table, "b", pa.array(["x", "y"]))
    assert replaced.column_names == ["a", "b", "c"]
    assert replaced["b"].to_pylist() == ["x", "y"]
    assert replaced["a"].to_pylist() == [1, 2] and replaced["c"].to_pylist() == [5, 6]
    with pytest.raises(KeyError, match="nope"):
        generator.replace_column(table, "nope", pa.array([0, 0]))
