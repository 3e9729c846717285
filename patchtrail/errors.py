"""The few exception classes of patchtrail; each says whether a retry can help."""

from __future__ import annotations


class PatchtrailError(Exception):
    """Base class: a known failure that the CLI reports in one line."""

    hint: str | None = None


class InvalidInput(PatchtrailError, ValueError):
    """A value given by a user or a file does not match what is expected. Retrying does not help.

    Attributes (set by `mismatch`): parameter, value, expected.
    """

    parameter: str | None = None
    value: object = None
    expected: str | None = None

    @classmethod
    def mismatch(cls, parameter: str, value: object, expected: str, *, reason: str = "") -> InvalidInput:
        """`<parameter> <value> does not match <expected> (<reason>)`, with those as attributes."""
        shown = repr(value)
        if len(shown) > 80:  # cut in the middle: the end of a path or of `file:line` names it
            shown = shown[:38] + "..." + shown[-39:]
        detail = f" ({reason})" if reason else ""
        error = cls(f"{parameter} {shown} does not match {expected}{detail}")
        error.parameter, error.value, error.expected = parameter, value, expected
        return error


class TransientError(PatchtrailError):
    """Throttling, a 5xx, a query still running: retrying later can help."""


class WarehouseBusy(PatchtrailError):
    """Another process holds the warehouse file open for writing."""

    hint = "Another patchtrail run (or a DuckDB client) has the warehouse open; wait for it or use --warehouse."
