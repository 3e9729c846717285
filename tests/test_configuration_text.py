"""Configuration text stored zstd-compressed: every frame reads back as the text it was made
from, through Python, the SQL function `configuration_text` and the Spark export; rows landed
as plain text by older versions keep working."""

from __future__ import annotations

import gzip
import json
import shutil

import orjson
import pyarrow.parquet as pq
import pytest
from loading import simulated_warehouse
from patchtrail.transforms.configuration_text import compressed, content_size, text_of, texts_of
from typer.testing import CliRunner

from patchtrail.analytics.rebuild import rebuild
from patchtrail.cli import app
from patchtrail.ingest import ingest_files
from patchtrail.publish.landing import export_landing
from patchtrail.warehouse import connect


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return simulated_warehouse(tmp_path_factory.mktemp("zstd"))


@pytest.mark.parametrize("size", [0, 1, 255, 256, 257, 65_791, 65_792, 300_000])
def test_every_frame_records_its_size_and_reads_back(size):
    # zstd writes the size in 1, 2 (offset by 256) or 4 bytes by magnitude: each width is read
    text = (b'{"a": "' + b"x" * size)[:size]
    (frame,) = compressed([text]).to_pylist()
    assert content_size(frame) == size
    assert text_of(frame) == text


def test_nulls_stay_null_and_strings_come_back_as_text():
    frames = compressed([b'{"k": "\xc3\xa9"}', None])
    assert frames.null_count == 1 and text_of(None) is None
    assert texts_of(frames).to_pylist() == ['{"k": "é"}', None]


@pytest.mark.parametrize("frame, message", [
    (b"", "not a zstd frame"),
    (b'{"json": 1}', "not a zstd frame"),
    (b"\x28\xb5\x2f\xfd\x40", "not a zstd frame"),           # too short for any header
    (b"\x28\xb5\x2f\xfd\x00\x00\x00", "does not record its size"),  # size flag 0, not single segment
    (b"\x28\xb5\x2f\xfd\x80\x00\x00\x00", "cut short"),      # 4-byte size, 2 bytes given
])
def test_what_is_not_a_sized_frame_is_refused(frame, message):
    with pytest.raises(ValueError, match=message):
        content_size(frame)


def test_landed_frames_hold_the_configuration_of_the_file(built):
    """Each landed frame is the configuration of the delivery file's item (as JSON, equal)."""
    con = connect(built, read_only=True)
    try:
        rows = con.execute("""
            select resource_id, state_id, configuration_json, configuration_text(configuration_zstd)
            from landing.configuration_items where dialect = 'config_file' and configuration_zstd is not null
        """).fetchall()
    finally:
        con.close()
    expected = {}
    for path in (built.parent / "data" / "config").rglob("*.json.gz"):
        for ci in orjson.loads(gzip.decompress(path.read_bytes()))["configurationItems"]:
            expected[(ci["resourceId"], str(ci["configurationStateId"]))] = ci["configuration"]
    assert rows and all(legacy is None for _, _, legacy, _ in rows)
    for resource_id, state_id, _, text in rows:
        assert json.loads(text) == expected[(resource_id, state_id)], (resource_id, state_id)


def test_patchtrail_sql_offers_configuration_text(built):
    result = CliRunner().invoke(app, [
        "sql", "--warehouse", str(built), "--format", "csv",
        "select count(*) as n, count(json_extract(configuration_text(configuration_zstd), '$.\"AWS:ComplianceItem\"')) as parsed "
        "from landing.configuration_items where configuration_zstd is not null"])
    assert result.exit_code == 0, result.output
    header, values = result.output.strip().splitlines()[:2]
    n, parsed = values.split(",")
    assert header == "n,parsed" and int(n) > 0 and parsed == n


def _as_legacy(built, tmp_path):
    """A copy of the warehouse whose items are stored as an older patchtrail stored them: text."""
    copy = tmp_path / "legacy.duckdb"
    shutil.copy(built, copy)
    con = connect(copy)
    try:
        con.execute("update landing.configuration_items set configuration_json = "
                    "configuration_text(configuration_zstd), configuration_zstd = null")
    finally:
        con.close()
    return copy


HISTORY = ("select count(*), count(distinct instance_id) from history.patch_state",
           "select count(*) from history.instance_compliance")


def _history(warehouse):
    con = connect(warehouse, read_only=True)
    try:
        return [con.execute(q).fetchall() for q in HISTORY]
    finally:
        con.close()


def test_items_landed_as_text_rebuild_to_the_same_history(built, tmp_path):
    legacy = _as_legacy(built, tmp_path)
    before = _history(legacy)
    summary = rebuild(legacy)
    assert summary.refused == 0 and summary.items > 0
    assert _history(legacy) == before == _history(built)


def test_the_spark_export_carries_text_from_both_kinds_of_row(built, tmp_path):
    legacy = _as_legacy(built, tmp_path)
    con = connect(legacy)
    try:  # half the rows back to frames: one export mixes both
        con.execute("""update landing.configuration_items
                       set configuration_zstd = ?, configuration_json = null
                       where configuration_json is not null and hash(ci_id) % 2 = 0""",
                    [compressed([b'{"marker": true}']).to_pylist()[0]])
    finally:
        con.close()
    export_landing(legacy, str(tmp_path / "out"))
    table = pq.read_table(tmp_path / "out" / "configuration_items" / "part-0000.parquet")
    assert "configuration_zstd" not in table.column_names
    texts = [t for t in table["configuration_json"].to_pylist() if t is not None]
    assert '{"marker": true}' in texts and any(t != '{"marker": true}' for t in texts)
    assert all(isinstance(json.loads(t), dict) for t in texts)


def test_a_warehouse_of_text_rows_upgrades_in_place_and_takes_new_items(built, tmp_path):
    """A warehouse as 0.2 left it (text, no configuration_zstd column) gains the column on the
    next run; old and new rows then read back alike."""
    old = _as_legacy(built, tmp_path)
    con = connect(old)
    try:
        con.execute("alter table landing.configuration_items drop column configuration_zstd")
        con.execute("drop view meta.schema_version")  # as if the SQL had changed since
        # one day's files forgotten, as if they arrive now: they land as frames
        day = "ci_id in (select ci_id from landing.configuration_items where source_ref like '%/2026/1/1/%')"
        for table in ("staging.patch_observations", "staging.instance_snapshots", "landing.configuration_items"):
            con.execute(f"delete from {table} where {day}")  # noqa: S608 (fixed names)
        con.execute("delete from landing.source_objects where uri like '%/2026/1/1/%'")
    finally:
        con.close()
    ingest_files([built.parent / "data"], warehouse=old)
    con = connect(old, read_only=True)
    try:
        kinds = con.execute("""
            select count(*) filter (where configuration_json is not null),
                   count(*) filter (where configuration_zstd is not null),
                   count(*) filter (where coalesce(configuration_json, configuration_text(configuration_zstd)) is null
                                    and item_status in ('OK', 'ResourceDiscovered'))
            from landing.configuration_items""").fetchone()
    finally:
        con.close()
    assert kinds[0] > 0 and kinds[1] > 0 and kinds[2] == 0
    assert _history(old) == _history(built)
