"""Exceptions of the Lake layer (to move to patchtrail/errors.py): the class says if a retry helps."""

from __future__ import annotations

__all__ = ["InvalidInput", "PatchtrailError", "TransientError"]


class PatchtrailError(Exception):
    """Base of every error patchtrail raises on purpose."""


class TransientError(PatchtrailError):
    """A retry may succeed: throttling, 5xx, a query still running."""


class InvalidInput(PatchtrailError, ValueError):
    """A value given to patchtrail does not have the expected form; retrying cannot help.

    Attributes:
        parameter: name of the offending parameter (`instance_id`, `start`, ...).
        value: the value as given.
        expected: the pattern or rule the value had to satisfy.
    """

    def __init__(self, parameter: str, value: object, expected: str, *, reason: str = "") -> None:
        self.parameter = parameter
        self.value = value
        self.expected = expected
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        detail = f" ({reason})" if reason else ""
        super().__init__(f"{parameter} {shown} does not match {expected}{detail}")
