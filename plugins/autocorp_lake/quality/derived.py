"""The derived `_chk_*` columns a suite asks for (`meta.autocorp.derived_columns` of its JSON),
added to the batch before validation: one definition for pandas and Spark alike.

First, on a table batch, every column of a delete row (Op = 'D') but its key and the CDC
bookkeeping (`KEEP_ON_DELETE`) is nulled: Hudi deletes by key, so only a delete's key is checked
(e.g. a deleted part's sku re-used by a new part). Then each spec adds one column, by its kind:

- `timestamp`: `column` parsed as a timestamp (`dms_commit_ts`, for freshness);
- `linear`: `target - (sum[0] + sum[1] + ...)` rounded to 2 places (null when a term is null);
- `product`: `target - factor * (sum[0] + sum[1] + ...)` rounded to 2 places, a null term of the
  sum counting 0 (`line_total - quantity * (labor_cost + coalesce(parts_cost, 0))`);
- `orphan`: the value of `column` when it is in neither the curated parent (`curated/hudi/<table>/`
  base files) nor any staged batch of the parent (`staged/<parent zone>/*/`), else null, so a plain
  `expect_column_values_to_be_null` counts and samples the orphans. A delete row is never an
  orphan. While the parent has no data at all the column is all null and a note says so.

Each kind is one function of `KINDS`, written once against the few operations that `_Pandas` and
`_Spark` give (numbers, rounding, null tests, the parent's keys); adding a kind touches one place.
"""

from __future__ import annotations

import functools
import operator
import os
import tempfile
from typing import Callable

from autocorp_lake import config, lake
from autocorp_lake.lake import BatchArgs
from autocorp_lake.quality.errors import GateError

KEEP_ON_DELETE = ("Op", "dms_commit_ts", "dms_change_seq", "_hoodie_is_deleted", "order_month")
PARENT_KEY = "__parent_key"  # the parent's key column while Spark joins it to the batch


def delete_masked_columns(columns, keys) -> list[str]:
    """Columns nulled on delete rows (Op = 'D') before validation."""
    return [c for c in columns if c not in KEEP_ON_DELETE and c not in keys]


def parent_files(lake_root: str, parent: dict, registry_uri: str | None = None) -> list[str]:
    """The parquet files that hold a parent's keys: the curated Hudi base files and every staged
    batch of the parent; empty while it has no data."""
    if parent["kind"] == "table":
        curated = parent["name"]
    else:
        registry = config.registry_at(registry_uri) if registry_uri else config.registry()
        curated = registry.feed(parent["name"]).curated_table
    staged = lake.staged_prefix(lake.zone_name(parent["kind"], parent["name"]))
    files = lake.list_files(lake.hudi_table_uri(lake_root, curated))
    return files + lake.list_files(lake.join(lake_root, staged))


# --- the two engines ---------------------------------------------------------------------------


class _Frame:
    """The batch in one engine, and the operations the kinds use."""

    def __init__(self, df):
        self.df = df

    @property
    def columns(self) -> list[str]:
        return list(self.df.columns)


class _Pandas(_Frame):
    """A pandas DataFrame; expressions are Series."""

    def set(self, name: str, expr) -> None:
        self.df[name] = expr

    def nulls(self):
        import pandas as pd

        return pd.Series([None] * len(self.df), index=self.df.index, dtype="object")

    def num(self, column: str):
        import numpy as np
        import pandas as pd

        if column not in self.df.columns:
            return pd.Series(np.nan, index=self.df.index, dtype="float64")
        return pd.to_numeric(self.df[column], errors="coerce").astype("float64")

    def timestamp(self, column: str):
        import pandas as pd

        values = self.df[column] if column in self.df.columns else self.nulls()
        return pd.to_datetime(values, errors="coerce").astype("datetime64[ns]")

    @staticmethod
    def zero_if_null(expr):
        return expr.fillna(0.0)

    @staticmethod
    def round2(expr):
        return expr.round(2)

    def not_delete(self):
        return self.df["Op"].ne("D").fillna(True)

    def null_unless(self, keep, columns: list[str]) -> None:
        if not keep.all():
            for column in columns:
                self.df[column] = self.df[column].where(keep)

    def not_null(self, column: str):
        return self.df[column].notna()

    @staticmethod
    def parent_keys(files: list[str], column: str) -> set:
        """The parent's keys as a set (an s3:// file is downloaded, read and removed, like the batch)."""
        import pyarrow.parquet as pq

        keys: set = set()
        with tempfile.TemporaryDirectory(prefix="gate-parent-") as scratch:
            for index, uri in enumerate(files):
                path = lake.download(uri, os.path.join(scratch, f"{index}.parquet")) if lake.is_s3(uri) else uri
                if column in pq.read_schema(path).names:
                    values = pq.read_table(path, columns=[column]).column(0).to_pylist()
                    keys.update(v for v in values if v is not None)
                if path != uri:
                    os.remove(path)
        return keys

    def in_parent(self, column: str, keys: set):
        return self.df[column].isin(keys)

    def where(self, cond, column: str):
        """The column's values where cond holds, else null (objects: the key as it is)."""
        return self.df[column].astype("object").where(cond, None)


