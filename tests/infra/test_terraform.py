"""Terraform (infra/) checked without Terraform: no provider can be downloaded here, so every .tf
file is parsed with python-hcl2 and held against the names the DAGs use (aws_names()), the table
registry and DESIGN.md's DMS S3 file contract. checkov runs from .venv-tools."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import hcl2
import pytest
import yaml

from autocorp_lake.config import aws_names, registry

REPO = Path(__file__).resolve().parents[2]
# one reader of the IAM policy documents: tests/deploy/iam_policies.py (which also renders them)
sys.path.insert(0, str(REPO / "tests" / "deploy"))
from iam_policies import policy_document_blocks  # noqa: E402
INFRA = REPO / "infra"
MODULES = ("s3", "iam", "secrets", "glue", "dms", "datasync", "athena", "monitoring", "mwaa")
ENVS = ("dev", "prod")

# Actions AWS does not scope to a resource: the only ones allowed on Resource "*".
UNSCOPED_ACTIONS = {
    "cloudwatch:PutMetricData",
    "logs:DescribeLogGroups",
    "s3:GetAccountPublicAccessBlock",
    "glue:GetCrawlerMetrics",
    "dms:DescribeReplicationTasks",
    # a Glue connection in a VPC (the reconcile job): describe calls without resource-level scope
    "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeVpcEndpoints",
    "ec2:DescribeRouteTables", "ec2:DescribeNetworkInterfaces",
}


# ------------------------------------------------------------------ helpers
def unq(value: Any) -> Any:
    """python-hcl2 keeps the quotes of string literals and keys: strip them."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def render(value: Any, env: str) -> str:
    return unq(value).replace("${var.environment}", env)


