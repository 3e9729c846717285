"""Run summaries as Prefect artifacts with stable keys (shared by every flow)."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from patchtrail.console import lake_cost_line
from patchtrail.run import RunSummary


def log_object(logger):
    """An `on_object` callback that logs each object's outcome (never credentials)."""
    def log(r) -> None:
        logger.info("%s %s: %d new, %d duplicate, %d rejected%s", r.status, r.uri, r.landed,
                    r.duplicate, r.rejected, f" ({r.error})" if r.error else "")
    return log


@task(name="publish-summary")
def publish_run_summary(summary: RunSummary, *, key: str) -> None:
    """Artifacts with stable keys: `<key>` (markdown: the run and the fleet), `<key>-objects`
    (table: one row per object read) and `<key>-top-accounts` (table: least compliant accounts)."""
    totals = summary.totals()
    fleet = summary.fleet
    lines = [
        f"# {summary.source} load {summary.load_id}",
        f"Warehouse `{summary.warehouse}`, {summary.seconds:.1f} s.",
        "",
        "| objects | unchanged | rejected objects | items | new | duplicate | skipped | rejected items |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        "| {objects_seen} | {objects_unchanged} | {objects_rejected} | {items_read} | {items_landed} "
        "| {items_duplicate} | {items_skipped} | {items_rejected} |".format(**totals),
        "",
        *([f"CloudTrail Lake: {lake_cost_line(summary.queries)}.", ""] if summary.queries else []),
        "## Fleet now",
        "",
        "| managed instances | compliant % | missing critical | missing high | rejected records |",
        "|---:|---:|---:|---:|---:|",
        f"| {fleet.get('instances')} | {fleet.get('compliance_pct')} | "
        f"{fleet.get('missing_critical_patches')} | {fleet.get('missing_high_patches')} | "
        f"{fleet.get('rejected_records')} |",
    ]
    create_markdown_artifact("\n".join(lines), key=key, description="What this run read and landed")
    rows = [{"uri": o.uri, "format": o.format, "status": o.status, "items": o.read, "new": o.landed,
             "duplicate": o.duplicate, "rejected": o.rejected, "error": o.error or ""}
            for o in summary.objects if o.status != "unchanged"]
    create_table_artifact(rows or [{"uri": "(nothing new)"}], key=f"{key}-objects",
                          description="Objects read by this run")
    create_table_artifact(summary.top_accounts or [{"account_id": "(no non-compliant account)"}],
                          key=f"{key}-top-accounts",
                          description="Least compliant accounts after this run (marts.account_summary)")


@task(name="publish-read-only-copy")
def publish_read_only_copy(warehouse: str) -> str | None:
    """Refresh the published read-only copy for BI tools (when the settings ask for it)."""
    from patchtrail.publish.copy import publish_copy
    from patchtrail.settings import settings

    cfg = settings()
    if not cfg.publish_after_run:
        return None
    return str(publish_copy(warehouse, cfg.published_copy).path)


def finish_flow(summary: RunSummary, warehouse: str, *, strict: bool, asked: str) -> dict:
    """End an ingest flow as the CLI ends a run (patchtrail.exit_codes): publish the read-only
    copy unless the run could not do what it was asked, and fail the flow run whenever the CLI
    would exit non-zero (nothing found, everything rejected, or anything rejected with strict)."""
    from patchtrail.exit_codes import ExitCode, run_outcome

    outcome = run_outcome(summary, strict=strict, asked=asked)
    if outcome.code != ExitCode.INCOMPLETE:
        publish_read_only_copy(warehouse)
    if outcome.code != ExitCode.OK:
        raise RuntimeError(f"{outcome.message} (exit code {int(outcome.code)})")
    return summary.as_dict()
