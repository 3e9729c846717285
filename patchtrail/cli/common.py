"""Shared pieces of the CLI: the app, common options, error handling, warehouse helpers."""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from patchtrail import console
from patchtrail.config import settings
from patchtrail.errors import PatchtrailError

app = typer.Typer(
    name="patchtrail", no_args_is_help=True, add_completion=False, rich_markup_mode=None,
    help="History of AWS Systems Manager patch compliance, kept in a DuckDB warehouse.",
)
ingest_app = typer.Typer(no_args_is_help=True, help="Land configuration items from a source.")
app.add_typer(ingest_app, name="ingest")
publish_app = typer.Typer(no_args_is_help=True, help="Publish the warehouse for readers and BI tools.")
app.add_typer(publish_app, name="publish")

def from_settings(name: str):
    """An option callback: when the option is not given, use the setting (toml/env/default)."""
    return lambda value: getattr(settings(), name) if value is None else value


Warehouse = Annotated[Path | None, typer.Option(
    "--warehouse", "-w", callback=from_settings("warehouse"), show_default=False,
    help="DuckDB warehouse file, created if missing [default: patchtrail.duckdb, or "
         "PATCHTRAIL_WAREHOUSE / patchtrail.toml].")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or warnings.")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log each step.")]


def cli_errors(func):
    """Known errors become one line, a hint and exit code 1; unknown ones keep their traceback."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except PatchtrailError as exc:
            console.stderr.print(f"[red]Error:[/red] {exc}", highlight=False)
            if exc.hint:
                console.stderr.print(f"Hint: {exc.hint}", highlight=False)
            raise typer.Exit(1) from None
    return wrapper



def require_warehouse(warehouse: Path) -> None:
    from patchtrail.errors import InvalidInput

    if not warehouse.exists():
        raise InvalidInput(f"{warehouse}: no warehouse here (run `patchtrail demo` or "
                           "`patchtrail ingest files` first, or pass --warehouse)")


def open_existing(warehouse: Path):
    """A reader of an existing warehouse: read-only, and unable to reach any other file or the
    network whatever SQL it runs (`connect_reader`)."""
    from patchtrail.warehouse.connect import connect_reader

    require_warehouse(warehouse)
    return connect_reader(warehouse)


def finish_run(summary, warehouse: Path, *, strict: bool = False) -> None:
    """Every ingest ends the same way: the summary, the published copy, and --strict's exit code."""
    console.print_run_summary(summary)
    after_run(warehouse)
    if strict and summary.rejected_anything:
        raise typer.Exit(2)


def after_run(warehouse: Path) -> None:
    """Refresh the published read-only copy, when the settings ask for it."""
    cfg = settings()
    if cfg.publish_after_run:
        from patchtrail.errors import InvalidInput
        from patchtrail.publish.copy import publish_copy

        try:
            copy = publish_copy(warehouse, cfg.published_copy)
        except InvalidInput as exc:
            raise InvalidInput(f"the run succeeded, but {exc}") from None
        console.stderr.print(f"published read-only copy: {copy.path}", highlight=False)




def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not YYYY-MM-DD", param_hint="--start") from None