@lru_cache(maxsize=None)
def _parse(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        return hcl2.load(handle)


def tf_files(folder: Path | None = None) -> list[Path]:
    folder = folder or INFRA
    return sorted(p for p in folder.rglob("*.tf") if ".terraform" not in p.parts)


def doc(path: Path) -> dict:
    return _parse(str(path))


def blocks(folder: Path, kind: str) -> Iterator[tuple[str, str, dict]]:
    """(type, name, body) of every `resource`/`data` block of one module folder (not nested)."""
    for path in sorted(folder.glob("*.tf")):
        for entry in doc(path).get(kind, []):
            for rtype, named in entry.items():
                if rtype.startswith("__"):
                    continue
                for name, body in named.items():
                    if not name.startswith("__"):
                        yield unq(rtype), unq(name), body


def resource(module: str, rtype: str, name: str | None = None) -> dict:
    found = [
        body
        for t, n, body in blocks(INFRA / "modules" / module, "resource")
        if t == rtype and (name is None or n == name)
    ]
    assert len(found) == 1, f"expected one {rtype} {name or ''} in infra/modules/{module}, got {len(found)}"
    return found[0]


def module_locals(module: str) -> dict:
    merged: dict = {}
    for path in sorted((INFRA / "modules" / module).glob("*.tf")):
        for entry in doc(path).get("locals", []):
            merged.update({k: v for k, v in entry.items() if not k.startswith("__")})
    return merged


def variables(folder: Path) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for path in sorted(folder.glob("*.tf")):
        for entry in doc(path).get("variable", []):
            for name, body in entry.items():
                if not name.startswith("__"):
                    out[unq(name)] = body
    return out


def walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


# ------------------------------------------------------------------ structure
def test_every_tf_file_parses():
    files = tf_files()
    assert len(files) >= 4 + 3 * len(MODULES)
    for path in files:
        assert isinstance(doc(path), dict), path


@pytest.mark.parametrize("module", MODULES)
def test_module_layout(module):
    folder = INFRA / "modules" / module
    for name in ("main.tf", "variables.tf", "outputs.tf"):
        assert (folder / name).is_file(), f"infra/modules/{module}/{name} is missing"
    for name, body in variables(folder).items():
        assert unq(body.get("description", "")), f"variable {name} of {module} has no description"


def test_aws_provider_pinned_to_5():
    terraform = doc(INFRA / "versions.tf")["terraform"][0]
    aws = terraform["required_providers"][0]["aws"]
    assert unq(aws["source"]) == "hashicorp/aws"
    assert re.fullmatch(r"~> 5(\.\d+)*", unq(aws["version"])), aws["version"]


def test_module_calls_match_module_variables():
    calls = {}
    for entry in doc(INFRA / "main.tf")["module"]:
        for name, body in entry.items():
            if not name.startswith("__"):
                calls[unq(name)] = body
    assert set(calls) == set(MODULES)
    meta = {"source", "depends_on", "count", "for_each", "providers", "__is_block__"}
    for name, body in calls.items():
        assert unq(body["source"]) == f"./modules/{name}"
        declared = variables(INFRA / "modules" / name)
        passed = {k for k in body if not k.startswith("__")} - meta
        assert passed <= set(declared), f"module {name}: unknown inputs {passed - set(declared)}"
        required = {v for v, spec in declared.items() if "default" not in spec}
        assert required <= passed, f"module {name}: missing inputs {required - passed}"


@pytest.mark.parametrize("env", ENVS)
def test_tfvars_cover_the_root_variables(env):
    declared = variables(INFRA)
    values = {k: v for k, v in doc(INFRA / "env" / f"{env}.tfvars").items() if not k.startswith("__")}
    assert set(values) <= set(declared), set(values) - set(declared)
    required = {v for v, spec in declared.items() if "default" not in spec}
    assert required <= set(values), f"env/{env}.tfvars misses {required - set(values)}"
    assert unq(values["environment"]) == env


# ------------------------------------------------------------------ names the DAGs use
@pytest.fixture(autouse=True)
def _no_bucket_override(monkeypatch):
    monkeypatch.delenv("LAKE_BUCKET", raising=False)


@pytest.mark.parametrize("env", ENVS)
def test_glue_jobs_match_aws_names(env):
    jobs = module_locals("glue")["jobs"]
    names = aws_names(env)
    assert set(jobs) == set(names.glue_jobs)
    for key, job in jobs.items():
        assert render(job["name"], env) == names.glue_jobs[key]
        assert unq(job["script"]) == f"{key}.py"


def test_every_glue_job_has_the_package_and_no_bookmarks():
    """Point 8: every job's entry point imports autocorp_lake.jobs (the zip in --extra-py-files) and
    PyYAML (--additional-python-modules, pinned as MWAA's constraints pin it); no job uses Glue
    job bookmarks (overlapping runs of one job fail with a bookmark version mismatch)."""
    glue = module_locals("glue")
    common = {unq(k): unq(v) for k, v in glue["common_arguments"].items()}
    assert common["--extra-py-files"] == "${local.extra_py_files}"
    assert unq(glue["extra_py_files"]).split(",") == ["${local.scripts_prefix}/${local.package_zip}"]
    assert common["--job-bookmark-option"] == "job-bookmark-disable"
    modules = variables(INFRA / "modules" / "glue")
    for key, job in glue["jobs"].items():
        extra = {unq(k): unq(v) for k, v in job["extra_arguments"].items()}
        assert "--extra-py-files" not in extra and "--job-bookmark-option" not in extra, key
        variable = unq(job["python_modules"]).removeprefix("${var.").removesuffix("}")
        assert "PyYAML==6.0.3" in unq(modules[variable]["default"]).split(","), key
    job = resource("glue", "aws_glue_job")
    merged = job["default_arguments"].replace(" ", "").replace("\n", "")
    assert "bookmark" not in merged
    for path in (REPO / "glue_scripts").glob("*.py"):
        text = path.read_text()
        assert "transformation_ctx" not in text and "job-bookmark" not in text, path.name


def test_glue_job_definition():
    job = resource("glue", "aws_glue_job")
    assert job["for_each"] == "${local.jobs}"
    assert job["name"] == "${each.value.name}"
    assert unq(job["glue_version"]) == "5.0"
    assert job["worker_type"] == "${var.worker_type}"
    assert job["number_of_workers"] == "${var.number_of_workers}"
    assert job["security_configuration"]
    command = job["command"][0]
    assert unq(command["name"]) == "glueetl"
    assert unq(command["script_location"]).endswith("/${each.value.script}")
    assert "glue_scripts" in module_locals("glue")["scripts_prefix"]
    merged = job["default_arguments"].replace(" ", "").replace("\n", "")
    assert merged.startswith("${merge(local.common_arguments,")
    assert '"--additional-python-modules"=each.value.python_modules' in merged
    assert merged.endswith("each.value.extra_arguments)}")
    args = {unq(k): unq(v) for k, v in module_locals("glue")["common_arguments"].items()}
    assert args["--datalake-formats"] == "hudi"
    upload = resource("glue", "aws_s3_object", "script")
    assert "fileset(" in upload["for_each"] and "glue_scripts/" in unq(upload["key"])


def test_staging_jobs_have_the_package_gx_and_the_suites():
    """The staging jobs run the gate: they import autocorp_lake (the zip of `make bundle`) and GX at
    the pin of requirements.txt, and read the registry and suites from s3://<lake>/config/."""
    glue = module_locals("glue")
    assert set(glue["jobs"]) == {"apply_changes", "clean_feed", "promote", "maintenance"}
    for staging in ("apply_changes", "clean_feed"):
        assert unq(glue["jobs"][staging]["python_modules"]) == "${var.staging_python_modules}"
    assert unq(glue["jobs"]["promote"]["python_modules"]) == "${var.python_modules}"
    assert unq(glue["package_zip"]) == "autocorp_lake.zip"
    modules_default = unq(variables(INFRA / "modules" / "glue")["staging_python_modules"]["default"])
    # GX as the local gate runs it (the MWAA workers do not run GX)
    pins = dict(line.split("==") for line in (REPO / "requirements-dev.txt").read_text().splitlines()
                if "==" in line and not line.startswith(("#", "--")))
    name, version = next(m for m in modules_default.split(",") if m.startswith("great-expectations")).split("==")
    assert pins[name] == version, f"{name}: {version} in Terraform, {pins[name]} in requirements-dev.txt"
    for other in ("apply_changes", "clean_feed", "promote"):
        assert glue["jobs"][other]["extra_arguments"] == {}
    package = resource("glue", "aws_s3_object", "package")
    assert unq(package["key"]) == "glue_scripts/${each.value}" and package["source"] == "${var.package_zip_path}"
    config_upload = resource("glue", "aws_s3_object", "config")
    assert '"quality/*.json"' in config_upload["for_each"] and '"tables.yaml"' in config_upload["for_each"]
    assert unq(config_upload["key"]) == "config/${each.value}"
    assert config_upload["bucket"] == "${var.lake_bucket}"
    root = {unq(k): v for entry in doc(INFRA / "main.tf")["module"] for k, v in entry.items()}["glue"]
    assert unq(root["include_dir"]) == "${local.repo_root}/include"
    assert unq(root["package_zip_path"]).endswith('/glue/autocorp_lake.zip")}')
    from autocorp_lake import config

    assert config.registry_uri().endswith("/include/tables.yaml")  # local; aws: s3://<lake>/config/tables.yaml


@pytest.mark.parametrize("env", ENVS)
def test_glue_crawlers_and_databases(env):
    crawlers = module_locals("glue")["crawlers"]
    names = aws_names(env)
    assert {k: render(v["name"], env) for k, v in crawlers.items()} == names.crawlers
    assert unq(crawlers["raw_database"]["path"]) == "raw/database/"
    assert unq(crawlers["raw_csv"]["path"]) == "raw/csv/"
    databases = {unq(k) for k in module_locals("glue")["databases"]}
    assert databases == {"autocorp_raw", "autocorp_curated", "autocorp_analytics"}


@pytest.mark.parametrize("env", ENVS)
def test_task_and_workgroup_names(env):
    names = aws_names(env)
    task = resource("dms", "aws_dms_replication_task")
    assert render(task["replication_task_id"], env) == names.dms_task_id
    assert unq(task["migration_type"]) == "full-load-and-cdc"
    assert render(resource("datasync", "aws_datasync_task")["name"], env) == names.datasync_task_name
    assert render(resource("athena", "aws_athena_workgroup")["name"], env) == names.athena_workgroup
    secret = resource("secrets", "aws_secretsmanager_secret", "source_db")
    assert render(secret["name"], env) == names.source_db_secret
    lake = resource("s3", "aws_s3_bucket", "lake")
    assert render(module_locals("s3")["lake_bucket"], env) == names.bucket
    assert lake["bucket"] == "${local.lake_bucket}"
    monitoring = variables(INFRA / "modules" / "monitoring")
    assert unq(monitoring["metrics_namespace"]["default"]) == names.metrics_namespace


# ------------------------------------------------------------------ DMS
def table_mappings() -> dict:
    task = resource("dms", "aws_dms_replication_task")
    match = re.search(r'file\("\$\{path\.module\}/([\w.]+)"\)', task["table_mappings"])
    assert match, f"table_mappings should be file(...) of a JSON file: {task['table_mappings']}"
    return json.loads((INFRA / "modules" / "dms" / match.group(1)).read_text())


def test_dms_table_mappings_select_exactly_the_registry():
    reg = registry()
    rules = table_mappings()["rules"]
    selections = [r for r in rules if r["rule-type"] == "selection"]
    assert all(r["rule-action"] == "include" for r in selections)
    schemas = {r["object-locator"]["schema-name"] for r in selections}
    assert schemas == {reg.source_schema}
    tables = [r["object-locator"]["table-name"] for r in selections]
    assert sorted(tables) == sorted(reg.table_names), "one selection rule per registry table"
    assert not any("%" in t or "*" in t for t in tables), "tables are selected by name"
    ids = [r["rule-id"] for r in rules]
    assert len(ids) == len(set(ids)), "rule ids are unique"


def test_dms_adds_change_sequence_column():
    adds = [r for r in table_mappings()["rules"] if r.get("rule-action") == "add-column"]
    assert len(adds) == 1
    rule = adds[0]
    assert rule["rule-type"] == "transformation" and rule["rule-target"] == "column"
    assert rule["value"] == "dms_change_seq"
    assert rule["expression"] == "$AR_H_CHANGE_SEQ"
    assert rule["data-type"] == {"type": "string", "length": 50}
    assert rule["object-locator"]["schema-name"] == registry().source_schema


def test_dms_s3_endpoint_is_the_file_contract():
    endpoint = resource("dms", "aws_dms_s3_endpoint")
    assert unq(endpoint["endpoint_type"]) == "target"
    assert unq(endpoint["data_format"]) == "parquet"
    assert endpoint["include_op_for_full_load"] is True
    assert unq(endpoint["timestamp_column_name"]) == "dms_commit_ts"
    assert endpoint["date_partition_enabled"] is True
    assert unq(endpoint["date_partition_sequence"]) == "YYYYMMDD"
    assert unq(endpoint["date_partition_delimiter"]) == "SLASH"
    assert unq(endpoint["bucket_folder"]) == "raw/database"


def test_cdc_files_where_dms_writes_them():
    """Point 9: CdcPath takes effect on an S3 target only with PreserveTransactions (AWS DMS
    S3Settings); without it DMS writes CDC beside the full load, in the table's date folders. The
    endpoint sets neither, and the sensor, apply_changes and the local replicator read
    raw/database/<schema>/<table>/YYYY/MM/DD/."""
    from autocorp_lake import lake

    endpoint = resource("dms", "aws_dms_s3_endpoint")
    assert "cdc_path" not in endpoint and not endpoint.get("preserve_transactions")
    assert lake.raw_table_prefix("public", "t") == "raw/database/public/t"

    assert lake.is_cdc_key("raw/database/public/t/2026/11/26/20261126-101500123.parquet")
    assert lake.cdc_file_time("raw/database/public/t/2026/11/26/20261126-101500123.parquet").isoformat() == (
        "2026-11-26T10:15:00.123000+00:00")
    assert not lake.is_cdc_key("raw/database/public/t/LOAD00000001.parquet")
    for path in tf_files():
        assert "raw/database/cdc" not in path.read_text(), path


def test_dms_postgres_plugin_name_is_an_api_value():
    """Point 5: the DMS API's PluginNameValue is no-preference | test-decoding | pglogical."""
    source = resource("dms", "aws_dms_endpoint", "source")
    assert unq(source["postgres_settings"][0]["plugin_name"]) in ("test-decoding", "pglogical")


def test_dms_source_endpoint_uses_the_secret_over_tls():
    source = resource("dms", "aws_dms_endpoint", "source")
    assert unq(source["engine_name"]) == "postgres"
    assert unq(source["ssl_mode"]) == "require"
    assert source["secrets_manager_arn"] == "${var.source_db_secret_arn}"
    assert source["secrets_manager_access_role_arn"]
    assert "password" not in source and "username" not in source


# ------------------------------------------------------------------ IAM and secrets
STAR_ACTION = re.compile(r'Action\s*=\s*(\[[^\]]*"\*"[^\]]*\]|"\*")')


def test_star_action_regex_catches_jsonencoded_policies():
    assert STAR_ACTION.search('${jsonencode({Statement = [{Action = "*", Resource = "*"}]})}')
    assert STAR_ACTION.search('${jsonencode({Statement = [{Action = ["s3:Get*", "*"]}]})}')
    assert not STAR_ACTION.search('${jsonencode({Statement = [{Action = "kms:*"}]})}')


def policy_statements() -> Iterator[tuple[str, dict]]:
    for path, name, body in policy_document_blocks(tf_files()):
        for statement in body.get("statement", []):
            yield f"{path.relative_to(INFRA)}:{name}", statement


def test_no_star_action_on_star_resource():
    statements = list(policy_statements())
    assert len(statements) > 20
    for where, statement in statements:
        effect = unq(statement.get("effect", '"Allow"'))
        actions = [unq(a) for a in as_list(statement.get("actions", []))]
        resources = [unq(r) for r in as_list(statement.get("resources", []))]
        assert "*" not in actions, f"{where}: Action '*'"
        assert not any(a.endswith(":*") for a in actions), f"{where}: service-wide action {actions}"
        if effect == "Allow" and "*" in resources:
            assert set(actions) <= UNSCOPED_ACTIONS, f"{where}: {actions} on Resource '*'"
    for path in tf_files():
        text = json.dumps(doc(path))
        for node in walk(doc(path)):
            if isinstance(node, str) and "jsonencode(" in node:
                assert not STAR_ACTION.search(node), f"{path}: Action '*' in {node[:120]}"
        assert '"*:*"' not in text


def test_no_secret_value_in_terraform():
    """Credentials are set outside Terraform; the only values it writes are the Airflow Variables
    of ARNs (point 13), from module outputs, never a literal."""
    for path in tf_files():
        text = path.read_text()
        for match in re.finditer(r"secret_string\s*=\s*(.*)", text):
            assert path.parent.name == "secrets", f"{path}: secret values are set outside Terraform"
            assert match.group(1).strip() == "var.airflow_variables[each.key]", match.group(0)
    secret = resource("secrets", "aws_secretsmanager_secret", "airflow_variable")
    assert unq(secret["name"]) == "airflow/variables/${each.key}"
    root = {unq(k): v for entry in doc(INFRA / "main.tf")["module"] for k, v in entry.items()}["secrets"]
    assert root["airflow_variables"] == {
        "autocorp_dms_task_arn": "${module.dms.replication_task_arn}",
        "autocorp_datasync_task_arn": "${module.datasync.task_arn}",
    }
    from autocorp_lake.targets import aws

    for template in (aws.DMS_TASK_ARN, aws.DATASYNC_TASK_ARN):
        assert template.removeprefix("{{ var.value.").removesuffix(" }}") in root["airflow_variables"]
    for path in (INFRA / "env").glob("*.tfvars"):
        assert "password" not in path.read_text().lower(), path


def test_mwaa_uses_secrets_manager_backend():
    options = module_locals("secrets")["mwaa_secrets_backend_options"]
    options = {unq(k): v for k, v in options.items()}
    assert unq(options["secrets.backend"]) == (
        "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
    )
    kwargs = options["secrets.backend_kwargs"]
    assert 'connections_prefix = "airflow/connections"' in kwargs.replace("  ", " ")
    assert 'variables_prefix = "airflow/variables"' in kwargs.replace("  ", " ")


# ------------------------------------------------------------------ the other services
def test_s3_lake_bucket_controls():
    names = {n for t, n, _ in blocks(INFRA / "modules" / "s3", "resource")}
    for needed in ("lake", "mwaa"):
        assert needed in names
    access = resource("s3", "aws_s3_bucket_public_access_block", "lake")
    for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert access[flag] is True
    versioning = resource("s3", "aws_s3_bucket_versioning", "lake")
    assert unq(versioning["versioning_configuration"][0]["status"]) == "Enabled"
    policy = resource("s3", "aws_s3_bucket_policy", "lake")["policy"]
    assert "aws:SecureTransport" in policy and "Deny" in policy
    zones = [unq(z) for z in module_locals("s3")["zones"]]
    for zone in ("raw/", "staged/", "curated/hudi/", "quarantine/", "logs/quality/", "logs/metrics/",
                 "athena-results/", "reports/"):
        assert zone in zones
    rules = resource("s3", "aws_s3_bucket_lifecycle_configuration", "lake")["rule"]
    text = json.dumps(rules)
    # point 13: nothing in raw/ goes to GLACIER (a reset replays it, crawlers and apply_changes read it)
    assert "STANDARD_IA" in text and "GLACIER" not in text and "DEEP_ARCHIVE" not in text
    assert any(r.get("expiration") and "athena-results/" in json.dumps(r["filter"]) for r in rules)


def test_datasync_task_settings():
    task = resource("datasync", "aws_datasync_task")
    assert unq(task["options"][0]["verify_mode"]) == "ONLY_FILES_TRANSFERRED"
    includes = task["includes"][0]
    assert unq(includes["filter_type"]) == "SIMPLE_PATTERN" and "*.csv" in includes["value"]
    assert "manifest_file" in includes["value"]
    assert task["cloudwatch_log_group_arn"]
    report = task["task_report_config"][0]["s3_destination"][0]
    assert unq(report["subdirectory"]) == "logs/datasync/"
    destination = resource("datasync", "aws_datasync_location_s3")
    assert unq(destination["subdirectory"]) == "/raw/csv/"
    assert "agent_arn" in variables(INFRA / "modules" / "datasync")


def test_athena_workgroup_and_named_queries():
    config = resource("athena", "aws_athena_workgroup")["configuration"][0]
    assert config["enforce_workgroup_configuration"] is True
    assert unq(config["engine_version"][0]["selected_engine_version"]) == "Athena engine version 3"
    result = config["result_configuration"][0]
    assert unq(result["output_location"]).endswith("/athena-results/")
    assert unq(result["encryption_configuration"][0]["encryption_option"]) in ("SSE_S3", "SSE_KMS")
    queries = resource("athena", "aws_athena_named_query")
    assert 'fileset(var.analytics_sql, "*.sql")' in queries["for_each"]
    root = {unq(k): v for e in doc(INFRA / "main.tf")["module"] for k, v in e.items() if not k.startswith("__")}
    assert root["athena"]["analytics_sql"].endswith('/include/sql/athena/analytics"')


def test_monitoring_dashboard_and_alarms():
    body = resource("monitoring", "aws_cloudwatch_dashboard")["dashboard_body"]
    for metric in ("CDCLatencySource", "CDCLatencyTarget", "BytesTransferred", "ProcessedBytes",
                   "GateFailures", "glue.driver.aggregate.elapsedTime"):
        assert metric in body, metric
    latency = resource("monitoring", "aws_cloudwatch_metric_alarm", "cdc_latency")
    assert latency["threshold"] == "${var.cdc_latency_threshold_seconds}"
    assert variables(INFRA)["cdc_latency_threshold_seconds"]["default"] == 600
    gate = resource("monitoring", "aws_cloudwatch_metric_alarm", "gate_failure")
    assert unq(gate["metric_name"]) == "GateFailures" and gate["threshold"] == 0
    glue = resource("monitoring", "aws_cloudwatch_metric_alarm", "glue_failure")
    assert glue["alarm_actions"] == ["${aws_sns_topic.alarms.arn}"]


def test_blocked_tables_and_freshness_alarm_on_what_publish_metrics_sends():
    """The alarms watch the metric names and dimension that the aws target's put_table_states puts."""
    import inspect

    from autocorp_lake.targets import aws

    sent = inspect.getsource(aws.put_table_states)
    held = resource("monitoring", "aws_cloudwatch_metric_alarm", "held_batches")
    fresh = resource("monitoring", "aws_cloudwatch_metric_alarm", "freshness")
    for alarm in (held, fresh):
        assert f'"{unq(alarm["metric_name"])}"' in sent
        assert alarm["dimensions"] == {"Environment": "${var.environment}"}
        assert alarm["alarm_actions"] == ["${aws_sns_topic.alarms.arn}"]
    assert held["threshold"] == 0 and unq(held["comparison_operator"]) == "GreaterThanThreshold"
    assert fresh["threshold"] == "${var.freshness_threshold_seconds}"
    assert variables(INFRA / "modules" / "monitoring")["freshness_threshold_seconds"]["default"] == 900
    body = resource("monitoring", "aws_cloudwatch_dashboard")["dashboard_body"]
    assert "HeldBatches" in body and "FreshnessSeconds" in body


def test_mwaa_environment():
    mwaa = resource("mwaa", "aws_mwaa_environment")
    assert unq(variables(INFRA / "modules" / "mwaa")["airflow_version"]["default"]) == "3.3.1"
    assert unq(mwaa["dag_s3_path"]) == "dags/"
    assert unq(mwaa["plugins_s3_path"]) == "plugins.zip"
    assert unq(mwaa["requirements_s3_path"]) == "requirements.txt"
    assert unq(mwaa["startup_script_s3_path"]) == "startup.sh"
    logging = mwaa["logging_configuration"][0]
    for kind in ("dag_processing_logs", "scheduler_logs", "task_logs", "webserver_logs", "worker_logs"):
        assert logging[kind][0]["enabled"] is True, kind
    network = mwaa["network_configuration"][0]
    assert network["subnet_ids"] == "${var.subnet_ids}"
    assert network["security_group_ids"] == "${var.security_group_ids}"


def test_startup_script_exports_the_target(tmp_path):
    script = INFRA / "mwaa" / "startup.sh"
    text = script.read_text()
    assert "export LAKE_TARGET=aws" in text
    result = subprocess.run(
        ["sh", "-c", f'. "{script}"; echo "$LAKE_TARGET $LAKE_ENV $LAKE_BUCKET"'],
        env={"PATH": os.environ.get("PATH", ""), "AIRFLOW_ENV_NAME": "autocorp-lake-prod"},
        capture_output=True, text=True, check=True,
    )
    assert result.stdout.split() == ["aws", "prod", aws_names("prod").bucket]


# ------------------------------------------------------------------ checkov
CHECKOV = REPO / ".venv-tools" / "bin" / "checkov"


def checkov_skips() -> list[str]:
    config = yaml.safe_load((INFRA / ".checkov.yaml").read_text()) or {}
    return list(config.get("skip-check", []))


def test_every_checkov_skip_has_a_reason():
    listed = {}
    for line in (INFRA / "CHECKOV_SKIPS.md").read_text().splitlines():
        match = re.match(r"^- (CKV2?_[A-Z]+_\d+): (.{15,})$", line.strip())
        if match:
            listed[match.group(1)] = match.group(2)
    skips = checkov_skips()
    missing = [s for s in skips if s not in listed]
    assert not missing, f"skipped in infra/.checkov.yaml without a reason in CHECKOV_SKIPS.md: {missing}"
    assert set(listed) == set(skips), f"CHECKOV_SKIPS.md lists checks not skipped: {set(listed) - set(skips)}"


def test_checkov_passes():
    if not CHECKOV.exists():
        message = (
            ".venv-tools/bin/checkov is missing: python3 -m venv .venv-tools && "
            ".venv-tools/bin/pip install -r requirements-tools.txt"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    result = subprocess.run(
        [str(CHECKOV), "-d", "infra", "--quiet", "--compact"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
