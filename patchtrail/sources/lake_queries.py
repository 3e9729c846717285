"""Load the CloudTrail Lake query files of sql/lake/ and fill their few values after strict checks.

    from patchtrail.sources import lake_queries
    sql = lake_queries.render("extract_patch_compliance", event_data_store=eds_id_or_arn,
                              start="2026-03-31T00:00:00Z", end="2026-04-01T00:00:00Z")

Only values matching strict patterns reach the text: store id = lowercase UUID (an event data store
ARN is reduced to it), instance id `i-` 8/17 hex or `mi-` 17 hex, times ISO-8601 UTC (`Z` or
`+00:00`, up to 6 fraction digits) or a UTC `datetime`. A parameter the query does not take is
refused too. Anything else raises `InvalidInput` naming the parameter, the value and the pattern.
"""

from __future__ import annotations

import re
from datetime import datetime

from patchtrail import constants
from patchtrail.errors import InvalidInput
from patchtrail.validate import (
    ARN_PATTERN,
    EVENT_DATA_STORE_EXPECTED,
    EVENT_DATA_STORE_PATTERN,
    INSTANCE_ID_PATTERN,
    TIMESTAMP_EXPECTED,
    TIMESTAMP_PATTERN,
    event_data_store_id,
    instance_id,
    utc_timestamp,
)

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

SQL_DIR = constants.SQL_DIR / "lake"

_EXPECTED = {
    "event_data_store": EVENT_DATA_STORE_EXPECTED,
    "instance_id": INSTANCE_ID_PATTERN,
    "start": TIMESTAMP_EXPECTED,
    "end": TIMESTAMP_EXPECTED,
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
        raise InvalidInput.mismatch(
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
            raise InvalidInput.mismatch(
                parameter, value, _EXPECTED[parameter], reason=f"query {name!r} needs it"
            )
        if value is not None and parameter not in needed:
            raise InvalidInput.mismatch(
                parameter, value, "no value", reason=f"query {name!r} does not take {parameter}"
            )
    values: dict[str, str] = {"event_data_store": event_data_store_id(event_data_store)}
    if instance_id is not None:
        values["instance_id"] = instance_id_literal(instance_id)
    if start is not None and end is not None:
        lower, upper = utc_timestamp(start, parameter="start"), utc_timestamp(end, parameter="end")
        if lower >= upper:
            raise InvalidInput.mismatch("end", end, "a time later than start", reason=f"start is {start!r}")
    for parameter in ("start", "end"):
        if given[parameter] is not None:
            values[parameter] = timestamp_literal(given[parameter], parameter=parameter)
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def instance_id_literal(value: str) -> str:
    """The SQL string literal for a checked instance id."""
    return f"'{instance_id(value)}'"


def timestamp_literal(value: datetime | str, *, parameter: str = "timestamp") -> str:
    """The Lake literal `'YYYY-MM-DD HH:MM:SS[.fff]'` for a UTC instant.

    Milliseconds are written when present, microseconds only when finer than a millisecond.
    """
    moment = utc_timestamp(value, parameter=parameter)
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    if moment.microsecond % 1000:
        text += f".{moment.microsecond:06d}"
    elif moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return f"'{text}'"


def _load(name: str) -> str:
    stem = name[:-4] if isinstance(name, str) and name.endswith(".sql") else name
    if not isinstance(stem, str) or not _QUERY_NAME.fullmatch(stem) or stem not in list_queries():
        raise InvalidInput.mismatch("query name", name, "one of " + ", ".join(list_queries()))
    return (SQL_DIR / f"{stem}.sql").read_text(encoding="utf-8")
