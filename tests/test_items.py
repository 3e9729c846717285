"""transforms.items: the three dialects, ids, times, shapes, content fingerprints."""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from factories import (
    config_api_ci,
    config_file_ci,
    configuration,
    every_dialect,
    lake_event,
    lake_row,
    patch,
)
from patchtrail.transforms.items import (
    ItemError,
    ci_id_of,
    dialect_of,
    normalise,
    parse_time,
    plausible_time,
)

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
    ("awsAccountId", None, "awsAccountId is missing"),
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
    deleted = lake_row(config_file_ci("2026-04-01T00:00:00.000Z", status="ResourceDeleted"))
    row = lake_row(CI)
    for empty in ("", "null"):
        deleted["configurationJson"] = row["configurationJson"] = empty
        assert normalise(deleted).configuration is None
        with pytest.raises(ItemError, match="configuration is missing"):
            normalise(row)  # an OK item without a configuration is not "no patches"


@pytest.mark.parametrize("text", [
    "2026-03-31T10:15:32.123Z", "2026-03-31T10:15:32.123+00:00", "2026-03-31 10:15:32.123",
    "2026-03-31T12:15:32.123+02:00",
])
def test_times_in_every_spelling_are_utc(text):
    assert parse_time(text, "t") == datetime(2026, 3, 31, 10, 15, 32, 123000, tzinfo=UTC)


def test_epoch_seconds_time():
    assert parse_time(0, "t") == datetime(1970, 1, 1, tzinfo=UTC)


# --- capture and event times (#11) -----------------------------------------------------------

WHEN = datetime(2021, 11, 2, 4, 20, 11, 123000, tzinfo=UTC)


@pytest.mark.parametrize("value", [
    "2021-11-02T04:20:11.123Z", "2021-11-02T04:20:11.123z", "2021-11-02T04:20:11.123+00:00",
    "2021-11-02 04:20:11.123", "2021-11-02T04:20:11.123", "2021-11-01T21:20:11.123-07:00",
    "2021-11-02T04:20:11.123000000Z", "2021-11-02T09:50:11.123+0530",
    1635826811.123, 1635826811123, "1635826811123", "1635826811.123", " 1635826811.123 ",
    datetime(2021, 11, 2, 4, 20, 11, 123000), WHEN,
])
def test_capture_time_in_every_spelling_is_the_same_utc_time(value):
    item = normalise(dict(CI, configurationItemCaptureTime=value))
    assert item.captured_at == WHEN
    assert item.captured_at.tzinfo is UTC


def test_epoch_milliseconds_are_not_read_as_seconds():
    # Read as seconds, 1635826811123 is the year 53807: datetime raised ValueError and the run died.
    assert normalise(dict(CI, configurationItemCaptureTime=1635826811123)).captured_at == WHEN
    assert normalise(config_api_ci(dict(CI, configurationItemCaptureTime=1635826811.123))).captured_at == WHEN


@pytest.mark.parametrize("value", [
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", 10**20, -(10**20), 2**80, 1e300,
    float("inf"), float("nan"), "99999999999999999999",
])
def test_capture_time_out_of_range_is_an_item_error(value):
    with pytest.raises(ItemError, match="configurationItemCaptureTime .*(out of range|not a finite|before 2014)"):
        normalise(dict(CI, configurationItemCaptureTime=value))


@pytest.mark.parametrize("value,reason", [
    ("2013-12-31T23:59:59.999Z", "before 2014-01-01, when AWS Config did not exist"),
    (0, "before 2014-01-01"),
    ("1970-01-01T00:00:00Z", "before 2014-01-01"),
    (True, "is a boolean"),
    ({"t": 1}, "is an object, expected a time"),
    ("\ud800", "not an ISO-8601 time"),
])
def test_impossible_capture_times_are_refused(value, reason):
    with pytest.raises(ItemError, match=reason):
        normalise(dict(CI, configurationItemCaptureTime=value))


def test_capture_time_more_than_a_day_after_now_is_refused():
    now = datetime(2026, 3, 30, 10, 15, 32, 123000, tzinfo=UTC)
    assert normalise(CI, now=now).captured_at == now + timedelta(days=1)  # CI is exactly a day later
    with pytest.raises(ItemError, match="more than a day after the run started"):
        normalise(CI, now=now - timedelta(milliseconds=1))
    far = dict(CI, configurationItemCaptureTime="2999-01-01T00:00:00Z")
    assert normalise(far).captured_at.year == 2999  # now=None skips only the future check
    with pytest.raises(ItemError, match="configurationItemCaptureTime 2999-01-01T00:00:00.000Z is more"):
        normalise(far, now=now)


def test_plausible_time_reads_a_naive_now_as_utc():
    assert plausible_time(WHEN, "t", now=datetime(2021, 11, 1, 4, 20, 11, 123000)) == WHEN


