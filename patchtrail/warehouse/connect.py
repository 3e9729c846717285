"""Open the warehouse file with the settings every patchtrail connection uses.

Every connection has the SQL function `configuration_text(configuration_zstd)`, which gives a
landed item's configuration JSON as text. Writers (`connect`) get the warehouse as it is.
Readers (`connect_reader`, and `connect(..., read_only=True)`) get it locked down, so that whatever SQL they run can read the warehouse and
nothing else: no other file, no network, no extension, no setting changed afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb

from patchtrail.errors import PatchtrailError, WarehouseBusy

#: Given when a reader is opened. DuckDB reads the ICU TimeZone option only with autoloading
#: on, so the time zone is set right after, with the file restrictions (`_harden`).
READER_CONFIG = {
    "autoinstall_known_extensions": "false",
    "autoload_known_extensions": "false",
    "allow_community_extensions": "false",
    "allow_unsigned_extensions": "false",
    "allow_persistent_secrets": "false",
}
_harden_lock = threading.Lock()


def connect(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the warehouse at `path`; `:memory:` gives a throwaway one.

    Times are UTC, and no extension is ever downloaded at run time. `read_only=True` gives a
    reader: the same as `connect_reader(path)`.
    """
    if read_only:
        return connect_reader(path)
    target = str(path)
    if target != ":memory:":
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    config = {"autoinstall_known_extensions": "false", "TimeZone": "UTC"}
    con = _open(target, read_only=False, config=config)
    con.execute("set enable_progress_bar = false")  # DuckDB's bar would go to stdout, among results
    return con


def connect_reader(path: Path | str, *, allowed_paths: Sequence[Path | str] = (),
                   allowed_directories: Sequence[Path | str] = ()) -> duckdb.DuckDBPyConnection:
    """Open an existing warehouse (or published copy) read-only, for SQL that must only read it.

    Through DuckDB's own controls, set before any SQL runs: `enable_external_access = false` (no
    ATTACH of another file, no COPY, no read_csv/read_text/glob/read_parquet, no INSTALL/LOAD
    from disk or network), extension autoloading and autoinstalling off, no persistent secrets,
    then `lock_configuration = true` so no statement can turn any of it back on. Times are UTC.

    Args:
        path: the DuckDB file.
        allowed_paths: files this connection may still read or write (e.g. the one file an
            export writes with COPY); nothing else outside the database file.
        allowed_directories: folders whose files this connection may read or write.

    One process shares one DuckDB instance per file: a second reader of a file already open in
    this process gets the same, already locked, instance; asking it for more paths is refused.
    """
    target = str(path)
    paths = [str(Path(p).absolute()) for p in allowed_paths]
    folders = [str(Path(d).absolute()).rstrip("/") + "/" for d in allowed_directories]
    with _harden_lock:
        con = _open(target, read_only=True, config=READER_CONFIG)
        try:
            _harden(con, target, paths, folders)
        except BaseException:
            con.close()
            raise
    return con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: commit when the block ends, roll back if it raises."""
    con.execute("begin transaction")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    """The first column of the first row of a query, with the result fully consumed.

    (DuckDB 2.0 refuses further work on a connection while a result is only partly fetched.)
    """
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def _open(target: str, *, read_only: bool, config: dict[str, str]) -> duckdb.DuckDBPyConnection:
    # Imported here: opening a connection is the first time the settings model is needed.
    from patchtrail.settings import settings

    config = {**config, "memory_limit": settings().duckdb_memory_limit}
    try:
        con = duckdb.connect(target, read_only=read_only, config=config)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseBusy(f"{target}: the warehouse is locked by another process ({exc})") from exc
        raise
    try:
        con.create_function("configuration_text", _configuration_text, ["BLOB"], "VARCHAR",
                            null_handling="special", side_effects=False)
    except duckdb.CatalogException:  # this process's instance of the file has it already
        pass
    return con


def _configuration_text(frame: bytes | None) -> str | None:
    """SQL `configuration_text(configuration_zstd)`: an item's configuration JSON as text."""
    from patchtrail.transforms.configuration_text import text_of

    text = text_of(frame)
    return None if text is None else text.decode("utf-8")


def _harden(con: duckdb.DuckDBPyConnection, target: str, paths: list[str], folders: list[str]) -> None:
    locked = scalar(con, "select current_setting('lock_configuration')")
    if locked:  # this process's instance of the file, hardened by an earlier reader
        external = scalar(con, "select current_setting('enable_external_access')")
        have = set(scalar(con, "select current_setting('allowed_paths')") or [])
        have_dirs = set(scalar(con, "select current_setting('allowed_directories')") or [])
        if external or not set(paths) <= have or not set(folders) <= have_dirs:
            raise PatchtrailError(f"{target}: already open in this process with other file "
                                  "permissions; close that connection first")
        return
    con.execute("set global TimeZone = 'UTC'")
    con.execute("set enable_progress_bar = false")  # DuckDB's bar would go to stdout, among results
    if paths:
        con.execute("set allowed_paths = ?", [paths])
    if folders:
        con.execute("set allowed_directories = ?", [folders])
    con.execute("set enable_external_access = false")
    con.execute("set lock_configuration = true")
