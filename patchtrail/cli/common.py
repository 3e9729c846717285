"""Shared pieces of the CLI: the app, common options, error handling, exit codes, warehouse helpers."""

from __future__ import annotations

import functools
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from patchtrail import __version__, console
from patchtrail.errors import InvalidInput, PatchtrailError
from patchtrail.exit_codes import TABLE, ExitCode, run_outcome
from patchtrail.settings import settings

EXIT_CODES_HELP = "\b\nExit codes:\n" + "\n".join(f"  {int(c)}  {meaning}" for c, meaning in TABLE)

app = typer.Typer(
    name="patchtrail", no_args_is_help=True, add_completion=False, rich_markup_mode=None,
    help="History of AWS Systems Manager patch compliance, kept in a DuckDB warehouse.",
    epilog=EXIT_CODES_HELP,
)
ingest_app = typer.Typer(no_args_is_help=True, help="Land configuration items from a source.")
app.add_typer(ingest_app, name="ingest")
publish_app = typer.Typer(no_args_is_help=True, help="Publish the warehouse for readers and BI tools.")
app.add_typer(publish_app, name="publish")


def _print_version(value: bool) -> None:
    if value:
        console.stdout.out(f"patchtrail {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def main(version: Annotated[bool | None, typer.Option(
        "--version", callback=_print_version, is_eager=True, help="Print the version and exit.")] = None,
         ) -> None:
    """History of AWS Systems Manager patch compliance, kept in a DuckDB warehouse."""


def from_settings(name: str):
    """An option callback: when the option is not given, use the setting (toml/env/default).
    It runs while the command line is parsed, before `cli_errors`: a bad setting is one line."""
    def callback(value):
        if value is not None:
            return value
        try:
            return getattr(settings(), name)
        except PatchtrailError as exc:
            console.error(str(exc), hint=exc.hint)
            raise typer.Exit(ExitCode.ERROR) from None
    return callback


Warehouse = Annotated[Path | None, typer.Option(
    "--warehouse", "-w", callback=from_settings("warehouse"), show_default=False,
    help="DuckDB warehouse file, created if missing [default: patchtrail.duckdb, or "
         "PATCHTRAIL_WAREHOUSE / patchtrail.toml].")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or warnings.")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log each step.")]
class TextFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class QueryFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


#: --format of commands that print results: a table for people, CSV or JSON lines for programs.
Format = Annotated[TextFormat, typer.Option(
    "--format", "-f", help="table (for people), csv, or json (one object per line).")]
#: --format of commands that print query results, which can also be written as Parquet.
DataFormat = Annotated[QueryFormat, typer.Option(
    "--format", "-f", help="table (for people), csv, json (one object per line), or parquet "
                           "(needs --out).")]
Limit = Annotated[int | None, typer.Option(
    min=1, help="At most this many rows [default for the table format: 100; csv/json: all].")]
ShowAll = Annotated[bool, typer.Option("--all", help="Every row, also in the table format.")]
#: Rows a table shows when neither --limit nor --all is given.
TABLE_ROWS = 100


def row_limit(fmt: str, limit: int | None, show_all: bool = False) -> int | None:
    """The rows to print: --limit if given, all with --all, else 100 for a table and all otherwise."""
    if limit is not None:
        return limit
    if show_all or fmt != "table":
        return None
    return TABLE_ROWS


def cli_errors(func):
    """Known errors become one line, a hint and exit code 1; unknown ones keep their traceback.

    The message is printed as plain text (no Rich markup), so `[test]` or `{0,63}` in it shows
    as written. A --warehouse that is a folder or not a DuckDB file is refused before the
    command runs.
    """
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            if isinstance(kwargs.get("warehouse"), Path):
                check_warehouse_file(kwargs["warehouse"])
            return func(*args, **kwargs)
        except PatchtrailError as exc:
            console.error(str(exc), hint=exc.hint)
            raise typer.Exit(ExitCode.ERROR) from None
        except Exception as exc:
            known = _known_library_error(exc)
            if known is None:
                raise
            console.error(known[0], hint=known[1])
            raise typer.Exit(ExitCode.ERROR) from None
    return wrapper


