"""CLI commands of the compliance analytics: rebuild, evidence, sla, waivers, policies.

Registered on the main app by `register(app)`. Each command parses its arguments, calls one
library function (patchtrail.analytics) and prints.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from patchtrail import console
from patchtrail.cli.common import (
    Format,
    Limit,
    Quiet,
    TextFormat,
    Warehouse,
    after_run,
    cli_errors,
    open_existing,
    parse_time,
    require_warehouse,
    row_limit,
)
from patchtrail.exit_codes import ExitCode

TIME_FORMS = "2026-03-31, 2026-03-31T12:00:00Z, +02:00 offsets, 7d, yesterday, now"
AsOf = Annotated[str | None, typer.Option(
    "--as-of", help=f"Valid time: status as it stood then ({TIME_FORMS}). Default: the data-as-of "
                    "time (latest capture time in the warehouse).")]
KnownAt = Annotated[str | None, typer.Option(
    "--known-at", help="Recording time: only items the warehouse had received by then "
                       f"({TIME_FORMS}). Default: everything landed.")]
PolicyOption = Annotated[str, typer.Option(
    "--policy", "-p", help="SLA policy: a stored name (pci-dss-4.0, fedramp, internal, or one "
                           "loaded with `policies load`) or a .toml/.yaml policy file.")]
waivers_app = typer.Typer(no_args_is_help=True, help="The waiver register applied to SLA breaches.")
policies_app = typer.Typer(no_args_is_help=True, help="SLA policies: presets and your own.")


def register(app: typer.Typer) -> None:
    """Add the analytics commands to the `patchtrail` app."""
    app.command("rebuild")(rebuild)
    app.command("evidence")(evidence)
    app.command("sla")(sla)
    app.add_typer(waivers_app, name="waivers")
    app.add_typer(policies_app, name="policies")


@cli_errors
def rebuild(
    warehouse: Warehouse = None,
    dry_run: Annotated[bool, typer.Option(help="Show what would be rebuilt; change nothing.")] = False,
    quiet: Quiet = False,
) -> None:
    """Recompute staging, history and marts from landing, in one transaction.

    Landing is never changed; waivers and policies are kept.
    Example: patchtrail rebuild --warehouse patchtrail.duckdb
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from patchtrail.analytics.rebuild import rebuild as rebuild_warehouse

    require_warehouse(warehouse)
    if dry_run:
        con = open_existing(warehouse)
        try:
            from patchtrail.warehouse.status import warehouse_status

            facts = warehouse_status(con)
        finally:
            con.close()
        console.stdout.print(f"would rebuild from {facts['configuration items']} landed items "
                             f"(now {facts['patch observations']} patch observations, "
                             f"{facts['instance versions']} instance versions, "
                             f"{facts['patch versions']} patch versions)")
        return
    progress = Progress("rebuilding", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=console.stderr, disable=quiet or not console.stderr.is_terminal)
    with progress:
        task = progress.add_task("rebuild", total=None)
        summary = rebuild_warehouse(warehouse, on_progress=lambda done, total: progress.update(
            task, completed=done, total=total))
    console.stdout.print(
        f"load {summary.load_id}: rebuilt {summary.items} items -> {summary.patch_observations} "
        f"patch observations, {summary.instances} instances, {summary.instance_versions} instance "
        f"versions, {summary.patch_versions} patch versions in {summary.seconds:.1f} s",
        highlight=False)
    after_run(warehouse)


