"""The IAM policy documents of infra/ rendered to JSON (as Terraform would for one account), and a
small evaluator: is an action on a resource allowed by a role's identity policy?

Rendered without Terraform: python-hcl2 parses the `aws_iam_policy_document` data blocks, and the
references they use (`local.*`, `var.*`, `concat(...)`) are resolved with the values below."""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator

import hcl2

from deploy_support import REPO

INFRA = REPO / "infra"
ACCOUNT = "123456789012"
REGION = "us-east-1"
ENV = "dev"

VARS = {
    "environment": ENV,
    "partition": "aws",
    "account_id": ACCOUNT,
    "region": REGION,
    "lake_bucket_arn": f"arn:aws:s3:::autocorp-datalake-{ENV}",
    "mwaa_bucket_arn": f"arn:aws:s3:::autocorp-mwaa-{ENV}",
    "kms_key_arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "source_db_secret_arn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:autocorp/{ENV}/source-db-AbCdEf",
    "mwaa_environment_name": f"autocorp-lake-{ENV}",
    "glue_connection_name": f"autocorp-source-{ENV}",
}
# references to other resources inside policy documents, as they would render
RESOURCE_REFS = {
    "aws_cloudwatch_log_group.datasync.arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/datasync/autocorp-exports-{ENV}",
    "aws_sns_topic.alarms.arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:autocorp-alarms-{ENV}",
    "data.aws_caller_identity.current.account_id": ACCOUNT,
}


def unq(value):
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


class Renderer:
    def __init__(self, module_dir: Path, variables: dict | None = None):
        self.vars = {**VARS, **(variables or {})}
        self.locals: dict = {}
        for path in sorted(module_dir.glob("*.tf")):
            for entry in _load(str(path)).get("locals", []):
                self.locals.update({k: v for k, v in entry.items() if not k.startswith("__")})

    def ref(self, name: str):
        name = name.strip()
        if name.startswith("var."):
            return self.vars[name[4:]]
        if name.startswith("local."):
            return self.value(self.locals[name[6:]])
        if name in RESOURCE_REFS:
            return RESOURCE_REFS[name]
        match = re.fullmatch(r"concat\((.*)\)", name, re.S)
        if match:
            out: list = []
            for arg in _split_args(match.group(1)):
                out += list(self.ref(arg)) if not arg.strip().startswith("[") else [
                    self.value(x.strip()) for x in _split_args(arg.strip()[1:-1])]
            return out
        raise KeyError(f"cannot render {name!r}")

    def value(self, expr):
        if isinstance(expr, list):
            out: list = []
            for item in expr:
                rendered = self.value(item)
                out += rendered if isinstance(rendered, list) else [rendered]
            return out
        if not isinstance(expr, str):
            return expr
        text = expr.strip()
        if text.startswith("${") and text.endswith("}") and text.count("${") == 1:
            return self.ref(text[2:-1])
        text = unq(text)
        return re.sub(r"\$\{([^}]*)\}", lambda m: str(self.ref(m.group(1))), text)


def _split_args(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current)
    return parts


