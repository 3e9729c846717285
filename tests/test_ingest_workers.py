"""Worker processes read and flatten; the warehouse is the same as one process would build."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from factories import config_file_ci, lake_event, patch
from fileskit import CIS, write_config_file, write_ndjson

from patchtrail.constants import BATCH_ITEMS
from patchtrail.devkit.simulator import simulate_to_dir
from patchtrail.ingest import ingest_files, workers
from patchtrail.warehouse import connect

ROOT = Path(__file__).resolve().parents[1]

TABLES = {
    # which copy of an item lands first (its provenance) follows the batching, not the item
    "landing.configuration_items": "select * exclude (ingested_at, dialect, source_ref, record_ref) "
                                   "from landing.configuration_items",
    "landing.rejected_records": "select * exclude (rejected_at) from landing.rejected_records",
    "landing.source_objects": "select * exclude (recorded_at, items_landed, items_duplicate), "
                              "items_landed + items_duplicate from landing.source_objects",
    "staging.instance_snapshots": "select * from staging.instance_snapshots",
    "staging.patch_observations": "select * from staging.patch_observations",
    "history.instance_compliance": "select * exclude (recorded_at) from history.instance_compliance",
    "history.patch_state": "select * exclude (recorded_at) from history.patch_state",
}


def everything(warehouse):
    con = connect(warehouse, read_only=True)
    try:
        return {name: sorted(con.execute(sql).fetchall(), key=repr) for name, sql in TABLES.items()}
    finally:
        con.close()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("workers")
    simulate_to_dir(root / "fleet", accounts=2, regions=1, instances=4, days=20, seed=3)
    bad = root / "fleet" / "bad"
    write_config_file(bad / "good.json.gz", CIS)
    (bad / "corrupt.json.gz").write_bytes(gzip.compress(b'{"configurationItems": [')[:-3])
    write_ndjson(bad / "lines.ndjson", CIS, extra_lines=["{not json", "[1]"])
    big = [config_file_ci(f"2026-02-01T{m // 60:02d}:{m % 60:02d}:00.000Z", [patch("A")],
                          instance="i-0bbbbbbbbbbbbbbb1") for m in range(BATCH_ITEMS + 30)]
    (bad / "big.ndjson.gz").write_bytes(gzip.compress(b"\n".join(
        orjson.dumps(lake_event(ci, event_id=f"big-{i}")) for i, ci in enumerate(big))))
    return root / "fleet"


def test_workers_build_the_same_warehouse_as_one_process(data, tmp_path, monkeypatch):
    one = ingest_files([data], warehouse=tmp_path / "one.duckdb")
    monkeypatch.setattr(workers, "PARALLEL_OVER_BYTES", 0)  # use workers whatever the size
    monkeypatch.setattr(workers, "GROUP_BYTES", 20_000)     # many small groups
    monkeypatch.setattr(workers, "GROUP_ITEMS", 100)        # and the big file too big for one
    many = ingest_files([data], warehouse=tmp_path / "many.duckdb")
    def results(summary):
        return sorted((o.uri, o.status, o.read, o.landed + o.duplicate, o.skipped, o.rejected, o.error)
                      for o in summary.objects)

    assert results(many) == results(one)
    assert everything(tmp_path / "many.duckdb") == everything(tmp_path / "one.duckdb")
    assert any(o.uri.endswith("big.ndjson.gz") and o.landed == BATCH_ITEMS + 30 for o in many.objects)
    assert any(o.uri.endswith("corrupt.json.gz") and o.status == "rejected" for o in many.objects)


def test_the_worker_count_follows_the_source_and_the_work(data, monkeypatch):
    from patchtrail.sources.files import FileSource

    source = FileSource([data])
    objects = source.list().objects
    assert workers.worker_count(source, objects) == 0  # a few MB: not worth starting processes
    monkeypatch.setattr(workers, "PARALLEL_OVER_BYTES", 0)
    assert workers.worker_count(source, objects) >= 1


KILLABLE = """
import sys
from patchtrail.ingest import ingest_files, workers
workers.PARALLEL_OVER_BYTES, workers.GROUP_BYTES = 0, 20_000
def tick(result):
    print(".", end="", flush=True)
ingest_files([sys.argv[1]], warehouse=sys.argv[2], on_object=tick)
"""


def children_of(pid: int) -> set[int]:
    """The processes `pid` started (from /proc: each of its threads lists its children)."""
    return {int(child) for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()}


def alive(pid: int) -> bool:
    """Whether `pid` still runs (a zombie does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_workers_exit_when_the_run_is_killed(data, tmp_path):
    """A run killed with SIGKILL (no clean-up runs) must not leave its worker processes behind,
    idle and holding their memory, for ever."""
    process = subprocess.Popen([sys.executable, "-c", KILLABLE, str(data), str(tmp_path / "w.duckdb")],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout.read(1) == b"."  # the first object landed: the workers are running
    pool = children_of(process.pid)
    assert pool, "the run started no worker processes"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 20
    while any(alive(pid) for pid in pool) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [pid for pid in pool if alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"worker processes {left} outlived their killed run"
