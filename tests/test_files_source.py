"""Local files: format detection, readers, sign-file verification, bad input, incremental runs."""

from __future__ import annotations

import gzip
import os

import orjson
import pytest
from factories import config_file_ci, lake_event, patch
from fileskit import CIS, count, rejected, write_config_file, write_export, write_ndjson

from patchtrail.ingest import ingest_files


def test_three_formats_land_the_same_items_once(tmp_path):
    write_config_file(tmp_path / "c/AWSLogs/111122223333/Config/us-east-1/2026/3/1/ConfigHistory/"
                      "111122223333_Config_us-east-1_ConfigHistory_AWS::SSM::PatchCompliance_x_1.json.gz",
                      CIS, other_types=2)
    write_export(tmp_path / "e/AWSLogs/111122223333/CloudTrail-Lake/Query/2026/04/01/q1", CIS)
    write_ndjson(tmp_path / "l/events.ndjson", CIS)
    (tmp_path / "c/AWSLogs/111122223333/Config/ConfigWritabilityCheckFile").write_bytes(b"")
    wh = tmp_path.parent / f"{tmp_path.name}.duckdb"  # outside the walked folder
    summary = ingest_files([tmp_path], warehouse=wh)
    totals = summary.totals()
    assert totals["objects_seen"] == 3 and totals["items_landed"] == 3
    assert totals["items_duplicate"] == 6 and totals["items_skipped"] == 2
    assert count(wh, "select count(*) from landing.configuration_items") == 3
    assert count(wh, "select count(*) from landing.configuration_items where event_id is null") == 0
    assert summary.ignored == [str(tmp_path / "c/AWSLogs/111122223333/Config/ConfigWritabilityCheckFile")
                               + ": ConfigWritabilityCheckFile (AWS Config's access check)"]


def test_rerun_skips_files_by_path_and_hash_and_rereads_changed_ones(tmp_path):
    path = write_config_file(tmp_path / "h.json.gz", CIS[:2])
    wh = tmp_path / "w.duckdb"
    assert ingest_files([tmp_path], warehouse=wh).totals()["items_landed"] == 2
    again = ingest_files([tmp_path], warehouse=wh).totals()
    assert again["objects_unchanged"] == 1 and again["items_read"] == 0
    write_config_file(path, CIS)  # same path, new content
    changed = ingest_files([tmp_path], warehouse=wh).totals()
    assert changed["items_landed"] == 1 and changed["items_duplicate"] == 2
    assert count(wh, "select count(*) from landing.source_objects") == 2


def test_sign_file_mismatch_rejects_the_whole_export(tmp_path):
    folder = write_export(tmp_path / "q1", CIS, rows_per_file=2)
    data = gzip.decompress((folder / "result_2.csv.gz").read_bytes()).replace(b"06:00", b"07:00")
    (folder / "result_2.csv.gz").write_bytes(gzip.compress(data))
    wh = tmp_path / "w.duckdb"
    summary = ingest_files([tmp_path], warehouse=wh)
    assert summary.totals()["objects_rejected"] == 1
    assert count(wh, "select count(*) from landing.configuration_items") == 0
    (reason,) = [r[2] for r in rejected(wh)]
    assert "result_2.csv.gz: SHA-256" in reason and "does not match" in reason
    assert count(wh, "select status from landing.source_objects") == "rejected"


def test_export_with_a_missing_result_file_is_rejected(tmp_path):
    folder = write_export(tmp_path / "q1", CIS, rows_per_file=2)
    (folder / "result_2.csv.gz").unlink()
    summary = ingest_files([tmp_path], warehouse=tmp_path / "w.duckdb")
    assert "listed in result_sign.json but missing" in summary.objects[0].error


def test_unexpected_csv_header_rejects_the_file(tmp_path):
    header = ("eventId", "eventTime", "accountId", "awsRegion", "resourceId", "status")
    write_export(tmp_path / "q1", CIS, header=header)
    summary = ingest_files([tmp_path], warehouse=tmp_path / "w.duckdb")
    assert "unexpected CSV header" in summary.objects[0].error


