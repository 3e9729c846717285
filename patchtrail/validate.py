"""Strict checks for values users pass in (instance ids, times): the injection defence.

DuckDB queries also bind these as parameters; CloudTrail Lake queries cannot, so a value that
reaches a Lake query must have passed one of these checks first.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from patchtrail.errors import InvalidInput

INSTANCE_ID = re.compile(r"^(?:i-(?:[0-9a-f]{8}|[0-9a-f]{17})|mi-[0-9a-f]{17})$")
INSTANCE_ID_TEXT = "i- + 8 or 17 hex digits, or mi- + 17 hex digits"
_UTC_TIMESTAMP = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]00:?00)?)?$"
)
UTC_TIMESTAMP_TEXT = "ISO-8601 UTC, e.g. 2026-03-31 or 2026-03-31T00:00:00Z"


def instance_id(value: str, *, name: str = "instance id") -> str:
    """Return `value` if it is an EC2 (`i-`) or hybrid (`mi-`) managed instance id."""
    if not isinstance(value, str) or not INSTANCE_ID.fullmatch(value):
        raise InvalidInput(f"{name} {_show(value)} does not match {INSTANCE_ID_TEXT}")
    return value


def utc_timestamp(value: str | datetime, *, name: str = "time") -> datetime:
    """Parse an ISO-8601 date or time in UTC (`Z`, `+00:00` or no zone); anything else is refused."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset().total_seconds() != 0:
            raise InvalidInput(f"{name} {value!r} is not a UTC datetime")
        return value.astimezone(UTC)
    if not isinstance(value, str) or not _UTC_TIMESTAMP.fullmatch(value.strip()):
        raise InvalidInput(f"{name} {_show(value)} is not {UTC_TIMESTAMP_TEXT}")
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "...'"
