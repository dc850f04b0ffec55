"""Glue job clean_feed: each CSV feed (the on-premises exports) into a staged batch, row by row,
validated by its quality gate.

One script for the four feeds of the registry (`feeds:` in include/tables.yaml); one run cleans every
feed of `--name a,b,...` in one Spark application, then gates each staged batch (`jobs.staging`).
For each feed it reads
`raw/csv/<file>` (the share as DataSync copies it) with every column as a string, then per row:

- repairs what SOURCE_DATA.md calls repairable: whitespace around values (customer_id), thousands
  separators ("1,234.56") and currency symbols ("$123.45") in amounts;
- rejects the rest with one reason code (the first rule that matches, in this order):
  `missing_<column>` for a missing key or required value (e.g. `missing_customer_id`,
  `missing_order_date`, `missing_invoice_number`), `malformed_date` (order_date) /
  `malformed_<column>` (other unparseable values), `order_date_before_window` /
  `order_date_after_window` (outside ORDER_DATE_START..ORDER_DATE_END, inclusive dates),
  `negative_amount`, `zero_quantity` / `negative_quantity`, and last `duplicate_<key>`: a key seen
  earlier in the file (file order; the first accepted occurrence wins);
- keeps nulls where the source allows them (missing tax, subtotal, payment_method: the gate
  records those as warnings).
The codes are the issue names of the export generator (`generator.ISSUE_RULES`), so the reject
counts per reason equal the manifest's injected counts exactly.

Outputs (zone name `feed_<feed>`, the same as the GX suite, so feed and table names never collide):
- `staged/feed_<feed>/<run_id>/`: accepted rows, typed (ints, decimal(12,2), timestamps), plus
  `order_month` (orders: of order_date; lines: of created_at), `_source_file`, `_source_file_ts`
  (the file's modification time: the Hudi precombine field of the curated table), `_source_row`
  (1-based position in the file) and `_run_id`; with `_batch.json`;
- `quarantine/feed_<feed>/<run_id>/rejects/`: rejected rows as read (strings) + `reject_reason`;
- `logs/quality/feed_<feed>/<run_id>/rejects_summary.json`: input rows, accepted, rejected, counts
  per reason. accepted + rejected = input rows (checked; the job fails otherwise).

Arguments: those of every batch job (`lake.BatchArgs`: --kind feed --name <feed>[,<feed>...] --run_id
--lake_root --registry), --order_date_start / --order_date_end (default: `config.order_window`,
the same window the gate uses), --JOB_NAME.
"""

from __future__ import annotations

import datetime as dt
from typing import Sequence

from autocorp_lake import config, lake
from autocorp_lake.jobs import glue, staging
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

REASON = "reject_reason"
SOURCE_ROW = "_source_row"
SOURCE_FILE = "_source_file"
SOURCE_FILE_TS = "_source_file_ts"
RUN_ID = "_run_id"
AMOUNT = T.DecimalType(12, 2)

