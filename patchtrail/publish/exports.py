"""Exports people ask for: CSV and Excel (.xlsx) of any mart or sample query.

CSV is written by DuckDB itself (`COPY ... TO`) from a reader connection that may write that
one file and nothing else. Every cell goes through `csv_cell` (sql/warehouse/exports/
csv_cells.sql): text a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`,
tab, carriage return, or `'`) gets one leading `'`, as OWASP advises for CSV injection; to get
the value back, remove one leading `'` from any text cell that starts with one. Numbers are
written as they are; lists, structs and maps as JSON; NULL as an empty cell; times in UTC.

XLSX is written with xlsxwriter with strings always stored as strings (never formulas, numbers
or links), so it needs no escaping.

Either file is written under a hidden temporary name beside `out` and renamed over it when
complete; a failure removes the temporary, and the next export to `out` removes any a killed
one left.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from patchtrail import validate
from patchtrail.errors import InvalidInput
from patchtrail.publish.atomic import folder_lock, fsync_dir, fsync_file, leftovers, temporary_path
from patchtrail.queries import SEED_QUERIES, run_seed_query
from patchtrail.warehouse import sql
from patchtrail.warehouse.connect import connect_reader

XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header row
FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class Export:
    """A written export: the file and its number of data rows."""

    path: Path
    rows: int


def export(warehouse: Path | str, name: str, out: Path | str, *, instance_id: str | None = None,
           start: str | None = None, end: str | None = None, fmt: str | None = None) -> Export:
    """Write a mart, a history table or a seed query to `out`, as CSV or XLSX, atomically.

    Args:
        warehouse: the warehouse (or published copy); opened as a reader.
        name: a seed query's name (with or without `.sql`) or a table as `exportable_objects`
            lists it, e.g. `marts.current_patch_state`.
        out: the file written; replaced only once the new one is complete.
        instance_id, start, end: the seed queries' parameters (checked as `patchtrail query`
            checks them).
        fmt: `csv` or `xlsx`; default: the extension of `out`.
    """
    out = Path(out)
    fmt = (fmt or out.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise InvalidInput(f"{out}: format {fmt!r} is not csv or xlsx")
    out.parent.mkdir(parents=True, exist_ok=True)
    with folder_lock(out.parent):
        for stale in leftovers(out):
            if stale.is_file():
                stale.unlink(missing_ok=True)
        temporary = temporary_path(out)
        try:
            if fmt == "csv":
                rows = _copy_csv(warehouse, name, temporary, instance_id=instance_id, start=start, end=end)
            else:
                con = connect_reader(warehouse)
                try:
                    columns, data = _rows(con, name, instance_id=instance_id, start=start, end=end)
                finally:
                    con.close()
                write_rows(columns, data, temporary, fmt="xlsx")
                rows = len(data)
            fsync_file(temporary)
            os.replace(temporary, out)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        fsync_dir(out.parent)
    return Export(out, rows)


def exportable_objects(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Tables and views of the marts and history schemas (names fixed by the warehouse)."""
    rows = con.execute(
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_schema in ('marts', 'history') order by 1").fetchall()
    return [r[0] for r in rows]


def object_rows(con: duckdb.DuckDBPyConnection, name: str) -> tuple[list[str], list[tuple]]:
    """All rows of a mart or history table named exactly as `exportable_objects` lists it."""
    _check_object(con, name)
    schema, table = name.split(".")
    cursor = con.execute(f'select * from "{schema}"."{table}" order by all')  # noqa: S608 (checked name)
    return [d[0] for d in cursor.description], cursor.fetchall()


def write_rows(columns: list[str], rows: list[tuple], out: Path, *, fmt: str | None = None) -> Path:
    """Write Python rows to `out` as XLSX. (CSV is written by DuckDB: `export`.)"""
    fmt = fmt or out.suffix.lstrip(".").lower()
    if fmt != "xlsx":
        raise InvalidInput(f"format {fmt!r}: write_rows writes xlsx; CSV goes through export()")
    out.parent.mkdir(parents=True, exist_ok=True)
    _write_xlsx(columns, rows, out)
    return out


def cell_text(value: Any) -> str:
    """A value as table/CSV text: null as empty, lists as `a, b`."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _copy_csv(warehouse: Path | str, name: str, path: Path, *, instance_id: str | None,
              start: str | None, end: str | None) -> int:
    """COPY the rows of `name` to `path` on a reader allowed to write `path` only."""
    con = connect_reader(warehouse, allowed_paths=[path])
    try:
        sql.run(con, "exports/csv_cells")
        seed = SEED_QUERIES.get(name.removesuffix(".sql"))
        if seed is None:
            _check_object(con, name)
            done = sql.run(con, "exports/table_csv", table=name, path=str(path))
        else:
            # the checks and messages of `patchtrail query` (no row is read), then the same query
            run_seed_query(con, name, instance_id=instance_id, start=start, end=end, limit=0)
            params: list[Any] = []
            if seed.needs_instance:
                params.append(validate.instance_id(instance_id, parameter="--instance"))
            if seed.needs_range:
                params += [validate.utc_timestamp(start, parameter="--start"),
                           validate.utc_timestamp(end, parameter="--end")]
            placeholders = ", ".join("?" for _ in params)
            done = con.execute(
                "copy (select csv_cell(columns(*)) from ("  # noqa: S608 (macro name from a fixed table)
                f"select * from {seed.macro}({placeholders}) "
                "order by accountId, awsRegion, InstanceId, eventTime"
                ")) to ? (format csv, header true)", [*params, str(path)])
        return done.fetchall()[0][0]
    finally:
        con.close()


def _rows(con: duckdb.DuckDBPyConnection, name: str, *, instance_id: str | None, start: str | None,
          end: str | None) -> tuple[list[str], list[tuple]]:
    if name.removesuffix(".sql") in SEED_QUERIES:
        return run_seed_query(con, name, instance_id=instance_id, start=start, end=end)
    return object_rows(con, name)


def _check_object(con: duckdb.DuckDBPyConnection, name: str) -> None:
    known = exportable_objects(con)
    if name not in known:
        raise InvalidInput(f"unknown table {name!r}; choose a seed query name or one of: {', '.join(known)}")


def _write_xlsx(columns: list[str], rows: list[tuple], out: Path) -> None:
    import xlsxwriter

    if len(rows) > XLSX_MAX_ROWS:
        raise InvalidInput(f"{len(rows)} rows do not fit one Excel sheet ({XLSX_MAX_ROWS}); export CSV")
    book = xlsxwriter.Workbook(str(out), {"constant_memory": True, "strings_to_numbers": False,
                                          "strings_to_formulas": False, "strings_to_urls": False})
    sheet = book.add_worksheet("data")
    bold = book.add_format({"bold": True})
    when = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    sheet.write_row(0, 0, columns, bold)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if isinstance(value, datetime):  # Excel has no time zones: UTC, stated in the header
                sheet.write_datetime(r, c, value.astimezone(UTC).replace(tzinfo=None), when)
            else:
                sheet.write(r, c, _excel_cell(value))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(rows), 1), max(len(columns) - 1, 0))
    notes = book.add_worksheet("about")
    notes.write(0, 0, f"Exported by patchtrail at {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC. "
                      "All times are UTC.")
    book.close()


def _excel_cell(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    return cell_text(value)