@pytest.mark.parametrize("value,reason", [
    ("yesterday", "eventTime 'yesterday' is not an ISO-8601 time"),
    ("0001-01-01T00:00:00+01:00", "eventTime .* is out of range"),
    ("2001-01-01T00:00:00Z", "eventTime 2001-01-01T00:00:00.000Z is before 2014"),
    ([1], "eventTime is an array"),
])
def test_bad_event_time_is_an_item_error(value, reason):
    event = lake_event(CI)
    event["eventTime"] = value
    with pytest.raises(ItemError, match=reason):
        normalise(event)
    row = lake_row(CI)
    row["eventTime"] = value
    with pytest.raises(ItemError, match=reason):
        normalise(row)


def test_event_time_in_the_future_is_refused_when_now_is_given():
    event = lake_event(CI)
    event["eventTime"] = "2030-01-01T00:00:00Z"
    assert normalise(event).event_time.year == 2030
    with pytest.raises(ItemError, match="eventTime 2030-01-01T00:00:00.000Z is more than a day"):
        normalise(event, now=datetime(2026, 4, 1, tzinfo=UTC))


def test_absent_or_empty_event_time_is_none():
    for value in (None, ""):
        event = lake_event(CI)
        event["eventTime"] = value
        assert normalise(event).event_time is None


# --- state id spellings (#11) -----------------------------------------------------------------

PINNED = "31f3d41ec3cfd25c911ef1cf819ddca3"


@pytest.mark.parametrize("spelling", ["configurationStateId", "configurationStateID",
                                      "configurationItemStateId", "configurationitemstateid"])
def test_every_state_id_spelling_gives_the_same_ci_id(spelling):
    state = CI["configurationStateId"]
    for dialect, payload in every_dialect(CI).items():
        body = payload.get("eventData", payload)
        if "configurationStateId" not in body:
            continue  # lake_row: ciStateId, below
        body[spelling] = body.pop("configurationStateId")
        item = normalise(payload)
        assert (item.state_id, item.ci_id) == (str(state), PINNED), (dialect, spelling)


def test_lake_row_state_id_gives_the_same_ci_id():
    assert normalise(lake_row(CI)).ci_id == PINNED


def test_the_documented_spelling_wins_when_several_are_present():
    event = lake_event(CI)
    event["eventData"]["configurationItemStateId"] = "1"
    assert normalise(event).ci_id == PINNED


def test_state_id_without_any_spelling_is_empty_as_before():
    ci = dict(CI)
    del ci["configurationStateId"]
    assert normalise(ci).state_id == ""


@pytest.mark.parametrize("value,reason", [
    (True, "is a boolean"), ({"a": 1}, "is an object"), (float("inf"), "is not a number"),
    (2**70, "out of range"), ("\udc80", "not valid Unicode"),
])
def test_bad_state_ids_are_item_errors(value, reason):
    with pytest.raises(ItemError, match=f"configurationStateId.*{reason}"):
        normalise(dict(CI, configurationStateId=value))


# --- shapes that are not a patch map (#11) ----------------------------------------------------

def _with(compliance_item):
    return dict(CI, configuration={"AWS:ComplianceItem": compliance_item})


@pytest.mark.parametrize("ci,reason", [
    (dict(CI, configuration=None), "configuration is missing"),
    (dict(CI, configuration="null"), "configuration is null"),
    (dict(CI, configuration=[{"AWS:ComplianceItem": {}}]), "configuration is an array, expected an object"),
    (dict(CI, configuration={}), "configuration has no AWS:ComplianceItem"),
    (_with(None), "configuration has no AWS:ComplianceItem"),
    (_with([1]), "AWS:ComplianceItem is an array, expected an object"),
    (_with("[1]"), "AWS:ComplianceItem is an array, expected an object"),
    (_with("{oops"), "AWS:ComplianceItem is not valid JSON"),
    (_with({"Contents": {}}), "AWS:ComplianceItem has no Content .keys: 'Contents'"),
    (_with({"Content": [{"Patch": {}}]}), "AWS:ComplianceItem.Content is an array, expected an object"),
    (_with({"Content": {"Association": {}}}), "Content has no Patch map .keys: 'Association'"),
    (_with({"Content": {"Patch": None}}), "Content.Patch is not an object .null"),
    (_with({"Content": {"Patch": "[]"}}), "Content.Patch is not an object .a string"),
])
def test_shapes_that_are_not_a_patch_map_are_refused(ci, reason):
    with pytest.raises(ItemError, match=reason):
        normalise(ci)
    if ci["configuration"] is not None and not isinstance(ci["configuration"], str):
        with pytest.raises(ItemError, match=reason):
            normalise(config_api_ci(ci))  # the same, sent as a JSON string


def test_an_empty_patch_map_is_a_valid_map():
    item = normalise(_with({"Content": {"Patch": {}}}))
    assert item.compliance == {"Content": {"Patch": {}}}


@pytest.mark.parametrize("status,deleted,recorded", [
    ("OK", False, True), ("ResourceDiscovered", False, True), ("ResourceDeleted", True, True),
    ("ResourceDeletedNotRecorded", True, True), ("ResourceNotRecorded", False, False),
])
def test_item_status_flags(status, deleted, recorded):
    ci = config_file_ci("2026-04-01T00:00:00.000Z", [patch("KB1")], status=status)
    item = normalise(ci)
    assert (item.is_deleted, item.is_recorded) == (deleted, recorded)
    if status not in ("OK", "ResourceDiscovered"):
        assert item.configuration is item.configuration_json is item.content_sha256 is None