# Column name -> (type, required). Types: int, amount, timestamp, string.
FEED_COLUMNS: dict[str, list[tuple[str, str, bool]]] = {
    "customers": [
        ("customer_id", "int", True), ("first_name", "string", True), ("last_name", "string", True),
        ("email", "string", True), ("phone", "string", False), ("address", "string", False),
        ("city", "string", False), ("state", "string", False), ("zip_code", "string", False),
        ("created_at", "timestamp", False), ("updated_at", "timestamp", False),
    ],
    "sales_orders": [
        ("order_id", "int", True), ("customer_id", "int", True), ("order_date", "timestamp", True),
        ("invoice_number", "string", True), ("payment_method", "string", False),
        ("subtotal", "amount", False), ("tax", "amount", False), ("total_amount", "amount", True),
        ("order_type", "string", False), ("status", "string", False), ("notes", "string", False),
        ("created_at", "timestamp", False), ("updated_at", "timestamp", False),
    ],
    "sales_order_parts": [
        ("line_item_id", "int", True), ("order_id", "int", True), ("part_id", "int", False),
        ("sku", "string", False), ("part_description", "string", False), ("quantity", "int", True),
        ("unit_price", "amount", True), ("line_total", "amount", True), ("created_at", "timestamp", False),
    ],
    "sales_order_services": [
        ("line_item_id", "int", True), ("order_id", "int", True), ("serviceid", "string", True),
        ("service_description", "string", False), ("quantity", "int", True),
        ("labor_minutes", "int", True), ("labor_cost", "amount", True), ("parts_cost", "amount", False),
        ("line_total", "amount", True), ("vehicle_id", "int", False), ("technician_id", "int", False),
        ("service_status", "string", False), ("created_at", "timestamp", False),
    ],
}
MONTH_SOURCE = {"sales_orders": "order_date", "sales_order_parts": "created_at", "sales_order_services": "created_at"}
WINDOW_COLUMN = "order_date"
TIMESTAMP_RE = r"^([0-9]{4})-([0-9]{2})-([0-9]{2})([ T]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,6})?)?$"
INT_RE = r"^-?[0-9]+$"
AMOUNT_RE = r"^-?[0-9]+(\.[0-9]{1,2})?$"


class FeedError(ValueError):
    """The feed file or its arguments are not usable; the message names the file and the fix."""


def load_feed_spec(batch: lake.BatchArgs) -> dict:
    """The batch's feed in the registry: name, file, primary_key (list), curated_table."""
    if batch.kind != "feed":
        raise lake.BatchArgsError(f"clean_feed cleans CSV feeds; --kind {batch.kind} goes to apply_changes")
    registry = batch.registry_data()
    if batch.name not in registry.feed_names:
        raise FeedError(f"--name {batch.name!r} is not a feed of the registry {batch.registry} "
                        f"(it has: {', '.join(registry.feed_names)})")
    if batch.name not in FEED_COLUMNS:
        raise FeedError(f"feed {batch.name!r} has no column rules in clean_feed.FEED_COLUMNS")
    feed = registry.feed(batch.name)
    return {"name": feed.name, "file": feed.file, "primary_key": list(feed.primary_key),
            "curated_table": feed.curated_table}


# --- pure transforms -----------------------------------------------------------------------------


def read_feed_csv(spark, uri: str, expected: Sequence[str]) -> DataFrame:
    """The CSV with every column a string, plus its file name, modification time and row number.

    The header must hold every expected column (a missing one fails the job with its name); extra
    columns are kept, so the gate's column-set expectation catches the drift.
    """
    header = spark.read.option("header", "true").option("multiLine", "true").option("escape", '"').csv(uri)
    missing = [c for c in expected if c not in header.columns]
    if missing:
        raise FeedError(
            f"{uri}: columns {missing} are missing from the header (it has {header.columns}); "
            "fix the export or the feed's column rules"
        )
    schema = T.StructType([T.StructField(c, T.StringType(), True) for c in header.columns])
    df = (
        spark.read.option("header", "true").option("multiLine", "true").option("escape", '"')
        .option("mode", "PERMISSIVE").schema(schema).csv(uri)
    )
    df = (
        df.withColumn(SOURCE_FILE, F.col("_metadata.file_name"))
        .withColumn(SOURCE_FILE_TS, F.col("_metadata.file_modification_time"))
        .withColumn("_mono", F.monotonically_increasing_id())
    )
    if df.rdd.getNumPartitions() == 1:
        # one file read with multiLine is one partition, whose increasing ids are 0..n-1 in file
        # order: the row number without a global sort on one core
        numbered = df.withColumn(SOURCE_ROW, (F.col("_mono") + 1).cast("int"))
    else:
        numbered = df.withColumn(SOURCE_ROW, F.row_number().over(Window.orderBy("_mono")).cast("int"))
    # the row rules (regexes, casts) then run on every core, not on the reader's one partition
    return numbered.drop("_mono").repartition(spark.sparkContext.defaultParallelism)


