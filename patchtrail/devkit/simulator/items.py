"""Build configuration items in the AWS Config delivery-file dialect, and their Lake event form."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

PATCH_TYPE = "AWS::SSM::PatchCompliance"
EC2_TYPE = "AWS::EC2::Instance"
INVENTORY_TYPE = "AWS::SSM::ManagedInstanceInventory"
INVENTORY_PREFIX = "AWS::SSM::ManagedInstanceInventory/"
CI_VERSION = "1.3"

LEVELS = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNSPECIFIED")
_LEVEL_NAMES = {level: level.capitalize() for level in LEVELS}
STATUS_BY_STATE = {
    "Installed": "COMPLIANT",
    "InstalledOther": "COMPLIANT",
    "InstalledPendingReboot": "NON_COMPLIANT",
    "InstalledRejected": "NON_COMPLIANT",
    "Missing": "NON_COMPLIANT",
    "Failed": "NON_COMPLIANT",
    "NotApplicable": "",
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SimEvent:
    """One simulated configuration item as CloudTrail Lake would carry it.

    `ci` is in the AWS Config delivery-file dialect (`awsAccountId`, `ARN`, numeric
    `configurationStateId`); `event_time` is the capture time truncated to the second (UTC)."""

    ci: dict[str, Any]
    event_id: str
    event_time: datetime


class PatchView(NamedTuple):
    """What one scan reports for one patch, before baseline id and patch group are added."""

    title: str
    state: str
    patch_severity: str
    classification: str
    installed_time: str
    cve_ids: str
    level: str


def utc(ms: int) -> datetime:
    """Epoch milliseconds as an aware UTC datetime."""
    return _EPOCH + timedelta(milliseconds=ms)


def iso_ms(ms: int) -> str:
    """`2026-01-05T10:15:32.123Z`, the configurationItemCaptureTime format."""
    return f"{utc(ms - ms % 1000):%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def iso_seconds(ms: int) -> str:
    """`2026-01-05T10:15:32Z`, the InstalledTime and Lake eventTime format."""
    return f"{utc(ms):%Y-%m-%dT%H:%M:%S}Z"


def patch_entry(patch_id: str, view: PatchView, *, baseline_id: str,
                patch_group: str) -> dict[str, str]:
    """One `Content.Patch` value (§2.2); `CVEIds` only when the patch is Missing or Failed."""
    entry = {
        "Id": patch_id,
        "Title": view.title,
        "Status": STATUS_BY_STATE[view.state],
        "Severity": view.level,
        "PatchState": view.state,
        "PatchSeverity": view.patch_severity,
        "Classification": view.classification,
        "InstalledTime": view.installed_time,
        "PatchBaselineId": baseline_id,
        "PatchGroup": patch_group,
    }
    if view.cve_ids and view.state in ("Missing", "Failed"):
        entry["CVEIds"] = view.cve_ids
    return entry


def compliance_summary(patches: dict[str, dict[str, str]], *, execution_type: str,
                       baseline_id: str, patch_group: str,
                       counts_as_strings: bool = False) -> dict[str, Any]:
    """The `ComplianceSummary` entry (§2.4), counted from the patch entries' Status x Severity."""
    counts = {("COMPLIANT", level): 0 for level in LEVELS}
    counts.update({("NON_COMPLIANT", level): 0 for level in LEVELS})
    for entry in patches.values():
        key = (entry["Status"], entry["Severity"])
        if key in counts:
            counts[key] += 1
    worst = next((lv for lv in LEVELS if counts[("NON_COMPLIANT", lv)]), None)
    summary: dict[str, Any] = {
        "ComplianceType": "Patch",
        "ExecutionType": execution_type,
        "PatchBaselineId": baseline_id,
        "PatchGroup": patch_group,
        "Status": "NON_COMPLIANT" if worst else "COMPLIANT",
        "OverallSeverity": worst or "UNSPECIFIED",
    }
    for prefix, status in (("Compliant", "COMPLIANT"), ("NonCompliant", "NON_COMPLIANT")):
        for level in LEVELS:
            value = counts[(status, level)]
            summary[f"{prefix}{_LEVEL_NAMES[level]}Count"] = str(value) if counts_as_strings else value
    return summary


