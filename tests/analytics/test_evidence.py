"""Evidence packs: contents, byte-identical re-runs, hashes, provenance; and the CLI commands."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import UTC, datetime

import pyarrow.parquet as pq
import pytest
import typer
from conftest import AS_OF
from typer.testing import CliRunner

from patchtrail.analytics.evidence import DATASETS, verify_evidence, write_evidence
from patchtrail.cli.analytics import register
from patchtrail.errors import InvalidInput


@pytest.fixture(scope="module")
def pack(warehouse_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("pack") / "evidence"
    write_evidence(warehouse_path, out, as_of=AS_OF, policy="fedramp",
                   now=datetime(2026, 4, 2, tzinfo=UTC))
    return out


def _data_files(folder):
    return sorted(p.name for p in folder.iterdir() if p.suffix in (".csv", ".parquet"))


def test_pack_holds_every_dataset_in_two_formats_with_its_sql(pack):
    assert _data_files(pack) == sorted(f"{n}.{x}" for n, _ in DATASETS for x in ("csv", "parquet"))
    assert sorted(p.name for p in (pack / "sql").iterdir()) == sorted(f"{n}.sql" for n, _ in DATASETS)
    manifest = json.loads((pack / "manifest.json").read_text())
    for name, _ in DATASETS:
        rows = list(csv.reader((pack / f"{name}.csv").open()))
        assert len(rows) - 1 == manifest["rows"][name] == pq.read_table(pack / f"{name}.parquet").num_rows
    assert manifest["parameters"]["as_of"] == "2026-03-31T00:00:00.000000Z"
    assert manifest["parameters"]["policy"]["name"] == "fedramp"
    assert manifest["warehouse"]["items"] > 100 and len(manifest["warehouse"]["items_sha256"]) == 64
    assert "$as_of = " in (pack / "sql" / "instance_status.sql").read_text()
    assert verify_evidence(pack) == []


def test_pack_matches_the_marts(pack, wh):
    manifest = json.loads((pack / "manifest.json").read_text())
    counts = {
        "instance_status": "select count(*) from marts.instance_compliance_as_of(?)",
        "patch_status": "select count(*) from marts.patch_state_as_of(?)",
        "missing_patches": "select count(*) from marts.missing_patches_as_of(?)",
        "sla_breaches": "select count(*) from marts.sla_breaches(?, 'fedramp')",
        "sla_status": "select count(*) from marts.sla_status(?, 'fedramp')",
    }
    for name, sql in counts.items():
        assert manifest["rows"][name] == wh.execute(sql, [AS_OF]).fetchall()[0][0], name
    assert manifest["rows"]["sla_breaches"] > 0 and manifest["rows"]["waivers"] == 4
    breaches = pq.read_table(pack / "sla_breaches.parquet").to_pylist()
    assert all(row["due_at"] < datetime(2026, 3, 31, tzinfo=UTC) for row in breaches)


def test_provenance_covers_every_cited_item(pack):
    cited = set()
    for name in ("instance_status", "patch_status", "missing_patches", "sla_status"):
        table = pq.read_table(pack / f"{name}.parquet")
        for column in ("ci_id", "last_item_ci_id", "opened_ci_id"):
            if column in table.column_names:
                cited |= {v for v in table[column].to_pylist() if v}
    provenance = pq.read_table(pack / "provenance.parquet").to_pylist()
    assert {row["ci_id"] for row in provenance} == cited
    assert all(row["object_sha256"] and row["object_uri"] for row in provenance)


def test_rerun_on_an_unchanged_warehouse_is_byte_identical(pack, warehouse_path, tmp_path):
    again = tmp_path / "again"
    write_evidence(warehouse_path, again, as_of=AS_OF, policy="fedramp")
    assert (again / "SHA256SUMS").read_bytes() == (pack / "SHA256SUMS").read_bytes()
    for name in _data_files(pack):
        assert (again / name).read_bytes() == (pack / name).read_bytes(), name
    write_evidence(warehouse_path, again, as_of=AS_OF, policy="fedramp")  # replaces its own pack
    assert (again / "SHA256SUMS").read_bytes() == (pack / "SHA256SUMS").read_bytes()


def test_known_at_now_gives_the_same_data_and_before_anything_gives_none(pack, warehouse_path, wh, tmp_path):
    last = wh.execute("select max(ingested_at) from landing.configuration_items").fetchall()[0][0]
    known = tmp_path / "known"
    write_evidence(warehouse_path, known, as_of=AS_OF, known_at=last, policy="fedramp")
    for name in _data_files(pack):
        if not name.startswith("sql"):
            assert (known / name).read_bytes() == (pack / name).read_bytes(), name
    empty = tmp_path / "empty"
    result = write_evidence(warehouse_path, empty, as_of=AS_OF, known_at="2020-01-01", policy="fedramp")
    assert result.rows["instance_status"] == 0 and result.rows["patch_status"] == 0


def test_tampering_is_detected(pack, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(pack, copy)
    with (copy / "sla_breaches.csv").open("a") as fh:
        fh.write("forged\n")
    (copy / "extra.txt").write_text("x")
    problems = verify_evidence(copy)
    assert any("sla_breaches.csv: SHA-256 differs" in p for p in problems)
    assert any("extra.txt: not listed" in p for p in problems)


def test_pack_refuses_a_folder_with_other_files(warehouse_path, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InvalidInput, match="not an evidence pack"):
        write_evidence(warehouse_path, tmp_path, as_of=AS_OF)
    with pytest.raises(InvalidInput, match="ISO-8601"):
        write_evidence(warehouse_path, tmp_path / "x", as_of="31/03/2026")


@pytest.fixture
def cli(monkeypatch):
    """The analytics commands on an app of their own; no published copy is refreshed."""
    monkeypatch.setattr("patchtrail.cli.analytics.after_run", lambda warehouse: None)
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def test_cli_sla_evidence_waivers_policies(cli, warehouse_path, registers, tmp_path, wh):
    result = cli("sla", "-w", warehouse_path, "--as-of", AS_OF, "--policy", "fedramp", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(result.output.splitlines()))
    assert len(rows) - 1 == wh.execute("select count(*) from marts.sla_breaches(?, 'fedramp')",
                                       [AS_OF]).fetchall()[0][0]
    result = cli("sla", "-w", warehouse_path, "--as-of", AS_OF, "--policy", registers["policy"], "--all")
    assert result.exit_code == 0 and "policy acme" in result.output
    result = cli("evidence", "-w", warehouse_path, "--as-of", "2026-03-31", "--out", tmp_path / "p")
    assert result.exit_code == 0 and "sha256sum -c SHA256SUMS" in result.output
    result = cli("evidence", "-w", warehouse_path, "--as-of", "2026-03-31", "--out", tmp_path / "q",
                 "--policy", "fedramp", "--dry-run")
    assert result.exit_code == 0 and "would write" in result.output and not (tmp_path / "q").exists()
    result = cli("waivers", "list", "-w", warehouse_path, "--as-of", "2026-03-01")
    assert result.exit_code == 0 and "W-1" in result.output
    result = cli("waivers", "load", "--dry-run", registers["waivers"])
    assert result.exit_code == 0 and "W-4" in result.output
    result = cli("policies", "list", "-w", warehouse_path)
    assert result.exit_code == 0 and "pci-dss-4.0" in result.output and "acme" in result.output
    result = cli("sla", "-w", warehouse_path, "--policy", "sox")
    assert result.exit_code == 1 and "unknown SLA policy" in result.output


def test_cli_rebuild_and_register_loading(cli, warehouse_path, registers, tmp_path):
    copy = tmp_path / "w.duckdb"
    shutil.copy(warehouse_path, copy)
    result = cli("rebuild", "-w", copy, "--dry-run")
    assert result.exit_code == 0 and "would rebuild from" in result.output
    result = cli("rebuild", "-w", copy, "-q")
    assert result.exit_code == 0 and "rebuilt" in result.output, result.output
    result = cli("waivers", "load", registers["waivers"], "-w", copy)
    assert result.exit_code == 0 and "4 waivers loaded" in result.output
    result = cli("policies", "load", registers["policy"], "-w", copy)
    assert result.exit_code == 0 and "stored policy acme" in result.output
