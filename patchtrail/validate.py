"""Strict checks for values users pass in (ids, times): the injection defence, and the one
parser of times typed by users (`parse_time`).

DuckDB queries also bind these as parameters; CloudTrail Lake queries cannot (StartQuery takes
free SQL), so every value that reaches a Lake query has passed one of these checks first.
Patterns are used with re.fullmatch and spell out ASCII classes, so look-alike characters from
other scripts and trailing newlines never match.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

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


#: What `parse_time` accepts, as its error message says it.
TIME_EXPECTED = ("a date (2026-03-31, midnight UTC), a time (2026-03-31T12:00:00Z; "
                 "no zone = UTC; offsets such as +02:00 are converted), or 7d, 24h, 30m, 2w ago, "
                 "yesterday, today, now")
_TIME = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"(?:[T ](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})"
    r"(?:\.(?P<fraction>[0-9]{1,9}))?)?"
    r" ?(?P<zone>[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?)?")
_AGO = re.compile(r"(?P<n>[0-9]{1,6}) ?(?P<unit>[smhdw])(?: ago)?")
_AGO_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(value: datetime | date | str, *, parameter: str = "time",
               now: datetime | None = None) -> datetime:
    """A time typed by a user (any command's --as-of, --start, --since ...) as an aware UTC datetime.

    Accepts `2026-03-31` (midnight UTC), `2026-03-31T12:00[:00[.ffffff]]` with `T` or a space,
    followed by `Z`, an offset (`+02:00`, `-0500`, `+00`) or nothing (UTC); relative forms
    `90s`, `30m`, `24h`, `7d`, `2w` (ago), `now`, `today` and `yesterday` (midnight UTC); and
    datetime (naive = UTC) or date objects. The result feeds bound parameters, or
    `utc_timestamp` for a Lake query, never query text.

    Args:
        parameter: the option's name, for the message (`--as-of`).
        now: the clock for relative forms (default: the current time).
    Raises:
        InvalidInput: one line naming the option, the value and the accepted forms.
    """
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, str):
        raise InvalidInput.mismatch(parameter, value, TIME_EXPECTED, reason="not a string")
    text = value.strip()
    clock = (now or datetime.now(UTC)).astimezone(UTC)
    midnight = clock.replace(hour=0, minute=0, second=0, microsecond=0)
    named = {"now": clock, "today": midnight, "yesterday": midnight - timedelta(days=1)}
    if text.lower() in named:
        return named[text.lower()]
    ago = _AGO.fullmatch(text)
    if ago:
        return clock - timedelta(**{_AGO_UNITS[ago.group("unit")]: int(ago.group("n"))})
    match = _TIME.fullmatch(text)
    if not match:
        raise _not_a_time(parameter, value)
    fraction = (match.group("fraction") or "")[:6].ljust(6, "0")
    try:
        moment = datetime(*map(int, match.group("date").split("-")), int(match.group("hour") or 0),
                          int(match.group("minute") or 0), int(match.group("second") or 0),
                          int(fraction), tzinfo=_zone(match.group("zone")))
    except ValueError:
        raise InvalidInput(f"{parameter} {value!r} is not a real date or time "
                           "(check the month, day and hour)") from None
    return moment.astimezone(UTC)


def parse_day(value: date | str, *, parameter: str = "date", now: datetime | None = None) -> date:
    """A day typed by a user (`--since`, `simulate --start`): any form `parse_time` takes, as
    its UTC date (`yesterday`, `7d`, `2026-03-01`)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    return parse_time(value, parameter=parameter, now=now).date()


def _zone(text: str | None) -> timezone:
    if text is None or text in ("Z", "z"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(text)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _not_a_time(parameter: str, value: str) -> InvalidInput:
    shown = repr(value) if len(value) <= 60 else repr(value[:57] + "...")
    error = InvalidInput(f"{parameter} {shown} is not a time: use {TIME_EXPECTED}")
    error.parameter, error.value, error.expected = parameter, value, TIME_EXPECTED
    return error
