"""The published copy: readers never see a partial file and never block the writer."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from patchtrail.devkit.simulator import simulate_to_dir
from patchtrail.ingest import ingest_files
from patchtrail.publish.copy import publish_copy

READER = textwrap.dedent("""
    import sys, time, duckdb
    path, seconds = sys.argv[1], float(sys.argv[2])
    reads, errors = 0, []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            con = duckdb.connect(path, read_only=True)
            loads, items = con.execute(
                "select count(*), sum(items_landed) from landing.loads where status = 'succeeded'").fetchall()[0]
            landed = con.execute("select count(*) from landing.configuration_items").fetchall()[0][0]
            con.execute("select * from marts.fleet_summary").fetchall()
            con.close()
            if items != landed:  # a partial or mixed state would break this
                errors.append(f"loads say {items} items, table has {landed}")
            reads += 1
        except Exception as exc:
            errors.append(repr(exc))
    print(reads, len(errors), errors[:3])
""")


def test_a_reader_never_errors_while_runs_publish(tmp_path):
    wh, published = tmp_path / "w.duckdb", tmp_path / "published" / "patchtrail.duckdb"
    for seed in range(3):
        simulate_to_dir(tmp_path / f"data{seed}", accounts=1, regions=1, instances=3, days=15, seed=seed)
    ingest_files([tmp_path / "data0"], warehouse=wh)
    publish_copy(wh, published)
    reader = subprocess.Popen([sys.executable, "-c", READER, str(published), "8"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1)
    for seed in (1, 2):
        ingest_files([tmp_path / f"data{seed}"], warehouse=wh)  # the writer is never blocked
        publish_copy(wh, published)
        time.sleep(0.5)
    for _ in range(10):
        publish_copy(wh, published)
    out, err = reader.communicate(timeout=60)
    reads, errors, sample = out.strip().split(" ", 2)
    assert int(reads) > 10, err
    assert errors == "0", sample
    assert not list(published.parent.glob(".*.tmp"))


def test_publishing_onto_the_warehouse_itself_is_refused(tmp_path):
    import pytest

    simulate_to_dir(tmp_path / "d", accounts=1, regions=1, instances=2, days=5, seed=1)
    ingest_files([tmp_path / "d"], warehouse=tmp_path / "w.duckdb")
    with pytest.raises(ValueError, match="must not be the warehouse"):
        publish_copy(tmp_path / "w.duckdb", tmp_path / "w.duckdb")


def test_sqlalchemy_reads_the_published_copy(tmp_path):
    import sqlalchemy as sa

    simulate_to_dir(tmp_path / "d", accounts=1, regions=1, instances=2, days=5, seed=1)
    ingest_files([tmp_path / "d"], warehouse=tmp_path / "w.duckdb")
    copy = publish_copy(tmp_path / "w.duckdb", tmp_path / "published.duckdb")
    engine = sa.create_engine(f"duckdb:///{copy.path}", connect_args={"read_only": True})
    with engine.connect() as con:
        (instances,) = con.execute(sa.text("select instances from marts.fleet_summary")).one()
        assert instances > 0
    assert "patch_state" in sa.inspect(engine).get_table_names(schema="history")
    engine.dispose()
