"""The one default "as of" of every surface: the warehouse's data-as-of time.

`patchtrail status`, `sla`, `report`, `evidence` and `waivers list`, the HTML report, and the
Parquet lake and PostgreSQL publications all judge "now" at `data_as_of(con)`: the latest
capture time of any landed item (SQL: `marts.data_as_of()`, which the summary marts use too).
Judging at the wall clock instead would age every open patch past the last data the warehouse
has, and make two surfaces disagree about one warehouse.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb

from patchtrail import validate
from patchtrail.warehouse.connect import scalar


def data_as_of(con: duckdb.DuckDBPyConnection, *, known_at: datetime | None = None) -> datetime:
    """The latest capture time of the items landed (by recording time `known_at`, if given);
    the current time while the warehouse holds none."""
    if known_at is None:
        moment = scalar(con, "select marts.data_as_of()")
    else:
        moment = scalar(con, "select marts.data_as_of(known_at := ?)", [known_at])
    return moment.astimezone(UTC)


def resolve_as_of(con: duckdb.DuckDBPyConnection, value: datetime | date | str | None, *,
                  parameter: str = "--as-of", known_at: datetime | None = None) -> datetime:
    """`value` parsed by `validate.parse_time` (7d, 2026-03-31, ...), or the data-as-of time
    when it is None."""
    if value is None:
        return data_as_of(con, known_at=known_at)
    return validate.parse_time(value, parameter=parameter)
