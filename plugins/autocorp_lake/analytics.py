"""The analytics layer: the Athena SQL files of include/sql/athena/, their results under
`reports/<date>/<query>/`, and a small HTML report with SVG charts (revenue by month, service mix,
top parts) built from those results on either target."""

from __future__ import annotations

import csv
import html
import io
import re
from pathlib import Path

from autocorp_lake import config

CHARTS = {
    "revenue_by_month": ("order_month", "revenue", "Revenue by month", "bar"),
    "service_category_mix": ("service_category", "revenue", "Service revenue by category", "barh"),
    "top_parts_by_revenue": ("sku", "revenue", "Top 20 parts by revenue", "barh"),
}


# The date a report is kept under: the run's `report_date` param when given, else its logical date,
# else the time the run was due (`run_after`, which Airflow 3 sets on every run: a run triggered by
# REST or the CLI without a logical date has none, and `ds` is then undefined).
REPORT_DATE = "{{ params.report_date or (dag_run.logical_date or dag_run.run_after) | ds }}"


# `autocorp_curated.<table>` / `autocorp_analytics.<view>` in a SQL file
REFERENCE = re.compile(r"\bautocorp_(curated|analytics)\.([A-Za-z_0-9]+)")


def _sql_paths(layer: str) -> list[Path]:
    return sorted((config.include_dir() / "sql" / "athena" / layer).glob("*.sql"))


def _reads_only(path: Path, tables: set[str], views: set[str]) -> bool:
    """Whether every curated table and analytics view the file reads is in the lake."""
    for database, name in REFERENCE.findall(path.read_text(encoding="utf-8")):
        if database == "curated" and re.sub(r"_(rt|ro)$", "", name) not in tables:
            return False
        if database == "analytics" and name != path.stem and name not in views:
            return False
    return True


def sql_files(layer: str) -> list[str]:
    """Template paths (relative to include/sql) of one layer: ddl, views or analytics.

    Only files that read tables of the registry: with a registry reduced by AUTOCORP_TABLES /
    AUTOCORP_FEEDS, the views and queries over tables it leaves out are left out too."""
    registry = config.registry()
    tables = set(registry.table_names) | {feed.curated_table for feed in registry.feeds}
    views = {p.stem for p in _sql_paths("views") if _reads_only(p, tables, set())}
    return [f"athena/{layer}/{p.name}" for p in _sql_paths(layer) if _reads_only(p, tables, views)]


def query_name(template_path: str) -> str:
    return Path(template_path).stem


def report_prefix(report_date: str, name: str | None = None) -> str:
    return f"reports/{report_date}/" + (f"{name}/" if name else "")


def write_csv(rows: list[dict], path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else [])
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


def _s3():
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return S3Hook(aws_conn_id="aws_default")


def _read_results(report_date: str) -> dict[str, list[dict]]:
    results: dict[str, list[dict]] = {}
    if config.target() == "aws":
        s3 = _s3()
        bucket = config.aws_names().bucket
        for key in s3.list_keys(bucket_name=bucket, prefix=report_prefix(report_date)):
            if key.endswith(".csv"):
                name = key.split("/")[2]
                results[name] = list(csv.DictReader(io.StringIO(s3.read_key(key, bucket))))
        return results
    root = config.lake_root() / report_prefix(report_date)
    for path in sorted(root.glob("*/*.csv")):
        with open(path, encoding="utf-8") as handle:
            results[path.parent.name] = list(csv.DictReader(handle))
    return results


def _number(value) -> float:
    try:
        return float(value or 0)
    except ValueError:
        return 0.0


