"""The analytics layer: the Athena SQL files of include/sql/athena/, their results under
`reports/<date>/<query>/`, and a small HTML report with SVG charts (revenue by month, service mix,
top parts) rendered from those results the same way on either target. Running the SQL, keeping the
results and storing the report are the targets' steps (`athena_sql`, `keep_results`,
`build_report` in targets/aws.py and targets/local.py)."""

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


def read_csv(text: str) -> list[dict]:
    """One query result (a CSV with a header), as rows."""
    return list(csv.DictReader(io.StringIO(text)))


def render_report(report_date: str, results: dict[str, list[dict]]) -> dict[str, bytes]:
    """Charts (SVG) and an index.html of every result of the day ({query: rows}), by file name.

    Where the results come from and where the files go is the target's build_report step."""
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
    return files
