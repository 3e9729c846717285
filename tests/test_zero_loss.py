"""Zero loss on hostile and real-world input (issue #11): what the pipeline and the readers do.

Each test is a case that used to lose data, duplicate it, hang, or fail the whole run.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
import shutil
import signal
import zlib
from contextlib import contextmanager

import orjson
import pytest
from factories import config_file_ci, lake_event, lake_row, patch
from fileskit import CIS, count, rejected, write_config_file, write_export, write_ndjson

from patchtrail.constants import LAKE_EXTRACT_COLUMNS
from patchtrail.ingest import ingest_files
from patchtrail.ingest.pipeline import ingest
from patchtrail.sources import formats
from patchtrail.sources.files import FileSource

MB = 1 << 20


@contextmanager
def no_hang(seconds: int = 60):
    """Fail (instead of hanging CI) if the block takes longer than `seconds`."""
    def expire(*_):
        raise TimeoutError(f"still running after {seconds} s: the run hangs")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def export_with(folder, header, rows):
    """A signed-by-hash Lake export of one result file with `header` and raw `rows` (cells)."""
    folder.mkdir(parents=True, exist_ok=True)
    text = io.StringIO()
    text.write("# Execution Time: 2026-04-01T00:00:00.000000Z Query Statement: SELECT ...\r\n")
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    data = gzip.compress(text.getvalue().encode(), mtime=0)
    (folder / "result_1.csv.gz").write_bytes(data)
    (folder / "result_sign.json").write_bytes(orjson.dumps({
        "region": "us-east-1", "hashAlgorithm": "SHA-256", "signatureAlgorithm": "SHA256withRSA",
        "files": [{"fileHashValue": hashlib.sha256(data).hexdigest(), "fileName": "result_1.csv.gz"}],
        "queryCompleteTime": "2026-04-01T00:00:00Z", "hashSignature": "00", "publicKeyFingerprint": "00"}))
    return folder


# Transient read errors: never recorded as done.

def test_a_file_that_vanishes_between_list_and_read_lands_on_the_next_run(tmp_path):
    data = tmp_path / "in"
    write_config_file(data / "a.json.gz", CIS[:1])
    gone = write_config_file(data / "b.json.gz", CIS[1:])
    wh = tmp_path / "w.duckdb"
    source = FileSource([data])
    listing = source.list()
    shutil.move(gone, tmp_path / "aside.json.gz")
    first = ingest(source, warehouse=wh, listing=listing)
    by_name = {o.uri.rsplit("/", 1)[-1]: o for o in first.objects}
    assert by_name["a.json.gz"].status == "landed"
    assert by_name["b.json.gz"].status == "rejected" and by_name["b.json.gz"].retry
    assert "it will be read again next run" in by_name["b.json.gz"].error
    assert count(wh, "select count(*) from landing.source_objects where uri like '%b.json.gz' "
                     "and sha256 is not null") == 0
    shutil.move(tmp_path / "aside.json.gz", gone)
    second = ingest_files([data], warehouse=wh)
    assert {o.uri.rsplit("/", 1)[-1]: o.status for o in second.objects} == {
        "a.json.gz": "unchanged", "b.json.gz": "landed"}
    assert count(wh, "select count(*) from landing.configuration_items") == 3


def test_a_file_changed_while_being_read_is_read_again(tmp_path, monkeypatch):
    data = tmp_path / "in"
    path = write_ndjson(data / "e.ndjson", CIS[:2])
    source = FileSource([data])
    listing = source.list()
    write_ndjson(path, CIS)  # a writer appends after listing
    summary = ingest(source, warehouse=tmp_path / "w.duckdb", listing=listing)
    (result,) = summary.objects
    assert result.status == "rejected" and "changed while it was being read" in result.error
    assert ingest_files([data], warehouse=tmp_path / "w.duckdb").totals()["items_landed"] == 3


def test_a_reader_that_breaks_unexpectedly_rejects_its_object_only(tmp_path, monkeypatch):
    data = tmp_path / "in"
    write_config_file(data / "good.json.gz", CIS[:1])
    write_ndjson(data / "deep.ndjson", CIS[1:])
    real = formats.read_lake_events

    def broken(stream, *, source, ref):
        raise RecursionError("maximum recursion depth exceeded")
        yield from real(stream, source=source, ref=ref)

    monkeypatch.setattr(formats, "read_lake_events", broken)
    wh = tmp_path / "w.duckdb"
    summary = ingest_files([data], warehouse=wh)
    statuses = {o.uri.rsplit("/", 1)[-1]: (o.status, o.error) for o in summary.objects}
    assert statuses["good.json.gz"] == ("landed", None)
    status, error = statuses["deep.ndjson"]
    assert status == "rejected" and "RecursionError" in error and str(data / "deep.ndjson") in error
    monkeypatch.undo()
    assert ingest_files([data], warehouse=wh).totals()["items_landed"] == 2  # read again, lands


# Reads stay where the user pointed.

def test_a_symlink_out_of_the_tree_is_not_followed_and_its_target_never_stored(tmp_path):
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$secret-hash:19000:0:99999:7:::\n")
    data = tmp_path / "in"
    write_ndjson(data / "good.ndjson", CIS[:1])
    (data / "x.ndjson").symlink_to(secret)
    wh = tmp_path / "w.duckdb"
    summary = ingest_files([data], warehouse=wh)
    assert [o.uri.rsplit("/", 1)[-1] for o in summary.objects] == ["good.ndjson"]
    (note,) = summary.ignored
    assert note.startswith(f"{data / 'x.ndjson'}: symbolic link to {secret}, outside {data}; not followed")
    assert count(wh, "select count(*) from landing.rejected_records") == 0
    assert count(wh, "select count(*) from landing.rejected_records where payload like '%secret%'") == 0


def test_follow_symlinks_reads_a_link_out_of_the_tree(tmp_path):
    outside = write_ndjson(tmp_path / "elsewhere" / "e.ndjson", CIS[:1])
    data = tmp_path / "in"
    data.mkdir()
    (data / "e.ndjson").symlink_to(outside)
    summary = ingest_files([data], warehouse=tmp_path / "w.duckdb", follow_symlinks=True)
    assert summary.totals()["items_landed"] == 1


def test_a_symlink_inside_the_tree_is_read_where_it_points(tmp_path):
    data = tmp_path / "in"
    write_ndjson(data / "real" / "e.ndjson", CIS)
    (data / "alias.ndjson").symlink_to(data / "real" / "e.ndjson")
    summary = ingest_files([data], warehouse=tmp_path / "w.duckdb")
    assert [o.uri for o in summary.objects] == [str(data / "real" / "e.ndjson")]  # read once
    assert summary.totals()["items_landed"] == 3


@pytest.mark.parametrize("make", ["fifo", "dev_zero", "socket"])
def test_fifos_devices_and_sockets_are_never_opened(tmp_path, make):
    import socket

    data = tmp_path / "in"
    write_ndjson(data / "good.ndjson", CIS[:1])
    special = data / "x.ndjson"
    listener = None
    if make == "fifo":
        os.mkfifo(special)
    elif make == "dev_zero":
        special.symlink_to("/dev/zero")
    else:
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(str(special))
    try:
        with no_hang(60):
            listing = FileSource([data], follow_symlinks=True).list()  # what --dry-run prints
            summary = ingest_files([data], warehouse=tmp_path / "w.duckdb", follow_symlinks=True)
            explicit = ingest_files([special], warehouse=tmp_path / "x.duckdb")
    finally:
        if listener:
            listener.close()
    assert [o.uri.rsplit("/", 1)[-1] for o in listing.objects] == ["good.ndjson"]
    kind = {"fifo": "a FIFO", "dev_zero": "a character device", "socket": "a socket"}[make]
    assert any(kind in note and "never opened" in note for note in summary.ignored)
    assert summary.totals()["items_landed"] == 1
    assert explicit.objects == [] and any(kind in note for note in explicit.ignored)


def test_file_names_that_are_not_utf8_are_read_and_recorded_escaped(tmp_path):
    data = tmp_path / "in"
    data.mkdir()
    name = os.fsencode(data) + b"/caf\xe9-\xff.ndjson"
    with open(name, "wb") as fh:
        fh.write(b"\n".join(orjson.dumps(lake_event(ci, event_id=f"e{i}")) for i, ci in enumerate(CIS)))
    wh = tmp_path / "w.duckdb"
    summary = ingest_files([data], warehouse=wh)
    (result,) = summary.objects
    assert result.status == "landed" and result.uri.endswith("caf\\xe9-\\xff.ndjson")
    assert count(wh, "select uri from landing.source_objects") == result.uri
    assert ingest_files([data], warehouse=wh).objects[0].status == "unchanged"


# Bounded memory and linear time for any record.

def _gzip_config_with_huge_string(path, size: int) -> int:
    """A ConfigHistory .json.gz whose one item carries a `size`-byte string (written in chunks)."""
    good = orjson.dumps(config_file_ci("2026-03-01T06:00:00.000Z", [patch("KB1")]))
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(b'{"fileVersion":"1.0","configurationItems":[' + good + b',{"huge":"')
        chunk = b"x" * MB
        for _ in range(size // MB):
            out.write(chunk)
        out.write(b'"}]}')
    return path.stat().st_size


def test_a_huge_string_in_a_small_gz_is_rejected_with_its_size_not_parsed(tmp_path):
    data = tmp_path / "in"
    data.mkdir()
    compressed = _gzip_config_with_huge_string(data / "bomb.json.gz", 512 * MB)
    assert compressed < 2 * MB
    with no_hang(120):
        summary = ingest_files([data], warehouse=tmp_path / "w.duckdb")
    (result,) = summary.objects
    assert result.status == "rejected" and not result.retry
    assert f"item 1 is larger than {formats.MAX_RECORD_BYTES} bytes" in result.error
    read = int(result.error.split("(read ")[1].split(" bytes")[0])
    assert read < formats.MAX_RECORD_BYTES + 2 * formats.IJSON_BUFFER + MB  # stopped early


def test_a_huge_ndjson_line_is_rejected_alone_with_its_size(tmp_path):
    data = tmp_path / "in"
    data.mkdir()
    lines = [orjson.dumps(lake_event(ci, event_id=f"e{i}")) for i, ci in enumerate(CIS)]
    huge = b'{"eventData": "' + b"y" * (formats.MAX_RECORD_BYTES + 5 * MB) + b'"}'
    (data / "e.ndjson").write_bytes(b"\n".join([lines[0], huge, lines[1], lines[2]]) + b"\n")
    wh = tmp_path / "w.duckdb"
    summary = ingest_files([data], warehouse=wh)
    assert summary.totals()["items_landed"] == 3 and summary.totals()["items_rejected"] == 1
    ((ref, where, reason, payload),) = rejected(wh)
    assert where == "line 2" and f"at least {len(huge) + 1} bytes" in reason
    assert len(payload) <= 1024


def test_a_line_that_is_not_utf8_rejects_that_line_only(tmp_path):
    data = tmp_path / "in"
    data.mkdir()
    lines = [orjson.dumps(lake_event(ci, event_id=f"e{i}")) for i, ci in enumerate(CIS)]
    (data / "e.ndjson").write_bytes(b"\n".join([lines[0], b'{"bad": "\xff\xfe"}', *lines[1:]]))
    wh = tmp_path / "w.duckdb"
    summary = ingest_files([data], warehouse=wh)
    assert summary.totals()["items_landed"] == 3 and summary.totals()["items_rejected"] == 1
    assert "line 2" in [r[1] for r in rejected(wh)]


def test_deep_nesting_inside_a_config_file_rejects_that_item_only(tmp_path):
    data = tmp_path / "in"
    data.mkdir()
    deep = config_file_ci("2026-03-02T06:00:00.000Z", [patch("KB1")])
    nest: dict = {}
    cursor = nest
    for _ in range(3000):
        cursor["n"] = {}
        cursor = cursor["n"]
    deep["configuration"]["AWS:ComplianceItem"]["Content"]["Patch"]["KB1"]["Title"] = nest
    body = b'{"configurationItems":[' + orjson.dumps(CIS[0]) + b"," + _dumps_deep(deep) + b"]}"
    (data / "d.json.gz").write_bytes(gzip.compress(body))
    for whole in (formats.WHOLE_JSON_BYTES, 0):  # parsed whole (orjson), or item by item (ijson)
        wh = tmp_path / f"w{whole}.duckdb"
        original = formats.WHOLE_JSON_BYTES
        formats.WHOLE_JSON_BYTES = whole
        try:
            summary = ingest_files([data], warehouse=wh)
        finally:
            formats.WHOLE_JSON_BYTES = original
        assert summary.totals()["items_landed"] == 1 and summary.totals()["items_rejected"] == 1
        assert summary.objects[0].status == "landed"


def _dumps_deep(value) -> bytes:
    """JSON of an object nested deeper than orjson will write (json, iteratively enough)."""
    import json
    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(20000)
    try:
        return json.dumps(value).encode()
    finally:
        sys.setrecursionlimit(limit)


def test_a_corrupt_gzip_is_rejected_and_named(tmp_path):
    data = tmp_path / "in"
    data.mkdir()
    good = gzip.compress(orjson.dumps({"configurationItems": CIS}))
    (data / "t.json.gz").write_bytes(good[:20] + bytes(b ^ 0xFF for b in good[20:40]) + good[40:])
    summary = ingest_files([data], warehouse=tmp_path / "w.duckdb")
    (result,) = summary.objects
    assert result.status == "rejected" and str(data / "t.json.gz") in result.error
    assert isinstance(zlib.error("x"), Exception)


# Lake exports as AWS writes them.

def test_a_700_patch_item_in_a_lake_export_cell_lands(tmp_path):
    big = config_file_ci("2026-03-01T06:00:00.000Z", [patch(f"KB{4000000 + i}", "Missing" if i % 5 else
                                                            "Installed") for i in range(700)])
    row = lake_row(big)
    assert len(row["configurationJson"]) > 131_072  # above the csv module's default field limit
    export_with(tmp_path / "q", LAKE_EXTRACT_COLUMNS, [[row.get(c, "") for c in LAKE_EXTRACT_COLUMNS]])
    wh = tmp_path / "w.duckdb"
    summary = ingest_files([tmp_path / "q"], warehouse=wh)
    assert summary.totals()["items_landed"] == 1
    assert count(wh, "select count(*) from staging.patch_observations") == 700


@pytest.mark.parametrize("shape", ["eventJson", "eventData", "extraction-mixed-case"])
def test_lake_exports_with_any_json_safe_column_set_land(tmp_path, shape):
    events = [lake_event(ci, event_id=f"e{i}") for i, ci in enumerate(CIS)]
    if shape == "eventJson":
        header, rows = ["eventJson"], [[orjson.dumps(e).decode()] for e in events]
    elif shape == "eventData":
        header = ["eventID", "eventTime", "eventData"]
        rows = [[e["eventID"], e["eventTime"].replace("T", " ").replace("Z", ".000"),
                 orjson.dumps(e["eventData"]).decode()] for e in events]
    else:
        header = [c.lower() for c in LAKE_EXTRACT_COLUMNS] + ["recipientAccountId"]
        rows = [[lake_row(ci, event_id=f"e{i}").get(c, "") for c in LAKE_EXTRACT_COLUMNS] + ["1"]
                for i, ci in enumerate(CIS)]
    export_with(tmp_path / "q", header, rows)
    reference = tmp_path / "ref.duckdb"
    write_ndjson(tmp_path / "ref" / "e.ndjson", CIS)
    ingest_files([tmp_path / "ref"], warehouse=reference)
    wh = tmp_path / "w.duckdb"
    summary = ingest_files([tmp_path / "q"], warehouse=wh)
    assert summary.totals()["items_landed"] == 3, summary.objects
    history = "select * exclude (recorded_at) from history.patch_state order by all"
    assert _rows(wh, history) == _rows(reference, history)
    if shape != "eventJson":
        assert count(wh, "select count(*) from landing.configuration_items where event_id is null") == 0


def test_an_export_of_trino_structs_is_rejected_with_what_to_save_instead(tmp_path):
    header = ["eventVersion", "eventID", "eventTime", "eventData"]
    export_with(tmp_path / "q", header, [["1.0", "e1", "2022-05-19 21:51:39.000",
                                          "{version=1.3, accountid=123456789012, resourcetype=x}"]])
    (result,) = ingest_files([tmp_path / "q"], warehouse=tmp_path / "w.duckdb").objects
    assert result.status == "rejected"
    assert "rendered as a Trino struct" in result.error and "SELECT *" in result.error
    assert "extract_patch_compliance.sql" in result.error


def _rows(wh, sql):
    from patchtrail.warehouse import connect

    con = connect(wh, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_the_extraction_export_still_lands_with_a_multiline_statement(tmp_path):
    folder = write_export(tmp_path / "q", CIS)
    member = folder / "result_1.csv.gz"
    text = gzip.decompress(member.read_bytes()).decode()
    text = text.replace("Query Statement: SELECT eventId,", "Query Statement: SELECT\r\n    eventId,")
    data = gzip.compress(text.encode(), mtime=0)
    member.write_bytes(data)
    sign = orjson.loads((folder / "result_sign.json").read_bytes())
    sign["files"][0]["fileHashValue"] = hashlib.sha256(data).hexdigest()
    (folder / "result_sign.json").write_bytes(orjson.dumps(sign))
    assert ingest_files([folder], warehouse=tmp_path / "w.duckdb").totals()["items_landed"] == 3


# Deterministic under conflicts: same identity, different content.

def _conflicting_pair():
    first = config_file_ci("2026-03-05T06:00:00.000Z", [patch("KB1", "Missing"), patch("KB2")])
    second = config_file_ci("2026-03-05T06:00:00.000Z", [patch("KB1", "Installed"), patch("KB2")])
    assert first["configurationStateId"] == second["configurationStateId"]  # one identity
    return first, second


HISTORY = ("select * exclude (recorded_at) from history.patch_state order by all",
           "select * exclude (recorded_at) from history.instance_compliance order by all")


@pytest.mark.parametrize("how", ["two runs", "one run, two files", "one file"])
def test_conflicting_variants_give_one_history_whatever_the_order(tmp_path, how):
    a, b = _conflicting_pair()
    results = []
    for order, (x, y) in enumerate(((a, b), (b, a))):
        data, wh = tmp_path / f"in{order}", tmp_path / f"w{order}.duckdb"
        if how == "two runs":
            write_config_file(data / "1" / "x.json.gz", [CIS[0], x])
            ingest_files([data / "1"], warehouse=wh)
            write_config_file(data / "2" / "y.json.gz", [y])
            summary = ingest_files([data / "2"], warehouse=wh)
        elif how == "one run, two files":
            write_config_file(data / "x.json.gz", [CIS[0], x])
            write_config_file(data / "y.json.gz", [y])
            summary = ingest_files([data], warehouse=wh)
        else:
            write_config_file(data / "xy.json.gz", [CIS[0], x, y])
            summary = ingest_files([data], warehouse=wh)
        assert summary.conflicts == 1
        results.append([_rows(wh, sql) for sql in HISTORY])
        conflicts = _rows(wh, "select is_used, content_sha256 from landing.item_conflicts order by all")
        assert len(conflicts) == 2 and [used for used, _ in conflicts].count(True) == 1
        used = min(h for _, h in conflicts)
        assert (True, used) in conflicts  # the smallest content hash is the one used
        assert count(wh, "select count(*) from staging.instance_snapshots") == 2
    assert results[0] == results[1]


def test_a_streamed_object_undone_after_landing_a_winning_variant_leaves_the_old_one(tmp_path):
    from patchtrail.constants import BATCH_ITEMS

    a, b = _conflicting_pair()
    wh = tmp_path / "w.duckdb"
    write_config_file(tmp_path / "first" / "a.json.gz", [a])
    ingest_files([tmp_path / "first"], warehouse=wh)
    before = [_rows(wh, sql) for sql in HISTORY]
    fillers = [config_file_ci(f"2026-03-06T{m // 60:02d}:{m % 60:02d}:00.000Z", [patch("A")],
                              instance="i-0aaaaaaaaaaaaaaa1") for m in range(BATCH_ITEMS + 50)]
    lines = [orjson.dumps(lake_event(ci, event_id=f"ev-{i}")) for i, ci in enumerate([b, *fillers])]
    data = gzip.compress(b"\n".join(lines))
    (tmp_path / "second").mkdir()
    (tmp_path / "second" / "e.ndjson.gz").write_bytes(data[: len(data) - 100])  # breaks near the end
    summary = ingest_files([tmp_path / "second"], warehouse=wh)
    assert summary.objects[0].status == "rejected"
    assert [_rows(wh, sql) for sql in HISTORY] == before
    assert count(wh, "select count(*) from landing.configuration_items") == 1
    assert count(wh, "select count(*) from landing.item_conflicts") == 0


def test_a_copy_of_an_item_landed_before_content_hashes_is_a_duplicate(tmp_path):
    a, _ = _conflicting_pair()
    wh = tmp_path / "w.duckdb"
    write_config_file(tmp_path / "a" / "a.json.gz", [a])
    ingest_files([tmp_path / "a"], warehouse=wh)
    from patchtrail.warehouse import connect

    con = connect(wh)
    con.execute("update landing.configuration_items set content_sha256 = null")  # as an old warehouse
    con.close()
    write_ndjson(tmp_path / "b" / "e.ndjson", [a])
    summary = ingest_files([tmp_path / "b"], warehouse=wh)
    assert summary.totals()["items_duplicate"] == 1 and summary.conflicts == 0
