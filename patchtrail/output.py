"""Results as the CLI prints them: a table for people, or CSV / JSON lines / Parquet for programs.

Two paths:
- `print_rows`: a few Python rows (status, SLA breaches, waivers ...), as a table, CSV or JSON;
- `write_relation`: a DuckDB query result (`patchtrail sql`, `patchtrail query`). CSV, JSON and
  Parquet are written by DuckDB itself, streamed (no Python row is built); to stdout they go
  through a pipe, so `>> file` appends and `| head` stops the query. The table format fetches
  only the rows it shows and counts the rest from Arrow batches.

Table cells keep ids whole (a column without spaces never wraps or is cut), show lists
compactly on one line (`a, b +12 more`), right-align numbers, and end with "1 row" / "N rows" (and how
many were left out, when a limit applied).
"""

from __future__ import annotations

import os
import sys
import tempfile
import textwrap
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import orjson
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

#: List items a table cell shows before "+N more".
LIST_ITEMS = 2
#: A cell longer than this may wrap (titles, reasons); shorter ones without spaces never do.
WRAP_AFTER = 48
GAP = "   "
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
            "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL")
_BATCH_ROWS = 10_000


def plural(count: int, noun: str = "row") -> str:
    """`1 row`, `2 rows`, `12,345 rows`, `3 breaches`, `2 policies`."""
    if count == 1:
        return f"1 {noun}"
    if noun.endswith("y") and not noun.endswith(("ay", "ey", "oy")):
        return f"{count:,} {noun[:-1]}ies"
    return f"{count:,} {noun}{'es' if noun.endswith(('ch', 'sh', 's', 'x')) else 's'}"


