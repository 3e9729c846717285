"""The HTML report, rendered by a real headless Chromium (Debian's package)."""

from __future__ import annotations

import re
import subprocess

import pytest

from patchtrail.devkit.simulator import simulate_to_dir
from patchtrail.ingest import ingest_files
from patchtrail.publish.report import write_report

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    simulate_to_dir(root / "d", accounts=2, regions=1, instances=4, days=45, seed=3)
    ingest_files([root / "d"], warehouse=root / "w.duckdb")
    return write_report(root / "w.duckdb", root / "report.html")


def test_report_renders_in_chromium_with_chart_and_tables(chromium, report, tmp_path):
    done = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                           "--dump-dom", report.path.as_uri()], capture_output=True, text=True, timeout=120)
    dom = done.stdout
    assert "<polyline" in dom and 'class="chart"' in dom, done.stderr[-2000:]
    for section in ("by-account", "by-region", "top-missing", "sla-breaches", "stale-instances"):
        assert f'id="{section}"' in dom, section
    assert re.search(r'id="data-as-of">\d{4}-\d{2}-\d{2}', dom)
    shot = tmp_path / "report.png"
    subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile2'}",
                    f"--screenshot={shot}", "--window-size=1200,1600", report.path.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.stat().st_size > 20_000  # a real picture, not a blank page


def test_report_is_self_contained(report):
    html = report.path.read_text()
    assert "<script" not in html and "@import" not in html
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)  # nothing fetched from anywhere
    assert report.sections["by-account"] == 2


def test_report_as_of_a_past_date(report, tmp_path):
    earlier = write_report(report.path.parent / "w.duckdb", tmp_path / "r.html", as_of="2026-01-20")
    assert "2026-01-20 00:00:00 UTC" in earlier.path.read_text()
