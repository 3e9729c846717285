"""The one parser of times typed by users (#14): `validate.parse_time`, used by every command
that takes a time; the Lake query guard `utc_timestamp` stays strict."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from patchtrail.errors import InvalidInput
from patchtrail.validate import parse_day, parse_time, utc_timestamp

NOW = datetime(2026, 3, 5, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize("text,expected", [
    ("2026-03-01", datetime(2026, 3, 1, tzinfo=UTC)),
    ("2026-03-01T00:00:00", datetime(2026, 3, 1, tzinfo=UTC)),            # no zone: UTC
    ("2026-03-01T00:00:00Z", datetime(2026, 3, 1, tzinfo=UTC)),
    ("2026-03-01T02:00:00+02:00", datetime(2026, 3, 1, tzinfo=UTC)),       # offsets converted
    ("2026-03-01T05:00-0500", datetime(2026, 3, 1, 10, tzinfo=UTC)),
    ("2026-03-01 00:00:00.123+00", datetime(2026, 3, 1, 0, 0, 0, 123000, tzinfo=UTC)),
    ("2026-04-30 20:13:11.022000+00:00", datetime(2026, 4, 30, 20, 13, 11, 22000, tzinfo=UTC)),
    ("now", NOW), ("today", datetime(2026, 3, 5, tzinfo=UTC)),
    ("yesterday", datetime(2026, 3, 4, tzinfo=UTC)), ("Yesterday", datetime(2026, 3, 4, tzinfo=UTC)),
    ("7d", NOW - timedelta(days=7)), ("24h", NOW - timedelta(hours=24)),
    ("30m", NOW - timedelta(minutes=30)), ("2w", NOW - timedelta(weeks=2)),
    (" 7d ago ", NOW - timedelta(days=7)),
])
def test_parse_time_accepts_every_documented_form(text, expected):
    got = parse_time(text, now=NOW)
    assert got == expected and got.utcoffset() == timedelta(0)


def test_parse_time_takes_datetimes_and_dates():
    assert parse_time(datetime(2026, 3, 1)) == datetime(2026, 3, 1, tzinfo=UTC)
    plus2 = datetime(2026, 3, 1, 2, tzinfo=timezone(timedelta(hours=2)))
    assert parse_time(plus2) == datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_time(date(2026, 3, 1)) == datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_day("yesterday", now=NOW) == date(2026, 3, 4)
    assert parse_day("2026-03-01T23:30:00-02:00") == date(2026, 3, 2)


@pytest.mark.parametrize("text", ["junk", "2026-02-30", "2026-13-01", "2026-03-01T24:00:00Z",
                                  "2026-03-01T00:00:00+25:00", "1 day", "7 days", "-7d",
                                  "2026-03-01T00:00:00Z' or '1'='1", "", "2026-3-1"])
def test_parse_time_refuses_other_text_in_one_line(text):
    with pytest.raises(InvalidInput) as caught:
        parse_time(text, parameter="--as-of", now=NOW)
    message = str(caught.value)
    assert message.startswith("--as-of ") and "\n" not in message
    assert "%Y" not in message and "time data" not in message


def test_the_lake_parser_stays_strict():
    """parse_time is for users; utc_timestamp guards Lake query text and keeps refusing offsets.
    The CLI hands it parse_time's UTC datetimes."""
    with pytest.raises(InvalidInput):
        utc_timestamp("2026-03-01T00:00:00+02:00")
    assert utc_timestamp(parse_time("2026-03-01T02:00:00+02:00")) == datetime(2026, 3, 1, tzinfo=UTC)


