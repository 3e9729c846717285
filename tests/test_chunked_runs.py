"""Runs commit in chunks: memory stays bounded, a crash leaves a consistent warehouse, and a
re-run finishes the work with nothing lost or duplicated (#12)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from patchtrail import run as run_module
from patchtrail.devkit.simulator import simulate_to_dir
from patchtrail.ingest import ingest_files
from patchtrail.warehouse import connect
from patchtrail.warehouse.check import check_warehouse

ROOT = Path(__file__).resolve().parents[1]
SAME = {  # what must be equal whatever the chunking: items, staging, history
    "items": "select ci_id, content_sha256, event_id from landing.configuration_items order by all",
    "snapshots": "select * from staging.instance_snapshots order by all",
    "patches": "select count(*), sum(hash(ci_id, patch_id, state)) from staging.patch_observations",
    "instances": "select * exclude (recorded_at) from history.instance_compliance order by all",
    "versions": "select * exclude (recorded_at) from history.patch_state order by all",
    "objects": "select uri, status, items_read from landing.source_objects where status <> 'rejected' "
               "order by all",
}


def snapshot(warehouse):
    con = connect(warehouse, read_only=True)
    try:
        return {name: con.execute(sql).fetchall() for name, sql in SAME.items()}
    finally:
        con.close()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    data = tmp_path_factory.mktemp("chunks")
    simulate_to_dir(data, accounts=1, regions=2, instances=5, days=40, seed=11)
    return data


@pytest.fixture(scope="module")
def clean(fleet, tmp_path_factory):
    warehouse = tmp_path_factory.mktemp("clean") / "w.duckdb"
    ingest_files([fleet / "config"], warehouse=warehouse)
    return snapshot(warehouse)


def test_a_chunked_run_builds_the_same_warehouse(fleet, clean, tmp_path, monkeypatch):
    warehouse = tmp_path / "w.duckdb"
    summary = ingest_files([fleet / "config"], warehouse=warehouse, chunk_items=15)
    assert len(summary.load_ids) > 3
    assert snapshot(warehouse) == clean
    con = connect(warehouse, read_only=True)
    loads = con.execute("select count(*), count(distinct run_id), sum(items_read) from landing.loads "
                        "where status = 'succeeded'").fetchone()
    con.close()
    assert loads == (len(summary.load_ids), 1, summary.totals()["items_read"])
    assert all(r.ok for r in check_warehouse(warehouse, full=True))


def test_a_crash_in_a_later_chunk_keeps_the_earlier_ones_and_a_rerun_finishes(fleet, clean, tmp_path,
                                                                              monkeypatch):
    warehouse = tmp_path / "w.duckdb"
    real = run_module.merge_history
    calls = []

    def crash_on_the_third_chunk(con, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(con, **kwargs)

    monkeypatch.setattr(run_module, "merge_history", crash_on_the_third_chunk)
    with pytest.raises(OSError, match="No space left"):
        ingest_files([fleet / "config"], warehouse=warehouse, chunk_items=15)
    monkeypatch.undo()
    con = connect(warehouse, read_only=True)
    statuses = [s for s, in con.execute("select status from landing.loads order by load_id").fetchall()]
    con.close()
    assert statuses == ["succeeded", "succeeded", "failed"]
    assert all(r.ok for r in check_warehouse(warehouse, full=True))  # consistent as it stands
    again = ingest_files([fleet / "config"], warehouse=warehouse, chunk_items=15)
    assert again.totals()["objects_unchanged"] > 0 and again.totals()["items_landed"] > 0
    assert snapshot(warehouse) == clean


KILLABLE = """
import sys
from patchtrail.ingest import ingest_files
def tick(result):
    print(".", end="", flush=True)
ingest_files([sys.argv[1]], warehouse=sys.argv[2], chunk_items=5, on_object=tick)
"""


@pytest.mark.parametrize("objects", [3, 40, 90])
def test_sigkill_mid_run_then_a_rerun_equals_a_clean_build(fleet, clean, tmp_path, objects):
    warehouse = tmp_path / "w.duckdb"
    process = subprocess.Popen([sys.executable, "-c", KILLABLE, str(fleet / "config"), str(warehouse)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    done = 0
    while done < objects and process.stdout.read(1) == b".":
        done += 1
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert done == objects  # killed mid-run, after that many objects
    con = connect(warehouse, read_only=True)
    committed = con.execute("select count(*) from landing.loads").fetchone()[0]
    con.close()
    assert all(r.ok for r in check_warehouse(warehouse, full=True))  # consistent as it stands
    again = ingest_files([fleet / "config"], warehouse=warehouse)
    assert snapshot(warehouse) == clean
    if objects > 10:
        assert committed >= 1 and again.totals()["objects_unchanged"] > 0  # chunks had committed


def test_delivery_days_land_in_capture_order_so_chunks_extend_history(fleet, tmp_path):
    """AWS Config keys do not zero-pad month and day (2026/1/2, 2026/1/10): objects land in
    the order their names count in, so each chunk of a bulk load starts where the one before
    ended and its merge never reaches back into history already merged."""
    warehouse = tmp_path / "w.duckdb"
    summary = ingest_files([fleet / "config"], warehouse=warehouse, chunk_items=15)
    assert len(summary.load_ids) > 3
    con = connect(warehouse, read_only=True)
    reaching_back = con.execute("""
        with per_load as (
            select account_id, aws_region, instance_id, load_id,
                min(captured_at) as first_at, max(captured_at) as last_at,
            from landing.configuration_items
            group by all
        )
        select l.instance_id, l.load_id, l.first_at
        from per_load as l
        join per_load as earlier using (account_id, aws_region, instance_id)
        where earlier.load_id < l.load_id and earlier.last_at > l.first_at
    """).fetchall()
    con.close()
    assert reaching_back == []


def test_landing_order_counts_numbers_as_numbers():
    from patchtrail.ingest.pipeline import landing_order
    from patchtrail.sources.base import SourceObject

    uris = ["AWSLogs/1/Config/us-east-1/2026/1/10/a.json.gz", "AWSLogs/1/Config/us-east-1/2026/1/2/a.json.gz",
            "AWSLogs/1/Config/us-east-1/2025/12/31/a.json.gz", "AWSLogs/1/Config/eu-west-1/2026/1/1/b.json.gz"]
    ordered = [o.uri for o in landing_order([SourceObject(uri=u, format="config_delivery") for u in uris])]
    assert ordered == [uris[3], uris[2], uris[1], uris[0]]