def test_items_without_configuration_ignore_one_that_is_present():
    ci = config_file_ci("2026-04-01T00:00:00.000Z", status="ResourceNotRecorded")
    ci["configuration"] = {"AWS:ComplianceItem": "not even JSON"}
    assert normalise(ci).configuration is None


# --- text fields -------------------------------------------------------------------------------

@pytest.mark.parametrize("field,value,reason", [
    ("awsRegion", {"r": 1}, "awsRegion is an object, expected a string"),
    ("awsRegion", 1.5, "awsRegion is a number, expected a string"),
    ("resourceId", "AWS::SSM::ManagedInstanceInventory/", "names no instance"),
    ("resourceId", "AWS::SSM::ManagedInstanceInventory/i-\ud800", "resourceId is not valid Unicode"),
    ("awsAccountId", "١١١١٢٢٢٢٣٣٣٣", "is not 12 digits"),
    ("awsAccountId", 2**70, "awsAccountId is a number, expected a string"),
    ("configurationItemStatus", ["OK"], "configurationItemStatus is an array"),
])
def test_text_fields_must_be_text(field, value, reason):
    with pytest.raises(ItemError, match=reason):
        normalise(dict(CI, **{field: value}))


@pytest.mark.parametrize("bad,reason", [
    (2**64, "Title is <a 65-bit integer>, beyond 64 bits"),
    ("\ud800", "Title is not valid Unicode text"),
    ({5: "x"}, "Title has a key that is not a string .5"),
    ({"\udc80": "x"}, "Title has a key that is not valid Unicode"),
    (object(), "Title is a object, not a JSON value"),
])
def test_configuration_that_is_not_json_is_an_item_error_naming_where(bad, reason):
    ci = copy.deepcopy(CI)
    ci["configuration"]["AWS:ComplianceItem"]["Content"]["Patch"]["KB1"]["Title"] = bad
    where = "configuration.AWS:ComplianceItem.Content.Patch.KB1."
    with pytest.raises(ItemError, match=f"configuration cannot be written as JSON .{where}{reason}"):
        normalise(ci)


def test_configuration_nested_beyond_orjson_limits_is_an_item_error():
    deep: list = []
    for _ in range(3000):
        deep = [deep]
    ci = copy.deepcopy(CI)
    ci["configuration"]["AWS:ComplianceItem"]["Content"]["Patch"]["KB1"]["Extra"] = deep
    with pytest.raises(ItemError, match="configuration cannot be written as JSON .*nested deeper than 255"):
        normalise(ci)
    with pytest.raises(ItemError, match="configuration is not valid JSON"):
        normalise(config_api_ci(dict(CI, configuration=None)) | {
            "configuration": '{"a":' * 3000 + "1" + "}" * 3000})


# --- content fingerprint (#11) -----------------------------------------------------------------

def test_content_sha256_is_the_same_in_every_dialect():
    as_object = config_file_ci("2026-03-31T10:15:32.123Z", config=configuration([patch("KB1", "Missing")]))
    as_string = config_file_ci("2026-03-31T10:15:32.123Z",
                               config=configuration([patch("KB1", "Missing")], as_string=True))
    digests = {name: normalise(payload).content_sha256
               for ci in (as_object, as_string) for name, payload in every_dialect(ci).items()}
    assert len(set(digests.values())) == 1, digests
    canonical = orjson.dumps(as_object["configuration"], option=orjson.OPT_SORT_KEYS)
    assert set(digests.values()) == {hashlib.sha256(canonical).hexdigest()}


def test_content_sha256_follows_the_content_not_the_key_order():
    ci = config_file_ci("2026-03-31T10:15:32.123Z", [patch("KB1"), patch("KB2", "Missing")])
    shuffled = copy.deepcopy(ci)
    patch_map = shuffled["configuration"]["AWS:ComplianceItem"]["Content"]["Patch"]
    reordered = dict(reversed(list(patch_map.items())))
    shuffled["configuration"]["AWS:ComplianceItem"]["Content"]["Patch"] = reordered
    assert normalise(shuffled).content_sha256 == normalise(ci).content_sha256
    changed = copy.deepcopy(ci)
    changed["configuration"]["AWS:ComplianceItem"]["Content"]["Patch"]["KB1"]["PatchState"] = "Failed"
    assert normalise(changed).ci_id == normalise(ci).ci_id
    assert normalise(changed).content_sha256 != normalise(ci).content_sha256


def test_configuration_json_of_an_object_is_its_canonical_text():
    item = normalise(CI)
    assert item.configuration_json == orjson.dumps(CI["configuration"], option=orjson.OPT_SORT_KEYS)
    assert hashlib.sha256(item.configuration_json).hexdigest() == item.content_sha256
    api = config_api_ci(CI)
    assert normalise(api).configuration_json == api["configuration"].encode()  # raw text as received
