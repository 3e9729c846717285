"""A read-only copy of the warehouse for BI tools, replaced atomically, and only by its warehouse.

DuckDB allows one writing process or many reading ones, never both. Readers (dashboards,
notebooks) open the published copy instead of the live warehouse, so they never block a run and
a run never blocks them. The copy is written beside the target under a temporary name, checked,
and renamed over it (an atomic replace on POSIX): a reader sees the old copy or the new one,
never a partial file, and one that still has the old copy open keeps reading it.

The copy belongs to its warehouse. By default it sits beside it
(`<warehouse dir>/published/<warehouse stem>.duckdb`). The warehouse gets a random id the first
time it is published (`meta.warehouse_identity`, a view of constants), and each copy records
the id and path it was published from (`meta.publication`). A publish replaces only a copy
carrying its own id (or, from before the record, holding only this warehouse's runs); any other
file at the target is refused, untouched.

Temporary copies are named `.<copy name>.<32 hex>.tmp` (and `.tmp.wal`). A failure (ENOSPC, an
error, Ctrl-C) removes its own; one killed outright leaves it, and the next publish of that copy
removes it before writing (publishes of one folder hold a lock on it, so no temporary there is
live then).
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

import patchtrail
from patchtrail.errors import InvalidInput, PatchtrailError
from patchtrail.publish.atomic import folder_lock, fsync_dir, fsync_file, leftovers, temporary_path
from patchtrail.warehouse import connect, scalar, sql
from patchtrail.warehouse.connect import connect_reader

_SETTING = "published_copy (PATCHTRAIL_PUBLISHED_COPY, patchtrail.toml, or --out)"


@dataclass(frozen=True)
class PublishedCopy:
    path: Path
    size_bytes: int
    last_load_id: int | None
    warehouse_id: str | None = None


@dataclass(frozen=True)
class Publication:
    """What a published copy says about where it comes from (`meta.publication`)."""

    warehouse_id: str
    warehouse_path: str
    published_at: datetime
    last_load_id: int | None


def default_copy_path(warehouse: Path | str) -> Path:
    """Where the copy of `warehouse` goes when `published_copy` is not set:
    `<warehouse dir>/published/<warehouse stem>.duckdb`."""
    source = Path(warehouse)
    return source.parent / "published" / f"{source.stem}.duckdb"


def publish_copy(warehouse: Path | str, target: Path | str | None = None) -> PublishedCopy:
    """Checkpoint the warehouse and atomically replace `target` with a copy of it.

    Args:
        warehouse: the warehouse file; it stays open (so locked against other writers) while
            it is copied.
        target: the copy; None means `default_copy_path(warehouse)`. An existing file there is
            replaced only if it is a copy published from this warehouse; anything else raises
            InvalidInput naming both, and is left as it is.
    """
    source = Path(warehouse)
    target = Path(target) if target is not None else default_copy_path(source)
    if source.resolve() == target.resolve():
        raise ValueError("the published copy must not be the warehouse itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    with folder_lock(target.parent):
        con = connect(source)
        try:
            identity = _warehouse_identity(con)
            _check_owner(target, source, identity, con)  # before anything is written
            remove_stale_temporaries(target)
            last = scalar(con, "select max(load_id) from landing.loads")
            con.execute("checkpoint")  # everything in the main file, nothing left in the WAL
            temporary = temporary_path(target)
            try:
                _copy_file(source, temporary)
            except BaseException:
                temporary.unlink(missing_ok=True)
                raise
        finally:
            con.close()
        try:
            _record_publication(temporary, identity, source, last)
            check = connect_reader(temporary)
            try:
                if published_from(check) is None:
                    raise PatchtrailError(f"{temporary}: the copy lost its publication record")
            finally:
                check.close()
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        fsync_dir(target.parent)
    return PublishedCopy(target, target.stat().st_size, last, identity)


def published_from(con: duckdb.DuckDBPyConnection) -> Publication | None:
    """Where the copy open on `con` was published from; None when it has no record of it."""
    try:
        rows = con.execute("select warehouse_id, warehouse_path, published_at, last_load_id "
                           "from meta.publication").fetchall()
    except duckdb.CatalogException:
        return None
    return Publication(*rows[0]) if len(rows) == 1 else None


def remove_stale_temporaries(target: Path | str) -> list[Path]:
    """Remove temporary copies of `target` left by killed publishes (`.<name>.<32 hex>.tmp`, and
    the `.wal` DuckDB may leave beside one).

    Only call it while holding the folder's publish lock (`publish_copy` does).
    """
    removed = []
    for path in leftovers(Path(target), ("tmp", "tmp.wal")):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _warehouse_identity(con: duckdb.DuckDBPyConnection) -> str:
    """The warehouse's id (`meta.warehouse_identity`), made the first time it is asked for."""
    exists = scalar(con, "select count(*) from duckdb_views() where schema_name = 'meta' "
                         "and view_name = 'warehouse_identity'")
    if not exists:
        values = {"warehouse_id": str(uuid.uuid4()),
                  "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
        if not (re.fullmatch(r"[0-9a-f-]{36}", values["warehouse_id"])
                and re.fullmatch(r"[0-9T:.Z-]{27}", values["created_at"])):
            raise ValueError(f"unexpected identity values {values}")  # only ours reach the SQL
        con.execute(sql.load("meta/warehouse_identity").format(**values))
    return scalar(con, "select warehouse_id from meta.warehouse_identity")


def _check_owner(target: Path, source: Path, identity: str, warehouse: duckdb.DuckDBPyConnection) -> None:
    """Refuse to replace anything at `target` but a copy published from this warehouse."""
    if not target.exists() and not target.is_symlink():
        return
    here = str(source.resolve())
    if not target.is_file():
        raise _refused(f"{target} exists and is not a file")
    try:
        con = connect_reader(target)
    except (duckdb.Error, PatchtrailError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _refused(f"{target} is not a copy patchtrail can open ({first})") from None
    try:
        origin = published_from(con)
        legacy = origin is None and _is_earlier_copy(con, warehouse)
    finally:
        con.close()
    if legacy:
        return
    if origin is None:
        raise _refused(f"{target} has no record of the warehouse it was published from, and its "
                       f"loads are not those of {here}; delete it if it is a copy of this warehouse")
    if origin.warehouse_id != identity:
        raise _refused(f"{target} was published from {origin.warehouse_path}, not from {here}")
    if origin.warehouse_path != here and _is_other_file(origin.warehouse_path, source):
        raise _refused(f"{target} was published from {origin.warehouse_path}, which still exists; "
                       f"{here} is a file copy of it (same warehouse id)")


def _is_earlier_copy(copy: duckdb.DuckDBPyConnection, warehouse: duckdb.DuckDBPyConnection) -> bool:
    """A copy published before copies carried their origin (meta.publication) still counts as
    this warehouse's when every run it holds is one of the warehouse's own runs (same load id,
    source and start time to the microsecond)."""
    query = "select load_id, source, started_at from landing.loads order by load_id"
    try:
        theirs = copy.execute(query).fetchall()
    except duckdb.Error:
        return False
    ours = set(warehouse.execute(query).fetchall())
    return bool(theirs) and set(theirs) <= ours


def _refused(reason: str) -> InvalidInput:
    return InvalidInput(f"{reason}: not replaced; set {_SETTING} to another file for this warehouse")


def _is_other_file(recorded: str, source: Path) -> bool:
    try:
        return not os.path.samefile(recorded, source)
    except OSError:  # gone: the warehouse was moved
        return False


def _copy_file(source: Path, temporary: Path) -> None:
    with source.open("rb") as src, temporary.open("xb") as dst:
        shutil.copyfileobj(src, dst, length=1 << 22)
        dst.flush()
        os.fsync(dst.fileno())


def _record_publication(temporary: Path, identity: str, source: Path, last: int | None) -> None:
    con = connect(temporary)
    try:
        sql.run(con, "meta/publication")
        sql.run(con, "meta/record_publication", warehouse_id=identity,
                warehouse_path=str(source.resolve()), published_at=datetime.now(UTC),
                last_load_id=last, patchtrail_version=patchtrail.__version__)
        con.execute("checkpoint")
    finally:
        con.close()
    fsync_file(temporary)