def patch_configuration(summary: dict[str, Any], patches: dict[str, dict[str, str]], *,
                        as_string: bool = False) -> dict[str, Any]:
    """`{"AWS:ComplianceItem": {"Content": {"Patch": {...}}}}`, the item optionally JSON-encoded."""
    item = {"Content": {"Patch": {"ComplianceSummary": summary, **patches}}}
    if as_string:
        return {"AWS:ComplianceItem": json.dumps(item, separators=(",", ":"))}
    return {"AWS:ComplianceItem": item}


def configuration_item(*, account_id: str, region: str, resource_type: str, resource_id: str,
                       capture_ms: int, status: str, configuration: dict[str, Any] | None,
                       arn: str | None = None, resource_name: str | None = None,
                       availability_zone: str | None = None,
                       resource_creation_time: str | None = None,
                       supplementary: dict[str, Any] | None = None,
                       relationships: list[dict[str, Any]] | None = None,
                       tags: dict[str, str] | None = None) -> dict[str, Any]:
    """A CI in the AWS Config delivery-file dialect (§5.1), keys in the delivered order."""
    return {
        "relatedEvents": [],
        "relationships": relationships or [],
        "configuration": configuration,
        "supplementaryConfiguration": supplementary or {},
        "tags": tags or {},
        "configurationItemVersion": CI_VERSION,
        "configurationItemCaptureTime": iso_ms(capture_ms),
        "configurationStateId": capture_ms,
        "awsAccountId": account_id,
        "configurationItemStatus": status,
        "resourceType": resource_type,
        "resourceId": resource_id,
        "resourceName": resource_name,
        "ARN": arn,
        "awsRegion": region,
        "availabilityZone": availability_zone,
        "configurationStateMd5Hash": "",
        "resourceCreationTime": resource_creation_time,
    }


def sim_event(ci: dict[str, Any], *, seed: int) -> SimEvent:
    """Wrap a CI with its deterministic Lake event id and event time."""
    name = "|".join((str(seed), ci["awsAccountId"], ci["awsRegion"], ci["resourceType"],
                     ci["resourceId"], str(ci["configurationStateId"]),
                     ci["configurationItemStatus"]))
    digest = hashlib.sha256(name.encode()).digest()
    event_id = str(uuid.UUID(bytes=digest[:16], version=4))
    event_time = utc(ci["configurationStateId"] - ci["configurationStateId"] % 1000)
    return SimEvent(ci=ci, event_id=event_id, event_time=event_time)


def lake_event(event: SimEvent) -> dict[str, Any]:
    """The event as `SELECT eventJson` returns it (§1.3): Lake dialect `eventData`."""
    ci = event.ci
    return {
        "eventVersion": "1.0",
        "eventCategory": "ConfigurationItem",
        "eventType": "AwsConfigurationItem",
        "eventID": event.event_id,
        "eventTime": f"{event.event_time:%Y-%m-%dT%H:%M:%S}Z",
        "awsRegion": ci["awsRegion"],
        "recipientAccountId": ci["awsAccountId"],
        "eventData": {
            "configurationItemVersion": ci["configurationItemVersion"],
            "configurationItemCaptureTime": ci["configurationItemCaptureTime"],
            "configurationItemStatus": ci["configurationItemStatus"],
            "configurationStateId": str(ci["configurationStateId"]),
            "accountId": ci["awsAccountId"],
            "resourceType": ci["resourceType"],
            "resourceId": ci["resourceId"],
            "resourceName": ci["resourceName"],
            "arn": ci["ARN"],
            "awsRegion": ci["awsRegion"],
            "availabilityZone": ci["availabilityZone"],
            "resourceCreationTime": ci["resourceCreationTime"],
            "configuration": ci["configuration"],
            "supplementaryConfiguration": ci["supplementaryConfiguration"],
            "relatedEvents": ci["relatedEvents"],
            "relationships": ci["relationships"],
            "tags": ci["tags"],
        },
    }
