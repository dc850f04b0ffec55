"""Terraform values that AWS enumerates are values the AWS APIs accept (issue 12, point 5).

Each enumerated attribute of infra/ is held against the enum of its shape in botocore's service
model (the API definitions the AWS SDKs are generated from): a value Terraform would send that
the API refuses (e.g. the DMS PostgreSQL plugin `test_decoding`) fails here instead of at apply.
Values given through variables are checked with every default and every env/*.tfvars value."""

from __future__ import annotations

import re
from functools import lru_cache

import botocore.session
import hcl2
import pytest

from deploy_support import REPO

INFRA = REPO / "infra"

# (resource type, attribute) -> (botocore service, shape). The attribute is searched in the whole
# resource body (nested blocks included).
ENUMS: dict[tuple[str, str], tuple[str, str]] = {
    ("aws_dms_endpoint", "endpoint_type"): ("dms", "ReplicationEndpointTypeValue"),
    ("aws_dms_endpoint", "ssl_mode"): ("dms", "DmsSslModeValue"),
    ("aws_dms_endpoint", "plugin_name"): ("dms", "PluginNameValue"),
    ("aws_dms_s3_endpoint", "endpoint_type"): ("dms", "ReplicationEndpointTypeValue"),
    ("aws_dms_s3_endpoint", "data_format"): ("dms", "DataFormatValue"),
    ("aws_dms_s3_endpoint", "parquet_version"): ("dms", "ParquetVersionValue"),
    ("aws_dms_s3_endpoint", "date_partition_sequence"): ("dms", "DatePartitionSequenceValue"),
    ("aws_dms_s3_endpoint", "date_partition_delimiter"): ("dms", "DatePartitionDelimiterValue"),
    ("aws_dms_s3_endpoint", "encryption_mode"): ("dms", "EncryptionModeValue"),
    ("aws_dms_s3_endpoint", "compression_type"): ("dms", "CompressionTypeValue"),
    ("aws_dms_replication_task", "migration_type"): ("dms", "MigrationTypeValue"),
    ("aws_glue_job", "worker_type"): ("glue", "WorkerType"),
    ("aws_glue_job", "execution_class"): ("glue", "ExecutionClass"),
    ("aws_glue_crawler", "update_behavior"): ("glue", "UpdateBehavior"),
    ("aws_glue_crawler", "delete_behavior"): ("glue", "DeleteBehavior"),
    ("aws_glue_connection", "connection_type"): ("glue", "ConnectionType"),
    ("aws_glue_security_configuration", "cloudwatch_encryption_mode"): ("glue", "CloudWatchEncryptionMode"),
    ("aws_glue_security_configuration", "job_bookmarks_encryption_mode"): ("glue", "JobBookmarksEncryptionMode"),
    ("aws_glue_security_configuration", "s3_encryption_mode"): ("glue", "S3EncryptionMode"),
    ("aws_datasync_task", "verify_mode"): ("datasync", "VerifyMode"),
    ("aws_datasync_task", "transfer_mode"): ("datasync", "TransferMode"),
    ("aws_datasync_task", "overwrite_mode"): ("datasync", "OverwriteMode"),
    ("aws_datasync_task", "preserve_deleted_files"): ("datasync", "PreserveDeletedFiles"),
    ("aws_datasync_task", "log_level"): ("datasync", "LogLevel"),
    ("aws_datasync_task", "posix_permissions"): ("datasync", "PosixPermissions"),
    ("aws_datasync_task", "uid"): ("datasync", "Uid"),
    ("aws_datasync_task", "gid"): ("datasync", "Gid"),
    ("aws_datasync_task", "filter_type"): ("datasync", "FilterType"),
    ("aws_datasync_task", "output_type"): ("datasync", "ReportOutputType"),
    ("aws_datasync_task", "report_level"): ("datasync", "ReportLevel"),
    ("aws_datasync_task", "s3_object_versioning"): ("datasync", "ObjectVersionIds"),
    ("aws_datasync_task", "transferred_override"): ("datasync", "ReportLevel"),
    ("aws_datasync_task", "verified_override"): ("datasync", "ReportLevel"),
    ("aws_datasync_location_s3", "s3_storage_class"): ("datasync", "S3StorageClass"),
    ("aws_datasync_location_nfs", "version"): ("datasync", "NfsVersion"),
    ("aws_athena_workgroup", "encryption_option"): ("athena", "EncryptionOption"),
    ("aws_athena_workgroup", "state"): ("athena", "WorkGroupState"),
    ("aws_mwaa_environment", "webserver_access_mode"): ("mwaa", "WebserverAccessMode"),
    ("aws_mwaa_environment", "log_level"): ("mwaa", "LoggingLevel"),
    ("aws_cloudwatch_metric_alarm", "comparison_operator"): ("cloudwatch", "ComparisonOperator"),
    ("aws_cloudwatch_metric_alarm", "statistic"): ("cloudwatch", "Statistic"),
    ("aws_s3_bucket_lifecycle_configuration", "storage_class"): ("s3", "TransitionStorageClass"),
}

