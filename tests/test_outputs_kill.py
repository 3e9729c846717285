"""SIGKILL in the middle of writing an output: the target is the old one or the new one, never a
mix, and what the killed run left behind is removed by the next run."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from patchtrail.analytics.evidence import verify_evidence, write_evidence
from patchtrail.devkit.simulator import simulate_to_dir
from patchtrail.ingest import ingest_files
from patchtrail.publish.copy import publish_copy

AS_OF = ("2026-01-05T00:00:00Z", "2026-01-09T00:00:00Z")
KILLS = 5

EVIDENCE_CHILD = textwrap.dedent("""
    import sys
    from patchtrail.analytics.evidence import write_evidence
    warehouse, out, first, second = sys.argv[1:]
    n = 0
    while True:
        write_evidence(warehouse, out, as_of=(first, second)[n % 2])
        n += 1
        print("done", n, flush=True)
""")

COPY_CHILD = textwrap.dedent("""
    import sys, time
    from patchtrail.publish import copy

    def slow(src, dst, length=0):  # the same bytes, slowly, so the kill lands mid-copy
        while chunk := src.read(1 << 18):
            dst.write(chunk)
            time.sleep(0.01)

    copy.shutil.copyfileobj = slow
    warehouse, target = sys.argv[1:]
    n = 0
    while True:
        copy.publish_copy(warehouse, target)
        n += 1
        print("done", n, flush=True)
""")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("kill")
    simulate_to_dir(root / "d", accounts=1, regions=1, instances=6, days=12, seed=9)
    path = root / "w.duckdb"
    ingest_files([root / "d"], warehouse=path)
    return path


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir()
                  if p.name.startswith(f".{out.name}.") and p.name.endswith((".tmp", ".old", ".wal")))


def kill_mid_write(script: str, args: list[str], out: Path) -> bool:
    """Run `script` until its first output is complete, then SIGKILL it while it writes the next
    one; True when the kill left a temporary behind (it landed mid-write)."""
    fd, name = tempfile.mkstemp(prefix="kill-child-", suffix=".stderr")
    os.close(fd)
    errors = Path(name)
    with errors.open("w") as stderr:
        child = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE,
                                 stderr=stderr, text=True)
    try:
        line = child.stdout.readline()  # '' if the child died first
        assert line.startswith("done"), errors.read_text()
        deadline = time.monotonic() + 60
        while not leftovers(out):  # the next write has begun
            assert time.monotonic() < deadline, "no temporary appeared within 60 s"
            assert child.poll() is None, errors.read_text()
            time.sleep(0.002)
        time.sleep(random.uniform(0, 0.15))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
        errors.unlink(missing_ok=True)
    return bool(leftovers(out))


def test_evidence_pack_killed_mid_write_is_the_old_or_the_new_pack(warehouse, tmp_path):
    out = tmp_path / "evidence"
    random.seed(13)
    mid_write = 0
    for _ in range(KILLS):
        mid_write += kill_mid_write(EVIDENCE_CHILD, [str(warehouse), str(out), *AS_OF], out)
        assert verify_evidence(out) == []
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["parameters"]["as_of"].replace(".000000", "") in AS_OF
    assert mid_write >= 1  # at least one kill landed while a pack was being written
    write_evidence(warehouse, out, as_of=AS_OF[0])
    assert leftovers(out) == [] and verify_evidence(out) == []


def test_publish_duckdb_killed_mid_copy_keeps_a_whole_copy_and_the_next_run_cleans_up(warehouse, tmp_path):
    target = tmp_path / "bi" / "copy.duckdb"
    random.seed(17)
    mid_write = 0
    for _ in range(KILLS):
        mid_write += kill_mid_write(COPY_CHILD, [str(warehouse), str(target)], target)
        con = duckdb.connect(str(target), read_only=True)
        try:
            items = con.execute("select count(*) from landing.configuration_items").fetchall()[0][0]
            assert items > 0
        finally:
            con.close()
    assert mid_write >= 1
    size = warehouse.stat().st_size
    assert sum((target.parent / name).stat().st_size for name in leftovers(target)) >= size / 100
    publish_copy(warehouse, target)
    assert leftovers(target) == []
    assert not [p for p in target.parent.iterdir() if p.name != target.name and os.path.getsize(p) > 0]