@pytest.mark.parametrize("name,content,reason", [
    ("trunc.json.gz", gzip.compress(b'{"configurationItems": []}', mtime=0)[:-6], "corrupt or truncated gzip"),
    ("notjson.json.gz", gzip.compress(b"<html>", mtime=0), "not JSON"),
    ("plain.json", b'{"something": 1}', "no configurationItems list"),
])
def test_bad_files_are_rejected_and_the_run_continues(tmp_path, name, content, reason):
    (tmp_path / name).write_bytes(content)
    write_config_file(tmp_path / "good.json.gz", CIS)
    wh = tmp_path / "w.duckdb"
    summary = ingest_files([tmp_path], warehouse=wh)
    assert summary.totals()["items_landed"] == 3 and summary.rejected_anything
    (row,) = rejected(wh)
    assert row[0] == str(tmp_path / name) and row[1] is None and reason in row[2]
    assert row[3]  # the payload is kept


def test_bad_lines_and_items_are_rejected_one_by_one(tmp_path):
    bad_item = dict(CIS[0], configurationItemStatus=None)
    write_ndjson(tmp_path / "e.ndjson", CIS, extra_lines=["{not json", "[1, 2]"])
    write_config_file(tmp_path / "h.json.gz", [bad_item])
    wh = tmp_path / "w.duckdb"
    ingest_files([tmp_path], warehouse=wh)
    rows = rejected(wh)
    assert [(r[1], r[2][:20]) for r in rows] == [
        ("line 4", "invalid JSON (unexpe"), ("line 5", "event is not a JSON o"[:20]),
        ("item 0", "configurationItemSta")]
    assert rows[0][3] == "{not json"


def test_unreadable_paths_are_recorded_and_missing_ones_are_only_named(tmp_path):
    locked = write_config_file(tmp_path / "locked.json.gz", CIS)
    os.chmod(locked, 0)
    wh = tmp_path / "w.duckdb"
    summary = ingest_files([locked, tmp_path / "nope.json.gz"], warehouse=wh)
    errors = [o.error or "" for o in summary.objects]
    os.chmod(locked, 0o644)
    if os.geteuid() != 0:  # root can read anything
        assert any("unreadable" in e for e in errors)
    assert summary.not_found == [str(tmp_path / "nope.json.gz")]
    assert not any("nope.json.gz" in r[0] for r in rejected(wh))  # a typo is not a rejected record


def test_a_run_where_no_path_exists_records_nothing(tmp_path):
    wh = tmp_path / "w.duckdb"
    summary = ingest_files([tmp_path / "nope"], warehouse=wh)
    assert summary.objects == [] and summary.not_found == [str(tmp_path / "nope")]
    assert not wh.exists()


def test_crash_mid_run_leaves_the_warehouse_as_it_was(tmp_path, monkeypatch):
    write_config_file(tmp_path / "a.json.gz", CIS[:1])
    wh = tmp_path / "w.duckdb"
    ingest_files([tmp_path], warehouse=wh)
    write_config_file(tmp_path / "b.json.gz", CIS[1:])
    from patchtrail import run

    def explode(con):
        raise RuntimeError("power cut during the history merge")

    monkeypatch.setattr(run, "merge_history", explode)
    with pytest.raises(RuntimeError, match="power cut"):
        ingest_files([tmp_path], warehouse=wh)
    assert count(wh, "select count(*) from landing.configuration_items") == 1
    assert count(wh, "select count(*) from landing.source_objects") == 1
    assert count(wh, "select string_agg(status, ',' order by load_id) from landing.loads") == "succeeded,failed"
    monkeypatch.undo()
    assert ingest_files([tmp_path], warehouse=wh).totals()["items_landed"] == 2


def test_object_that_breaks_after_its_first_batch_lands_nothing(tmp_path):
    from patchtrail.constants import BATCH_ITEMS

    cis = [config_file_ci(f"2026-03-01T06:{m // 60:02d}:{m % 60:02d}.000Z", [patch("A")])
           for m in range(BATCH_ITEMS + 100)]
    lines = [orjson.dumps(lake_event(ci, event_id=f"ev-{i}")) for i, ci in enumerate(cis)]
    lines.insert(3, b"{broken")  # a per-line reject in the first batch, undone with the rest
    data = gzip.compress(b"\n".join(lines))
    (tmp_path / "events.ndjson.gz").write_bytes(data[: len(data) - 200])  # truncated near the end
    wh = tmp_path.parent / f"{tmp_path.name}.duckdb"
    summary = ingest_files([tmp_path], warehouse=wh)
    assert summary.objects[0].status == "rejected"
    assert count(wh, "select count(*) from landing.configuration_items") == 0
    assert count(wh, "select count(*) from staging.patch_observations") == 0
    assert [r[1] for r in rejected(wh)] == [None]  # one whole-object reject, no line rejects
