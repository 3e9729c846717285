"""CLI command `patchtrail check`: run the warehouse's invariants and say what holds."""

from __future__ import annotations

from typing import Annotated

import typer

from patchtrail import console
from patchtrail.cli.common import Warehouse, app, cli_errors, require_warehouse
from patchtrail.exit_codes import ExitCode


@app.command()
@cli_errors
def check(
    full: Annotated[bool, typer.Option("--full", help="Rebuild every instance's history for the "
                                                      "comparison (default: a sample).")] = False,
    sample: Annotated[int, typer.Option(min=1, help="Instances rebuilt without --full.")] = 200,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    warehouse: Warehouse = None,
) -> None:
    """Check the warehouse's invariants: versions, traceability, counts, history = a rebuild.

    Read-only. Exits 5 when an invariant does not hold, after printing the offending rows.
    Example: patchtrail check --warehouse patchtrail.duckdb --full
    """
    from patchtrail.warehouse.check import check_warehouse

    if fmt not in ("table", "json"):
        raise typer.BadParameter("choose table or json", param_hint="--format")
    require_warehouse(warehouse)
    results = check_warehouse(warehouse, full=full, sample=sample)
    console.print_checks(results, fmt=fmt)
    if not all(r.ok for r in results):
        raise typer.Exit(ExitCode.CHECK_FAILED)
