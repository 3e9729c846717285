"""The extraction query and the five seed queries, run by real boto3 over HTTP against the emulator."""

from __future__ import annotations

import json

import pytest
from lakekit import (
    ACCOUNT,
    BUCKETS,
    HYBRID,
    LINUX,
    OTHER_ACCOUNT,
    WINDOW_END,
    WINDOW_START,
    WINDOWS,
    lake_time,
    run,
    seed_buckets,
    seed_row,
)

from patchtrail.constants import LAKE_EXTRACT_COLUMNS
from patchtrail.sources import lake_queries as queries

pytestmark = pytest.mark.service("lake")


def by_id(events):
    return {e["eventID"]: e for e in events}


def normalised(rows):
    """Seed rows with each bucket array sorted (Trino gives map_values in no particular order)."""
    out = []
    for row in rows:
        row = dict(row)
        for bucket in BUCKETS:
            if bucket in row:
                row[bucket] = sorted(json.loads(row[bucket]))
        out.append(row)
    return sorted(out, key=lambda r: (r["InstanceId"], r["eventTime"], r["accountId"]))


def expected(events, ids):
    return normalised([seed_row(by_id(events)[i]) for i in ids])


def render(name, lake, **params):
    return queries.render(name, event_data_store=lake.store_id, **params)


def test_extraction_returns_every_patch_compliance_item_in_the_half_open_window(
    lake, client, events
):
    described, rows = run(
        client, render("extract_patch_compliance", lake, start=WINDOW_START, end=WINDOW_END)
    )
    assert described["QueryStatus"] == "FINISHED"
    # e1 sits on the start (>= keeps it), e9 on the end (< drops it), e7 is not PatchCompliance.
    assert sorted(r["eventId"] for r in rows) == ["e1", "e2", "e3", "e4", "e5", "e6", "e8"]
    for row in rows:
        event = by_id(events)[row["eventId"]]
        data = event["eventData"]
        assert list(row)[:8] == list(LAKE_EXTRACT_COLUMNS[:8])
        assert row["eventTime"] == lake_time(event["eventTime"])
        assert (row["accountId"], row["awsRegion"], row["resourceId"]) == (
            data["accountId"],
            data["awsRegion"],
            data["resourceId"],
        )
        assert row["ciStatus"] == data["configurationItemStatus"]
        assert row["ciCaptureTime"] == data["configurationItemCaptureTime"]
        assert row["ciStateId"] == str(
            data["configurationStateId"]
        )  # number or string in the event
        if data["configuration"] is None:
            assert "configurationJson" not in row  # NULL cell: omitted
        else:
            assert json.loads(row["configurationJson"]) == data["configuration"]


def test_extraction_keeps_deleted_and_string_encoded_items(lake, client):
    _, rows = run(
        client, render("extract_patch_compliance", lake, start=WINDOW_START, end=WINDOW_END)
    )
    rows = {r["eventId"]: r for r in rows}
    assert rows["e5"]["ciStatus"] == "ResourceDeleted" and "configurationJson" not in rows["e5"]
    item = json.loads(rows["e4"]["configurationJson"])["AWS:ComplianceItem"]
    assert (
        isinstance(item, str)
        and json.loads(item)["Content"]["Patch"]["bash.x86_64"]["Id"] == "bash.x86_64"
    )
    assert rows["e4"]["eventTime"] == "2026-03-03 08:30:00.250"
    assert rows["e2"]["ciStateId"] == "1772445600123"


def test_seed_buckets_worked_out_by_hand():
    from lakekit import standard_events

    events = by_id(standard_events())
    assert seed_buckets(events["e1"]) == {
        "Installed": ["KB1"],
        "InstalledOther": ["KB2"],
        "InstalledPendingReboot": [],
        "Missing": ["KB3"],
        "Failed": [],
    }
    assert seed_buckets(events["e2"]) == {
        "Installed": ["KB1", "KB3"],
        "InstalledOther": [],
        "InstalledPendingReboot": ["KB5"],
        "Missing": [],
        "Failed": ["KB6"],
    }
    assert seed_buckets(events["e4"]) is None  # string-encoded: NULL PatchResult in Trino
    assert seed_buckets(events["e5"]) is None  # deleted: configuration null


def test_seed_all_instances(lake, client, events):
    described, rows = run(client, render("ssm-patch-compliance-all-ec2-instances", lake))
    assert described["QueryStatus"] == "FINISHED"
    assert list(rows[0]) == ["accountId", "awsRegion", "InstanceId", "eventTime", *BUCKETS]
    assert normalised(rows) == expected(events, ["e1", "e2", "e3", "e6", "e8", "e9"])


def test_seed_all_instances_time_range_has_exclusive_bounds(lake, client, events):
    _, rows = run(
        client,
        render(
            "ssm-patch-compliance-all-ec2-instances-time-range",
            lake,
            start=WINDOW_START,
            end=WINDOW_END,
        ),
    )
    assert list(rows[0]) == ["InstanceId", "accountId", "awsRegion", "eventTime", *BUCKETS]
    assert normalised(rows) == expected(events, ["e2", "e3", "e6", "e8"])


def test_seed_selected_instance(lake, client, events):
    _, rows = run(
        client, render("ssm-patch-compliance-selected-ec2-instance", lake, instance_id=WINDOWS)
    )
    assert normalised(rows) == expected(events, ["e1", "e2"])  # e5 (deleted) has no patch map
    _, rows = run(
        client, render("ssm-patch-compliance-selected-ec2-instance", lake, instance_id=HYBRID)
    )
    assert {r["accountId"] for r in rows} == {ACCOUNT, OTHER_ACCOUNT}


def test_seed_selected_instance_time_range(lake, client, events):
    _, rows = run(
        client,
        render(
            "ssm-patch-compliance-selected-ec2-instance-time-range",
            lake,
            instance_id=WINDOWS,
            start=WINDOW_START,
            end=WINDOW_END,
        ),
    )
    assert normalised(rows) == expected(events, ["e2"])
    assert rows[0]["InstalledPendingReboot"] == '["KB5"]'


def test_seed_distinct_latest_keys_on_instance_id_only_and_keeps_ties(lake, client, events):
    _, rows = run(client, render("ssm-patch-compliance-distinct-ec2-instance-latest", lake))
    # Windows: latest is the deletion e5 (bucket cells NULL); Linux: e9; hybrid: e6 and e8 tie
    # on eventTime across two accounts, and rank() keeps both.
    assert normalised(rows) == expected(events, ["e5", "e6", "e8", "e9"])
    deleted = next(r for r in rows if r["InstanceId"] == WINDOWS)
    assert set(deleted) == {"accountId", "awsRegion", "InstanceId", "eventTime"}
    assert {r["InstanceId"] for r in rows} == {WINDOWS, LINUX, HYBRID}
