"""Report v2 (#14): what a security lead hands on, checked in a real headless Chromium at
1400 px and on A4 (the print stylesheet, and a real print to PDF).

Screenshots and the PDF are saved under the test's temporary folder; their paths are printed
(`pytest -s tests/test_report_layout.py` shows them).
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import timedelta
from html.parser import HTMLParser

import pytest

from patchtrail.analytics.waivers import load_waiver_file, store_waivers
from patchtrail.devkit.simulator import simulate_to_dir
from patchtrail.ingest import ingest_files
from patchtrail.publish.report import write_report
from patchtrail.warehouse import connect, transaction

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]
#: Width of A4's printable area at 96 px per inch: 210 mm less the 12 mm side margins.
A4_CONTENT_PX = 703
PROBE = """<script>
window.addEventListener('load', () => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const e of document.querySelectorAll('table, svg.chart, .kpis, p, h1, h2, figure')) {
    const right = e.getBoundingClientRect().right;
    if (right > width + 0.5) wide.push([e.tagName, e.id || '', Math.round(right)]);
  }
  const pre = document.createElement('pre');
  pre.id = 'layout-probe';
  pre.textContent = JSON.stringify({width: width, page: document.documentElement.scrollWidth, wide: wide});
  document.body.appendChild(pre);
});
</script>"""


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("report-v2")
    simulate_to_dir(root / "d", accounts=2, regions=1, instances=5, days=60, seed=11)
    path = root / "w.duckdb"
    ingest_files([root / "d"], warehouse=path)
    con = connect(path)
    try:
        account, group = con.execute(
            "select account_id, patch_group from marts.missing_patches_as_of(marts.data_as_of()) "
            "where patch_group is not null group by all order by count(*) desc limit 1").fetchone()
        register = root / "waivers.toml"
        register.write_text(f'[[waiver]]\nid = "W-7"\naccount_id = "{account}"\npatch_group = "{group}"\n'
                            'reason = "Release freeze; compensating control: no inbound traffic"\n'
                            'approver = "ciso@example.com"\nticket = "SEC-7"\nexpires = 2027-01-01\n')
        waivers, digest = load_waiver_file(register)
        with transaction(con):
            store_waivers(con, waivers, source=str(register), sha256=digest,
                          loaded_at=con.execute("select now()").fetchone()[0])
    finally:
        con.close()
    return path


@pytest.fixture(scope="module")
def report(warehouse):
    return write_report(warehouse, warehouse.parent / "report.html", period=timedelta(days=14))


class _Cells(HTMLParser):
    """Header texts per table id, and the text of every <text> in the charts."""

    def __init__(self) -> None:
        super().__init__()
        self.headers: dict[str, list[str]] = {}
        self.svg_text: list[str] = []
        self._table = self._cell = None
        self._svg_text = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "table":
            self._table = attributes.get("id")
            self.headers[self._table] = []
        elif tag == "th" and self._table:
            self._cell = []
        elif tag == "text":
            self._svg_text = True
            self.svg_text.append("")

    def handle_endtag(self, tag):
        if tag == "th" and self._cell is not None:
            self.headers[self._table].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "text":
            self._svg_text = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._svg_text:
            self.svg_text[-1] += data


def _parsed(report) -> _Cells:
    cells = _Cells()
    cells.feed(report.path.read_text())
    return cells


def _chromium(chromium: str, profile, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=180)


def _layout(chromium: str, report, tmp_path, *, width: int, print_css: bool) -> dict:
    html = report.path.read_text()
    if print_css:  # lay the page out with the print stylesheet, at A4's printable width
        html = html.replace("@media print {", "@media all {")
    probe = tmp_path / f"probe-{width}.html"
    probe.write_text(html.replace("</body>", PROBE + "</body>"))
    dom = _chromium(chromium, tmp_path / f"profile-{width}", f"--window-size={width},1000",
                    "--dump-dom", probe.as_uri()).stdout
    return json.loads(re.search(r'<pre id="layout-probe">(.*?)</pre>', dom).group(1))


def test_charts_have_titles_axes_legends_and_a_target(report):
    html = report.path.read_text()
    assert html.count('<svg class="chart"') == 2
    texts = _parsed(report).svg_text
    for label in ("Compliant managed instances per day", "compliant instances (%)", "day (UTC)",
                  "compliant instances %", "target 95%",
                  "Missing critical and high patches per day (instance × patch)",
                  "missing patches", "critical", "high"):
        assert label in texts, label
    assert 'class="target"' in html and html.count('class="series"') >= 3


def test_tables_have_human_headers(report):
    headers = _parsed(report).headers
    assert headers["sla-breaches"] == ["Account", "Region", "Instance", "Patch", "Severity",
                                       "First seen missing", "Due", "Days overdue", "Title"]
    assert headers["period-change"] == ["Figure", "Start of period", "As of", "Change"]
    assert headers["time-to-remediate"][:4] == ["Severity", "Remediated", "Median days", "90th pct days"]
    assert headers["waivers"][:3] == ["Waiver", "Scope", "Expires"]
    for table, names in headers.items():
        assert not any("_" in name for name in names), (table, names)


def test_figures_agree_with_the_marts(report, warehouse):
    con = connect(warehouse, read_only=True)
    try:
        fleet = con.execute("select instances, missing_critical_patches, missing_high_patches "
                            "from marts.fleet_summary").fetchone()
        breaches = con.execute("select count(*) from marts.sla_breaches(marts.data_as_of(), "
                               "'internal')").fetchone()[0]
    finally:
        con.close()
    html = report.path.read_text()
    for value, label in zip(fleet, ("managed instances", "missing critical patches",
                                    "missing high patches"), strict=True):
        assert f"<b>{value:,}</b>{label}" in html, label
    assert f"<b>{breaches:,}</b>SLA breaches (internal)" in html
    assert report.sections["sla-breaches"] == breaches


def test_waivers_in_force_and_the_period(report):
    html = report.path.read_text()
    assert "W-7" in html and "patch group" in html and "SEC-7" in html
    assert "14 days earlier" in html and "in the period" in html


def test_unknown_policy_is_refused_before_writing(warehouse, tmp_path):
    from patchtrail.errors import InvalidInput

    with pytest.raises(InvalidInput, match="unknown SLA policy 'pci-dss-4'"):
        write_report(warehouse, tmp_path / "r.html", policy="pci-dss-4")
    assert not (tmp_path / "r.html").exists()


def test_layout_in_chromium_at_1400_px(chromium, report, tmp_path):
    layout = _layout(chromium, report, tmp_path, width=1400, print_css=False)
    assert layout["wide"] == [] and layout["page"] <= layout["width"], layout
    shot = tmp_path / "report-1400.png"
    _chromium(chromium, tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1400,2600",
              report.path.as_uri())
    assert shot.stat().st_size > 50_000
    print(f"\nreport at 1400 px: {shot}")


def test_layout_on_a4_and_print_to_pdf(chromium, report, tmp_path):
    layout = _layout(chromium, report, tmp_path, width=A4_CONTENT_PX, print_css=True)
    assert layout["wide"] == [] and layout["page"] <= layout["width"], layout
    preview = tmp_path / "print-preview.html"
    preview.write_text(report.path.read_text().replace("@media print {", "@media all {"))
    shot = tmp_path / "report-a4.png"
    _chromium(chromium, tmp_path / "profile-a4", f"--screenshot={shot}",
              f"--window-size={A4_CONTENT_PX},2600", preview.as_uri())
    pdf = tmp_path / "report.pdf"
    _chromium(chromium, tmp_path / "profile-pdf", "--no-pdf-header-footer", f"--print-to-pdf={pdf}",
              report.path.as_uri())
    data = pdf.read_bytes()
    boxes = {tuple(round(float(v)) for v in box.split())
             for box in re.findall(rb"/MediaBox\s*\[([^\]]*)\]", data)}
    assert boxes == {(0, 0, 595, 842)}, boxes  # A4 in points
    assert len(re.findall(rb"/Type\s*/Page\b", data)) >= 2
    print(f"\nreport on A4: {shot} (print stylesheet at {A4_CONTENT_PX} px) and {pdf}")


def test_still_one_self_contained_file(report):
    html = report.path.read_text()
    assert "<script" not in html and "@import" not in html and "url(" not in html
    assert not re.search(r'(src|href)\s*=\s*"', html)
