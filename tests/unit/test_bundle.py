"""The MWAA bundle loads every DAG on the aws target from a fresh folder laid out as MWAA lays
it out (dags/ and plugins.zip unpacked under AIRFLOW_HOME), without the repo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from autocorp_lake import bundle
from autocorp_lake.config import DAG_IDS

REPO = Path(__file__).resolve().parents[2]

LOAD = """
import json, os, sys
from airflow.dag_processing.dagbag import DagBag
import autocorp_lake
bag = DagBag(dag_folder=os.path.join(os.environ["AIRFLOW_HOME"], "dags"))
print(json.dumps({"errors": {k: str(v) for k, v in bag.import_errors.items()},
                  "dags": sorted(bag.dag_ids), "package": autocorp_lake.__file__,
                  "targets": sorted({type(t).__module__ for d in bag.dags.values() for t in d.tasks})}))
"""


def test_bundle_loads_on_aws_target_without_repo(tmp_path):
    built = bundle.build(tmp_path / "dist")
    assert (built / "requirements.txt").read_text().startswith("--constraint ")
    assert "LAKE_TARGET=aws" in (built / "startup.sh").read_text()
    assert (built / "dags" / ".airflowignore").read_text().startswith("include/")

    home = tmp_path / "usr" / "local" / "airflow"
    (home / "plugins").mkdir(parents=True)
    import shutil

    shutil.copytree(built / "dags", home / "dags")
    with zipfile.ZipFile(built / "plugins.zip") as archive:
        archive.extractall(home / "plugins")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PYTHONPATH": str(home / "plugins"),
        "LAKE_TARGET": "aws",
        "LAKE_ENV": "dev",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    result = subprocess.run([sys.executable, "-c", LOAD], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["errors"] == {}
    assert report["dags"] == sorted(DAG_IDS)
    assert report["package"].startswith(str(home / "plugins"))
    assert any("amazon" in module for module in report["targets"])


def test_plugins_zip_leaves_out_the_local_only_code(tmp_path):
    """local/, bench/, the CLI and its helpers never run on MWAA or in a Glue job: in neither zip.
    The Glue jobs' PySpark code (jobs/) is in the Glue zip only: MWAA's plugin manager imports every
    module of plugins.zip, and an MWAA worker has no pyspark."""
    built = bundle.build(tmp_path / "dist")
    with zipfile.ZipFile(built / "plugins.zip") as archive:
        names = archive.namelist()
    with zipfile.ZipFile(built / "glue" / "autocorp_lake.zip") as archive:
        glue_names = archive.namelist()
    assert "autocorp_lake/targets/aws.py" in names and "autocorp_lake/jobs/promote.py" not in names
    assert sorted(set(glue_names) - set(names)) == sorted(
        f"autocorp_lake/jobs/{p.name}" for p in (REPO / "plugins/autocorp_lake/jobs").glob("*.py"))
    for listed in (names, glue_names):
        assert not [n for n in listed if n.split("/")[1] in bundle.LOCAL_ONLY]
        assert not [n for n in listed if n.startswith(("autocorp_lake/bench/", "autocorp_lake/local/"))]


GATE_FROM_ZIP = """
import json, sys
from autocorp_lake.quality import gate, suites
print(json.dumps({"gate": gate.__file__, "expectations": len(suites.read_suite_json("sales_order")["expectations"])}))
"""


def test_glue_package_zip_imports_the_gate_without_the_repo(tmp_path):
    """The quality-gate Glue job gets only the zip (--extra-py-files) and the config/ folder."""
    import shutil

    built = bundle.build(tmp_path / "dist")
    package = built / "glue" / "autocorp_lake.zip"
    include = tmp_path / "config"
    shutil.copytree(built / "dags" / "include" / "quality", include / "quality")
    shutil.copy(built / "dags" / "include" / "tables.yaml", include / "tables.yaml")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONPATH": str(package),
           "AUTOCORP_INCLUDE_DIR": str(include)}
    result = subprocess.run([sys.executable, "-c", GATE_FROM_ZIP], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["gate"].startswith(str(package))
    on_disk = json.loads((built / "dags" / "include" / "quality" / "sales_order.json").read_text())
    assert report["expectations"] == len(on_disk["expectations"]) > 10
