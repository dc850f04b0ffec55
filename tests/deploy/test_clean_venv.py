"""The bundle on what a worker really has (issue 12, point 2): a venv with only the MWAA 3.3.1
image's packages + requirements.txt (+ moto for the AWS APIs), the bundle unpacked as MWAA lays
it out. There Airflow's plugin manager loads plugins/ without an error, every DAG parses with
LAKE_TARGET=aws, and every aws-target task runs under moto without an ImportError."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import zipfile

import pytest

import clean_venv
from deploy_support import REPO

HERE = REPO / "tests" / "deploy"


@pytest.fixture(scope="module")
def probe(tmp_path_factory, reference):
    from autocorp_lake import bundle
    from autocorp_lake.config import DAG_IDS

    tmp = tmp_path_factory.mktemp("mwaa")
    started = time.monotonic()
    python, info = clean_venv.build(tmp)
    built = bundle.build(tmp / "dist")
    home = tmp / "usr" / "local" / "airflow"
    shutil.copytree(built / "dags", home / "dags")
    with zipfile.ZipFile(built / "plugins.zip") as archive:
        archive.extractall(home / "plugins")
    env = {
        "PATH": f"{python.parent}:/usr/bin:/bin",
        "HOME": str(tmp),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # MWAA puts the plugins folder on the path; the probe and the scenario come from tests/deploy
        "PYTHONPATH": f"{home / 'plugins'}:{HERE}",
    }
    result = subprocess.run([str(python), str(HERE / "mwaa_probe.py")], cwd=tmp, env=env,
                            capture_output=True, text=True, timeout=600)
    line = next((l for l in result.stdout.splitlines() if l.startswith("PROBE ")), None)
    assert line, f"the probe did not finish (rc={result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    report = json.loads(line[len("PROBE "):])
    report["build"] = info
    report["seconds"] = round(time.monotonic() - started, 1)
    print(f"clean venv: {json.dumps(info)}; check took {report['seconds']}s")
    report["expected_dags"] = sorted(DAG_IDS)
    report["home"] = str(home)
    return report


def test_only_mwaa_packages_are_there(probe):
    assert probe["present_but_absent_on_mwaa"] == [], "the clean venv has packages MWAA lacks"
    assert probe["package"].startswith(probe["home"] + "/plugins/"), "autocorp_lake must come from plugins.zip"


def test_plugin_manager_loads_plugins(probe):
    assert probe["plugin_import_errors"] == {}
    assert "aws" in probe["plugin_modules_loaded"] and "gate" in probe["plugin_modules_loaded"]


def test_every_dag_parses_on_the_aws_target(probe):
    assert probe["dag_import_errors"] == {}
    assert probe["dags"] == probe["expected_dags"]


def test_every_aws_task_runs_without_an_import_error(probe):
    failed = {k: v for k, v in probe["tasks"].items() if v != "ok"}
    assert not failed, "\n\n".join(f"{k}: {v}" for k, v in failed.items())
    assert probe["absent_after_tasks"] == []
    assert len(probe["tasks"]) >= 25
