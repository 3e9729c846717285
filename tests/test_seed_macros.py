"""The five seed-query macros against a straightforward reference computation on simulator output."""

from __future__ import annotations

import json
from datetime import UTC

import pytest

from patchtrail.devkit.simulator import iter_events, simulate_to_dir
from patchtrail.ingest import ingest_files
from patchtrail.queries import SEED_QUERIES, run_seed_query
from patchtrail.warehouse import connect

FLEET = {"accounts": 2, "regions": 1, "instances": 6, "days": 45, "seed": 11}
STATES = ("Installed", "InstalledOther", "InstalledPendingReboot", "Missing", "Failed")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("seed")
    simulate_to_dir(root / "data", **FLEET)
    wh = root / "w.duckdb"
    ingest_files([root / "data"], warehouse=wh)
    con = connect(wh, read_only=True)
    yield con
    con.close()


def reference_rows():
    """Every simulated PatchCompliance item as the seed query sees it: one row per item with its
    five sorted lists (None when the item has no patch map), eventTime from CloudTrail Lake."""
    rows = []
    for event in iter_events(**FLEET):
        ci = event.ci
        if ci["resourceType"] != "AWS::SSM::PatchCompliance":
            continue
        instance = ci["resourceId"].split("/", 1)[1]
        configuration = ci["configuration"]
        lists = None
        if configuration is not None:
            compliance = configuration["AWS:ComplianceItem"]
            if isinstance(compliance, str):
                compliance = json.loads(compliance)
            patches = [p for k, p in compliance["Content"]["Patch"].items() if k != "ComplianceSummary"]
            lists = tuple(sorted(p["Id"] for p in patches if p["PatchState"] == s) for s in STATES)
        rows.append((ci["awsAccountId"], ci["awsRegion"], instance, event.event_time, lists))
    return rows


def as_rows(result):
    _, rows = result
    return sorted((r[0], r[1], r[2], r[3].astimezone(UTC),
                   None if r[4] is None else tuple(list(x) for x in r[4:9])) for r in rows)


def expected(rows):
    return sorted((a, r, i, t, None if lists is None else tuple(list(x) for x in lists))
                  for a, r, i, t, lists in rows)


def test_all_instances(warehouse):
    ref = [r for r in reference_rows() if r[4] is not None]
    got = as_rows(run_seed_query(warehouse, "ssm-patch-compliance-all-ec2-instances"))
    assert len(got) > 100 and got == expected(ref)


def test_time_range_is_exclusive(warehouse):
    rows = [r for r in reference_rows() if r[4] is not None]
    start, end = rows[10][3], rows[-10][3]  # bounds equal to real eventTimes: both excluded
    ref = [r for r in rows if start < r[3] < end]
    got = as_rows(run_seed_query(warehouse, "ssm-patch-compliance-all-ec2-instances-time-range",
                                 start=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                 end=end.strftime("%Y-%m-%dT%H:%M:%SZ")))
    assert got == expected(ref)
    assert all(start < r[3] < end for r in got)


def test_selected_instance_and_its_time_range(warehouse):
    rows = [r for r in reference_rows() if r[4] is not None]
    instance = rows[0][2]
    mine = [r for r in rows if r[2] == instance]
    got = as_rows(run_seed_query(warehouse, "ssm-patch-compliance-selected-ec2-instance",
                                 instance_id=instance))
    assert got == expected(mine)
    start, end = mine[1][3], mine[-1][3]
    got = as_rows(run_seed_query(warehouse, "ssm-patch-compliance-selected-ec2-instance-time-range",
                                 instance_id=instance, start=start.isoformat(), end=end.isoformat()))
    assert got == expected([r for r in mine if start < r[3] < end])


def test_distinct_latest_keeps_deleted_instances_with_null_lists(warehouse):
    latest = {}
    for row in reference_rows():
        key = row[:3]
        if key not in latest or row[3] > latest[key][3]:
            latest[key] = row
    got = as_rows(run_seed_query(warehouse, "ssm-patch-compliance-distinct-ec2-instance-latest"))
    assert got == expected(latest.values())
    assert any(r[4] is None for r in got), "the simulated fleet should include a deleted instance"


def test_every_seed_query_has_the_seed_columns(warehouse):
    for query in SEED_QUERIES.values():
        kwargs = {}
        if query.needs_instance:
            kwargs["instance_id"] = reference_rows()[0][2]
        if query.needs_range:
            kwargs |= {"start": "2026-01-01", "end": "2027-01-01"}
        columns, _ = run_seed_query(warehouse, query.name, **kwargs)
        assert columns == ["accountId", "awsRegion", "InstanceId", "eventTime", "Installed",
                           "InstalledOther", "InstalledPendingReboot", "Missing", "Failed"]


@pytest.mark.parametrize("kwargs,message", [
    ({"instance_id": "i-1' or '1'='1"}, "does not match"),
    ({"instance_id": "I-0123456789ABCDEF0"}, "does not match"),
    ({"start": "2026-01-01T00:00:00+02:00", "end": "2026-02-01"}, "does not match ISO-8601 UTC"),
    ({"start": "yesterday", "end": "2026-02-01"}, "does not match ISO-8601 UTC"),
])
def test_hostile_parameters_are_refused(warehouse, kwargs, message):
    name = ("ssm-patch-compliance-selected-ec2-instance-time-range"
            if "instance_id" in kwargs else "ssm-patch-compliance-all-ec2-instances-time-range")
    kwargs = {"instance_id": "i-0123456789abcdef0", "start": "2026-01-01", "end": "2026-02-01"} | kwargs
    if "selected" not in name:
        kwargs.pop("instance_id")
    from patchtrail.errors import InvalidInput

    with pytest.raises(InvalidInput, match=message):
        run_seed_query(warehouse, name, **kwargs)


def test_macros_callable_by_analysts_in_sql(warehouse):
    count = warehouse.execute(
        "select count(*) from ssm_patch_compliance_all_ec2_instances_time_range("
        "'2026-01-01 00:00:00+00', '2026-12-31 00:00:00+00')").fetchall()[0][0]
    assert count == len([r for r in reference_rows() if r[4] is not None])
