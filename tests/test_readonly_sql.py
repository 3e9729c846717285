"""Analyst SQL is read-only in fact: `patchtrail sql`, every reader connection, the published copy.

Each attack is tried twice: through `patchtrail sql` (a real process, what a user types) and on
a reader connection with no statement check in front of it (what `connect_reader` alone
guarantees, as BI tools and the other read-only commands get it).
"""
# ruff: noqa: S608 (the SQL built from paths here is the attack under test)

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from patchtrail.devkit.simulator import simulate_to_dir
from patchtrail.ingest import ingest_files
from patchtrail.publish.copy import publish_copy
from patchtrail.warehouse import connect
from patchtrail.warehouse.connect import connect_reader
from patchtrail.warehouse.readonly import analyst_statement

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A warehouse, a second real warehouse an attacker would aim at, a Parquet file, a secret."""
    root = tmp_path_factory.mktemp("readonly")
    simulate_to_dir(root / "d", accounts=1, regions=1, instances=3, days=10, seed=4)
    ingest_files([root / "d"], warehouse=root / "patchtrail.duckdb")
    ingest_files([root / "d"], warehouse=root / "other.duckdb")
    duckdb.sql(f"copy (select 42 as answer) to '{root / 'some.parquet'}' (format parquet)")
    (root / "secret.txt").write_text("the secret\n")
    return root


def sql(site: Path, statement: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "patchtrail.cli", "sql", statement, "--format", "csv",
                           "--warehouse", str(site / "patchtrail.duckdb")],
                          cwd=site, env=env, capture_output=True, text=True, timeout=120)


def fingerprint(path: Path) -> tuple[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        loads = con.execute("select count(*) from landing.loads").fetchall()[0][0]
    finally:
        con.close()
    return hashlib.sha256(path.read_bytes()).hexdigest(), loads


def attacks(site: Path) -> dict[str, str]:
    other, out = site / "other.duckdb", site / "stolen.csv"
    return {
        "attach": f"attach '{other}' as v (read_only false)",
        "attach read-only": f"attach '{other}' as v (read_only)",
        "copy to": f"copy (select * from landing.loads) to '{out}'",
        "copy from": f"copy landing.loads from '{site / 'secret.txt'}'",
        "read_text": "select * from read_text('/etc/shadow')",
        "read_text of a readable file": f"select * from read_text('{site / 'secret.txt'}')",
        "read_csv": f"select * from read_csv('{site / 'secret.txt'}')",
        "read_blob": f"select * from read_blob('{site / 'secret.txt'}')",
        "glob": "select * from glob('/root/*')",
        "read_parquet": f"select * from read_parquet('{site / 'some.parquet'}')",
        "replacement scan": f"select * from '{site / 'some.parquet'}'",
        "install": "install httpfs",
        "load": "load httpfs",
        "set": "set enable_external_access = true",
        "reset": "reset enable_external_access",
        "unlock": "set lock_configuration = false",
        "pragma to a file": "pragma enable_profiling",
        "profiling output": f"set profiling_output = '{out}'",
        "export database": f"export database '{site / 'dump'}'",
        "persistent secret": "create persistent secret s (type s3, key_id 'k', secret 's')",
    }


def test_attach_delete_drop_in_one_line_runs_nothing_and_the_other_warehouse_is_unchanged(site):
    other = site / "other.duckdb"
    before = fingerprint(other)
    done = sql(site, f"attach '{other}' as v (read_only false); delete from v.landing.loads; "
                     "drop table v.history.patch_state")
    assert done.returncode == 1, done.stdout
    assert "3 statements" in done.stderr and "nothing was run" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert fingerprint(other) == before


def test_several_statements_run_nothing_even_when_each_is_a_query(site):
    done = sql(site, "select 1 as a; select 2 as b")
    assert done.returncode == 1 and "2 statements" in done.stderr and done.stdout == ""


@pytest.mark.parametrize("name", list(attacks(Path("/x"))))
def test_patchtrail_sql_refuses_in_one_line(site, name):
    other = site / "other.duckdb"
    before = fingerprint(other)
    done = sql(site, attacks(site)[name])
    assert done.returncode == 1, done.stdout
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "the secret" not in done.stdout + done.stderr and "root:" not in done.stdout
    assert not (site / "stolen.csv").exists() and not (site / "dump").exists()
    assert fingerprint(other) == before


@pytest.mark.parametrize("name", list(attacks(Path("/x"))))
def test_a_reader_connection_refuses_without_any_statement_check(site, name):
    """DuckDB itself refuses: these pass no keyword list, only the connection's settings."""
    other = site / "other.duckdb"
    before = fingerprint(other)
    con = connect_reader(site / "patchtrail.duckdb")
    try:
        with pytest.raises(duckdb.Error):
            con.execute(attacks(site)[name]).fetchall()
        assert con.execute("select current_setting('enable_external_access'), "
                           "current_setting('lock_configuration')").fetchall() == [(False, True)]
    finally:
        con.close()
    assert not (site / "stolen.csv").exists() and not (site / "dump").exists()
    assert fingerprint(other) == before