class _Spark(_Frame):
    """A Spark DataFrame; expressions are Columns. The parent's keys are read by Spark itself
    (s3:// on Glue), so a million keys never pass through the driver."""

    def set(self, name: str, expr) -> None:
        self.df = self.df.withColumn(name, expr)
        if PARENT_KEY in self.df.columns:
            self.df = self.df.drop(PARENT_KEY)

    @staticmethod
    def nulls():
        from pyspark.sql import functions as F

        return F.lit(None).cast("string")

    def num(self, column: str):
        from pyspark.sql import functions as F

        return F.col(column).cast("double") if column in self.df.columns else F.lit(None).cast("double")

    def timestamp(self, column: str):
        from pyspark.sql import functions as F

        return F.to_timestamp(F.col(column) if column in self.df.columns else self.nulls())

    @staticmethod
    def zero_if_null(expr):
        from pyspark.sql import functions as F

        return F.coalesce(expr, F.lit(0.0))

    @staticmethod
    def round2(expr):
        from pyspark.sql import functions as F

        return F.round(expr, 2)

    @staticmethod
    def not_delete():
        from pyspark.sql import functions as F

        return F.coalesce(F.col("Op") != F.lit("D"), F.lit(True))

    def null_unless(self, keep, columns: list[str]) -> None:
        from pyspark.sql import functions as F

        for column in columns:
            self.df = self.df.withColumn(column, F.when(keep, F.col(column)))

    @staticmethod
    def not_null(column: str):
        from pyspark.sql import functions as F

        return F.col(column).isNotNull()

    def parent_keys(self, files: list[str], column: str):
        """The parent's distinct keys as a one-column dataframe (`__parent_key`, strings)."""
        from pyspark.sql import functions as F

        keys = self.df.sparkSession.read.parquet(*files).select(F.col(column).cast("string").alias(PARENT_KEY))
        return keys.where(F.col(PARENT_KEY).isNotNull()).distinct()

    def in_parent(self, column: str, keys):
        """Joins the keys to the batch (dropped again by `set`); keys compare as strings."""
        from pyspark.sql import functions as F

        self.df = self.df.join(F.broadcast(keys), F.col(column).cast("string") == F.col(PARENT_KEY), "left")
        return F.col(PARENT_KEY).isNotNull()

    @staticmethod
    def where(cond, column: str):
        from pyspark.sql import functions as F

        return F.when(cond, F.col(column).cast("string"))


ENGINES = {"pandas": _Pandas, "spark": _Spark}


# --- the kinds ---------------------------------------------------------------------------------


class _Context:
    """What a kind may need beyond the frame: the batch (where its parents are), whether its rows
    can be deletes, and the notes of the gate's summary."""

    def __init__(self, batch: BatchArgs, has_deletes: bool, notes: list):
        self.batch, self.has_deletes, self.notes = batch, has_deletes, notes


def _timestamp(frame, spec: dict, _: _Context):
    return frame.timestamp(spec["column"])


def _linear(frame, spec: dict, _: _Context):
    total = functools.reduce(operator.add, (frame.num(term) for term in spec["sum"]))
    return frame.round2(frame.num(spec["target"]) - total)


def _product(frame, spec: dict, _: _Context):
    total = functools.reduce(operator.add, (frame.zero_if_null(frame.num(term)) for term in spec["sum"]))
    return frame.round2(frame.num(spec["target"]) - frame.num(spec["factor"]) * total)


def _orphan(frame, spec: dict, context: _Context):
    parent, column = spec["parent"], spec["column"]
    files = parent_files(context.batch.lake_root, parent, context.batch.registry)
    if not files:
        context.notes.append(
            f"{spec['name']}: parent {parent['kind']} {parent['name']} has no data yet; check skipped")
        return frame.nulls()
    keys = frame.parent_keys(files, parent["column"])
    if column not in frame.columns:
        return frame.nulls()
    orphan = frame.not_null(column) & ~frame.in_parent(column, keys)
    if context.has_deletes:
        orphan = orphan & frame.not_delete()
    return frame.where(orphan, column)


KINDS: dict[str, Callable] = {"timestamp": _timestamp, "linear": _linear, "product": _product, "orphan": _orphan}


def add_derived(df, engine: str, specs: list[dict], batch: BatchArgs, notes: list, keys: tuple = ()):
    """The batch (a pandas or Spark dataframe, by `engine`) with delete rows masked and the derived
    columns added; a kind's remark (a parent without data) is appended to notes."""
    frame = ENGINES[engine](df)
    context = _Context(batch, batch.kind == "table" and "Op" in frame.columns, notes)
    if context.has_deletes:
        frame.null_unless(frame.not_delete(), delete_masked_columns(frame.columns, keys))
    for spec in specs:
        build = KINDS.get(spec["kind"])
        if build is None:
            raise GateError(f"unknown derived column kind {spec['kind']!r} in the suite ({spec['name']})")
        frame.set(spec["name"], build(frame, spec, context))
    return frame.df
