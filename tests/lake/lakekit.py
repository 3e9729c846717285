"""Test kit for the Lake tests: a §1.3-shaped event factory, the fixed event set, polling helpers."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
PREFIX = "AWS::SSM::ManagedInstanceInventory/"
WINDOWS = "i-0a1b2c3d4e5f67890"
LINUX = "i-0123456789abcdef0"
HYBRID = "mi-0123456789abcdef0"
WINDOW_START = "2026-03-01T10:00:00Z"  # equal to e1's eventTime: in for >=, out for >
WINDOW_END = "2026-03-04T00:00:00Z"  # equal to e9's eventTime: out for <

_COMPLIANCE = {
    "Installed": "COMPLIANT",
    "InstalledOther": "COMPLIANT",
    "Missing": "NON_COMPLIANT",
    "Failed": "NON_COMPLIANT",
    "InstalledPendingReboot": "NON_COMPLIANT",
    "NotApplicable": "",
}


def patch(patch_id: str, state: str, **extra: Any) -> dict[str, Any]:
    """One per-patch object (§2.2); Windows NotApplicable items get Status ""."""
    item = {
        "Id": patch_id,
        "Title": f"title of {patch_id}",
        "Status": _COMPLIANCE[state],
        "Severity": "UNSPECIFIED",
        "PatchState": state,
        "PatchSeverity": "",
        "Classification": "",
        "InstalledTime": "",
        "PatchBaselineId": "pb-0c5b2769ef7cbe587",
        "PatchGroup": "",
    }
    item.update(extra)
    return item


def make_event(
    event_id: str,
    event_time: str,
    instance_id: str,
    *,
    patches: list[dict] | None = None,
    status: str = "OK",
    account: str = ACCOUNT,
    region: str = "us-east-1",
    item_as_string: bool = False,
    resource_type: str = "AWS::SSM::PatchCompliance",
    state_id_as_number: bool = False,
) -> dict[str, Any]:
    """A CloudTrail Lake event carrying one configuration item, shaped as aws-formats.md §1.3."""
    capture = event_time.replace("Z", ".123Z") if "." not in event_time else event_time
    state_id = int(datetime.fromisoformat(capture).timestamp() * 1000)
    configuration: Any = None
    if status == "OK":
        content = {
            "ComplianceSummary": {
                "ComplianceType": "Patch",
                "ExecutionType": "Command",
                "Status": "NON_COMPLIANT",
                "OverallSeverity": "CRITICAL",
                "CompliantCriticalCount": 0,
                "NonCompliantCriticalCount": 1,
            }
        }
        content.update({p["Id"]: p for p in patches or []})
        item: Any = {"Content": {"Patch": content}}
        configuration = {"AWS:ComplianceItem": json.dumps(item) if item_as_string else item}
    return {
        "eventVersion": "1.0",
        "eventCategory": "ConfigurationItem",
        "eventType": "AwsConfigurationItem",
        "eventID": event_id,
        "eventTime": event_time,
        "awsRegion": region,
        "recipientAccountId": account,
        "eventData": {
            "configurationItemVersion": "1.3",
            "configurationItemCaptureTime": capture,
            "configurationItemStatus": status,
            "configurationStateId": state_id if state_id_as_number else str(state_id),
            "accountId": account,
            "resourceType": resource_type,
            "resourceId": (PREFIX + instance_id)
            if resource_type == "AWS::SSM::PatchCompliance"
            else instance_id,
            "resourceName": None,
            "arn": None,
            "awsRegion": region,
            "availabilityZone": None,
            "resourceCreationTime": None,
            "configuration": configuration,
            "supplementaryConfiguration": {},
            "relatedEvents": [],
            "relationships": [],
            "tags": {},
        },
    }


def standard_events() -> list[dict[str, Any]]:
    """The fixed event set the expected values in the tests are worked out from."""
    return [
        make_event(
            "e1",
            "2026-03-01T10:00:00Z",
            WINDOWS,
            patches=[
                patch("KB1", "Installed", InstalledTime="2026-02-01T00:00:00Z"),
                patch("KB2", "InstalledOther", Title=""),
                patch("KB3", "Missing"),
                patch("KB4", "NotApplicable", Title=""),
            ],
        ),
        make_event(
            "e2",
            "2026-03-02T10:00:00Z",
            WINDOWS,
            state_id_as_number=True,
            patches=[
                patch("KB1", "Installed"),
                patch("KB3", "Installed"),
                patch("KB5", "InstalledPendingReboot"),
                patch("KB6", "Failed"),
            ],
        ),
        make_event(
            "e3",
            "2026-03-01T12:00:00Z",
            LINUX,
            patches=[
                patch("kernel.x86_64", "Missing", CVEIds="CVE-2026-0001,CVE-2026-0002"),
                patch("openssl.x86_64", "Installed"),
            ],
        ),
        make_event(
            "e4",
            "2026-03-03T08:30:00.250Z",
            LINUX,
            item_as_string=True,
            patches=[patch("bash.x86_64", "Installed")],
        ),
        make_event("e5", "2026-03-03T20:00:00Z", WINDOWS, status="ResourceDeleted"),
        make_event(
            "e6",
            "2026-03-02T00:00:00Z",
            HYBRID,
            account=OTHER_ACCOUNT,
            region="eu-west-1",
            patches=[patch("zlib.x86_64", "Missing")],
        ),
        make_event("e7", "2026-03-02T05:00:00Z", WINDOWS, resource_type="AWS::EC2::Instance"),
        make_event(
            "e8", "2026-03-02T00:00:00Z", HYBRID, patches=[patch("zlib.x86_64", "Installed")]
        ),
        make_event(
            "e9",
            "2026-03-04T00:00:00Z",
            LINUX,
            patches=[patch("kernel.x86_64", "Installed"), patch("openssl.x86_64", "Installed")],
        ),
    ]


def wait(
    client: Any,
    query_id: str,
    *,
    timeout: float = 10.0,
    until: Callable[[dict], bool] | None = None,
) -> dict[str, Any]:
    """Poll DescribeQuery until the query is terminal (and `until` holds); return the last reply."""
    deadline = time.monotonic() + timeout
    while True:
        reply = client.describe_query(QueryId=query_id)
        done = reply["QueryStatus"] not in ("QUEUED", "RUNNING")
        if done and (until is None or until(reply)):
            return reply
        if time.monotonic() > deadline:
            raise AssertionError(f"query {query_id} still {reply['QueryStatus']} after {timeout}s")
        time.sleep(0.01)


def rows_of(client: Any, query_id: str, *, page_size: int | None = None) -> list[dict[str, str]]:
    """All result rows of a finished query, each merged into one dict (NULL cells absent)."""
    rows, token = [], None
    while True:
        kwargs: dict[str, Any] = {"QueryId": query_id}
        if page_size:
            kwargs["MaxQueryResults"] = page_size
        if token:
            kwargs["NextToken"] = token
        reply = client.get_query_results(**kwargs)
        rows += [
            {k: v for cell in row for k, v in cell.items()} for row in reply["QueryResultRows"]
        ]
        token = reply.get("NextToken")
        if not token:
            return rows


def run(client: Any, statement: str, **kwargs: Any) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Start `statement`, wait for the end, return (DescribeQuery reply, rows)."""
    query_id = client.start_query(QueryStatement=statement, **kwargs)["QueryId"]
    described = wait(client, query_id)
    return described, rows_of(client, query_id)


