"""transforms.items: the three dialects, ids, times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from factories import config_api_ci, config_file_ci, lake_event, lake_row, patch

from transforms.items import ItemError, ci_id_of, dialect_of, normalise, parse_time

CI = config_file_ci("2026-03-31T10:15:32.123Z", [patch("KB1", "Missing")])


def test_dialects_are_detected():
    assert dialect_of(CI) == "config_file"
    assert dialect_of(lake_event(CI)) == "lake_event"
    assert dialect_of(lake_row(CI)) == "lake_row"
    assert dialect_of(config_api_ci(CI)) == "config_api"


def test_one_item_has_one_ci_id_in_every_dialect():
    ids = {normalise(p).ci_id for p in (CI, lake_event(CI), lake_row(CI), config_api_ci(CI))}
    assert len(ids) == 1


def test_ci_id_is_pinned():
    # Users keep ci_id: if this changes, fix the code, not the test.
    assert normalise(CI).ci_id == ci_id_of(
        "111122223333", "us-east-1", "AWS::SSM::ManagedInstanceInventory/i-0a1b2c3d4e5f67890",
        datetime(2026, 3, 31, 10, 15, 32, 123000, tzinfo=UTC), "OK", "1774952132123")
    assert normalise(CI).ci_id == "31f3d41ec3cfd25c911ef1cf819ddca3"


def test_normal_fields_from_a_lake_event():
    item = normalise(lake_event(CI, event_id="e-1"))
    assert item.account_id == "111122223333"
    assert item.instance_id == "i-0a1b2c3d4e5f67890"
    assert item.captured_at == datetime(2026, 3, 31, 10, 15, 32, 123000, tzinfo=UTC)
    assert item.state_id == "1774952132123"
    assert item.event_id == "e-1"
    assert item.event_time == datetime(2026, 3, 31, 10, 15, 32, tzinfo=UTC)
    assert item.configuration["AWS:ComplianceItem"]["Content"]["Patch"]["KB1"]["PatchState"] == "Missing"


def test_config_api_configuration_string_is_decoded():
    item = normalise(config_api_ci(CI))
    assert isinstance(item.configuration, dict)
    assert item.configuration_json.startswith(b"{")


def test_state_id_number_or_string_or_float_is_the_same():
    for value in (1774952132123, "1774952132123", 1774952132123.0, " 1774952132123 "):
        ci = dict(CI, configurationStateId=value)
        assert normalise(ci).state_id == "1774952132123"


def test_deletion_has_no_configuration():
    deleted = config_file_ci("2026-04-01T00:00:00.000Z", status="ResourceDeleted")
    item = normalise(deleted)
    assert item.is_deleted and item.configuration is None and item.configuration_json is None
    assert normalise(lake_row(deleted)).configuration is None


@pytest.mark.parametrize("field,value,reason", [
    ("awsAccountId", None, "accountId is missing"),
    ("awsAccountId", "12345", "is not 12 digits"),
    ("awsRegion", "", "awsRegion is missing"),
    ("resourceId", None, "resourceId is missing"),
    ("configurationItemCaptureTime", "yesterday", "not an ISO-8601 time"),
    ("configurationItemCaptureTime", None, "configurationItemCaptureTime is missing"),
    ("configurationItemStatus", "Gone", "configurationItemStatus 'Gone'"),
    ("configuration", "{not json", "configuration is not valid JSON"),
    ("configuration", [1, 2], "expected an object"),
])
def test_bad_items_are_refused_with_the_field_named(field, value, reason):
    with pytest.raises(ItemError, match=reason):
        normalise(dict(CI, **{field: value}))


def test_lake_row_with_empty_or_null_configuration_json():
    row = lake_row(CI)
    for empty in ("", "null"):
        row["configurationJson"] = empty
        assert normalise(row).configuration is None


@pytest.mark.parametrize("text", [
    "2026-03-31T10:15:32.123Z", "2026-03-31T10:15:32.123+00:00", "2026-03-31 10:15:32.123",
    "2026-03-31T12:15:32.123+02:00",
])
def test_times_in_every_spelling_are_utc(text):
    assert parse_time(text, "t") == datetime(2026, 3, 31, 10, 15, 32, 123000, tzinfo=UTC)


def test_epoch_seconds_time():
    assert parse_time(0, "t") == datetime(1970, 1, 1, tzinfo=UTC)
