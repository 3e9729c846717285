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

from patchtrail.devkit.simulator import simulate_to_dir
from patchtrail.ingest import ingest_files
from patchtrail.publish.postgres import publish_postgres

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


def _utc(rows) -> list[tuple]:
    from datetime import UTC, datetime

    return sorted((tuple(v.astimezone(UTC) if isinstance(v, datetime) else v for v in row) for row in rows),
                  key=repr)


def test_sla_tables_answer_the_chosen_policy(postgres, tmp_path):
    import duckdb
    import psycopg

    from patchtrail.analytics.policy import load_policy_file, stored_policy
    from patchtrail.publish.sla import thresholds_sha256

    wh = tmp_path / "w.duckdb"
    simulate_to_dir(tmp_path / "a", accounts=2, regions=1, instances=3, days=20, seed=1)
    ingest_files([tmp_path / "a"], warehouse=wh)
    policy_file = tmp_path / "tight.toml"
    policy_file.write_text('name = "tight"\n[max_days]\nHIGH = 2\nLOW = 3\nINFORMATIONAL = 4\nUNSPECIFIED = 5\n')
    con = duckdb.connect(str(wh), read_only=True)
    as_of = con.execute("select max(captured_at) from staging.instance_snapshots").fetchall()[0][0]
    policies = {"tight": load_policy_file(policy_file), "internal": stored_policy(con, "internal")}
    expected = {}
    for name, policy in policies.items():
        for table, macro in (("sla_breaches", "marts.sla_breaches_for"), ("sla_status", "marts.sla_status_for")):
            cursor = con.execute(f"select * from {macro}(?, ?)", [as_of, policy.thresholds()])  # noqa: S608
            expected[name, table] = ([d[0] for d in cursor.description], _utc(cursor.fetchall()))
    con.close()
    assert expected["tight", "sla_breaches"][1], "the fixture must breach the tight policy"
    assert expected["tight", "sla_breaches"] != expected["internal", "sla_breaches"]

    for name, given in (("tight", str(policy_file)), ("internal", "internal")):
        result = publish_postgres(wh, postgres, policy=given)
        assert result.sla.policy.name == name
        with psycopg.connect(postgres) as pg:
            for table in ("sla_breaches", "sla_status"):
                columns, rows = expected[name, table]
                assert result.rows[table] == len(rows)
                listed = ", ".join(f'"{c}"' for c in columns)
                got = pg.execute(f"select {listed} from patchtrail.{table}").fetchall()  # noqa: S608 (fixed names)
                assert _utc(got) == rows, (name, table)
                labels = pg.execute(f"select distinct policy_name, policy_thresholds_sha256, as_of "  # noqa: S608
                                    f"from patchtrail.{table}").fetchall()
                assert _utc(labels) == ([(name, thresholds_sha256(policies[name]), _utc([(as_of,)])[0][0])]
                                        if rows else [])


def test_unknown_policy_leaves_the_published_schema_alone(postgres, tmp_path):
    import psycopg

    from patchtrail.errors import InvalidInput

    wh = tmp_path / "w.duckdb"
    simulate_to_dir(tmp_path / "a", accounts=1, regions=1, instances=2, days=10, seed=3)
    ingest_files([tmp_path / "a"], warehouse=wh)
    publish_postgres(wh, postgres, schema="sla_guard", policy="fedramp")
    with pytest.raises(InvalidInput, match="unknown SLA policy"):
        publish_postgres(wh, postgres, schema="sla_guard", policy="fedramp'; drop schema sla_guard; --")
    with psycopg.connect(postgres) as pg:
        assert pg.execute("select to_regclass('sla_guard.sla_breaches') is not null").fetchone()[0]
        assert pg.execute("select distinct policy_name from sla_guard.sla_status").fetchall() in ([], [("fedramp",)])
        assert pg.execute("select count(*) from pg_namespace where nspname = 'sla_guard_incoming'").fetchone()[0] == 0
