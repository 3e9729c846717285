"""sql/lake/ files and patchtrail.sources.lake_queries.render: strict checks before any value reaches SQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from patchtrail.constants import LAKE_EXTRACT_COLUMNS
from patchtrail.devkit.lake_emulator.trino import translate
from patchtrail.errors import InvalidInput, PatchtrailError
from patchtrail.sources import lake_queries as queries

EDS = "37382170-182d-42ed-9df9-5aaf0b4b9511"
ARN = f"arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/{EDS}"
SEEDS = (
    "ssm-patch-compliance-all-ec2-instances",
    "ssm-patch-compliance-all-ec2-instances-time-range",
    "ssm-patch-compliance-distinct-ec2-instance-latest",
    "ssm-patch-compliance-selected-ec2-instance",
    "ssm-patch-compliance-selected-ec2-instance-time-range",
)
TIMES = {"start": "2026-03-01T00:00:00Z", "end": "2026-03-31T00:00:00Z"}


def params(name: str) -> dict[str, str]:
    """The parameters each query takes, with valid values."""
    found: dict[str, str] = {}
    if "time-range" in name or name == "extract_patch_compliance":
        found.update(TIMES)
    if "selected" in name:
        found["instance_id"] = "i-0123456789abcdef0"
    return found


def test_list_queries_names_the_extraction_and_the_five_seeds():
    assert queries.list_queries() == sorted(("extract_patch_compliance", *SEEDS))


@pytest.mark.parametrize("name", ["extract_patch_compliance", *SEEDS])
def test_every_query_renders_to_one_translatable_select_without_cte(name):
    sql = queries.render(name, event_data_store=EDS, **params(name))
    assert not re.search(r"\{[a-z_]+\}", sql)
    assert not re.search(r"^\s*with\b", sql, re.I | re.M)
    seen = []
    translate(sql, resolve=lambda ref: seen.append(ref) or "t")
    assert seen == [EDS]


def test_extraction_query_has_the_contract_columns_and_half_open_window():
    sql = queries.render(
        "extract_patch_compliance",
        event_data_store=EDS,
        start="2026-03-31T00:00:00Z",
        end="2026-04-01T00:00:00.250Z",
    )
    aliases = re.findall(r"\bas (\w+),?\n", sql)
    assert aliases == list(LAKE_EXTRACT_COLUMNS)
    assert "eventTime >= '2026-03-31 00:00:00'" in sql
    assert "eventTime < '2026-04-01 00:00:00.250'" in sql
    assert "eventData.resourceType = 'AWS::SSM::PatchCompliance'" in sql
    assert "is not null" not in sql  # ResourceDeleted items are kept


@pytest.mark.parametrize("name", [n for n in SEEDS if "time-range" in n])
def test_seed_time_bounds_are_exclusive_as_in_the_samples(name):
    sql = queries.render(name, event_data_store=EDS, **params(name))
    assert "eventTime > '2026-03-01 00:00:00'" in sql
    assert "eventTime < '2026-03-31 00:00:00'" in sql


def test_arn_is_reduced_to_the_store_id():
    sql = queries.render("ssm-patch-compliance-all-ec2-instances", event_data_store=ARN)
    assert f"from {EDS}\n" in sql
    assert "arn:" not in sql


def test_instance_id_is_rendered_as_a_quoted_literal():
    sql = queries.render(
        "ssm-patch-compliance-selected-ec2-instance",
        event_data_store=EDS,
        instance_id="mi-0123456789abcdef0",
    )
    assert (
        "ManagedInstanceInventory/', '') = 'mi-0123456789abcdef0'" not in sql
    )  # Trino text, untranslated
    assert "= 'mi-0123456789abcdef0'" in sql


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("2026-03-31T00:00:00Z", "'2026-03-31 00:00:00'"),
        ("2026-03-31T00:00:00+00:00", "'2026-03-31 00:00:00'"),
        ("2026-03-31T23:59:59.5Z", "'2026-03-31 23:59:59.500'"),
        ("2026-03-31T23:59:59.123Z", "'2026-03-31 23:59:59.123'"),
        ("2026-03-31T23:59:59.123456Z", "'2026-03-31 23:59:59.123456'"),
        (datetime(2026, 3, 31, 1, 2, 3, tzinfo=UTC), "'2026-03-31 01:02:03'"),
        (
            datetime(2026, 3, 31, 1, 2, 3, 7000, tzinfo=timezone(timedelta(0))),
            "'2026-03-31 01:02:03.007'",
        ),
        (datetime(2026, 3, 31, tzinfo=ZoneInfo("UTC")), "'2026-03-31 00:00:00'"),
    ],
)
def test_timestamps_in_utc_become_lake_literals(value, literal):
    assert queries.timestamp_literal(value) == literal


HOSTILE_STORES = [
    "",
    "x",
    EDS.upper(),
    EDS + "\n",
    " " + EDS,
    EDS + "; drop table x",
    EDS + " --",
    f"{EDS}' or '1'='1",
    EDS.replace("-", "\u2010"),
    EDS.replace("3", "\u0663"),  # hyphen, Arabic 3
    EDS[:-1] + "g",
    "a" * 10000,
    "config_event_data_store_ID",
    f"{ARN}/extra",
    f"{ARN}\n",
    ARN.replace("cloudtrail", "s3"),
    ARN.replace("111122223333", "1111"),
    f"arn:aws:cloudtrail:us-east-1:111122223333:trail/{EDS}",
    "(select 1)",
    None,
    42,
]


@pytest.mark.parametrize("value", HOSTILE_STORES)
def test_hostile_event_data_store_is_refused(value):
    with pytest.raises(InvalidInput) as caught:
        queries.render("ssm-patch-compliance-all-ec2-instances", event_data_store=value)
    assert caught.value.parameter == "event_data_store"
    assert "event_data_store" in str(caught.value) and "[0-9a-f]{8}" in str(caught.value)
    assert len(str(caught.value)) < 400  # long values are truncated in the message


HOSTILE_INSTANCES = [
    "i-123",
    "i-0123456789ABCDEF0",
    "i-0123456789abcdef0'",
    "i-0123456789abcdef0' or '1'='1",
    "i-0123456789abcdef0;",
    "i-0123456789abcdef0--",
    "i-0123456789abcdef0\n",
    "\ni-0123456789abcdef0",
    "i-0123456789abcdef0 ",
    "i-0123456789abcdef",
    "i-0123456789abcdef00",
    "mi-01234567",
    "i\u20100123456789abcdef0",
    "i-0123456789abcdef\u0660",
    "і-0123456789abcdef0",  # Cyrillic i
    "AWS::SSM::ManagedInstanceInventory/i-0123456789abcdef0",
    "x' union select eventJson from y --",
    "i-" + "0" * 5000,
    "",
    None,
    b"i-01234567",
]


@pytest.mark.parametrize("value", HOSTILE_INSTANCES)
def test_hostile_instance_id_is_refused(value):
    with pytest.raises(InvalidInput) as caught:
        queries.render(
            "ssm-patch-compliance-selected-ec2-instance", event_data_store=EDS, instance_id=value
        )
    assert caught.value.parameter == "instance_id"
    assert "i-[0-9a-f]{8}" in caught.value.expected


HOSTILE_TIMES = [
    "2026-03-31T00:00:00",
    "2026-03-31 00:00:00Z",
    "2026-03-31T00:00:00+01:00",
    "2026-03-31T00:00:00-00:00",
    "2026-03-31T00:00:00+0000",
    "2026-03-31T00:00:00z",
    "2026-03-31T00:00:00Z'",
    "2026-03-31T00:00:00Z; drop",
    "2026-03-31T00:00:00Z\n",
    "2026-13-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-03-31T24:00:00Z",
    "2026-03-31T00:00:00.1234567Z",
    "２０２６-03-31T00:00:00Z",
    "2026-03-31T00:00:00\u0396",
    "' or 1=1 --",
    "now()",
    "x" * 10000,
    1774915200,
    datetime(2026, 3, 31),
    datetime(2026, 3, 31, tzinfo=timezone(timedelta(hours=1))),
    datetime(2026, 1, 15, tzinfo=ZoneInfo("Europe/London")),  # offset 0, but not UTC
]


@pytest.mark.parametrize("value", HOSTILE_TIMES)
def test_hostile_timestamp_is_refused(value):
    with pytest.raises(InvalidInput) as caught:
        queries.render(
            "extract_patch_compliance",
            event_data_store=EDS,
            start=value,
            end="2027-01-01T00:00:00Z",
        )
    assert caught.value.parameter == "start"
    assert "ISO-8601 UTC" in str(caught.value)


def test_end_must_follow_start():
    with pytest.raises(InvalidInput, match="end"):
        queries.render(
            "extract_patch_compliance",
            event_data_store=EDS,
            start="2026-03-02T00:00:00Z",
            end="2026-03-02T00:00:00Z",
        )


@pytest.mark.parametrize(
    ("name", "extra", "parameter"),
    [
        ("extract_patch_compliance", {"start": TIMES["start"]}, "end"),
        ("ssm-patch-compliance-all-ec2-instances", {"start": TIMES["start"]}, "start"),
        ("ssm-patch-compliance-all-ec2-instances", {"instance_id": "i-01234567"}, "instance_id"),
        ("ssm-patch-compliance-selected-ec2-instance", {}, "instance_id"),
    ],
)
def test_missing_or_unused_parameters_are_refused(name, extra, parameter):
    with pytest.raises(InvalidInput) as caught:
        queries.render(name, event_data_store=EDS, **extra)
    assert caught.value.parameter == parameter


@pytest.mark.parametrize(
    "name",
    [
        "../STYLE",
        "extract_patch_compliance/..",
        "nope",
        "EXTRACT_PATCH_COMPLIANCE",
        "/etc/passwd",
        "extract_patch_compliance\n",
        "",
    ],
)
def test_unknown_query_names_are_refused(name):
    with pytest.raises(InvalidInput, match="query name"):
        queries.render(name, event_data_store=EDS)


def test_invalid_input_is_a_value_error_and_a_patchtrail_error():
    with pytest.raises(ValueError):
        queries.instance_id_literal("nope")
    assert issubclass(InvalidInput, PatchtrailError)


def test_name_with_sql_suffix_is_accepted():
    assert queries.render("ssm-patch-compliance-all-ec2-instances.sql", event_data_store=EDS)


def test_a_bare_date_is_midnight_utc():
    assert queries.timestamp_literal("2026-03-31") == "'2026-03-31 00:00:00'"
