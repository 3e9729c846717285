"""Evidence packs never touch what they did not write, swap in atomically, and CSV cells cannot
run as spreadsheet formulas."""

from __future__ import annotations

import csv
import json
import shutil

import pyarrow.parquet as pq
import pytest
from conftest import AS_OF

from patchtrail.analytics import evidence
from patchtrail.analytics.evidence import remove_leftovers, verify_evidence, write_evidence
from patchtrail.errors import InvalidInput
from patchtrail.warehouse import connect

FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1+2", "-2+3", "@SUM(A1)", "\tTab",
            "\rReturn", "'quoted already"]


def snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_folder_with_some_other_manifest_keeps_every_file(warehouse_path, tmp_path):
    """The issue's case: another tool's manifest.json made the old code empty the folder."""
    out = tmp_path / "project"
    out.mkdir()
    (out / "manifest.json").write_text('{"name": "my web app", "files": []}')
    (out / "index.html").write_text("<h1>mine</h1>")
    (out / "data").mkdir()
    (out / "data" / "rows.csv").write_text("a,b\n")
    before = snapshot(out)
    with pytest.raises(InvalidInput, match="not an evidence pack"):
        write_evidence(warehouse_path, out, as_of=AS_OF)
    assert snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["project"]


def test_an_earlier_pack_with_a_file_of_someone_else_is_refused_untouched(warehouse_path, tmp_path):
    out = tmp_path / "pack"
    write_evidence(warehouse_path, out, as_of=AS_OF)
    (out / "auditor-notes.txt").write_text("keep me")
    before = snapshot(out)
    with pytest.raises(InvalidInput, match="auditor-notes.txt is not one of its files"):
        write_evidence(warehouse_path, out, as_of="2026-03-01")
    assert snapshot(out) == before


def test_an_earlier_pack_is_replaced_whole_and_nothing_is_left_beside_it(warehouse_path, tmp_path):
    out = tmp_path / "pack"
    write_evidence(warehouse_path, out, as_of="2026-03-01")
    write_evidence(warehouse_path, out, as_of=AS_OF)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parameters"]["as_of"] == "2026-03-31T00:00:00.000000Z"
    assert verify_evidence(out) == [] and [p.name for p in tmp_path.iterdir()] == ["pack"]


def test_an_empty_folder_is_used_and_a_file_is_refused(warehouse_path, tmp_path):
    (tmp_path / "empty").mkdir()
    write_evidence(warehouse_path, tmp_path / "empty", as_of=AS_OF)
    assert verify_evidence(tmp_path / "empty") == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidInput, match="not a folder"):
        write_evidence(warehouse_path, tmp_path / "file", as_of=AS_OF)


def test_a_failure_mid_pack_leaves_the_earlier_pack_and_no_temporary(warehouse_path, tmp_path, monkeypatch):
    out = tmp_path / "pack"
    write_evidence(warehouse_path, out, as_of=AS_OF)
    before = snapshot(out)
    calls = []

    def failing(table, path):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return original(table, path)

    original = evidence._write_parquet
    monkeypatch.setattr(evidence, "_write_parquet", failing)
    with pytest.raises(OSError, match="No space left"):
        write_evidence(warehouse_path, out, as_of="2026-03-01")
    assert snapshot(out) == before and [p.name for p in tmp_path.iterdir()] == ["pack"]


def test_leftovers_are_removed_only_when_they_hold_pack_files(tmp_path):
    out = tmp_path / "pack"
    ours = tmp_path / f".pack.{'a' * 32}.tmp"
    (ours / "sql").mkdir(parents=True)
    (ours / "instance_status.csv").write_text("x")
    (ours / "sql" / "instance_status.sql").write_text("select 1")
    old = tmp_path / f".pack.{'b' * 32}.old"
    old.mkdir()
    (old / "README.md").write_text("x")
    foreign = tmp_path / f".pack.{'c' * 32}.tmp"
    foreign.mkdir()
    (foreign / "thesis.docx").write_text("years of work")
    other_name = tmp_path / f".packs.{'d' * 32}.tmp"
    other_name.mkdir()
    assert remove_leftovers(out) == [ours, old]
    assert (foreign / "thesis.docx").exists() and other_name.exists()


def test_formula_like_text_is_neutralised_in_the_csv_and_kept_in_the_parquet(warehouse_path, tmp_path):
    wh = tmp_path / "w.duckdb"
    shutil.copy(warehouse_path, wh)
    con = connect(wh)
    try:
        ids = [r[0] for r in con.execute(
            "select distinct patch_id from marts.patch_state_as_of(?) order by 1 limit ?",
            [AS_OF, len(FORMULAS)]).fetchall()]
        for patch_id, title in zip(ids, FORMULAS, strict=True):
            con.execute("update history.patch_state set title = ? where patch_id = ?", [title, patch_id])
    finally:
        con.close()
    out = tmp_path / "pack"
    write_evidence(wh, out, as_of=AS_OF)
    with (out / "patch_status.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    parquet = pq.read_table(out / "patch_status.parquet").to_pylist()
    raw = {(r["instance_id"], r["patch_id"]): r["title"] for r in parquet}
    seen = set()
    for row in rows:
        title, original = row["title"], raw[(row["instance_id"], row["patch_id"])] or ""
        if original in FORMULAS:
            seen.add(original)
            assert title == "'" + original
        assert not title.startswith(("=", "+", "-", "@", "\t", "\r"))
        assert (title[1:] if title.startswith("'") else title) == original  # the documented undo
    assert seen == set(FORMULAS)
    assert verify_evidence(out) == []
    assert "remove one leading '" in (out / "README.md").read_text()


def test_without_rename_exchange_an_earlier_pack_is_still_replaced_whole(warehouse_path, tmp_path, monkeypatch):
    """Where renameat2(RENAME_EXCHANGE) is missing (not Linux, some filesystems): two renames."""
    out = tmp_path / "pack"
    write_evidence(warehouse_path, out, as_of="2026-03-01")
    monkeypatch.setattr(evidence, "_exchange", lambda first, second: False)
    write_evidence(warehouse_path, out, as_of=AS_OF)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parameters"]["as_of"] == "2026-03-31T00:00:00.000000Z"
    assert verify_evidence(out) == [] and [p.name for p in tmp_path.iterdir()] == ["pack"]
