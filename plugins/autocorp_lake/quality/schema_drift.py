"""Schema changes of a database table's staged batch, against what the lake already holds.

The reference is the curated Hudi table's latest committed schema (read from the commit metadata
on its timeline, so it works on an MWAA worker without Spark), or, before the first promote, the
column set of the table's suite. Then:
- a new column (the source ran ALTER TABLE ... ADD COLUMN) passes with a warning, and the suite's
  exact column set follows the lake (the reference plus the new columns): the column flows to the
  curated table, the catalog and Athena, and the next batches pass without a warning;
- a dropped column, a changed type or a missing key column blocks the batch (quarantine), with a
  message that says what changed and the documented way through (`schema_fix`).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field

from autocorp_lake import lake

# Hudi's own columns: on the table, never in a batch
HUDI_META_COLUMNS = frozenset({
    "_hoodie_commit_time", "_hoodie_commit_seqno", "_hoodie_record_key",
    "_hoodie_partition_path", "_hoodie_file_name", "_hoodie_operation",
})
COLUMN_SET = "expect_table_columns_to_match_set"
COMMIT_SUFFIXES = (".commit", ".deltacommit", ".replacecommit")
AVRO_PRIMITIVES = {"int": "int", "long": "bigint", "string": "string", "double": "double",
                   "float": "float", "boolean": "boolean", "bytes": "binary"}


@dataclass
class Drift:
    new: list[tuple[str, str]] = field(default_factory=list)        # (column, type)
    dropped: list[str] = field(default_factory=list)
    changed: list[tuple[str, str, str]] = field(default_factory=list)  # (column, lake type, batch type)
    reference: str = "suite"  # "curated table" once the table exists

    @property
    def blocking(self) -> bool:
        return bool(self.dropped or self.changed)


def avro_type(avro) -> str:
    """An Avro field type (Hudi's commit schema) as Spark's simpleString, for comparison."""
    if isinstance(avro, list):  # a nullable field: ["null", T]
        avro = next((branch for branch in avro if branch != "null"), "null")
    if isinstance(avro, dict):
        logical = avro.get("logicalType")
        if logical == "decimal":
            return f"decimal({avro['precision']},{avro.get('scale', 0)})"
        if logical in ("timestamp-micros", "timestamp-millis", "local-timestamp-micros", "local-timestamp-millis"):
            return "timestamp"
        if logical == "date":
            return "date"
        return avro_type(avro.get("type"))
    return AVRO_PRIMITIVES.get(str(avro), str(avro))


def latest_commit_schema(lake_root: str, table: str, list_keys, read_text) -> dict[str, str] | None:
    """{column: type} of the curated table's newest completed commit, None if the table is absent.
    list_keys/read_text are the gate's lake I/O (local folder or s3://)."""
    timeline = lake.join(lake.hudi_table_uri(lake_root, table), ".hoodie")
    try:
        names = [key.rsplit("/", 1)[-1] for key in list_keys(timeline)]
    except FileNotFoundError:
        return None
    commits = sorted(name for name in names if name.endswith(COMMIT_SUFFIXES) and name[:1].isdigit())
    for name in reversed(commits):
        meta = json.loads(read_text(f"{timeline}/{name}") or "{}")
        schema = (meta.get("extraMetadata") or {}).get("schema")
        if schema:
            fields = json.loads(schema).get("fields", [])
            return {f["name"]: avro_type(f["type"]) for f in fields if f["name"] not in HUDI_META_COLUMNS}
    return None


def suite_columns(suite_data: dict) -> list[str] | None:
    for item in suite_data["expectations"]:
        if item["type"] == COLUMN_SET:
            return list(item["kwargs"]["column_set"])
    return None


def compare(batch_schema: list[dict], curated: dict[str, str] | None, suite_data: dict,
            derived: list[str], key: list[str]) -> Drift:
    """What changed between the batch's columns (from its _batch.json) and the lake's."""
    batch = {column["name"]: column["type"] for column in batch_schema}
    if curated is not None:
        reference, drift = dict(curated), Drift(reference="curated table")
    else:
        reference = {name: None for name in suite_columns(suite_data) or [] if name not in derived}
        drift = Drift()
    if not reference:
        return drift
    drift.new = [(name, kind) for name, kind in batch.items() if name not in reference]
    drift.dropped = [name for name in reference if name not in batch]
    drift.changed = [(name, old, batch[name]) for name, old in reference.items()
                     if old is not None and name in batch and batch[name] != old]
    # a renamed key shows as a dropped key column plus a new one: both are reported
    drift.dropped.sort(key=lambda name: (name not in key, name))
    return drift


def follow_schema(suite_data: dict, drift: Drift, batch_schema: list[dict], derived: list[str]) -> dict:
    """The suite whose exact column set follows the lake: the batch's columns (the reference's
    plus the new ones) and the gate's derived columns. A blocking drift keeps the suite's own set."""
    if drift.blocking:
        return suite_data
    followed = copy.deepcopy(suite_data)
    for item in followed["expectations"]:
        if item["type"] == COLUMN_SET:
            item["kwargs"]["column_set"] = [c["name"] for c in batch_schema] + [d for d in derived]
    return followed


def result_rows(drift: Drift) -> list[dict]:
    """The drift as rows of the gate's results (same fields as summarize())."""
    rows = []
    for name, kind in drift.new:
        rows.append(_row(name, "warning", f"new column {name} ({kind}) in the source: added to the curated table"))
    for name in drift.dropped:
        rows.append(_row(name, "critical", f"column {name} is in the {drift.reference} but not in the batch "
                                           "(dropped or renamed in the source)"))
    for name, old, new in drift.changed:
        rows.append(_row(name, "critical", f"column {name} changed type: {old} in the {drift.reference}, "
                                           f"{new} in the batch"))
    return rows


def _row(column: str, severity: str, rule: str) -> dict:
    return {"expectation": "schema_drift", "column": column, "severity": severity, "rule": rule,
            "success": False, "unexpected_count": None, "element_count": None, "observed_value": None,
            "sample_unexpected": [], "sample_keys": [], "exception": None}


def schema_fix(table: str, drift: Drift) -> str:
    """The documented way through a blocking change (README "Schema changes")."""
    return (
        f"This is a breaking schema change of {table}: the lake does not rewrite history on its own. "
        f"Rebuild the table from a new snapshot: update include/quality/{table}.json to the new schema "
        f"(its {COLUMN_SET} column set and the expectations of the changed columns), then run "
        "`autocorp-lake run autocorp_bootstrap --conf '{\"reset\": true}'` (on AWS: the same DAG run with "
        "that conf). The quarantined batch is superseded by the new snapshot."
    )