@cli_errors
def evidence(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the pack (new, empty, or an "
                                                          "earlier pack, which is replaced).")],
    as_of: AsOf = None,
    known_at: KnownAt = None,
    policy: PolicyOption = "internal",
    warehouse: Warehouse = None,
    dry_run: Annotated[bool, typer.Option(help="Check the parameters and the policy, list the "
                                               "files; write nothing.")] = False,
) -> None:
    """Write an audit evidence pack: status as of a time, SLA breaches, SQL, hashes, provenance.

    Data files (CSV + Parquet) are byte-identical when re-run on an unchanged warehouse. Without
    --as-of the pack is as of the data-as-of time, which the manifest records.
    Example: patchtrail evidence --as-of 2026-03-31 --policy pci-dss-4.0 --out evidence/2026-03
    """
    from patchtrail.analytics.evidence import DATASETS, write_evidence
    from patchtrail.analytics.policy import resolve_policy
    from patchtrail.as_of import resolve_as_of

    known = parse_time(known_at, "--known-at")
    con = open_existing(warehouse)
    try:
        moment = resolve_as_of(con, as_of, known_at=known)
        chosen = resolve_policy(con, policy)
    finally:
        con.close()
    if dry_run:
        console.stdout.print(f"would write to {out}: status as of {moment:%Y-%m-%dT%H:%M:%SZ}, "
                             f"policy {chosen.name} ({_thresholds(chosen)})")
        for name, _ in DATASETS:
            console.stdout.print(f"  {name}.csv, {name}.parquet, sql/{name}.sql")
        console.stdout.print("  README.md, SHA256SUMS, manifest.json")
        return
    result = write_evidence(warehouse, out, as_of=moment, known_at=known, policy=policy)
    for name, rows in result.rows.items():
        console.stdout.print(f"{name:<16} {rows:>8} rows")
    console.stdout.print(f"{len(result.files)} files hashed in {out}/SHA256SUMS and manifest.json "
                         f"(check: cd {out} && sha256sum -c SHA256SUMS)")


@cli_errors
def sla(
    as_of: AsOf = None,
    policy: PolicyOption = "internal",
    known_at: KnownAt = None,
    show_all: Annotated[bool, typer.Option("--all", help="Every missing patch the policy covers, "
                                                         "breached or not, waived or not.")] = False,
    fail_on_breach: Annotated[bool, typer.Option(
        "--fail-on-breach", help="Exit 5 when there is at least one breach (not waived): a "
                                 "pipeline gate.")] = False,
    fmt: Format = TextFormat.table,
    limit: Limit = None,
    warehouse: Warehouse = None,
) -> None:
    """List SLA breaches: patches missing longer than the policy allows, not waived.

    The clock starts when a patch is first seen missing. Judged at the data-as-of time unless
    --as-of says otherwise.
    Example: patchtrail sla --policy fedramp --as-of 2026-03-31 --format csv > breaches.csv
    Example: patchtrail sla --policy pci-dss-4.0 --fail-on-breach --format json   (exit 5 on a breach)
    """
    from patchtrail.analytics.sla import sla_report
    from patchtrail.as_of import resolve_as_of

    known = parse_time(known_at, "--known-at")
    con = open_existing(warehouse)
    try:
        moment = resolve_as_of(con, as_of, known_at=known)
        chosen, columns, rows = sla_report(con, as_of=moment, policy=policy, known_at=known,
                                           breaches_only=not show_all)
    finally:
        con.close()
    if show_all:
        breached, waived = columns.index("is_breached"), columns.index("is_waived")
        breaches = sum(1 for r in rows if r[breached] and not r[waived])
    else:
        breaches = len(rows)
    if fmt == "table":
        keep = ["account_id", "aws_region", "instance_id", "patch_id", "state", "sla_severity",
                "first_seen_missing", "days_missing", "max_days", "due_at", "days_overdue"]
        if show_all:
            keep += ["is_breached", "is_waived", "waiver_ids"]
        index = [columns.index(c) for c in keep]
        columns, rows = keep, [tuple(r[i] for i in index) for r in rows]
    console.print_rows(columns, rows, fmt=fmt, limit=row_limit(fmt, limit),
                       noun="covered patch" if show_all else "breach")
    if fmt == "table":  # csv and json stay data only, whichever streams a caller merges
        console.stderr.print(f"policy {chosen.name} ({_thresholds(chosen)}), as of "
                             f"{moment:%Y-%m-%d %H:%M:%S} UTC: {breaches:,} "
                             f"breach{'es' if breaches != 1 else ''}")
    if fail_on_breach and breaches:
        raise typer.Exit(ExitCode.CHECK_FAILED)


