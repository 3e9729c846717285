"""Terminal output for the CLI: progress bars on stderr, messages, run summaries, log setup.

Progress is hidden when stderr is not a terminal or under --quiet, and never mixes with data
written to stdout. Rich markup is off on both consoles: messages, paths and cells print as
written (`pip install -e '.[demo]'`, `{0,63}`); styles are applied with `style=` only.
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

from patchtrail import output
from patchtrail.run import ObjectResult, RunSummary


def _console(**kwargs) -> Console:
    """A console without markup. Piped output gets 160 columns (not 80) unless COLUMNS says
    otherwise, and its lines of text are never wrapped: a path or a command printed for a script
    (or for copying) stays on one line. Tables keep their width."""
    kwargs.setdefault("markup", False)
    kwargs.setdefault("highlight", False)
    console = Console(**kwargs)
    if not console.is_terminal:
        width = {} if "COLUMNS" in os.environ else {"width": 160}
        console = Console(soft_wrap=True, **width, **kwargs)
    return console


stdout = _console()
stderr = _console(stderr=True)


def error(message: str, *, hint: str | None = None) -> None:
    """`Error: <message>` (and `Hint: ...`) on stderr, printed literally."""
    stderr.print(Text.assemble(("Error: ", "bold red"), message), soft_wrap=True)
    if hint:
        stderr.print(Text.assemble(("Hint: ", "bold"), hint), soft_wrap=True)


def warn(message: str) -> None:
    """`Warning: <message>` on stderr, printed literally."""
    stderr.print(Text.assemble(("Warning: ", "bold yellow"), message), soft_wrap=True)


def step(label: str, detail: str = "") -> None:
    """A demo step line on stderr: `1/3 simulate ...`."""
    stderr.print(Text.assemble((label, "bold"), f" {detail}" if detail else ""), soft_wrap=True)


def setup_logging(*, verbose: bool = False, quiet: bool = False) -> None:
    level = logging.INFO if verbose else logging.ERROR if quiet else logging.WARNING
    handler = RichHandler(console=stderr, show_time=False, show_path=False, markup=False)
    logger = logging.getLogger("patchtrail")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


class ProgressCallbacks:
    """The (on_listed, on_object) callbacks a library run reports to; unpacks as a pair.

    `detail` counts new items over the whole run so far, not per object.
    """

    def __init__(self, progress: Progress, task) -> None:
        self.progress, self.task = progress, task
        self.objects = self.landed = 0
        self.detail = ""

    def __iter__(self):
        return iter((self.on_listed, self.on_object))

    def on_listed(self, count: int, size: int) -> None:
        self.detail = f"{size / 1e6:.1f} MB"
        self.progress.update(self.task, total=count, detail=self.detail)

    def on_object(self, result: ObjectResult) -> None:
        self.objects += 1
        self.landed += result.landed
        self.detail = f"{self.landed:,} new items"
        self.progress.advance(self.task)
        self.progress.update(self.task, detail=self.detail)


@contextmanager
def object_progress(label: str, *, quiet: bool = False) -> Iterator[ProgressCallbacks]:
    """A progress bar over objects; yields (on_listed, on_object) callbacks for the library."""
    progress = Progress(
        TextColumn(f"{label:<9}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[detail]}", markup=False), console=stderr,
        disable=quiet or not stderr.is_terminal, transient=False,
    )
    with progress:
        yield ProgressCallbacks(progress, progress.add_task(label, total=None, detail=""))


SUMMARY_COLUMNS = ("format", "objects", "unchanged", "rejected objects", "items", "new",
                   "duplicate", "skipped", "rejected items")


def run_summary_rows(summary: RunSummary) -> list[tuple]:
    """The run table: one row per object format, then `total`."""
    by_format: dict[str, list[ObjectResult]] = defaultdict(list)
    for result in summary.objects:
        by_format[result.format].append(result)
    rows = [(fmt, len(results), sum(r.status == "unchanged" for r in results),
             sum(r.status == "rejected" for r in results), sum(r.read for r in results),
             sum(r.landed for r in results), sum(r.duplicate for r in results),
             sum(r.skipped for r in results), sum(r.rejected for r in results))
            for fmt, results in sorted(by_format.items())]
    totals = summary.totals()
    rows.append(("total", totals["objects_seen"], totals["objects_unchanged"],
                 totals["objects_rejected"], totals["items_read"], totals["items_landed"],
                 totals["items_duplicate"], totals["items_skipped"], totals["items_rejected"]))
    return rows


def print_run_summary(summary: RunSummary, *, fmt: str = "table", console: Console = stdout) -> None:
    """The run table (per object format) and the fleet table, as the flow also publishes them.

    csv: the run table; json: the whole summary (objects, totals, fleet) as one object.
    """
    if fmt == "json":
        output.print_record(summary.as_dict(), fmt="json", console=console)
        return
    rows = run_summary_rows(summary)
    if fmt == "csv":
        output.print_rows(SUMMARY_COLUMNS, rows, fmt="csv", console=console)
        return
    table = Table(title=f"load {summary.load_id}: {summary.source} -> {summary.warehouse}",
                  title_justify="left")
    for column in SUMMARY_COLUMNS:
        table.add_column(column, justify="left" if column == "format" else "right", no_wrap=True)
    for row in rows:
        table.add_row(*(f"{v:,}" if isinstance(v, int) else v for v in row),
                      style="bold" if row[0] == "total" else None)
    console.print(table)
    if summary.queries:
        console.print(lake_cost_line(summary.queries))
    console.print(f"{summary.instances_affected:,} instances re-sequenced in history; "
                  f"{len(summary.ignored)} unrelated files ignored; {summary.seconds:.1f} s")
    print_fleet(summary.fleet, console=console)


def lake_cost_line(queries: list[dict[str, Any]]) -> str:
    """`18 Lake queries (0 failed): 52.1 MB scanned, estimated cost $0.0003`."""
    scanned = sum(q.get("bytes_scanned") or 0 for q in queries)
    cost = sum(q.get("estimated_cost_usd") or 0 for q in queries)
    failed = sum(q.get("status") != "FINISHED" for q in queries)
    return (f"{len(queries)} Lake queries ({failed} failed): {scanned / 1e6:,.1f} MB scanned, "
            f"estimated cost ${cost:,.4f}")


FLEET_LABELS = {
    "instances": "managed instances", "compliance_pct": "compliant %",
    "not_recorded": "not recorded (unknown)",
    "missing_critical_patches": "missing critical patches",
    "missing_high_patches": "missing high patches", "rejected_records": "rejected records (all loads)",
}


def print_fleet(fleet: dict[str, Any], *, console: Console = stdout, title: str = "fleet now") -> None:
    table = Table(title=title, title_justify="left")
    for key in FLEET_LABELS:
        table.add_column(FLEET_LABELS[key], justify="right")
    table.add_row(*("-" if fleet.get(k) is None else f"{fleet[k]:,}" if isinstance(fleet[k], int)
                    else str(fleet[k]) for k in FLEET_LABELS))
    console.print(table)


def print_table(rows: list[dict[str, Any]], *, title: str, console: Console = stdout) -> None:
    """A list of dicts as a table (columns from the first row)."""
    if not rows:
        return
    output.print_rows(list(rows[0]), [tuple(r.values()) for r in rows], fmt="table",
                      console=console, title=title)


def print_rows(columns, rows, *, fmt: str, console: Console = stdout, **options) -> None:
    """Rows to stdout as a table (see `patchtrail.output.print_rows`), CSV or JSON lines."""
    output.print_rows(columns, rows, fmt=fmt, console=console, **options)


def print_record(record: dict[str, Any], *, fmt: str, console: Console = stdout, **options) -> None:
    """One record as a key/value table, one CSV row or one JSON object."""
    output.print_record(record, fmt=fmt, console=console, **options)


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
