"""The DuckDB query engine without a lake: no JVM, stdout holds only the result, and missing
tables or bad SQL get one clear line naming the fix (the answers on real Hudi tables are held to
PostgreSQL's and Spark's in tests/integration/test_query_layer.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autocorp_lake import analytics, config
from autocorp_lake.local import query_duckdb

EXE = Path(sys.executable).parent / "autocorp-lake"


@pytest.fixture()
def empty_lake(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOCORP_LAKE_DIR", str(tmp_path / "lake"))
    monkeypatch.setenv("LAKE_TARGET", "local")
    return tmp_path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(EXE), "query", *args], capture_output=True, text=True, timeout=120,
                          env=os.environ.copy())


def test_select_1_needs_no_jvm(empty_lake):
    code = ("import sys; from autocorp_lake.local import query_duckdb as q; "
            "rows = q.query('select 1 as one, 2.50 as two'); "
            "print(rows, 'pyspark' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=os.environ.copy()).stdout.strip()
    assert out == "[{'one': 1, 'two': Decimal('2.50')}] False"


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_cli_stdout_is_only_the_result(empty_lake, fmt):
    result = run_cli("select 1 as one, 'a,b' as two", "--format", fmt)
    assert result.returncode == 0, result.stderr
    if fmt == "json":
        assert json.loads(result.stdout) == [{"one": 1, "two": "a,b"}]
    else:
        assert result.stdout.splitlines() == ["one,two", '1,"a,b"']


def test_missing_table_names_the_fix(empty_lake):
    with pytest.raises(query_duckdb.QueryError,
                       match=r"autocorp_curated\.customers does not exist.*none yet.*autocorp_bootstrap"):
        query_duckdb.query("select count(*) from autocorp_curated.customers")
    result = run_cli("select count(*) from autocorp_curated.customers", "--format", "json")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: table autocorp_curated.customers does not exist")


def test_sql_that_does_not_parse_is_one_plain_line(empty_lake):
    with pytest.raises(query_duckdb.QueryError) as caught:
        query_duckdb.query("select from where")
    message = str(caught.value)
    assert "line 1, column 17" in message and "'where'" in message
    assert "\x1b[" not in message and "\n" not in message


def test_ddl_is_refused_with_time_travel(empty_lake):
    with pytest.raises(query_duckdb.QueryError, match="apply to queries only"):
        query_duckdb.query("create database if not exists x", as_of="2026-11-26 10:00:00")


@pytest.mark.parametrize("template", analytics.sql_files("analytics") + analytics.sql_files("views"))
def test_every_athena_file_transpiles_to_duckdb(template):
    texts = query_duckdb.transpile((config.include_dir() / "sql" / template).read_text())
    assert texts and all("autocorp_curated." in t for t in texts)