# What `_trimmed` strips from both ends: Java's \s and the no-break space. One trim by a set of
# characters, not a regex: the regex was a third of classify's time on a million-row feed.
TRIMMED = " \t\n\u000b\f\r\u00a0"


def _trimmed(column: str) -> Column:
    value = F.expr(f"trim(BOTH '{TRIMMED}' FROM `{column}`)")
    return F.when(value == "", F.lit(None)).otherwise(value)


def repaired_amount(column: str) -> Column:
    """'1,234.56' / '$123.45' / ' 12.00 ' -> '1234.56' / '123.45' / '12.00' (text)."""
    value = _trimmed(column)
    return F.regexp_replace(F.regexp_replace(value, r"^(-?)\$", "$1"), ",", "")


def _is_valid_timestamp(text: Column) -> Column:
    """Matches the pattern and is a real calendar date/time (no parser leniency, no exceptions).
    Where the pattern matches, its fields sit at fixed places: substrings, not a regex per field."""
    def field(start: int, length: int) -> Column:
        return F.substring(text, start, length).cast("int")

    year, month, day = field(1, 4), field(6, 2), field(9, 2)
    time_ok = (F.length(text) == 10) | ((field(12, 2) < 24) & (field(15, 2) < 60) & (field(18, 2) < 60))
    month_ok = (month >= 1) & (month <= 12)
    first = F.when((year >= 1) & month_ok, F.make_date(year, month, F.lit(1)))
    day_ok = (day >= 1) & (day <= F.dayofmonth(F.last_day(first)))
    return F.coalesce(text.rlike(TIMESTAMP_RE) & (year >= 1) & month_ok & day_ok & time_ok, F.lit(False))


def _parse_timestamp(text: Column) -> Column:
    """Only valid text is parsed (a cast, never the lenient legacy parser); otherwise null."""
    return F.when(_is_valid_timestamp(text), F.regexp_replace(text, "T", " ").cast("timestamp"))


def reason_codes(feed: str) -> list[str]:
    """Every reject reason the cleaner can give for a feed, in rule order."""
    columns = FEED_COLUMNS[feed]
    names = {c[0] for c in columns}
    key = {"customers": "customer_id", "sales_orders": "order_id"}.get(feed, "line_item_id")
    codes = [f"missing_{c}" for c, _, required in columns if required]
    codes += ["malformed_date" if c == WINDOW_COLUMN else f"malformed_{c}" for c, kind, _ in columns
              if kind in ("int", "amount", "timestamp")]
    if WINDOW_COLUMN in names:
        codes += ["order_date_before_window", "order_date_after_window"]
    if any(kind == "amount" for _, kind, _ in columns):
        codes.append("negative_amount")
    if "quantity" in names:
        codes += ["zero_quantity", "negative_quantity"]
    return codes + [f"duplicate_{key}"]


