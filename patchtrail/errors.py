"""The few exception classes of patchtrail; each says whether a retry can help."""


class PatchtrailError(Exception):
    """Base class: a known failure that the CLI reports in one line."""

    hint: str | None = None


class InvalidInput(PatchtrailError, ValueError):
    """A value given by a user or a file does not match what is expected. Retrying does not help."""


class TransientError(PatchtrailError):
    """Throttling, a 5xx, a query still running: retrying later can help."""


class WarehouseBusy(PatchtrailError):
    """Another process holds the warehouse file open for writing."""

    hint = "Another patchtrail run (or a DuckDB client) has the warehouse open; wait for it or use --warehouse."
