"""Exports: CSV cells cannot run as spreadsheet formulas (and come back exactly), XLSX stores
text as text, the file is replaced atomically, and the export's connection writes that file only."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest

from patchtrail.devkit.simulator import simulate_to_dir
from patchtrail.ingest import ingest_files
from patchtrail.publish.exports import export, object_rows
from patchtrail.queries import run_seed_query
from patchtrail.warehouse import connect
from patchtrail.warehouse.connect import connect_reader
from patchtrail.warehouse.sql import load as load_sql

FORMULAS = ['=HYPERLINK("http://evil.example","click")', "+1+2", "-2+3", "@SUM(A1)", "\tTab",
            "\rReturn", "'quoted already", "=cmd|' /C calc'!A0"]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("exports-safety")
    simulate_to_dir(root / "d", accounts=1, regions=1, instances=3, days=15, seed=2)
    path = root / "patchtrail.duckdb"
    ingest_files([root / "d"], warehouse=path)
    con = connect(path)
    try:
        ids = [r[0] for r in con.execute("select distinct patch_id from marts.current_patch_state "
                                         "order by 1 limit ?", [len(FORMULAS)]).fetchall()]
        for patch_id, title in zip(ids, FORMULAS, strict=True):
            con.execute("update history.patch_state set title = ? where patch_id = ?", [title, patch_id])
    finally:
        con.close()
    return path


def undo(cell: str) -> str:
    """The documented rule: remove one leading ' from a text cell that starts with one."""
    return cell[1:] if cell.startswith("'") else cell


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_csv_export_neutralises_formula_text_and_every_value_comes_back(warehouse, tmp_path):
    result = export(warehouse, "marts.current_patch_state", tmp_path / "patches.csv")
    rows = read_csv(result.path)
    con = connect_reader(warehouse)
    try:
        columns, expected = object_rows(con, "marts.current_patch_state")
    finally:
        con.close()
    assert result.rows == len(rows) == len(expected)
    titles = [row["title"] for row in rows]
    assert not [t for t in titles if t.startswith(("=", "+", "-", "@", "\t", "\r"))]
    index = columns.index("title"), columns.index("patch_id")
    assert [undo(t) for t in titles] == [r[index[0]] or "" for r in expected]  # same rows, same order
    assert [row["patch_id"] for row in rows] == [r[index[1]] for r in expected]
    neutralised = {undo(t) for t in titles if t.startswith("'")}
    assert neutralised == set(FORMULAS)


def test_csv_cell_rules(tmp_path):
    con = duckdb.connect()
    con.execute(load_sql("exports/csv_cells"))
    row = con.execute("""
        select csv_cell(columns(*)) from (select
            -3 as negative_number, -1.5::double as negative_double, 2.50::decimal(5, 2) as money,
            '-3' as negative_text, '=1+1' as formula, 'a=b' as harmless, '''x' as quote,
            ['=x', 'a, b'] as list, {'k': '=v'} as struct, null::varchar as nothing, '' as empty,
            true as flag, timestamptz '2026-03-31 00:00:00+00' as at)
    """).fetchall()[0]
    assert row == ("-3", "-1.5", "2.50", "'-3", "'=1+1", "a=b", "''x", '["=x","a, b"]', '{"k":"=v"}',
                   None, "", "true", "2026-03-31 00:00:00+00")


def test_seed_query_csv_has_the_rows_of_patchtrail_query_in_order(warehouse, tmp_path):
    con = connect_reader(warehouse)
    try:
        instance = run_seed_query(con, "ssm-patch-compliance-distinct-ec2-instance-latest")[1][0][2]
        cases = {
            "ssm-patch-compliance-all-ec2-instances": {},
            "ssm-patch-compliance-selected-ec2-instance-time-range": {
                "instance_id": instance, "start": "2026-01-01T00:00:00Z", "end": "2026-12-31T00:00:00Z"},
        }
        expected = {name: run_seed_query(con, name, **params) for name, params in cases.items()}
    finally:
        con.close()  # an export opens its own reader, allowed to write its file
    for name, params in cases.items():
        columns, want = expected[name]
        result = export(warehouse, name, tmp_path / f"{name}.csv", **params)
        rows = read_csv(result.path)
        assert list(rows[0]) == columns and len(rows) == len(want) == result.rows > 0
        assert [(r["InstanceId"], r["eventTime"][:19]) for r in rows] == [
            (e[2], e[3].strftime("%Y-%m-%d %H:%M:%S")) for e in want]
    with pytest.raises(ValueError, match="needs --instance"):
        export(warehouse, "ssm-patch-compliance-selected-ec2-instance", tmp_path / "x.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{n}.csv" for n in cases)


def test_xlsx_stores_formula_text_as_text(warehouse, tmp_path):
    result = export(warehouse, "marts.current_patch_state", tmp_path / "patches.xlsx")
    with zipfile.ZipFile(result.path) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        strings = sheet + (book.read("xl/sharedStrings.xml").decode()
                           if "xl/sharedStrings.xml" in book.namelist() else "")
    assert "<f>" not in sheet and "<f " not in sheet  # no cell is a formula
    assert '=HYPERLINK("http://evil.example","click")' in strings
    assert re.search(r't="(inlineStr|s)"', sheet)


def test_an_export_replaces_its_file_whole_and_leaves_no_temporary(warehouse, tmp_path):
    out = tmp_path / "patches.csv"
    out.write_text("the previous export\n")
    stale = tmp_path / f".patches.csv.{'e' * 32}.tmp"
    stale.write_text("left by a killed export")
    with pytest.raises(ValueError, match="unknown table"):
        export(warehouse, "landing.configuration_items", out)
    assert out.read_text() == "the previous export\n"
    export(warehouse, "marts.fleet_summary", out)
    assert read_csv(out)[0]["instances"] == "3"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["patches.csv"]


def test_the_export_connection_may_write_its_own_file_only(warehouse, tmp_path):
    mine, other = tmp_path / "mine.csv", tmp_path / "other.csv"
    con = connect_reader(warehouse, allowed_paths=[mine])
    try:
        con.execute("copy (select 1 as x) to $p (format csv)", {"p": str(mine)})
        with pytest.raises(duckdb.PermissionException):
            con.execute("copy (select 1 as x) to $p (format csv)", {"p": str(other)})
        with pytest.raises(duckdb.Error):
            con.execute("set allowed_paths = ['/']")
    finally:
        con.close()
    assert mine.exists() and not other.exists()


def test_cli_export_to_csv_is_neutralised(warehouse, tmp_path):
    done = subprocess.run([sys.executable, "-m", "patchtrail.cli", "export", "marts.current_patch_state",
                           "--out", str(tmp_path / "p.csv"), "--warehouse", str(warehouse)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r".*p\.csv: \d+ rows\n", done.stdout, flags=re.S)
    titles = {row["title"] for row in read_csv(tmp_path / "p.csv")}
    assert "'=cmd|' /C calc'!A0" in titles and "=cmd|' /C calc'!A0" not in titles