def classify(df: DataFrame, feed: str, key: str, window: tuple[dt.date, dt.date]) -> DataFrame:
    """Add the repaired text of every rule column (`_v_<col>`) and `reject_reason` (null = accepted)."""
    columns = FEED_COLUMNS[feed]
    start, end = window
    end_exclusive = end + dt.timedelta(days=1)
    for name, kind, _ in columns:
        if kind == "amount":
            df = df.withColumn(f"_v_{name}", repaired_amount(name))
        elif kind in ("int", "timestamp"):
            df = df.withColumn(f"_v_{name}", _trimmed(name))
        else:
            df = df.withColumn(f"_v_{name}", F.when(_trimmed(name).isNull(), F.lit(None)).otherwise(F.col(name)))

    rules: list[Column] = []
    ordered = [c for c in columns if c[0] == key] + [c for c in columns if c[0] != key]
    for name, _, required in ordered:  # missing key first, then missing required values
        if required:
            rules.append(F.when(F.col(f"_v_{name}").isNull(), F.lit(f"missing_{name}")))
    for name, kind, _ in columns:  # malformed values
        value = F.col(f"_v_{name}")
        reason = "malformed_date" if name == WINDOW_COLUMN else f"malformed_{name}"
        if kind == "int":
            rules.append(F.when(value.isNotNull() & ~value.rlike(INT_RE), F.lit(reason)))
        elif kind == "amount":
            rules.append(F.when(value.isNotNull() & ~value.rlike(AMOUNT_RE), F.lit(reason)))
        elif kind == "timestamp":
            rules.append(F.when(value.isNotNull() & ~_is_valid_timestamp(value), F.lit(reason)))
    if any(c[0] == WINDOW_COLUMN for c in columns):
        when = _parse_timestamp(F.col(f"_v_{WINDOW_COLUMN}"))
        rules.append(F.when(when < F.lit(dt.datetime.combine(start, dt.time())), F.lit("order_date_before_window")))
        rules.append(F.when(when >= F.lit(dt.datetime.combine(end_exclusive, dt.time())), F.lit("order_date_after_window")))
    for name, kind, _ in columns:
        if kind == "amount":
            rules.append(F.when(F.col(f"_v_{name}").cast(AMOUNT) < 0, F.lit("negative_amount")))
    if any(c[0] == "quantity" for c in columns):
        quantity = F.col("_v_quantity").cast("long")
        rules.append(F.when(quantity == 0, F.lit("zero_quantity")))
        rules.append(F.when(quantity < 0, F.lit("negative_quantity")))
    df = df.withColumn(REASON, F.coalesce(*rules) if rules else F.lit(None).cast("string"))

    # duplicate keys: among rows otherwise accepted, the first in file order wins
    rank = Window.partitionBy(F.col(f"_v_{key}"), F.col(REASON).isNull()).orderBy(SOURCE_ROW)
    df = df.withColumn("_dup_rank", F.row_number().over(rank))
    return df.withColumn(
        REASON,
        F.when(F.col(REASON).isNull() & (F.col("_dup_rank") > 1), F.lit(f"duplicate_{key}")).otherwise(F.col(REASON)),
    ).drop("_dup_rank")


def accepted_rows(classified: DataFrame, feed: str, run_id: str) -> DataFrame:
    """Accepted rows as typed columns + order_month + lineage columns."""
    columns = FEED_COLUMNS[feed]
    selected = []
    for name, kind, _ in columns:
        value = F.col(f"_v_{name}")
        if kind == "int":
            selected.append(value.cast("int").alias(name))
        elif kind == "amount":
            selected.append(value.cast(AMOUNT).alias(name))
        elif kind == "timestamp":
            selected.append(_parse_timestamp(value).alias(name))
        else:
            selected.append(value.alias(name))
    known = {c[0] for c in columns} | {SOURCE_FILE, SOURCE_FILE_TS, SOURCE_ROW, REASON}
    extra = [F.col(c) for c in classified.columns if c not in known and not c.startswith("_v_")]
    out = classified.where(F.col(REASON).isNull()).select(
        *selected, *extra, F.col(SOURCE_FILE), F.col(SOURCE_FILE_TS), F.col(SOURCE_ROW)
    )
    if feed in MONTH_SOURCE:
        out = out.withColumn("order_month", F.date_format(F.col(MONTH_SOURCE[feed]), "yyyy-MM"))
    out = out.withColumn(RUN_ID, F.lit(run_id))
    order = [c[0] for c in columns] + [c for c in out.columns if c not in {x[0] for x in columns}
                                        and c not in (SOURCE_FILE, SOURCE_FILE_TS, SOURCE_ROW, RUN_ID)]
    return out.select(*order, SOURCE_FILE, SOURCE_FILE_TS, SOURCE_ROW, RUN_ID)


