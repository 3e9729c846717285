"""Strict checks for values users pass in (ids, times): the injection defence.

DuckDB queries also bind these as parameters; CloudTrail Lake queries cannot (StartQuery takes
free SQL), so every value that reaches a Lake query has passed one of these checks first.
Patterns are used with re.fullmatch and spell out ASCII classes, so look-alike characters from
other scripts and trailing newlines never match.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from patchtrail.errors import InvalidInput

INSTANCE_ID_PATTERN = r"i-[0-9a-f]{8}|i-[0-9a-f]{17}|mi-[0-9a-f]{17}"
EVENT_DATA_STORE_PATTERN = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ARN_PATTERN = (
    r"arn:aws(?:-[a-z]+)*:cloudtrail:[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}:[0-9]{12}"
    rf":eventdatastore/(?P<id>{EVENT_DATA_STORE_PATTERN})"
)
TIMESTAMP_PATTERN = (
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})(?:T(?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2})"
    r"(?:\.(?P<fraction>[0-9]{1,6}))?(?:Z|\+00:00))?"
)
TIMESTAMP_EXPECTED = ("ISO-8601 UTC 'YYYY-MM-DDTHH:MM:SS[.ffffff]Z' (or +00:00), a date "
                      "'YYYY-MM-DD' (midnight UTC), or a UTC datetime")
EVENT_DATA_STORE_EXPECTED = f"{EVENT_DATA_STORE_PATTERN} or an event data store ARN"


def instance_id(value: str, *, parameter: str = "instance_id") -> str:
    """Return `value` if it is an EC2 (`i-`) or hybrid (`mi-`) managed instance id."""
    if not isinstance(value, str) or not re.fullmatch(INSTANCE_ID_PATTERN, value):
        raise InvalidInput.mismatch(parameter, value, INSTANCE_ID_PATTERN)
    return value


def event_data_store_id(value: str, *, parameter: str = "event_data_store") -> str:
    """The event data store id for `value`: a lowercase UUID, or the id inside its ARN."""
    if not isinstance(value, str):
        raise InvalidInput.mismatch(parameter, value, EVENT_DATA_STORE_EXPECTED, reason="not a string")
    if re.fullmatch(EVENT_DATA_STORE_PATTERN, value):
        return value
    arn = re.fullmatch(ARN_PATTERN, value)
    if arn:
        return arn.group("id")
    raise InvalidInput.mismatch(parameter, value, EVENT_DATA_STORE_EXPECTED)


def utc_timestamp(value: datetime | str, *, parameter: str = "time") -> datetime:
    """Parse an ISO-8601 UTC time (`Z` or `+00:00`), a bare date (midnight UTC), or a UTC datetime.

    Anything else is refused: no other offsets, no zone-less times, no spaces or extra text.
    Returns an aware UTC datetime.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() != timedelta(0) or value.tzname() not in (
                "UTC", "UTC+00:00"):
            raise InvalidInput.mismatch(parameter, value, TIMESTAMP_EXPECTED, reason="datetime is not UTC")
        return value.astimezone(UTC)
    if not isinstance(value, str):
        raise InvalidInput.mismatch(parameter, value, TIMESTAMP_EXPECTED, reason="not a string or datetime")
    match = re.fullmatch(TIMESTAMP_PATTERN, value)
    if not match:
        raise InvalidInput.mismatch(parameter, value, TIMESTAMP_EXPECTED)
    fraction = (match.group("fraction") or "").ljust(6, "0")
    try:
        moment = datetime.strptime(f"{match.group('date')} {match.group('time') or '00:00:00'}",
                                   "%Y-%m-%d %H:%M:%S")
    except ValueError as exc:
        raise InvalidInput.mismatch(parameter, value, TIMESTAMP_EXPECTED, reason=str(exc)) from None
    return moment.replace(microsecond=int(fraction), tzinfo=UTC)


_DURATION = re.compile(r"(?P<n>[0-9]{1,6})(?P<unit>[smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def duration(value: str, *, parameter: str = "duration") -> timedelta:
    """`90s`, `30m`, `6h`, `1d` -> a timedelta."""
    match = re.fullmatch(_DURATION, value.strip()) if isinstance(value, str) else None
    if not match:
        raise InvalidInput.mismatch(parameter, value, "a number followed by s, m, h or d (e.g. 6h, 1d)")
    return timedelta(**{_UNITS[match.group("unit")]: int(match.group("n"))})
