"""Pure pieces behind the CLI's behaviour (#14): the run outcome (exit code), the table cells
and the progress counter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from patchtrail.exit_codes import ExitCode, run_outcome
from patchtrail.output import cell, plural, rows_note
from patchtrail.run import ObjectResult, RunSummary

NOW = datetime(2026, 3, 5, 10, 30, tzinfo=UTC)


def _summary(*statuses: str, source: str = "file") -> RunSummary:
    summary = RunSummary(load_id=7, source=source, warehouse="w.duckdb", started_at=NOW)
    summary.objects = [ObjectResult(uri=f"o{i}", format="lake_query" if source == "lake" else "x",
                                    status=s, rejected=0) for i, s in enumerate(statuses)]
    return summary


def test_run_outcome_from_the_objects():
    assert run_outcome(_summary("landed", "unchanged")).code == ExitCode.OK
    assert run_outcome(_summary("unchanged", "unchanged")).code == ExitCode.OK
    nothing = run_outcome(_summary(), asked="under /data")
    assert nothing.code == ExitCode.INCOMPLETE and nothing.message == "no files found under /data"
    assert run_outcome(_summary(source="s3"), asked="under s3://b/p").message == \
        "no objects found under s3://b/p"
    assert run_outcome(_summary("rejected")).code == ExitCode.INCOMPLETE
    assert run_outcome(_summary("landed", "rejected")).code == ExitCode.OK
    assert run_outcome(_summary("landed", "rejected"), strict=True).code == ExitCode.REJECTED
    assert run_outcome(_summary("rejected", "rejected"), strict=True).code == ExitCode.INCOMPLETE


def test_every_lake_window_failed_is_incomplete():
    outcome = run_outcome(_summary("rejected", "rejected", "rejected", source="lake"),
                          asked="in 0a1b2c3d-4e5f-6789-abcd-ef0123456789")
    assert outcome.code == ExitCode.INCOMPLETE and "all 3 objects rejected" in outcome.message
    assert run_outcome(_summary(source="lake")).message == "no Lake windows to query"


def test_records_rejected_inside_a_landed_object_fail_strict_only():
    summary = _summary("landed")
    summary.objects[0].rejected = 2
    assert run_outcome(summary).code == ExitCode.OK
    outcome = run_outcome(summary, strict=True)
    assert outcome.code == ExitCode.REJECTED and "2 records rejected" in outcome.message


def test_cells_are_compact_and_whole():
    assert cell(["KB1", "KB2", "KB3", "KB4"]) == "KB1, KB2 +2 more"
    assert cell(["KB1"]) == "KB1" and cell([]) == "" and cell(None) == ""
    assert cell("i-0408298952f6e7aa8") == "i-0408298952f6e7aa8"
    assert cell(datetime(2026, 3, 1, 2, tzinfo=timezone(timedelta(hours=2)))) == "2026-03-01 00:00:00Z"
    assert cell(12.5) == "12.5" and cell(3.0) == "3" and cell(True) == "true"
    assert plural(1) == "1 row" and plural(2) == "2 rows" and plural(12345) == "12,345 rows"
    assert plural(2, "breach") == "2 breaches" and plural(3, "policy") == "3 policies"
    assert rows_note(5, 5) == "5 rows"
    assert rows_note(100, 82709).startswith("100 of 82,709 rows shown (82,609 left out)")


def test_progress_counts_new_items_over_the_run():
    from patchtrail.console import object_progress

    with object_progress("landing", quiet=True) as callbacks:
        on_listed, on_object = callbacks
        on_listed(3, 2_000_000)
        for landed in (5, 0, 7):
            on_object(ObjectResult(uri="x", format="config_delivery", status="landed", landed=landed))
    assert callbacks.objects == 3 and callbacks.detail == "12 new items"


def test_a_long_value_in_an_error_keeps_its_end_the_file_and_line():
    from patchtrail.errors import InvalidInput

    where = "/tmp/" + "deep/" * 30 + "events.ndjson:2"
    message = str(InvalidInput.mismatch("event", where, "one JSON object per line"))
    assert "events.ndjson:2'" in message and message.startswith("event '/tmp/deep/") and len(message) < 140


def test_piped_lines_are_never_wrapped_but_tables_keep_their_width():
    import io

    from rich.table import Table

    from patchtrail.console import _console

    out = io.StringIO()
    console = _console(file=out)
    path = "/tmp/" + "x" * 300 + "/p.csv"
    console.print(f"{path}: 217 rows")
    table = Table("name")
    table.add_row("y" * 400)
    console.print(table)
    first, *table_lines = out.getvalue().splitlines()
    assert first == f"{path}: 217 rows"
    assert max(len(line) for line in table_lines) <= 160
