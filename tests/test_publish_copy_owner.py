"""The published copy belongs to its warehouse, and failed publishes leave no temporary copy."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from patchtrail.devkit.simulator import simulate_to_dir
from patchtrail.errors import InvalidInput
from patchtrail.ingest import ingest_files
from patchtrail.publish import copy as copy_module
from patchtrail.publish.copy import default_copy_path, publish_copy, published_from
from patchtrail.warehouse.connect import connect_reader


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("owner-data")
    simulate_to_dir(root, accounts=1, regions=1, instances=2, days=5, seed=3)
    return root


@pytest.fixture
def warehouse(tmp_path, data) -> Path:
    path = tmp_path / "w.duckdb"
    ingest_files([data], warehouse=path)
    return path


def patchtrail(*args, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = dict(os.environ, COLUMNS="1000", **(env or {}))
    for name in ("PATCHTRAIL_WAREHOUSE", "PATCHTRAIL_PUBLISHED_COPY", "PATCHTRAIL_CONFIG"):
        if not env or name not in env:
            environment.pop(name, None)
    return subprocess.run([sys.executable, "-m", "patchtrail.cli", *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=300)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".tmp", ".tmp.wal")))


def test_the_default_copy_sits_beside_its_warehouse(tmp_path, data):
    done = patchtrail("ingest", "files", str(data), "--warehouse", "sub/a.duckdb", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "sub" / "published" / "a.duckdb").is_file()
    assert not (tmp_path / "published").exists()
    assert default_copy_path("/srv/x/prod.duckdb") == Path("/srv/x/published/prod.duckdb")


def test_an_ingest_into_another_warehouse_never_replaces_the_demo_copy(tmp_path, data):
    """The issue's case: the demo's BI copy named in the setting, then a run on /tmp/other."""
    demo = tmp_path / "demo"
    demo.mkdir()
    assert patchtrail("ingest", "files", str(data), "-q", cwd=demo).returncode == 0
    copy = demo / "published" / "patchtrail.duckdb"
    before = digest(copy)
    other = tmp_path / "elsewhere" / "other.duckdb"
    done = patchtrail("ingest", "files", str(data), "--warehouse", str(other), "-q", cwd=demo,
                      env={"PATCHTRAIL_PUBLISHED_COPY": str(copy)})
    assert done.returncode == 1
    message = done.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message, message
    assert str(copy) in message and str(demo / "patchtrail.duckdb") in message
    assert str(other) in message and "published_copy" in message
    assert message.startswith("Error: the run succeeded, but ")
    assert digest(copy) == before
    con = connect_reader(other)  # the ingest itself landed
    try:
        assert con.execute("select count(*) from landing.loads").fetchall()[0][0] == 1
    finally:
        con.close()


def test_the_setting_still_wins(tmp_path, data):
    target = tmp_path / "bi" / "dashboards.duckdb"
    done = patchtrail("ingest", "files", str(data), "-q", cwd=tmp_path,
                      env={"PATCHTRAIL_PUBLISHED_COPY": str(target)})
    assert done.returncode == 0, done.stderr
    assert target.is_file() and not (tmp_path / "published").exists()


def test_the_copy_records_its_warehouse_and_the_id_is_made_once(warehouse):
    first = publish_copy(warehouse)
    second = publish_copy(warehouse)
    assert first.path == second.path == warehouse.parent / "published" / "w.duckdb"
    assert first.warehouse_id == second.warehouse_id and len(first.warehouse_id) == 36
    con = connect_reader(second.path)
    try:
        origin = published_from(con)
        copied_identity = con.execute("select warehouse_id from meta.warehouse_identity").fetchall()
    finally:
        con.close()
    assert origin.warehouse_path == str(warehouse.resolve())
    assert origin.warehouse_id == first.warehouse_id and copied_identity == [(first.warehouse_id,)]
    assert origin.last_load_id == second.last_load_id == 1


def test_a_copy_from_another_warehouse_is_refused_and_untouched(warehouse, tmp_path, data):
    target = tmp_path / "shared.duckdb"
    publish_copy(warehouse, target)
    before = digest(target)
    other = tmp_path / "other.duckdb"
    ingest_files([data], warehouse=other)
    with pytest.raises(InvalidInput, match="was published from .*w.duckdb, not from .*other.duckdb") as caught:
        publish_copy(other, target)
    assert "published_copy" in str(caught.value)
    assert digest(target) == before and temporaries(tmp_path) == []


@pytest.mark.parametrize("content", ["text", "duckdb"])
def test_a_file_that_is_no_copy_of_ours_is_refused_and_untouched(warehouse, tmp_path, content):
    target = tmp_path / "precious.duckdb"
    if content == "text":
        target.write_text("not a database\n")
    else:
        duckdb.connect(str(target)).execute("create table mine as select 1 as x").close()
    before = digest(target)
    with pytest.raises(InvalidInput, match="precious.duckdb"):
        publish_copy(warehouse, target)
    assert digest(target) == before


def test_a_copy_made_before_copies_recorded_their_origin_is_recognised_by_its_loads(warehouse, tmp_path, data):
    """An upgrade must not strand the copy dashboards read: an older copy of this warehouse
    (no meta.publication, but only this warehouse's runs) is replaced; another's is not."""
    old_copy = tmp_path / "published" / "w.duckdb"
    old_copy.parent.mkdir()
    shutil.copyfile(warehouse, old_copy)  # what an older patchtrail published
    assert publish_copy(warehouse).path == old_copy
    other = tmp_path / "other.duckdb"
    ingest_files([data], warehouse=other)
    foreign = tmp_path / "foreign.duckdb"
    shutil.copyfile(other, foreign)
    before = digest(foreign)
    with pytest.raises(InvalidInput, match="its loads are not those of"):
        publish_copy(warehouse, foreign)
    assert digest(foreign) == before


def test_a_file_copy_of_the_warehouse_cannot_replace_the_original_copy(warehouse, tmp_path):
    copy = publish_copy(warehouse)
    clone = tmp_path / "clone.duckdb"
    shutil.copyfile(warehouse, clone)  # same warehouse id inside
    with pytest.raises(InvalidInput, match="which still exists"):
        publish_copy(clone, copy.path)
    moved = tmp_path / "moved.duckdb"
    warehouse.rename(moved)  # a moved warehouse is still the owner
    assert publish_copy(moved, copy.path).warehouse_id == copy.warehouse_id


def test_enospc_while_copying_leaves_no_temporary_and_the_old_copy(warehouse, monkeypatch):
    published = publish_copy(warehouse)
    before = digest(published.path)

    def full_disk(src, dst, length=0):
        dst.write(src.read(1 << 20))  # a partial copy is on disk when the disk fills up
        dst.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(copy_module.shutil, "copyfileobj", full_disk)
    with pytest.raises(OSError, match="No space left"):
        publish_copy(warehouse)
    assert temporaries(published.path.parent) == []
    assert digest(published.path) == before


def test_a_failure_after_the_copy_leaves_no_temporary(warehouse, monkeypatch):
    published = publish_copy(warehouse)

    def broken(*args, **kwargs):
        raise RuntimeError("check failed")

    monkeypatch.setattr(copy_module, "_record_publication", broken)
    with pytest.raises(RuntimeError, match="check failed"):
        publish_copy(warehouse)
    assert temporaries(published.path.parent) == []


def test_the_next_publish_removes_stale_temporaries_of_its_own_only(warehouse):
    published = publish_copy(warehouse)
    folder = published.path.parent
    stale = [folder / f".w.duckdb.{'a' * 32}.tmp", folder / f".w.duckdb.{'b' * 32}.tmp.wal"]
    kept = [folder / f".x.duckdb.{'c' * 32}.tmp", folder / "notes.tmp", folder / ".w.duckdb.tmp"]
    for path in stale + kept:
        path.write_bytes(b"x" * 1024)
    publish_copy(warehouse)
    assert [p for p in stale if p.exists()] == []
    assert all(p.exists() for p in kept)
