"""A self-contained HTML compliance report a security lead can hand on: one file, no scripts,
nothing fetched, readable on screen (1400 px) and printed on A4.

What it shows, as of one time (default: the data-as-of time, `patchtrail.as_of`):
headline figures with their change since the start of the period; compliance % per day with a
target line; missing critical and high patches per day; time to remediate in the period
against the SLA policy; SLA breaches (the columns a reader acts on); waivers in force; accounts
and regions; the top missing critical and high patches; stale instances. Every figure comes
from a query in sql/warehouse/report/ over the marts, so it matches `patchtrail status`,
`patchtrail sla` and the published marts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from patchtrail.analytics.policy import DEFAULT_POLICY, resolve_policy
from patchtrail.as_of import resolve_as_of
from patchtrail.publish.chart import Series, line_chart
from patchtrail.warehouse import connect, sql

TEMPLATE = resources.files("patchtrail.publish") / "report.html.j2"
#: Column headers as people read them (a column not listed keeps its name).
HEADERS = {
    "account_id": "Account", "aws_region": "Region", "instance_id": "Instance",
    "patch_id": "Patch", "sla_severity": "Severity", "severity": "Severity",
    "first_seen_missing": "First seen missing", "due_at": "Due", "days_overdue": "Days overdue",
    "title": "Title", "instances": "Instances", "compliant_pct": "Compliant %",
    "missing_critical": "Missing critical", "missing_high": "Missing high",
    "max_days_missing": "Longest missing (days)", "cve_ids": "CVEs",
    "last_captured_at": "Last change recorded", "days_since_last_item": "Days since",
    "waiver_id": "Waiver", "scope": "Scope", "expires_on": "Expires", "approver": "Approver",
    "ticket": "Ticket", "reason": "Reason", "patches_covered": "Patches exempted",
    "remediated_episodes": "Remediated", "median_days": "Median days", "p90_days": "90th pct days",
    "longest_days": "Longest days", "sla_days": "SLA days", "within_sla": "Within SLA",
    "figure": "Figure", "previous": "Start of period", "current": "As of", "change": "Change",
}
#: Shown as a UTC day: SLA clocks count days (the exact times are in `patchtrail sla`).
DAY_COLUMNS = {"first_seen_missing", "due_at"}
#: (section id, title, query, columns shown, text when empty, one-line explanation)
SECTIONS = (
    ("sla-breaches", "SLA breaches", "report/sla_breaches",
     ["account_id", "aws_region", "instance_id", "patch_id", "sla_severity", "first_seen_missing",
      "due_at", "days_overdue", "title"],
     "No SLA breach.", "Missing longer than the policy allows and not waived; most overdue first."),
    ("waivers", "Waivers in force", "report/waivers_in_force",
     ["waiver_id", "scope", "expires_on", "approver", "ticket", "patches_covered", "reason"],
     "No waiver in force.", "Exemptions from the SLA at the report's time, with what they cover."),
    ("by-account", "Accounts", "report/breakdown:account",
     ["key", "instances", "compliant_pct", "missing_critical", "missing_high"],
     "No managed instances.", "Least compliant first."),
    ("by-region", "Regions", "report/breakdown:region",
     ["key", "instances", "compliant_pct", "missing_critical", "missing_high"],
     "No managed instances.", "Least compliant first."),
    ("top-missing", "Top missing critical and high patches", "report/top_missing",
     ["patch_id", "severity", "title", "instances", "max_days_missing", "first_seen_missing",
      "cve_ids"],
     "No critical or high patch is missing.", "By severity, then how long they have been missing."),
    ("stale-instances", "Scan staleness", "report/stale_instances",
     ["account_id", "aws_region", "instance_id", "last_captured_at", "days_since_last_item"],
     "No stale instance.", "Live instances with no recorded change for longer than the limit "
                           "(under DAILY recording, no change is not the same as no scan)."),
)


@dataclass(frozen=True)
class Report:
    path: Path
    as_of: datetime
    sections: dict[str, int]


def write_report(warehouse: Path | str, out: Path | str, *, as_of: str | datetime | None = None,
                 policy: str | Path = DEFAULT_POLICY, max_age_days: int = 31,
                 period: timedelta = timedelta(days=30), target_pct: float = 95.0) -> Report:
    """Render the report of `warehouse` at `as_of` to `out` (one HTML file).

    Args:
        as_of: valid time (any form `validate.parse_time` takes); None: the data-as-of time.
        policy: the SLA policy: a stored name or a .toml/.yaml file.
        max_age_days: instances without a recorded change for longer are listed as stale.
        period: "change since" and "remediated in the period" look this far back from `as_of`.
        target_pct: the compliance target drawn on the chart.
    """
    con = connect(warehouse, read_only=True)
    try:
        moment = resolve_as_of(con, as_of)
        chosen = resolve_policy(con, policy)
        previous = moment - period
        params = {"as_of": moment, "previous": previous, "period_start": previous,
                  "thresholds": chosen.thresholds(), "max_age_days": max_age_days}
        (freshness,) = sql.rows(con, "report/data_freshness")
        data_as_of, last_load = freshness["data_as_of"], freshness["last_load"]
        daily = sql.rows(con, "report/daily_compliance", **params)
        missing = sql.rows(con, "report/daily_missing", **params)
        change = sql.rows(con, "report/period_change", **params)
        ttr = sql.rows(con, "report/time_to_remediate", **params)
        tables = {name: sql.rows(con, name.split(":")[0], **params)
                  for name in {s[2] for s in SECTIONS}}
    finally:
        con.close()
    figures = {row["figure"]: row for row in change}
    counts, sections = {}, []
    for section_id, title, name, keep, empty, note in SECTIONS:
        rows = tables[name]
        if ":" in name:
            rows = [r for r in rows if r["dimension"] == name.split(":")[1]]
        total = rows[0].get("total_breaches", len(rows)) if rows else 0
        counts[section_id] = int(total)
        first = {"key": "Account" if section_id == "by-account" else "Region"}
        sections.append({
            "id": section_id, "title": title, "note": note, "empty": empty,
            "columns": [first.get(c) or HEADERS.get(c, c) for c in keep],
            "numeric": [_numeric(rows, c) for c in keep],
            "wide": [c in ("title", "reason", "scope", "cve_ids") for c in keep],
            # on A4 the breach table keeps the columns to act on; the patch id names the patch
            "screen_only": [section_id == "sla-breaches" and c == "title" for c in keep],
            "rows": [[_day(r[c]) if c in DAY_COLUMNS else _show(r[c]) for c in keep] for r in rows],
            "more": int(total) - len(rows),
        })
    breaches = figures["SLA breaches"]["current"]
    kpis = [_kpi("managed instances", figures["managed instances"], digits=0),
            _kpi("compliant", figures["compliant %"], unit="%", good="up"),
            _kpi("missing critical patches", figures["missing critical patches"], digits=0),
            _kpi("missing high patches", figures["missing high patches"], digits=0),
            _kpi(f"SLA breaches ({chosen.name})", figures["SLA breaches"], digits=0),
            {"label": "waivers in force", "value": f"{counts['waivers']:,}", "delta": ""},
            {"label": f"instances without a change for {max_age_days} days",
             "value": f"{counts['stale-instances']:,}", "delta": ""}]
    days = [r["day"] for r in daily]
    charts = [
        line_chart(days, [Series("compliant instances %", [_float(r["compliance_pct"]) for r in daily])],
                   title="Compliant managed instances per day", y_label="compliant instances (%)",
                   y_max=100, unit="%", target=(f"target {target_pct:g}%", target_pct)),
        line_chart([r["day"] for r in missing],
                   [Series("critical", [r["missing_critical"] for r in missing]),
                    Series("high", [r["missing_high"] for r in missing])],
                   title="Missing critical and high patches per day (instance × patch)",
                   y_label="missing patches"),
    ]
    html = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
        TEMPLATE.read_text(encoding="utf-8")).render(
        as_of=f"{moment:%Y-%m-%d %H:%M:%S} UTC", data_as_of=_show(data_as_of),
        previous=f"{previous:%Y-%m-%d %H:%M} UTC", period_days=period.days or 1,
        generated_at=f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC", last_load=last_load,
        policy=chosen.name, thresholds=", ".join(f"{s} {d} days" for s, d in sorted(
            chosen.max_days.items(), key=lambda kv: _SEVERITY_ORDER.index(kv[0]))),
        kpis=kpis, charts=charts, change=[[_show(r["figure"]), _show(r["previous"]),
                                           _show(r["current"]), _signed(r["change"])] for r in change],
        ttr=[[r["severity"], _show(r["remediated_episodes"]), _show(r["median_days"]),
              _show(r["p90_days"]), _show(r["longest_days"]), _show(r["sla_days"]),
              _within(r["within_sla"], r["remediated_episodes"], r["sla_days"])] for r in ttr],
        breaches=int(breaches or 0), sections=sections)
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html, encoding="utf-8")
    return Report(target, moment, counts)


_SEVERITY_ORDER = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNSPECIFIED"]


def _kpi(label: str, row: dict[str, Any], *, unit: str = "", digits: int = 1,
         good: str = "down") -> dict[str, str]:
    current, change = row["current"], row["change"]
    value = "-" if current is None else f"{current:,.{digits}f}{unit}"
    if change is None:
        return {"label": label, "value": value, "delta": "", "trend": ""}
    trend = "same" if change == 0 else ("better" if (change > 0) == (good == "up") else "worse")
    return {"label": label, "value": value, "trend": trend,
            "delta": f"{_signed(change, digits)}{' pts' if unit == '%' else ''} in the period"}


def _signed(value: Any, digits: int | None = None) -> str:
    if value is None:
        return ""
    number = float(value)
    if digits is None:
        digits = 0 if number.is_integer() else 1
    return f"{number:+,.{digits}f}" if number else "±0"


def _within(within: Any, total: Any, sla_days: Any) -> str:
    if sla_days is None or not total:
        return "not covered" if sla_days is None else ""
    return f"{int(within or 0):,} of {int(total):,} ({100.0 * (within or 0) / total:.0f}%)"


def _numeric(rows: list[dict[str, Any]], column: str) -> bool:
    return any(isinstance(r[column], (int, float)) and not isinstance(r[column], bool) for r in rows)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _day(value: Any) -> Any:
    return f"{value.astimezone(UTC):%Y-%m-%d}" if isinstance(value, datetime) else _show(value)


def _show(value: Any) -> Any:
    if isinstance(value, datetime):
        return f"{value.astimezone(UTC):%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, float):
        return f"{value:,.1f}".removesuffix(".0") if value.is_integer() else f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return value
