"""SIGKILL during `publish parquet`: readers see the old snapshot or the new, never a mix or a torn
file, and the next publish succeeds (issue #13)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import duckdb
import pyarrow.parquet as pq
import pytest
from test_publish_parquet import lake_sql, split_by_day

from patchtrail.devkit.simulator import simulate_to_dir
from patchtrail.ingest import ingest_files
from patchtrail.publish.parquet import publish_parquet
from patchtrail.publish.parquet_lake import DATASET_NAMES

PUBLISH = ("import sys; from patchtrail.publish.parquet import publish_parquet; "
           "publish_parquet(sys.argv[1], sys.argv[2])")
#: When, as a fraction of one clean publish (process start included), each kill lands.
KILL_AT = (0.25, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.97)


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory):
    """Warehouse `old` (the items before 2026-02-10) and `new` (all of them), as two files."""
    root = tmp_path_factory.mktemp("kill")
    simulate_to_dir(root / "sim", accounts=2, regions=1, instances=4, days=50, seed=5)
    split_by_day(root / "sim", "2026-02-10", root / "before", root / "unused")
    ingest_files([root / "before"], warehouse=root / "old.duckdb")
    ingest_files([root / "sim" / "config"], warehouse=root / "new.duckdb")
    return root / "old.duckdb", root / "new.duckdb"


def content(lake) -> dict[str, list]:
    """What a manifest reader sees: every dataset's rows, in order."""
    manifest = json.loads((lake / "_manifest.json").read_text())
    assert set(manifest["datasets"]) == set(DATASET_NAMES)
    return {name: duckdb.sql(f"select * from ({lake_sql(lake, name)}) order by all").fetchall()  # noqa: S608
            for name in DATASET_NAMES}


def assert_every_visible_file_is_whole(lake):
    """What a Hive reader listing the folders sees: only complete Parquet files."""
    for name in DATASET_NAMES:
        for path in (lake / name).rglob("*.parquet"):
            if path.name.startswith((".", "_")):
                continue  # hidden: Hive, Spark, Athena and Trino skip these names
            assert path.stat().st_size > 4, path
            pq.read_metadata(path)


def test_sigkill_during_publish_leaves_the_old_or_the_new_snapshot(warehouses, tmp_path):
    old, new = warehouses
    publish_parquet(old, str(tmp_path / "a"))
    publish_parquet(new, str(tmp_path / "b"))
    expected_old, expected_new = content(tmp_path / "a"), content(tmp_path / "b")
    assert expected_old != expected_new

    lake = tmp_path / "lake"
    shutil.copytree(tmp_path / "a", lake)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    durations = []  # the faster of two clean runs: the first may compile bytecode
    for attempt in range(2):
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", PUBLISH, str(new), str(tmp_path / f"timing{attempt}")],
                       check=True, env=env)
        durations.append(time.monotonic() - started)
    duration = min(durations)

    seen = {"old": 0, "new": 0}
    for fraction in KILL_AT:
        child = subprocess.Popen([sys.executable, "-c", PUBLISH, str(new), str(lake)], env=env)
        time.sleep(duration * fraction)
        child.send_signal(signal.SIGKILL)
        child.wait()
        now = content(lake)
        assert now in (expected_old, expected_new), f"a mix after a kill at {fraction:.0%}"
        assert_every_visible_file_is_whole(lake)
        if now == expected_new:
            seen["new"] += 1
            publish_parquet(old, str(lake))  # back to the old snapshot for the next kill
        else:
            seen["old"] += 1
    assert seen["old"], "no kill landed before the switch: the test did not test anything"

    result = publish_parquet(new, str(lake))
    assert result.recovered is None
    assert content(lake) == expected_new
    listed = {f for p in json.loads((lake / "_manifest.json").read_text())["datasets"].values()
              for part in p["partitions"].values() for f in part["files"]}
    on_disk = {str(p.relative_to(lake)) for p in lake.rglob("*") if p.is_file() and p.name != "_manifest.json"}
    assert on_disk == listed, "the next publish removes what killed publishes left"