@waivers_app.command("load")
@cli_errors
def waivers_load(
    path: Annotated[Path, typer.Argument(help="Waiver register: .toml, .yaml/.yml or .csv.")],
    warehouse: Warehouse = None,
    dry_run: Annotated[bool, typer.Option(help="Check the file and list it; store nothing.")] = False,
) -> None:
    """Replace the waiver register with a file (every waiver: scope, reason, approver, expiry).

    Example: patchtrail waivers load waivers.toml
    """
    from patchtrail.analytics.waivers import load_waiver_file, store_waivers
    from patchtrail.warehouse import apply_schema, connect, transaction

    waivers, digest = load_waiver_file(path)
    if dry_run:
        _print_waivers([(w.waiver_id, w.expires_on, w.approver, w.reason) for w in waivers])
        return
    require_warehouse(warehouse)
    con = connect(warehouse)
    try:
        apply_schema(con)
        with transaction(con):
            count = store_waivers(con, waivers, source=str(path.resolve()), sha256=digest,
                                  loaded_at=datetime.now(UTC))
    finally:
        con.close()
    console.stdout.print(f"{count} waivers loaded from {path} (sha256 {digest[:12]}…)")
    after_run(warehouse)


@waivers_app.command("list")
@cli_errors
def waivers_list(
    as_of: AsOf = None,
    fmt: Format = TextFormat.table,
    limit: Limit = None,
    warehouse: Warehouse = None,
) -> None:
    """Show the waiver register, and which waivers are in force at a time (default: the
    data-as-of time).

    Example: patchtrail waivers list --as-of 2026-03-31
    """
    from patchtrail.as_of import resolve_as_of
    from patchtrail.warehouse import sql

    con = open_existing(warehouse)
    try:
        moment = resolve_as_of(con, as_of)
        relation = sql.query(con, "marts/evidence/waivers", as_of=moment)
        columns, rows = relation.columns, relation.fetchall()
    finally:
        con.close()
    if fmt == "table":
        keep = ["waiver_id", "is_in_force", "expires_on", "instance_id", "patch_id", "cve_id",
                "approver", "reason"]
        index = [columns.index(c) for c in keep]
        columns, rows = keep, [tuple(r[i] for i in index) for r in rows]
    console.print_rows(columns, rows, fmt=fmt, limit=row_limit(fmt, limit), noun="waiver")
    if fmt == "table":
        console.stderr.print(f"in force as of {moment:%Y-%m-%d %H:%M:%S} UTC")


@policies_app.command("list")
@cli_errors
def policies_list(fmt: Format = TextFormat.table, warehouse: Warehouse = None) -> None:
    """Show the stored SLA policies (presets and loaded files) and their thresholds.

    Example: patchtrail policies list
    """
    from patchtrail.warehouse import sql

    con = open_existing(warehouse)
    try:
        rows = sql.query(con, "analytics/policy_thresholds").fetchall()
    finally:
        con.close()
    console.print_rows(["policy", "severity_source", "max_days", "source"], rows, fmt=fmt,
                       noun="policy")


@policies_app.command("load")
@cli_errors
def policies_load(
    path: Annotated[Path, typer.Argument(help="Policy file: .toml or .yaml/.yml.")],
    warehouse: Warehouse = None,
    dry_run: Annotated[bool, typer.Option(help="Check the file and show it; store nothing.")] = False,
) -> None:
    """Store an SLA policy file under its name, for `--policy NAME` and marts.sla_breaches().

    Example: patchtrail policies load acme-policy.toml
    """
    from patchtrail.analytics.policy import load_policy_file, store_policy
    from patchtrail.warehouse import apply_schema, connect, transaction

    require_warehouse(warehouse)
    con = connect(warehouse)
    try:
        apply_schema(con)
        policy = load_policy_file(path, con=con)
        summary = _thresholds(policy)
        if not dry_run:
            with transaction(con):
                store_policy(con, policy)
    finally:
        con.close()
    verb = "would store" if dry_run else "stored"
    console.stdout.print(f"{verb} policy {policy.name} ({policy.severity_source}): {summary}",
                         highlight=False)
    if not dry_run:
        after_run(warehouse)


def _thresholds(policy) -> str:
    from patchtrail.analytics.policy import SEVERITIES

    return ", ".join(f"{s} {policy.max_days[s]} d" for s in SEVERITIES if s in policy.max_days)


def _print_waivers(rows: list[tuple]) -> None:
    console.print_rows(["waiver_id", "expires_on", "approver", "reason"], rows, fmt="table",
                       noun="waiver")