def test_every_read_only_connection_of_patchtrail_is_a_locked_reader(site):
    con = connect(site / "patchtrail.duckdb", read_only=True)  # report, status, evidence, ...
    try:
        with pytest.raises(duckdb.PermissionException):
            con.execute(f"select * from read_text('{site / 'secret.txt'}')").fetchall()
        assert con.execute("select current_setting('TimeZone')").fetchall() == [("UTC",)]
    finally:
        con.close()


def test_open_existing_gives_a_locked_reader(site):
    from patchtrail.cli.common import open_existing

    con = open_existing(site / "patchtrail.duckdb")
    try:
        with pytest.raises(duckdb.PermissionException):
            con.execute(f"attach '{site / 'other.duckdb'}' as v (read_only false)")
    finally:
        con.close()


def test_the_published_copy_check_and_readers_of_the_copy_are_locked(site):
    copy = publish_copy(site / "patchtrail.duckdb", site / "bi" / "copy.duckdb")
    con = connect_reader(copy.path)
    try:
        with pytest.raises(duckdb.PermissionException):
            con.execute(f"select * from read_csv('{site / 'secret.txt'}')").fetchall()
        assert con.execute("select count(*) from marts.fleet_summary").fetchall() == [(1,)]
    finally:
        con.close()


@pytest.mark.parametrize("statement", [
    "select instances from marts.fleet_summary",
    "select count(*) from marts.instance_compliance_as_of('2026-03-31')",
    "select count(*) from marts.patch_state_as_of(now())",
    "select count(*) from ssm_patch_compliance_distinct_ec2_instance_latest()",
    "with x as (select * from marts.current_patch_state) select count(*) from x",
    "from marts.current_instance_compliance limit 1",
    "describe history.patch_state",
    "summarize history.instance_compliance",
    "show all tables",
    "pragma table_info('history.patch_state')",
    "call pragma_table_info('history.patch_state')",
    "explain select * from marts.fleet_summary",
    "select count(*) from marts.fleet_summary;",
])
def test_legitimate_queries_still_work(site, statement):
    done = sql(site, statement)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


def test_readme_queries_pass_the_check_and_run_on_a_reader(site):
    readme = (ROOT / "README.md").read_text()
    queries = [q for q in re.findall(r'patchtrail sql "(.*?)"', readme, flags=re.S) if "..." not in q]
    assert len(queries) >= 2
    con = connect_reader(site / "patchtrail.duckdb")
    try:
        for text in queries:
            con.execute(analyst_statement(text)).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("text, expected", [
    ("", "no SQL statement"),
    ("  ; -- nothing", "no SQL statement"),
    ("selec 1", "does not parse"),
    ("delete from landing.loads", "DELETE statement refused"),
    ("create table t as select 1", "CREATE statement refused"),
    ("use other", "SET statement refused"),
    ("select 1; select 2", "2 statements"),
])
def test_statement_check_messages(text, expected):
    from patchtrail.errors import InvalidInput

    with pytest.raises(InvalidInput, match=expected):
        analyst_statement(text)


def _bi_block(heading: str) -> str:
    doc = (ROOT / "docs" / "bi.md").read_text()
    section = doc.split(f"### {heading}", 1)[1]
    return re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)


def test_the_settings_docs_bi_gives_for_python_and_sqlalchemy_lock_the_copy(site, monkeypatch):
    publish_copy(site / "patchtrail.duckdb", site / "published" / "patchtrail.duckdb")
    monkeypatch.chdir(site)
    namespace: dict = {}
    exec(_bi_block("Python"), namespace)  # noqa: S102 (the documented recipe, run as written)
    con = namespace["con"]
    try:
        assert len(namespace["df"]) == 1
        assert con.execute("select current_setting('TimeZone')").fetchall() == [("UTC",)]
        for attack in ("select * from read_text('secret.txt')", "set enable_external_access = true",
                       f"attach '{site / 'other.duckdb'}' as v", "install httpfs"):
            with pytest.raises(duckdb.Error):
                con.execute(attack)
    finally:
        con.close()
    exec(_bi_block("SQLAlchemy"), namespace)  # noqa: S102
    import sqlalchemy as sa

    engine = namespace["engine"]
    try:
        with engine.connect() as connection, pytest.raises(sa.exc.DBAPIError, match="Permission"):
            connection.execute(sa.text("select * from read_text('secret.txt')"))
    finally:
        engine.dispose()