def cell(value: Any) -> str:
    """A value as a table cell: empty for null, lists compact, times to the second with Z."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        shown = ", ".join(cell(v) for v in value[:LIST_ITEMS])
        more = len(value) - LIST_ITEMS
        return f"{shown} +{more} more" if more > 0 else shown
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            from datetime import UTC

            return f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z"
        return f"{value:%Y-%m-%d %H:%M:%S}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if value == value else "NaN"
    if isinstance(value, dict):
        return orjson.dumps(value, default=str).decode()
    return str(value)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def render_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, console: Console,
                 numeric: Sequence[bool] | None = None, title: str | None = None,
                 note: str | None = None) -> None:
    """Print rows as a compact plain table; `numeric` says which columns to right-align
    (default: by their values). Ids and other single words are never wrapped or cut (the table
    grows wider than the terminal instead); text with spaces longer than WRAP_AFTER wraps.

    Written without Rich's layout engine, so 100,000 rows print in seconds, not minutes.
    """
    if numeric is None:
        numeric = [any(is_number(r[i]) for r in rows) and all(r[i] is None or is_number(r[i])
                                                              for r in rows)
                   for i in range(len(columns))]
    texts = [[cell(v) for v in row] for row in rows]
    widths, wrap = [], []
    for i, name in enumerate(columns):
        longest = max([len(name), *(len(t[i]) for t in texts)])
        lists = any(isinstance(row[i], (list, tuple)) for row in rows)
        words = lists or longest <= WRAP_AFTER or all(" " not in t[i] for t in texts)
        widths.append(longest if words else max(WRAP_AFTER, len(name)))
        wrap.append(not words)

    def line(cells: Sequence[str]) -> str:
        return GAP.join(c.rjust(w) if numeric[i] else c.ljust(w)
                        for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    out: list[str] = []
    for row in texts:
        if not any(wrap):
            out.append(line(row))
            continue
        parts = [textwrap.wrap(c, w, break_long_words=True) or [""] if wrap[i] else [c]
                 for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        for n in range(max(len(p) for p in parts)):
            out.append(line([p[n] if n < len(p) else "" for p in parts]))
    if title:
        console.print(Text(title, style="bold"), soft_wrap=True)
    console.print(Text(line(list(columns)), style="bold"), soft_wrap=True)
    body = "\n".join(["─" * sum(widths[i] + (len(GAP) if i else 0) for i in range(len(widths))),
                      *out])
    console.file.write(body + "\n")
    if note:
        console.print(note, style="dim", soft_wrap=True)


def print_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, fmt: str,
               console: Console, limit: int | None = None, numeric: Sequence[bool] | None = None,
               title: str | None = None, noun: str = "row") -> None:
    """A few Python rows to stdout as a table (at most `limit`, with a note of the rest), CSV
    or JSON lines (every row, unless `limit`)."""
    total = len(rows)
    shown = rows if limit is None else rows[:limit]
    if fmt == "csv":
        import csv

        out = _text_stdout(console)
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_csv_value(v) for v in row] for row in shown)
        out.flush()
        return
    if fmt == "json":
        out = _text_stdout(console)
        for row in shown:
            out.write(orjson.dumps(dict(zip(columns, row, strict=True)), default=str,
                                   option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z).decode() + "\n")
        out.flush()
        return
    render_table(columns, shown, console=console, numeric=numeric, title=title,
                 note=rows_note(len(shown), total, noun=noun))


def print_record(record: dict[str, Any], *, fmt: str, console: Console, title: str | None = None) -> None:
    """One record (a summary) as a two-column table, one CSV row under its header, or one JSON object."""
    if fmt == "json":
        out = _text_stdout(console)
        out.write(orjson.dumps(record, default=str, option=orjson.OPT_UTC_Z).decode() + "\n")
        out.flush()
        return
    if fmt == "csv":
        print_rows(list(record), [tuple(record.values())], fmt="csv", console=console)
        return
    table = Table(box=box.SIMPLE, show_header=False, title=title, title_justify="left",
                  pad_edge=False, show_edge=False)
    table.add_column("key", no_wrap=True)
    table.add_column("value", no_wrap=True, justify="left")
    for key, value in record.items():
        table.add_row(key, cell(value))
    console.print(table, markup=False, highlight=False, crop=False)


def rows_note(shown: int, total: int, *, noun: str = "row") -> str:
    """`12 rows`, or `100 of 82,709 rows shown; --limit N or --all for more, --format csv for all`."""
    if shown >= total:
        return plural(total, noun)
    return (f"{shown:,} of {plural(total, noun)} shown ({total - shown:,} left out): "
            "--limit N or --all for more, --format csv or json for every row")


@contextmanager
def reader_for(warehouse: Path | str, fmt: str, out: Path | None) -> Iterator[tuple[Any, Path]]:
    """A locked reader of the warehouse (patchtrail.warehouse.connect_reader) allowed to write
    only what `fmt` needs: a FIFO in a private folder, through which this process streams CSV or
    JSON to stdout or `out`; or `out` itself for Parquet. Yields (connection, that folder)."""
    from patchtrail.warehouse.connect import connect_reader

    with tempfile.TemporaryDirectory(prefix="patchtrail-out-") as scratch:
        paths = [str(Path(out).absolute())] if fmt == "parquet" and out is not None else []
        con = connect_reader(warehouse, allowed_paths=paths, allowed_directories=[scratch])
        try:
            yield con, Path(scratch)
        finally:
            con.close()


def write_relation(relation: Any, *, fmt: str, console: Console, out: Path | None = None,
                   limit: int | None = None, scratch: Path) -> int | None:
    """Write a DuckDB relation in `fmt` to `out` (a file) or stdout; for the table format,
    return how many rows the query had (None otherwise: DuckDB wrote them, nobody counted).

    Args:
        relation: `con.sql(...)` of a query, not yet run, on a connection from `reader_for`.
        scratch: the folder `reader_for` yielded (where the FIFO goes).
        fmt: table, csv, json (one object per line) or parquet (needs `out`).
        limit: at most this many rows (None: all). The table format shows `limit` rows and
            counts the rest (from Arrow batches, without turning them into Python rows).
    """
    if fmt == "table":
        return _table_from_relation(relation, console=console, limit=limit)
    if limit is not None:
        relation = relation.limit(limit)
    if fmt == "parquet":
        if out is None:
            from patchtrail.errors import InvalidInput

            raise InvalidInput("--format parquet writes a file: give --out FILE.parquet")
        relation.write_parquet(str(Path(out).absolute()))
        return None
    if out is not None:
        with out.open("wb") as fh:
            _copy_through_fifo(relation, fmt, fh, scratch)
        return None
    console.file.flush()
    sys.stdout.flush()
    try:
        _copy_through_fifo(relation, fmt, sys.stdout.buffer, scratch)
    except BrokenPipeError:
        # the reader went away (`| head`): stop quietly, as `cat` does
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return None


def _table_from_relation(relation: Any, *, console: Console, limit: int | None) -> int:
    columns = list(relation.columns)
    numeric = [str(t).split("(")[0].upper() in _NUMERIC for t in relation.types]
    rows: list[tuple] = []
    total = 0
    for batch in relation.to_arrow_reader(_BATCH_ROWS):
        room = batch.num_rows if limit is None else max(0, min(batch.num_rows, limit - len(rows)))
        if room:
            part = batch.slice(0, room)
            rows += list(zip(*(column.to_pylist() for column in part.columns), strict=True))
        total += batch.num_rows
    render_table(columns, rows, console=console, numeric=numeric,
                 note=rows_note(len(rows), total))
    return total


def _copy_through_fifo(relation: Any, fmt: str, target: IO[bytes], scratch: Path) -> None:
    """DuckDB writes CSV or JSON lines into a FIFO in `scratch` (the only place its locked
    connection may write); this thread copies them to `target`.

    (DuckDB opening /dev/stdout itself would truncate a file redirected with `>>`.) This side
    holds a writer end of its own until DuckDB is done, so it never waits for a DuckDB that
    failed before opening the FIFO, and never sees an end before DuckDB has written it all.
    """
    fifo = scratch / f"result-{threading.get_ident()}"
    os.mkfifo(fifo, 0o600)
    read_fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    keep_fd = os.open(fifo, os.O_WRONLY)
    os.set_blocking(read_fd, True)
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            if fmt == "csv":
                relation.write_csv(str(fifo), header=True)
            else:  # the path is ours (a FIFO in a private folder), never user input
                relation.query("patchtrail_result",
                               f"copy patchtrail_result to '{fifo}' (format json)")
        except BaseException as exc:  # reported by the caller's thread
            failure.append(exc)
        finally:
            os.close(keep_fd)  # the last writer gone: the reading side sees the end

    worker = threading.Thread(target=produce, name="patchtrail-copy", daemon=True)
    worker.start()
    try:
        with os.fdopen(read_fd, "rb") as pipe:
            while chunk := pipe.read(1 << 20):
                target.write(chunk)
        target.flush()
    finally:
        worker.join()
        fifo.unlink(missing_ok=True)
    if failure:
        raise failure[0]


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.isoformat()
    return value


def _text_stdout(console: Console) -> IO[str]:
    console.file.flush()
    return sys.stdout
