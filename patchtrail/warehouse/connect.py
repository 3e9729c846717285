"""Open the warehouse file with the settings every patchtrail connection uses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from patchtrail.errors import WarehouseBusy


def connect(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the warehouse at `path`; `:memory:` gives a throwaway one.

    Times are UTC, and no extension is ever downloaded at run time.
    """
    target = str(path)
    if target != ":memory:":
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    config = {"autoinstall_known_extensions": "false", "TimeZone": "UTC"}
    try:
        con = duckdb.connect(target, read_only=read_only, config=config)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseBusy(f"{target}: the warehouse is locked by another process ({exc})") from exc
        raise
    con.execute("set enable_progress_bar = false")  # DuckDB's bar would go to stdout, among results
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