def _chart(rows: list[dict], x: str, y: str, title: str, kind: str) -> bytes:
    """A bar chart as SVG, drawn with the standard library: the MWAA image has no matplotlib, and
    the report is built the same way on both targets."""
    labels = [str(r[x]) for r in rows]
    values = [_number(r[y]) for r in rows]
    top = max(values + [0.0]) or 1.0
    color = "#2f6f9f"
    parts: list[str] = []
    if kind == "barh":
        bar, gap, left, width = 18, 6, 180, 520
        height = 40 + len(rows) * (bar + gap)
        for i, (label, value) in enumerate(zip(labels, values)):
            y0 = 30 + i * (bar + gap)
            w = max(value, 0) / top * width
            parts.append(f"<text x='{left - 6}' y='{y0 + bar - 5}' text-anchor='end' font-size='11'>"
                         f"{html.escape(label[:28])}</text>")
            parts.append(f"<rect x='{left}' y='{y0}' width='{w:.1f}' height='{bar}' fill='{color}'>"
                         f"<title>{html.escape(label)}: {value:,.2f}</title></rect>")
            parts.append(f"<text x='{left + w + 4:.1f}' y='{y0 + bar - 5}' font-size='10'>{value:,.0f}</text>")
        total_width = left + width + 80
    else:
        bar, gap, bottom, chart_height = 22, 6, 300, 240
        height = bottom + 90
        for i, (label, value) in enumerate(zip(labels, values)):
            x0 = 60 + i * (bar + gap)
            h = max(value, 0) / top * chart_height
            parts.append(f"<rect x='{x0}' y='{bottom - h:.1f}' width='{bar}' height='{h:.1f}' fill='{color}'>"
                         f"<title>{html.escape(label)}: {value:,.2f}</title></rect>")
            parts.append(f"<text transform='translate({x0 + bar - 6},{bottom + 8}) rotate(60)' font-size='10'>"
                         f"{html.escape(label)}</text>")
        parts.append(f"<text x='10' y='{bottom - chart_height}' font-size='10'>{top:,.0f}</text>")
        total_width = 60 + len(rows) * (bar + gap) + 40
    svg = (f"<svg xmlns='http://www.w3.org/2000/svg' width='{total_width}' height='{height}' "
           f"font-family='sans-serif'><text x='10' y='18' font-size='14' font-weight='bold'>"
           f"{html.escape(title)} ({html.escape(y)})</text>{''.join(parts)}</svg>")
    return svg.encode("utf-8")


def build_report(report_date: str) -> dict:
    """Charts (SVG) and an index.html of every result of the day, next to the results."""
    results = _read_results(report_date)
    if not results:
        raise RuntimeError(f"no analytics results under {report_prefix(report_date)}; did run_analytics run?")
    files: dict[str, bytes] = {}
    parts = [f"<html><head><meta charset='utf-8'><title>AutoCorp analytics {report_date}</title></head><body>",
             f"<h1>AutoCorp analytics, {html.escape(report_date)}</h1>"]
    for name, (x, y, title, kind) in CHARTS.items():
        if results.get(name):
            files[f"{name}.svg"] = _chart(results[name], x, y, title, kind)
            parts.append(f"<h2>{html.escape(title)}</h2><img src='{name}.svg' alt='{html.escape(title)}'>")
    for name, rows in sorted(results.items()):
        parts.append(f"<h2>{html.escape(name)}</h2><table border='1' cellpadding='3'>")
        if rows:
            parts.append("<tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in rows[0]) + "</tr>")
            for row in rows[:50]:
                parts.append("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row.values()) + "</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    files["index.html"] = "\n".join(parts).encode("utf-8")
    prefix = report_prefix(report_date)
    if config.target() == "aws":
        s3 = _s3()
        for name, body in files.items():
            s3.load_bytes(body, key=prefix + name, bucket_name=config.aws_names().bucket, replace=True)
        return {"report": f"s3://{config.aws_names().bucket}/{prefix}index.html", "queries": len(results)}
    out = config.lake_root() / prefix
    for name, body in files.items():
        (out / name).write_bytes(body)
    return {"report": str(out / "index.html"), "queries": len(results)}


def keep_results(names: list[str], query_ids: list[str], report_date: str) -> list[str]:
    """Copy each query's result from athena-results/ to reports/<date>/<query>/result.csv.

    The workgroup enforces its result location, so results land in athena-results/ first."""
    kept = []
    if config.target() == "aws":
        from airflow.providers.amazon.aws.hooks.athena import AthenaHook

        athena, s3 = AthenaHook(aws_conn_id="aws_default"), _s3()
        bucket = config.aws_names().bucket
        for name, query_id in zip(names, query_ids):
            location = athena.get_output_location(query_id)
            source_bucket, _, source_key = location.removeprefix("s3://").partition("/")
            key = report_prefix(report_date, name) + "result.csv"
            s3.copy_object(source_bucket_key=source_key, dest_bucket_key=key,
                           source_bucket_name=source_bucket, dest_bucket_name=bucket)
            kept.append(f"s3://{bucket}/{key}")
        return kept
    import shutil

    for name, query_id in zip(names, query_ids):
        out = config.lake_root() / report_prefix(report_date, name)
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(config.lake_root() / "athena-results" / f"{query_id}.csv", out / "result.csv")
        kept.append(str(out / "result.csv"))
    return kept


def run_local_query(template_path: str, run_id: str = "manual") -> str:
    """The local twin of an Athena query execution: run the file, write athena-results/<id>.csv."""
    from autocorp_lake.local import query_engine

    rows = query_engine.run_file(config.include_dir() / "sql" / template_path)
    query_id = f"{query_name(template_path)}-{config.safe_run_id(run_id)}"
    out = config.lake_root() / "athena-results"
    out.mkdir(parents=True, exist_ok=True)
    write_csv(rows, out / f"{query_id}.csv")
    return query_id