@lru_cache(maxsize=None)
def _load(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        return hcl2.load(handle)


def _statement(renderer: Renderer, body: dict) -> dict:
    out: dict = {"Effect": unq(body.get("effect", '"Allow"'))}
    if "sid" in body:
        out["Sid"] = unq(body["sid"])
    for key, name in (("actions", "Action"), ("not_actions", "NotAction"),
                      ("resources", "Resource"), ("not_resources", "NotResource")):
        if key in body:
            value = renderer.value(body[key])
            out[name] = value if isinstance(value, list) else [value]
    for block in body.get("principals", []):
        kind = unq(block["type"])
        ids = renderer.value(block["identifiers"])
        out.setdefault("Principal", {}).setdefault(kind, []).extend(ids if isinstance(ids, list) else [ids])
    for block in body.get("condition", []):
        values = renderer.value(block["values"])
        out.setdefault("Condition", {}).setdefault(unq(block["test"]), {})[unq(block["variable"])] = (
            values if isinstance(values, list) else [values])
    return out


def policy_document_blocks(paths: Iterable[Path]) -> Iterator[tuple[Path, str, dict]]:
    """(file, name, body) of every `data "aws_iam_policy_document"` of the given .tf files, as
    python-hcl2 parses them (tests/infra checks the same blocks unrendered)."""
    for path in paths:
        for entry in _load(str(path)).get("data", []):
            for rtype, named in entry.items():
                if unq(rtype) != "aws_iam_policy_document":
                    continue
                for name, body in named.items():
                    if not name.startswith("__"):
                        yield path, unq(name), body


def policy_documents() -> dict[str, dict]:
    """Every `data "aws_iam_policy_document"` of infra/modules, as `<module>.<name>` -> JSON policy."""
    docs: dict[str, dict] = {}
    for module_dir in sorted(p for p in (INFRA / "modules").iterdir() if p.is_dir()):
        renderer = Renderer(module_dir)
        for _, name, body in policy_document_blocks(sorted(module_dir.glob("*.tf"))):
            docs[f"{module_dir.name}.{name}"] = {
                "Version": "2012-10-17",
                "Statement": [_statement(renderer, s) for s in body.get("statement", [])],
            }
    return docs


# ------------------------------------------------------------------ evaluation
def _matches(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern.replace("?", "[?]")) if "*" in pattern else pattern == value


def _condition_holds(condition: dict, context: dict) -> bool:
    for test, variables in condition.items():
        for variable, values in variables.items():
            if variable not in context:
                continue  # keys the recorder does not know (aws:SourceAccount, ...) do not restrict here
            actual = context[variable]
            if test in ("StringEquals", "ForAnyValue:StringEquals") and actual not in values:
                return False
            if test == "StringLike" and not any(fnmatch.fnmatchcase(actual, v) for v in values):
                return False
    return True


def allowed(policy: dict, action: str, resource: str, context: dict | None = None) -> bool:
    """An Allow statement matches the action, the resource and the known condition keys, and no
    Deny does."""
    context = context or {}
    verdict = False
    for statement in policy["Statement"]:
        actions = statement.get("Action", [])
        if not any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions):
            continue
        if not any(_matches(r, resource) for r in statement.get("Resource", [])):
            continue
        if not _condition_holds(statement.get("Condition", {}), context):
            continue
        if statement["Effect"] == "Deny":
            return False
        verdict = True
    return verdict


# ------------------------------------------------------------------ API calls -> IAM requests
S3_ACTIONS = {
    "ListObjectsV2": "s3:ListBucket", "ListObjects": "s3:ListBucket", "HeadBucket": "s3:ListBucket",
    "GetObject": "s3:GetObject", "HeadObject": "s3:GetObject", "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject", "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject", "DeleteObject": "s3:DeleteObject",
    "DeleteObjects": "s3:DeleteObject",
}
# IAM prefixes that differ from botocore's service names
PREFIX = {"cloudwatch": "cloudwatch", "secretsmanager": "secretsmanager"}
# actions that AWS does not scope to a resource: evaluated against Resource "*"
UNSCOPED = {"dms:DescribeReplicationTasks", "cloudwatch:PutMetricData", "glue:GetCrawlerMetrics",
            "datasync:ListTaskExecutions", "athena:ListWorkGroups", "sts:GetCallerIdentity"}


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


def iam_requests(service: str, operation: str, params: dict, workgroup: str) -> list[tuple[str, str, dict]]:
    """The (action, resource, condition context) that IAM evaluates for one API call (ARNs in
    the rendering's account: moto invents its own for some services)."""
    return [(action, re.sub(r"^(arn:aws:[^:]+:[^:]*:)\d{12}:", rf"\g<1>{ACCOUNT}:", resource), context)
            for action, resource, context in _iam_requests(service, operation, params, workgroup)]


