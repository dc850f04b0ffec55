"""IAM (issue 12, point 4): every AWS call the DAGs' tasks make on a worker is allowed by the
MWAA execution role's policy as infra/ renders it, and parliament finds nothing in any policy.

The calls are recorded while every aws-target task runs under moto (aws_scenario.py); Athena's
implied permissions (Glue catalog, result location) are derived from each statement."""

from __future__ import annotations

import json
import subprocess

import pytest

import aws_scenario
import iam_policies
from deploy_support import REPO, TOOLS_BIN


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    import os

    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    recorder = aws_scenario.CallRecorder()
    report = aws_scenario.run_all(str(REPO / "dags"), recorder)
    return report, recorder.calls


def test_every_task_runs_on_the_aws_target(recorded):
    report, _ = recorded
    assert report["import_errors"] == {}
    failed = {k: v for k, v in report["tasks"].items() if v != "ok"}
    assert not failed, "\n".join(f"{k}: {v}" for k, v in failed.items())


def test_every_call_is_allowed_by_the_mwaa_role(recorded):
    _, calls = recorded
    policy = iam_policies.policy_documents()["iam.mwaa"]
    denied, seen = [], set()
    for service, operation, params in calls:
        if service == "sts":
            continue
        for action, resource, context in iam_policies.iam_requests(service, operation, params, "autocorp-dev"):
            key = (action, resource)
            if key in seen:
                continue
            seen.add(key)
            if not iam_policies.allowed(policy, action, resource, context):
                denied.append(f"{action} on {resource} ({service}.{operation})")
    assert calls and seen
    assert not denied, "the MWAA execution role (infra/modules/iam) denies:\n" + "\n".join(sorted(set(denied)))


def test_unscoped_actions_are_not_granted_on_a_resource_arn():
    """An action without resource-level permissions granted on an ARN is denied by AWS."""
    for name, doc in iam_policies.policy_documents().items():
        for statement in doc["Statement"]:
            scoped = [r for r in statement.get("Resource", []) if r != "*"]
            for action in statement.get("Action", []):
                if action in iam_policies.UNSCOPED:
                    assert not scoped, f"{name} {statement.get('Sid')}: {action} on {scoped} is always denied"


def test_parliament_finds_nothing(tmp_path):
    """parliament (PyPI, in .venv-tools) on every identity and resource policy of infra/. Trust
    (assume-role) policies are not identity policies: parliament does not model them."""
    parliament = TOOLS_BIN / "parliament"
    if not parliament.exists():
        pytest.fail(".venv-tools/bin/parliament is missing: make tools")
    checked = []
    for name, doc in iam_policies.policy_documents().items():
        if all(s.get("Action") == ["sts:AssumeRole"] and "Resource" not in s for s in doc["Statement"]):
            continue
        (tmp_path / f"{name}.json").write_text(json.dumps(doc, indent=1))
        checked.append(name)
    # --directory: parliament refuses --file when stdin is not a terminal
    result = subprocess.run([str(parliament), "--directory", str(tmp_path), "--json"], capture_output=True,
                            text=True, stdin=subprocess.DEVNULL, timeout=300)
    assert result.returncode in (0, 1), result.stderr[-2000:]
    assert {"iam.mwaa", "iam.glue", "iam.dms_s3", "iam.datasync"} <= set(checked)
    findings = [line for line in result.stdout.splitlines() if line.strip()]
    assert not findings, "\n".join(findings)