def _known_library_error(exc: Exception) -> tuple[str, str] | None:
    """(message, hint) for a library error a user can act on; None keeps the traceback."""
    import duckdb

    text = str(exc).split("\n", 1)[0]
    if isinstance(exc, duckdb.CatalogException) and any(
            f" {schema}." in str(exc) or f"{schema}." in text for schema in ("marts", "history", "landing")):
        return (f"the warehouse lacks an object this patchtrail needs ({text})",
                "it was built by an older patchtrail: `patchtrail rebuild` updates its schema "
                "(landing is kept)")
    return None


def check_warehouse_file(warehouse: Path) -> None:
    """Refuse a --warehouse that is a folder or an existing file that is not a DuckDB database."""
    if warehouse.is_dir():
        raise _hinted(InvalidInput(f"--warehouse {warehouse}: is a folder, not a warehouse file"),
                      f"pass the DuckDB file, e.g. --warehouse {warehouse / 'patchtrail.duckdb'}")
    if warehouse.is_file() and warehouse.stat().st_size > 0:
        with warehouse.open("rb") as fh:
            head = fh.read(12)
        if head[8:12] != b"DUCK":  # every DuckDB file has its magic bytes there
            raise _hinted(InvalidInput(f"--warehouse {warehouse}: not a DuckDB database file"),
                          "pass the .duckdb file `patchtrail demo` or `patchtrail ingest` created "
                          "(default patchtrail.duckdb); to read CSV or Parquet, use `patchtrail "
                          "sql \"select * from 'file.csv'\"`")


def require_warehouse(warehouse: Path) -> None:
    check_warehouse_file(warehouse)
    if not warehouse.exists():
        raise _hinted(InvalidInput(f"{warehouse}: no warehouse here"),
                      "run `patchtrail demo` or `patchtrail ingest files` first, or pass --warehouse")


def open_existing(warehouse: Path):
    """A reader of an existing warehouse: read-only, and unable to reach any other file or the
    network whatever SQL it runs (`connect_reader`)."""
    from patchtrail.warehouse.connect import connect_reader

    require_warehouse(warehouse)
    return connect_reader(warehouse)


def finish_run(summary, warehouse: Path, *, strict: bool = False, asked: str = "",
               fmt: str = "table") -> None:
    """Every ingest ends the same way: the summary, the published copy, and the exit code.

    The exit code follows `patchtrail.exit_codes.run_outcome`: 3 when the run found nothing
    where it was pointed or rejected everything it found (nothing is published then), 4 under
    --strict when something was rejected, else 0. A run that read nothing new leaves the
    published copy as it is.
    """
    console.print_run_summary(summary, fmt=fmt)
    outcome = run_outcome(summary, strict=strict, asked=asked)
    if outcome.code != ExitCode.INCOMPLETE and summary.totals()["objects_read"]:
        after_run(warehouse)  # a run that read nothing new changed no data: the copy stands
    if outcome.code != ExitCode.OK:
        console.warn(outcome.message or "")
        raise typer.Exit(outcome.code)


def after_run(warehouse: Path) -> None:
    """Refresh the published read-only copy, when the settings ask for it."""
    cfg = settings()
    if cfg.publish_after_run:
        import time

        from patchtrail.errors import InvalidInput
        from patchtrail.publish.copy import publish_copy

        t0 = time.perf_counter()
        try:
            copy = publish_copy(warehouse, cfg.published_copy)
        except InvalidInput as exc:
            raise InvalidInput(f"the run succeeded, but {exc}") from None
        console.stderr.print(f"published read-only copy: {copy.path} ({time.perf_counter() - t0:.2f} s)",
                             highlight=False, markup=False)


def parse_time(text: str | None, parameter: str) -> datetime | None:
    """A time option (`--as-of 7d`) through the one parser, `patchtrail.validate.parse_time`."""
    from patchtrail.validate import parse_time as parse

    return None if text is None else parse(text, parameter=parameter)


def parse_date(text: str, parameter: str = "--start") -> date:
    """A day option (`--since yesterday`) through `patchtrail.validate.parse_day`."""
    from patchtrail.validate import parse_day

    return parse_day(text, parameter=parameter)


def _hinted(error: PatchtrailError, hint: str) -> PatchtrailError:
    error.hint = hint
    return error