def error_code(exc_info: pytest.ExceptionInfo[ClientError]) -> str:
    return exc_info.value.response["Error"]["Code"]


BUCKETS = ("Installed", "InstalledOther", "InstalledPendingReboot", "Missing", "Failed")


def seed_buckets(event: dict[str, Any]) -> dict[str, list[str]] | None:
    """What the seed queries compute for one event, worked out in Python with Trino's rules:
    json_extract does not descend into a string, so a string-encoded AWS:ComplianceItem (like a
    null configuration) gives a NULL patch map; ComplianceSummary has no PatchState, so no bucket."""
    configuration = event["eventData"]["configuration"]
    item = configuration.get("AWS:ComplianceItem") if isinstance(configuration, dict) else None
    if not isinstance(item, dict):
        return None
    values = list(item["Content"]["Patch"].values())
    return {b: [v["Id"] for v in values if v.get("PatchState") == b] for b in BUCKETS}


def seed_row(event: dict[str, Any]) -> dict[str, str]:
    """Expected API row of a seed query for `event` (array cells as JSON text, NULL cells absent)."""
    data = event["eventData"]
    row = {
        "accountId": data["accountId"],
        "awsRegion": data["awsRegion"],
        "InstanceId": data["resourceId"].removeprefix(PREFIX),
        "eventTime": lake_time(event["eventTime"]),
    }
    buckets = seed_buckets(event)
    if buckets is not None:
        row.update({b: json.dumps(ids, separators=(",", ":")) for b, ids in buckets.items()})
    return row


def lake_time(iso: str) -> str:
    """'2026-03-01T10:00:00Z' -> '2026-03-01 10:00:00.000' (the Lake rendering of eventTime)."""
    moment = datetime.fromisoformat(iso)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
