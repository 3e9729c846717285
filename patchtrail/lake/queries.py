"""Load the CloudTrail Lake query files of sql/lake/ and fill their few values after strict checks."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

from patchtrail.lake.errors import InvalidInput

__all__ = [
    "ARN_PATTERN",
    "EVENT_DATA_STORE_PATTERN",
    "INSTANCE_ID_PATTERN",
    "SQL_DIR",
    "TIMESTAMP_PATTERN",
    "event_data_store_id",
    "instance_id_literal",
    "list_queries",
    "render",
    "timestamp_literal",
]

SQL_DIR = Path(__file__).resolve().parents[2] / "sql" / "lake"

# Patterns are used with re.fullmatch (no trailing-newline loophole) and spell out ASCII classes,
# so look-alike digits and letters from other scripts never match.
EVENT_DATA_STORE_PATTERN = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ARN_PATTERN = (
    r"arn:aws(?:-[a-z]+)*:cloudtrail:[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}:[0-9]{12}"
    rf":eventdatastore/(?P<id>{EVENT_DATA_STORE_PATTERN})"
)
INSTANCE_ID_PATTERN = r"i-[0-9a-f]{8}|i-[0-9a-f]{17}|mi-[0-9a-f]{17}"
TIMESTAMP_PATTERN = (
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})T(?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2})"
    r"(?:\.(?P<fraction>[0-9]{1,6}))?(?:Z|\+00:00)"
)
_TIMESTAMP_EXPECTED = "ISO-8601 UTC 'YYYY-MM-DDTHH:MM:SS[.ffffff]Z' (or +00:00), or a UTC datetime"
_EXPECTED = {
    "event_data_store": f"{EVENT_DATA_STORE_PATTERN} or an event data store ARN",
    "instance_id": INSTANCE_ID_PATTERN,
    "start": _TIMESTAMP_EXPECTED,
    "end": _TIMESTAMP_EXPECTED,
}
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_PARAMETERS = ("event_data_store", "instance_id", "start", "end")
_QUERY_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,100}")


def list_queries() -> list[str]:
    """Names of the query files in sql/lake/ (without `.sql`), sorted."""
    return sorted(p.stem for p in SQL_DIR.glob("*.sql") if _QUERY_NAME.fullmatch(p.stem))


def render(
    name: str,
    *,
    event_data_store: str,
    instance_id: str | None = None,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
) -> str:
    """Return the Trino text of query `name` with its placeholders filled.

    Every value is checked against a strict pattern first; nothing unchecked reaches the text.
    A value the query does not use is refused too, so a forgotten time range cannot pass silently.

    Args:
        name: a name from `list_queries()` (a trailing `.sql` is accepted).
        event_data_store: the store id (lowercase UUID) or its full ARN (reduced to the id).
        instance_id: `i-` (8 or 17 hex) or `mi-` (17 hex) id, for the selected-instance queries.
        start: inclusive or exclusive lower bound, as the query file says; ISO-8601 UTC or datetime.
        end: upper bound (exclusive), same forms as `start`; must be later than `start`.

    Raises:
        InvalidInput: unknown query name, malformed value, missing or unused parameter.
    """
    text = _load(name)
    needed = set(_PLACEHOLDER.findall(text))
    unknown = needed.difference(_PARAMETERS)
    if unknown:
        raise InvalidInput(
            "query file",
            name,
            "placeholders " + ", ".join(_PARAMETERS),
            reason=f"unknown placeholder {sorted(unknown)[0]!r}",
        )
    given = {
        "event_data_store": event_data_store,
        "instance_id": instance_id,
        "start": start,
        "end": end,
    }
    for parameter, value in given.items():
        if value is None and parameter in needed:
            raise InvalidInput(
                parameter, value, _EXPECTED[parameter], reason=f"query {name!r} needs it"
            )
        if value is not None and parameter not in needed:
            raise InvalidInput(
                parameter, value, "no value", reason=f"query {name!r} does not take {parameter}"
            )
    values: dict[str, str] = {"event_data_store": event_data_store_id(event_data_store)}
    if instance_id is not None:
        values["instance_id"] = instance_id_literal(instance_id)
    if start is not None and end is not None:
        lower, upper = _utc_datetime("start", start), _utc_datetime("end", end)
        if lower >= upper:
            raise InvalidInput("end", end, "a time later than start", reason=f"start is {start!r}")
    for parameter in ("start", "end"):
        if given[parameter] is not None:
            values[parameter] = timestamp_literal(given[parameter], parameter=parameter)
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def event_data_store_id(value: str) -> str:
    """The event data store id for `value`: a lowercase UUID, or an event data store ARN's id."""
    expected = _EXPECTED["event_data_store"]
    if not isinstance(value, str):
        raise InvalidInput("event_data_store", value, expected, reason="not a string")
    if re.fullmatch(EVENT_DATA_STORE_PATTERN, value):
        return value
    arn = re.fullmatch(ARN_PATTERN, value)
    if arn:
        return arn.group("id")
    raise InvalidInput("event_data_store", value, expected)


def instance_id_literal(value: str) -> str:
    """The SQL string literal for a checked instance id."""
    if not isinstance(value, str) or not re.fullmatch(INSTANCE_ID_PATTERN, value):
        raise InvalidInput("instance_id", value, INSTANCE_ID_PATTERN)
    return f"'{value}'"


def timestamp_literal(value: datetime | str, *, parameter: str = "timestamp") -> str:
    """The Lake literal `'YYYY-MM-DD HH:MM:SS[.fff]'` for a UTC instant.

    Milliseconds are written when present, microseconds only when finer than a millisecond.
    """
    moment = _utc_datetime(parameter, value)
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    if moment.microsecond % 1000:
        text += f".{moment.microsecond:06d}"
    elif moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return f"'{text}'"


def _utc_datetime(parameter: str, value: datetime | str) -> datetime:
    if isinstance(value, datetime):
        offset = value.utcoffset()
        if (
            value.tzinfo is None
            or offset != timedelta(0)
            or value.tzname() not in ("UTC", "UTC+00:00")
        ):
            raise InvalidInput(parameter, value, _TIMESTAMP_EXPECTED, reason="datetime is not UTC")
        return value.replace(tzinfo=None)
    if not isinstance(value, str):
        raise InvalidInput(parameter, value, _TIMESTAMP_EXPECTED, reason="not a string or datetime")
    match = re.fullmatch(TIMESTAMP_PATTERN, value)
    if not match:
        raise InvalidInput(parameter, value, _TIMESTAMP_EXPECTED)
    fraction = (match.group("fraction") or "").ljust(6, "0")
    try:
        moment = datetime.strptime(
            f"{match.group('date')} {match.group('time')}", "%Y-%m-%d %H:%M:%S"
        )
    except ValueError as exc:
        raise InvalidInput(parameter, value, _TIMESTAMP_EXPECTED, reason=str(exc)) from None
    return moment.replace(microsecond=int(fraction))


def _load(name: str) -> str:
    stem = name[:-4] if isinstance(name, str) and name.endswith(".sql") else name
    if not isinstance(stem, str) or not _QUERY_NAME.fullmatch(stem) or stem not in list_queries():
        raise InvalidInput("query name", name, "one of " + ", ".join(list_queries()))
    return (SQL_DIR / f"{stem}.sql").read_text(encoding="utf-8")
