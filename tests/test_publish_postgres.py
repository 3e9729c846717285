"""Marts published into a real PostgreSQL server started on loopback for the tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from patchtrail.ingest import ingest_files
from patchtrail.publish.postgres import publish_postgres
from patchtrail.simulator import simulate_to_dir

pytestmark = pytest.mark.service("postgres")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    if not shutil.which("initdb") or not shutil.which("pg_ctl"):
        pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) are needed: apt-get install postgresql")
    # Not under pytest's tmp dirs: they are private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="patchtrail-pg-"))
    root.chmod(0o755)
    data = root / "data"
    port = _free_port()
    as_postgres = os.geteuid() == 0
    if as_postgres:
        shutil.chown(root, "postgres")

    def run(command: str) -> None:
        args = ["su", "postgres", "-c", command] if as_postgres else ["bash", "-c", command]
        subprocess.run(args, check=True, capture_output=True, timeout=120)

    run(f"initdb -D {data} -A trust -U postgres --no-sync")
    run(f"pg_ctl -D {data} -o '-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off' "
        f"-l {root}/log -w start")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        run(f"pg_ctl -D {data} -m immediate stop")
        shutil.rmtree(root, ignore_errors=True)


def test_marts_are_swapped_in_atomically_while_a_reader_reads(postgres, tmp_path):
    import psycopg

    wh = tmp_path / "w.duckdb"
    simulate_to_dir(tmp_path / "a", accounts=1, regions=1, instances=3, days=20, seed=1)
    ingest_files([tmp_path / "a"], warehouse=wh)
    first = publish_postgres(wh, postgres)
    assert first.rows["current_instance_compliance"] > 0
    with psycopg.connect(postgres) as pg:
        (instances,) = pg.execute("select instances from patchtrail.fleet_summary").fetchone()
        assert instances == first.rows["current_instance_compliance"]

    seen, errors, stop = set(), [], threading.Event()

    def reader() -> None:
        with psycopg.connect(postgres, autocommit=True) as pg:
            while not stop.is_set():
                try:
                    with pg.transaction():
                        a = pg.execute("select count(*) from patchtrail.current_instance_compliance").fetchone()[0]
                        b = pg.execute("select instances from patchtrail.fleet_summary").fetchone()[0]
                    if a != b:
                        errors.append(f"mixed state: {a} vs {b}")
                    seen.add(a)
                except psycopg.Error as exc:
                    errors.append(repr(exc))
                time.sleep(0.01)

    thread = threading.Thread(target=reader)
    thread.start()
    simulate_to_dir(tmp_path / "b", accounts=1, regions=1, instances=5, days=20, seed=2)
    ingest_files([tmp_path / "b"], warehouse=wh)
    second = publish_postgres(wh, postgres)
    for _ in range(3):
        publish_postgres(wh, postgres)
    stop.set()
    thread.join(timeout=30)
    assert errors == []
    assert second.rows["current_instance_compliance"] in seen


def test_hostile_schema_name_is_refused(postgres, tmp_path):
    from patchtrail.errors import InvalidInput

    with pytest.raises(InvalidInput, match="schema"):
        publish_postgres(tmp_path / "none.duckdb", postgres, schema='x"; drop schema public; --')
