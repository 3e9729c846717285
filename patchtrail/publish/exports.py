"""Exports people ask for: CSV and Excel (.xlsx) of any mart or sample query."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from patchtrail.errors import InvalidInput

XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header row


def exportable_objects(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Tables and views of the marts and history schemas (names fixed by the warehouse)."""
    rows = con.execute(
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_schema in ('marts', 'history') order by 1").fetchall()
    return [r[0] for r in rows]


def object_rows(con: duckdb.DuckDBPyConnection, name: str) -> tuple[list[str], list[tuple]]:
    """All rows of a mart or history table named exactly as `exportable_objects` lists it."""
    known = exportable_objects(con)
    if name not in known:
        raise InvalidInput(f"unknown table {name!r}; choose a seed query name or one of: {', '.join(known)}")
    schema, table = name.split(".")
    cursor = con.execute(f'select * from "{schema}"."{table}" order by all')  # noqa: S608 (checked name)
    return [d[0] for d in cursor.description], cursor.fetchall()


def write_rows(columns: list[str], rows: list[tuple], out: Path, *, fmt: str | None = None) -> Path:
    """Write rows to `out` as CSV or XLSX (from `fmt`, or the file's extension)."""
    fmt = fmt or out.suffix.lstrip(".").lower()
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        with out.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            writer.writerows([cell_text(v) for v in row] for row in rows)
    elif fmt == "xlsx":
        _write_xlsx(columns, rows, out)
    else:
        raise InvalidInput(f"format {fmt!r} is not csv or xlsx")
    return out


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


def cell_text(value: Any) -> str:
    """A value as table/CSV text: null as empty, lists as `a, b`."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)
