"""Runs inside the clean MWAA-like venv (test_clean_venv.py): only the MWAA 3.3.1 image's packages,
requirements.txt, moto (for the AWS APIs) and the bundle unpacked as MWAA lays it out.

Prints one JSON report: packages that must be absent but import, the plugin manager's import
errors and the modules it loaded, the DagBag's import errors, and every aws-target task's result
under moto (aws_scenario.py)."""

from __future__ import annotations

import importlib.util
import json
import os
import sys

ABSENT_ON_MWAA = ("pandas", "numpy", "pyarrow", "matplotlib", "great_expectations", "pyspark", "sqlglot", "duckdb")


def main() -> None:
    home = os.environ["AIRFLOW_HOME"]
    report: dict = {"python": sys.version.split()[0]}
    report["present_but_absent_on_mwaa"] = [m for m in ABSENT_ON_MWAA if importlib.util.find_spec(m)]

    from airflow import plugins_manager

    plugins_manager.ensure_plugins_loaded()
    report["plugin_import_errors"] = dict(plugins_manager.get_import_errors())
    plugins = os.path.join(home, "plugins")
    report["plugin_modules_loaded"] = sorted(
        name for name, module in list(sys.modules.items())
        if (getattr(module, "__file__", None) or "").startswith(plugins) and "." not in name
    )
    import autocorp_lake

    report["package"] = autocorp_lake.__file__
    import aws_scenario

    scenario = aws_scenario.run_all(os.path.join(home, "dags"))
    report.update(dag_import_errors=scenario["import_errors"], dags=scenario["dags"], tasks=scenario["tasks"])
    report["absent_after_tasks"] = [m for m in ABSENT_ON_MWAA if m in sys.modules]
    print("PROBE " + json.dumps(report))


if __name__ == "__main__":
    main()
