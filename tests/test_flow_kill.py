"""A flow killed mid-run (SIGKILL) and run again leaves the warehouse one clean run would build."""

from __future__ import annotations

import hashlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from patchtrail.devkit.simulator import simulate_to_dir
from patchtrail.errors import WarehouseBusy
from patchtrail.ingest import ingest_files
from patchtrail.warehouse import connect
from patchtrail.warehouse.check import check_warehouse

ROOT = Path(__file__).resolve().parents[1]
#: Columns that record when or by which load a row was written: they differ between any two runs.
VOLATILE = {"load_id", "ingested_at", "recorded_at", "rejected_at", "started_at", "finished_at",
            "updated_at", "execution_ms", "run_id", "phases"}
#: The child runs the real flow; argv: data folder, warehouse, name of its writer limit.
CHILD = """
import sys
import patchtrail.flows.writer
patchtrail.flows.writer.WRITER_LIMIT = sys.argv[3]
from patchtrail.flows.ingest_files import ingest_files_flow
ingest_files_flow([sys.argv[1]], warehouse=sys.argv[2])
"""


def warehouse_fingerprint(path: Path | str) -> dict[str, tuple[int, str]]:
    """Row count and SHA-256 of the rows of every table, leaving out the VOLATILE columns."""
    con = connect(path, read_only=True)
    try:
        tables = con.execute("select table_schema, table_name from information_schema.tables "
                             "where table_type = 'BASE TABLE' order by all").fetchall()
        fingerprint = {}
        for schema, name in tables:
            columns = [c for (c,) in con.execute(
                "select column_name from information_schema.columns where table_schema = ? "
                "and table_name = ? order by ordinal_position", [schema, name]).fetchall()
                if c not in VOLATILE]
            select = ", ".join(f'"{c}"' for c in columns)
            rows = con.execute(f'select {select} from "{schema}"."{name}" order by all').fetchall()  # noqa: S608 (names from the catalog)
            fingerprint[f"{schema}.{name}"] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
        return fingerprint
    finally:
        con.close()


@pytest.mark.service("prefect")
def test_a_flow_killed_mid_run_then_run_again_equals_one_clean_run(prefect_server, tmp_path):
    """Kill the ingest-files flow (its own process) after it has landed its first objects.

    A run commits in chunks, so the kill may leave the chunks committed before it: the warehouse
    must be consistent then (`patchtrail check` holds), and the next run must land the rest, so
    that everything but the runs' own bookkeeping (landing.loads) equals one clean run. The child takes a writer limit of its own name: a killed run
    keeps its slot of a shared limit until the slot's lease expires (300 s), which would stall
    every later writer on this server, tests included.
    """
    data, wh = tmp_path / "data", tmp_path / "w.duckdb"
    simulate_to_dir(data, accounts=2, regions=1, instances=15, days=120, seed=8)
    env = dict(os.environ, PREFECT_API_URL=prefect_server, PYTHONUNBUFFERED="1",
               PREFECT_LOGGING_LEVEL="INFO")
    command = [sys.executable, "-c", CHILD, str(data), str(wh), f"patchtrail-test-{uuid.uuid4().hex[:8]}"]

    child = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in child.stdout], daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while not any(" - landed " in line for line in seen):  # logged once an object is landed
        assert child.poll() is None and time.monotonic() < deadline, "".join(seen)[-3000:]
        try:
            seen.append(lines.get(timeout=0.2))
        except queue.Empty:
            pass
    with pytest.raises(WarehouseBusy):  # the run still holds the warehouse: it is mid-run
        connect(wh, read_only=True)
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=10) == -signal.SIGKILL

    assert all(r.ok for r in check_warehouse(wh, full=True))  # what committed is consistent
    rerun = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]

    clean = tmp_path / "clean.duckdb"
    ingest_files([str(data)], warehouse=clean)
    killed, once = warehouse_fingerprint(wh), warehouse_fingerprint(clean)
    assert {k: v for k, v in killed.items() if k != "landing.loads"} == {
        k: v for k, v in once.items() if k != "landing.loads"}
    assert landed(wh) == landed(clean)


def landed(warehouse) -> int:
    con = connect(warehouse, read_only=True)
    try:
        return con.execute("select sum(items_landed) from landing.loads where status = 'succeeded'").fetchone()[0]
    finally:
        con.close()