def rejected_rows(classified: DataFrame, run_id: str) -> DataFrame:
    raw = [c for c in classified.columns if not c.startswith("_v_")]
    return classified.where(F.col(REASON).isNotNull()).select(*raw).withColumn(RUN_ID, F.lit(run_id))


def reject_counts(classified: DataFrame) -> dict[str, int]:
    rows = classified.where(F.col(REASON).isNotNull()).groupBy(REASON).count().collect()
    return {row[REASON]: int(row["count"]) for row in sorted(rows, key=lambda r: r[REASON])}


# --- main ----------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> dict[str, dict]:
    """Every feed of `--name a,b,...` cleaned, staged and gated in this Spark application
    (jobs.staging); a feed's outcome carries its reject summary."""
    batches, args = lake.BatchArgs.many_from_argv(argv, "clean_feed", order_date_start=None, order_date_end=None)
    for batch in batches:
        load_feed_spec(batch)  # an unknown feed fails the run, before any work
    try:
        window = config.order_window(batches[0].lake_root, args["order_date_start"], args["order_date_end"])
    except config.ConfigError as exc:
        raise FeedError(str(exc)) from exc
    config.use_include_from(batches[0].registry, with_suites=True)
    spark, job = glue.start(args["JOB_NAME"], args, "clean_feed")
    outcomes = staging.stage_and_validate(batches, lambda batch: clean(spark, batch, window))
    job.commit()
    return outcomes


def clean(spark, batch: lake.BatchArgs, window: tuple[dt.date, dt.date]) -> dict:
    """The feed's CSV export -> accepted rows staged, rejects with their reason; its summary."""
    spec = load_feed_spec(batch)
    feed, run_id, zone = batch.name, batch.run_id, batch.zone
    key = spec["primary_key"][0]
    source = batch.uri(lake.raw_csv_key(spec["file"]))
    if not lake.exists(source):
        raise FeedError(f"no file {source}; run the transfer (DataSync) of the exports first")
    raw = read_feed_csv(spark, source, [c[0] for c in FEED_COLUMNS[feed]])
    classified = classify(raw, feed, key, window).persist()
    try:
        input_rows = classified.count()
        counts = reject_counts(classified)
        rejects_uri = batch.uri(lake.rejects_prefix(zone, run_id))
        accepted_rows(classified, feed, run_id).write.mode("overwrite").parquet(batch.staged)
        rejected_rows(classified, run_id).write.mode("overwrite").parquet(rejects_uri)
        accepted = spark.read.parquet(batch.staged).count()
    finally:
        classified.unpersist()
    rejected = sum(counts.values())
    if accepted + rejected != input_rows:
        raise FeedError(
            f"{source}: accepted ({accepted}) + rejected ({rejected}) != input rows ({input_rows}); "
            "nothing was promoted, rerun the job"
        )
    summary = {
        "feed": feed, "zone": zone, "run_id": run_id, "file": spec["file"], "source": source,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "order_date_window": [window[0].isoformat(), window[1].isoformat()],
        "input_rows": input_rows, "accepted": accepted, "rejected": rejected, "rejected_by_reason": counts,
        "staged": batch.staged, "rejects": rejects_uri,
    }
    manifest = {
        "kind": "feed", "name": feed, "zone": zone, "curated_table": spec["curated_table"], "run_id": run_id,
        "created_at": summary["created_at"], "files": [lake.raw_csv_key(spec["file"])],
        "mode": "upsert", "input_rows": input_rows, "rows": accepted, "rejected": rejected,
        "primary_key": spec["primary_key"], "ordering_field": SOURCE_FILE_TS,
        "partition": ({"source_column": MONTH_SOURCE[feed], "granularity": "month", "field": "order_month"}
                      if feed in MONTH_SOURCE else None),
        "path": batch.staged,
    }
    lake.write_json(batch.manifest, manifest)
    lake.write_json(batch.uri(lake.rejects_summary_key(zone, run_id)), summary)
    return summary