# The Terraform provider's own spelling of a few enums, as it validates them before any API call
# (its docs: aws_dms_s3_endpoint encryption_mode "SSE_S3 | SSE_KMS"); the API takes them too.
PROVIDER_SPELLING = {("dms", "EncryptionModeValue"): {"SSE_S3": "sse-s3", "SSE_KMS": "sse-kms"}}


def unq(value):
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


@lru_cache(maxsize=None)
def load(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        return hcl2.load(handle)


@lru_cache(maxsize=None)
def enum(service: str, shape: str) -> tuple[str, ...]:
    model = botocore.session.get_session().get_service_model(service)
    values = model.shape_for(shape).enum
    assert values, f"{service}.{shape} is not an enum in botocore"
    return tuple(values)


def module_variable_values(module: str, name: str) -> list:
    """A module variable's possible values: its default, and what the root passes for it
    (a literal, or a root variable's default and its value in every env/*.tfvars)."""
    values = []
    for path in (INFRA / "modules" / module).glob("*.tf"):
        for entry in load(str(path)).get("variable", []):
            body = entry.get(name) or entry.get(f'"{name}"')
            if body and "default" in body:
                values.append(unq(body["default"]))
    for entry in load(str(INFRA / "main.tf")).get("module", []):
        for call, body in entry.items():
            if unq(call) != module or name not in body:
                continue
            expr = body[name]
            match = re.fullmatch(r"\$\{var\.(\w+)\}", str(expr))
            if not match:
                values.append(unq(expr))
                continue
            root = match.group(1)
            for path in INFRA.glob("*.tf"):
                for var in load(str(path)).get("variable", []):
                    if root in var and "default" in var[root]:
                        values.append(unq(var[root]["default"]))
            for tfvars in sorted((INFRA / "env").glob("*.tfvars")):
                data = hcl2.loads(tfvars.read_text())
                if root in data:
                    values.append(unq(data[root]))
    return values


def attribute_values(module: str, node, attribute: str):
    """Every value of `attribute` anywhere in a resource body, variables resolved."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == attribute and not isinstance(value, (dict, list)):
                text = unq(value)
                match = re.fullmatch(r"\$\{var\.(\w+)\}", str(text))
                if match:
                    yield from module_variable_values(module, match.group(1))
                elif not str(text).startswith("${"):
                    yield text
            else:
                yield from attribute_values(module, value, attribute)
    elif isinstance(node, list):
        for item in node:
            yield from attribute_values(module, item, attribute)


def checked_values() -> list[tuple[str, str, str, str, object]]:
    out = []
    for module_dir in sorted(p for p in (INFRA / "modules").iterdir() if p.is_dir()):
        for path in sorted(module_dir.glob("*.tf")):
            for entry in load(str(path)).get("resource", []):
                for rtype, named in entry.items():
                    rtype = unq(rtype)
                    for name, body in named.items():
                        if name.startswith("__"):
                            continue
                        for (kind, attribute), (service, shape) in ENUMS.items():
                            if kind == rtype:
                                for value in attribute_values(module_dir.name, body, attribute):
                                    out.append((f"{module_dir.name}/{rtype}.{unq(name)}", attribute, service, shape, value))
    return out


def test_enumerated_values_are_what_the_aws_apis_accept():
    values = checked_values()
    checked = {(where, attribute) for where, attribute, *_ in values}
    assert len(checked) >= 30, f"too few enumerated values found: {sorted(checked)}"
    wrong = []
    for where, attribute, service, shape, value in values:
        allowed = enum(service, shape)
        value = PROVIDER_SPELLING.get((service, shape), {}).get(str(value), value)
        if str(value) not in allowed:
            wrong.append(f"{where} {attribute} = {value!r}: {service} {shape} allows {', '.join(allowed)}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("service,shape", sorted(set(ENUMS.values())))
def test_every_shape_named_is_an_enum_of_botocore(service, shape):
    assert enum(service, shape)
