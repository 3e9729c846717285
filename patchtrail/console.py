"""Terminal output for the CLI: progress bars on stderr, summary tables, log setup.

Progress is hidden when stderr is not a terminal or under --quiet, and never mixes with data
written to stdout.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

import orjson
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from patchtrail.publish.exports import cell_text
from patchtrail.run import ObjectResult, RunSummary


def _console(**kwargs) -> Console:
    """A console; piped output gets 160 columns (not 80) unless COLUMNS says otherwise."""
    console = Console(**kwargs)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(width=160, **kwargs)
    return console


stdout = _console()
stderr = _console(stderr=True)


def setup_logging(*, verbose: bool = False, quiet: bool = False) -> None:
    level = logging.INFO if verbose else logging.ERROR if quiet else logging.WARNING
    handler = RichHandler(console=stderr, show_time=False, show_path=False, markup=False)
    logger = logging.getLogger("patchtrail")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


@contextmanager
def object_progress(label: str, *, quiet: bool = False) -> Iterator[Any]:
    """A progress bar over objects; yields (on_listed, on_object) callbacks for the library."""
    progress = Progress(
        TextColumn(f"{label:<9}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[detail]}"), console=stderr,
        disable=quiet or not stderr.is_terminal, transient=False,
    )
    with progress:
        task = progress.add_task(label, total=None, detail="")

        def on_listed(count: int, size: int) -> None:
            progress.update(task, total=count, detail=f"{size / 1e6:.1f} MB")

        def on_object(result: ObjectResult) -> None:
            progress.advance(task)
            progress.update(task, detail=f"{result.landed} new items")

        yield on_listed, on_object


def print_run_summary(summary: RunSummary, *, console: Console = stdout) -> None:
    """The run table (per object format) and the fleet table, as the flow also publishes them."""
    table = Table(title=f"load {summary.load_id}: {summary.source} -> {summary.warehouse}",
                  title_justify="left")
    for column in ("format", "objects", "unchanged", "rejected objects", "items", "new",
                   "duplicate", "skipped", "rejected items"):
        table.add_column(column, justify="left" if column == "format" else "right")
    by_format: dict[str, list[ObjectResult]] = defaultdict(list)
    for result in summary.objects:
        by_format[result.format].append(result)
    for fmt, results in sorted(by_format.items()):
        table.add_row(
            fmt, str(len(results)), str(sum(r.status == "unchanged" for r in results)),
            str(sum(r.status == "rejected" for r in results)), str(sum(r.read for r in results)),
            str(sum(r.landed for r in results)), str(sum(r.duplicate for r in results)),
            str(sum(r.skipped for r in results)), str(sum(r.rejected for r in results)),
        )
    totals = summary.totals()
    table.add_row("total", str(totals["objects_seen"]), str(totals["objects_unchanged"]),
                  str(totals["objects_rejected"]), str(totals["items_read"]),
                  str(totals["items_landed"]), str(totals["items_duplicate"]),
                  str(totals["items_skipped"]), str(totals["items_rejected"]), style="bold")
    console.print(table)
    if summary.queries:
        console.print(lake_cost_line(summary.queries), highlight=False)
    console.print(f"{summary.instances_affected} instances re-sequenced in history; "
                  f"{len(summary.ignored)} unrelated files ignored; {summary.seconds:.1f} s")
    print_fleet(summary.fleet, console=console)


def lake_cost_line(queries: list[dict[str, Any]]) -> str:
    """`18 Lake queries (0 failed): 52.1 MB scanned, estimated cost $0.0003`."""
    scanned = sum(q.get("bytes_scanned") or 0 for q in queries)
    cost = sum(q.get("estimated_cost_usd") or 0 for q in queries)
    failed = sum(q.get("status") != "FINISHED" for q in queries)
    return (f"{len(queries)} Lake queries ({failed} failed): {scanned / 1e6:,.1f} MB scanned, "
            f"estimated cost ${cost:,.4f}")


def print_fleet(fleet: dict[str, Any], *, console: Console = stdout) -> None:
    table = Table(title="fleet now", title_justify="left")
    labels = {
        "instances": "managed instances", "compliance_pct": "compliant %",
        "missing_critical_patches": "missing critical patches",
        "missing_high_patches": "missing high patches", "rejected_records": "rejected records (all loads)",
    }
    for key in labels:
        table.add_column(labels[key], justify="right")
    table.add_row(*("-" if fleet.get(k) is None else str(fleet.get(k)) for k in labels))
    console.print(table)


def print_table(rows: list[dict[str, Any]], *, title: str, console: Console = stdout) -> None:
    """A list of dicts as a table (columns from the first row)."""
    if not rows:
        return
    table = Table(title=title, title_justify="left")
    for column in rows[0]:
        table.add_column(column, justify="right" if isinstance(rows[0][column], int) else "left")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    console.print(table)


def print_rows(columns: list[str], rows: list[tuple], *, fmt: str, console: Console = stdout) -> None:
    """Rows to stdout as a table, CSV or JSON lines."""
    if fmt == "csv":
        import csv
        import sys

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([cell_text(v) for v in row] for row in rows)
        return
    if fmt == "json":
        import orjson

        for row in rows:
            console.out(orjson.dumps(dict(zip(columns, row, strict=True)), default=str).decode(),
                        highlight=False)
        return
    table = Table(*columns)
    for row in rows:
        table.add_row(*(cell_text(v) for v in row))
    console.print(table)
    console.print(f"{len(rows)} rows", style="dim")


def print_checks(results: list[Any], *, fmt: str = "table", console: Console = stdout) -> None:
    """The results of `patchtrail check`: one line per invariant, then the offending rows."""
    if fmt == "json":
        console.print_json(orjson.dumps([asdict(r) for r in results], default=str).decode())
        return
    table = Table(box=None, show_header=True, header_style="bold")
    for name in ("check", "holds", "violations", "what"):
        table.add_column(name, justify="right" if name == "violations" else "left")
    for r in results:
        what = f"{r.description} ({r.scope})" if r.scope else r.description
        table.add_row(Text(r.name), Text("yes" if r.ok else "NO", style="green" if r.ok else "bold red"),
                      str(r.violations), Text(what))
    console.print(table)
    for r in results:
        if not r.ok:
            console.print(Text(f"{r.name}: {r.description}; first offending rows:", style="bold red"))
            for row in r.examples:
                console.print(Text("  " + ", ".join(f"{k}={v}" for k, v in row.items())))