def _iam_requests(service: str, operation: str, params: dict, workgroup: str) -> list[tuple[str, str, dict]]:
    if service == "s3":
        bucket = params.get("Bucket")
        if operation == "CopyObject":
            source = params["CopySource"]
            src = f"{source['Bucket']}/{source['Key']}" if isinstance(source, dict) else source.lstrip("/")
            return [("s3:GetObject", f"arn:aws:s3:::{src}", {}),
                    ("s3:PutObject", f"arn:aws:s3:::{bucket}/{params['Key']}", {})]
        action = S3_ACTIONS.get(operation, f"s3:{operation}")
        if action == "s3:ListBucket":
            return [(action, f"arn:aws:s3:::{bucket}", {"s3:prefix": params.get("Prefix", "")})]
        if operation == "DeleteObjects":
            return [(action, f"arn:aws:s3:::{bucket}/{o['Key']}", {}) for o in params["Delete"]["Objects"]]
        return [(action, f"arn:aws:s3:::{bucket}/{params['Key']}", {})]
    prefix = PREFIX.get(service, service)
    action = f"{prefix}:{operation}"
    if action in UNSCOPED:
        context = {"cloudwatch:namespace": params["Namespace"]} if operation == "PutMetricData" else {}
        return [(action, "*", context)]
    if service == "dms":
        return [(action, params["ReplicationTaskArn"], {})]
    if service == "datasync":
        return [(action, params.get("TaskExecutionArn") or params["TaskArn"], {})]
    if service == "glue":
        if "JobName" in params:
            return [(action, _arn("glue", f"job/{params['JobName']}"), {})]
        if "Name" in params and "Crawler" in operation:
            return [(action, _arn("glue", f"crawler/{params['Name']}"), {})]
        return [(action, _arn("glue", "catalog"), {})]
    if service == "athena":
        out = [(action, _arn("athena", f"workgroup/{params.get('WorkGroup') or workgroup}"), {})]
        if operation == "StartQueryExecution":
            out += athena_implied(params["QueryString"], params.get("QueryExecutionContext", {}).get("Database"))
        return out
    if service == "secretsmanager":
        secret = params["SecretId"]
        return [(action, secret if secret.startswith("arn:") else _arn("secretsmanager", f"secret:{secret}-AbCdEf"), {})]
    raise KeyError(f"no IAM mapping for {service}.{operation}; add one to tests/deploy/iam_policies.py")


def athena_implied(sql: str, database: str | None) -> list[tuple[str, str, dict]]:
    """What Athena asks the caller's permissions for besides the query itself: the catalog
    (Glue) objects the statement reads or writes, and the result location."""
    import re as _re

    text = " ".join(sql.lower().split())
    out = [("glue:GetDatabase", _arn("glue", f"database/{database or 'default'}"), {}),
           ("s3:PutObject", f"arn:aws:s3:::autocorp-datalake-{ENV}/athena-results/x.csv", {})]
    created = _re.search(r"create (?:database|schema) (?:if not exists )?([a-z0-9_]+)", text)
    if created:
        out += [("glue:CreateDatabase", _arn("glue", "catalog"), {}),
                ("glue:CreateDatabase", _arn("glue", f"database/{created.group(1)}"), {})]
        return out
    view = _re.search(r"create (?:or replace )?view ([a-z0-9_]+)\.([a-z0-9_]+)", text)
    if view:
        db, name = view.groups()
        for act in ("glue:GetTable", "glue:CreateTable", "glue:UpdateTable"):
            out.append((act, _arn("glue", f"table/{db}/{name}"), {}))
    for db, name in _re.findall(r"(?:from|join) ([a-z0-9_]+)\.([a-z0-9_]+)", text):
        out += [("glue:GetTable", _arn("glue", f"table/{db}/{name}"), {}),
                ("glue:GetPartitions", _arn("glue", f"table/{db}/{name}"), {}),
                ("s3:GetObject", f"arn:aws:s3:::autocorp-datalake-{ENV}/curated/hudi/{name}/x.parquet", {})]
    return out
