"""The exit codes of `patchtrail`, and how a run's outcome maps to one.

One table for every command (README "Exit codes" and `patchtrail --help` show it):

    0  success (a run that found nothing new is a success)
    1  a known error: a user mistake or a missing server, reported in one line with a hint
    2  usage error: an unknown option or a bad option value (typer's own)
    3  incomplete: the run could not do what it was asked: nothing found where it was pointed
       (no such path, an empty folder or prefix, no Lake window), or every object it found
       was rejected (nothing readable, every Lake window failed)
    4  --strict: the run landed what it could, but rejected some records or objects
    5  a check failed: `sla --fail-on-breach` found breaches, `status --fail-on-stale` found the
       data older than allowed, `check` found an invariant that does not hold

The decision for an ingest run is `run_outcome(summary)`; flows can raise on the same outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from patchtrail.run import RunSummary


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    INCOMPLETE = 3
    REJECTED = 4
    CHECK_FAILED = 5


#: (code, meaning) as the README and `--help` print them.
TABLE = (
    (ExitCode.OK, "success (also: nothing new to land)"),
    (ExitCode.ERROR, "known error: a user mistake or a missing server (one line + hint)"),
    (ExitCode.USAGE, "usage error: unknown option or bad option value"),
    (ExitCode.INCOMPLETE, "incomplete: nothing found where pointed, or everything found rejected"),
    (ExitCode.REJECTED, "--strict: landed, but some records or objects were rejected"),
    (ExitCode.CHECK_FAILED, "a check failed: sla --fail-on-breach, status --fail-on-stale, check"),
)


@dataclass(frozen=True)
class RunOutcome:
    """What an ingest run achieved, as an exit code and (when not OK) a one-line reason."""

    code: ExitCode
    message: str | None = None


def run_outcome(summary: RunSummary, *, strict: bool = False, asked: str = "") -> RunOutcome:
    """The exit code of an ingest run, derived from its objects only.

    Args:
        summary: the run's summary (`objects` with status landed | rejected | unchanged).
        strict: whether rejected records or objects fail an otherwise useful run (code 4).
        asked: what the run was pointed at, for the message (`under demo-data`, `s3://b/p`).
    No object at all, or every object rejected, is INCOMPLETE whatever `strict` says: the run
    could not do what it was asked. Objects that were all unchanged are a success.
    """
    totals = summary.totals()
    where = f" {asked}" if asked else ""
    if totals["objects_seen"] == 0 and summary.not_found:
        return RunOutcome(ExitCode.INCOMPLETE, f"no such file or folder: {', '.join(summary.not_found)}")
    if totals["objects_seen"] == 0:
        noun = {"lake": "Lake windows to query", "s3": "objects found"}.get(summary.source,
                                                                          "files found")
        return RunOutcome(ExitCode.INCOMPLETE, f"no {noun}{where}")
    if totals["objects_rejected"] == totals["objects_seen"]:
        count = totals["objects_rejected"]
        return RunOutcome(ExitCode.INCOMPLETE,
                          f"nothing readable{where}: {'the' if count == 1 else 'all'} "
                          f"{_count(count, 'object')} rejected "
                          f"(see landing.rejected_records, load {summary.load_id})")
    if strict and summary.rejected_anything:
        return RunOutcome(ExitCode.REJECTED,
                          f"--strict: {_count(totals['objects_rejected'], 'object')} and "
                          f"{_count(totals['items_rejected'], 'record')} rejected "
                          f"(load {summary.load_id})")
    return RunOutcome(ExitCode.OK)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def help_text() -> str:
    """The table as one paragraph line per code, for `--help`."""
    return "Exit codes: " + "; ".join(f"{int(code)} {meaning}" for code, meaning in TABLE) + "."
