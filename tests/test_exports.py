"""CSV and XLSX exports of marts and seed queries, from the CLI."""

from __future__ import annotations

import csv
import subprocess
import sys
import zipfile

import pytest

from patchtrail.devkit.simulator import simulate_to_dir
from patchtrail.ingest import ingest_files


@pytest.fixture(scope="module")
def cwd(tmp_path_factory):
    root = tmp_path_factory.mktemp("exports")
    simulate_to_dir(root / "d", accounts=1, regions=1, instances=3, days=15, seed=2)
    ingest_files([root / "d"], warehouse=root / "patchtrail.duckdb")
    return root


def run(cwd, *args):
    return subprocess.run([sys.executable, "-m", "patchtrail.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_csv_of_a_mart_and_of_a_seed_query(cwd):
    done = run(cwd, "export", "marts.current_patch_state", "--out", "patches.csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader((cwd / "patches.csv").open()))
    assert rows and "patch_id" in rows[0] and "cve_ids" in rows[0]
    done = run(cwd, "export", "ssm-patch-compliance-distinct-ec2-instance-latest", "--out", "latest.csv")
    assert done.returncode == 0 and "rows" in done.stdout


def test_xlsx_is_a_real_workbook(cwd):
    done = run(cwd, "export", "marts.current_instance_compliance", "--out", "instances.xlsx")
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(cwd / "instances.xlsx") as book:
        names = book.namelist()
        assert "xl/worksheets/sheet1.xml" in names and "xl/worksheets/sheet2.xml" in names
        text = book.read("xl/worksheets/sheet1.xml").decode() + book.read("xl/worksheets/sheet2.xml").decode()
        assert "compliance_status" in text and "All times are UTC" in text


def test_unknown_tables_are_refused_by_name(cwd):
    done = run(cwd, "export", "landing.configuration_items; drop table x", "--out", "x.csv")
    assert done.returncode == 1 and "unknown table" in done.stderr
