"""A self-contained HTML compliance report: one file, no scripts, no network.

Compliance % over time (inline SVG), per-account and per-region tables, the top missing critical
and high patches with days missing, SLA breaches, scan staleness, and when the data and the report
are from. Every figure comes from a query in sql/warehouse/report/ over the marts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from patchtrail import validate
from patchtrail.publish.chart import line_chart
from patchtrail.warehouse import connect, load_sql, scalar

TEMPLATE = Path(__file__).with_name("report.html.j2")
#: The account and region tables are the two halves of report/breakdown.sql.
BREAKDOWNS = (("by-account", "Accounts", "account", "account_id"),
              ("by-region", "Regions", "region", "aws_region"))
SECTIONS = (
    ("top-missing", "Top missing critical and high patches", "report/top_missing",
     "No critical or high patch is missing."),
    ("sla-breaches", "SLA breaches", "report/sla_breaches", "No SLA breach."),
    ("stale-instances", "Scan staleness", "report/stale_instances", "No stale instance."),
)


@dataclass(frozen=True)
class Report:
    path: Path
    as_of: datetime
    sections: dict[str, int]


def write_report(warehouse: Path | str, out: Path | str, *, as_of: str | datetime | None = None,
                 policy: str = "internal", max_age_days: int = 31) -> Report:
    """Render the report of `warehouse` at `as_of` (default: the latest item) to `out`."""
    con = connect(warehouse, read_only=True)
    try:
        data_as_of = scalar(con, "select max(captured_at) from staging.instance_snapshots")
        moment = validate.utc_timestamp(as_of, parameter="--as-of") if as_of else (
            data_as_of or datetime.now(UTC))
        params = {"as_of": moment, "policy": policy, "max_age_days": max_age_days}
        daily = _query(con, "report/daily_compliance", params)
        sections, counts = [], {}
        columns, rows = _query(con, "report/breakdown", params)
        for section_id, title, dimension, key in BREAKDOWNS:
            part = [row[1:] for row in rows if row[0] == dimension]
            sections.append({"id": section_id, "title": title, "columns": [key, *columns[2:]],
                             "rows": [[_show(v) for v in row] for row in part],
                             "empty": "No managed instances."})
            counts[section_id] = len(part)
        for section_id, title, name, empty in SECTIONS:
            columns, rows = _query(con, name, params)
            sections.append({"id": section_id, "title": title, "columns": columns,
                             "rows": [[_show(v) for v in row] for row in rows], "empty": empty})
            counts[section_id] = len(rows)
        fleet = con.execute(
            "select count(*), round(100.0 * count(*) filter (where compliance_status = 'COMPLIANT') "
            "/ nullif(count(*), 0), 1) from marts.instance_compliance_as_of(?)", [moment]).fetchall()[0]
        missing = con.execute(
            "select count(*) filter (where severity = 'CRITICAL'), count(*) filter (where severity = 'HIGH') "
            "from marts.missing_patches_as_of(?)", [moment]).fetchall()[0]
        last_load = scalar(con, "select max(load_id) from landing.loads where status = 'succeeded'")
    finally:
        con.close()
    kpis = [("managed instances", fleet[0]), ("compliant", f"{fleet[1] or 0}%"),
            ("missing critical patches", missing[0]), ("missing high patches", missing[1]),
            (f"SLA breaches ({policy})", counts["sla-breaches"]),
            (f"instances without a change for {max_age_days} days", counts["stale-instances"])]
    chart = line_chart([(row[0], row[3]) for row in daily[1]], title="Compliant managed instances, % per day")
    html = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
        TEMPLATE.read_text()).render(
        as_of=f"{moment:%Y-%m-%d %H:%M:%S} UTC", data_as_of=_show(data_as_of),
        generated_at=f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC", last_load=last_load, policy=policy,
        kpis=kpis, chart=chart, sections=sections)
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html, encoding="utf-8")
    return Report(target, moment, counts)


def _query(con, name: str, params: dict[str, Any]) -> tuple[list[str], list[tuple]]:
    text = load_sql(name)
    used = {k: v for k, v in params.items() if f"${k}" in text}
    cursor = con.execute(text, used)
    return [d[0] for d in cursor.description], cursor.fetchall()


def _show(value: Any) -> Any:
    if isinstance(value, datetime):
        return f"{value.astimezone(UTC):%Y-%m-%d %H:%M}"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return value
