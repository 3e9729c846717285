"""Build configuration items in each AWS dialect for tests (aws-formats §1.3, §2, §5.1)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import orjson

ACCOUNT = "111122223333"
REGION = "us-east-1"
INSTANCE = "i-0a1b2c3d4e5f67890"
PATCH_COMPLIANCE = "AWS::SSM::PatchCompliance"


def patch(pid: str, state: str = "Installed", *, severity: str = "CRITICAL", status: str | None = None,
          **extra: Any) -> dict[str, Any]:
    non_compliant = state in ("Missing", "Failed", "InstalledPendingReboot", "InstalledRejected")
    body = {
        "Id": pid,
        "Title": f"Title of {pid}",
        "Status": status if status is not None else ("NON_COMPLIANT" if non_compliant else "COMPLIANT"),
        "Severity": severity,
        "PatchState": state,
        "PatchSeverity": "Critical",
        "Classification": "SecurityUpdates",
        "InstalledTime": "2026-01-01T00:00:00Z" if state.startswith("Installed") else "",
        "PatchBaselineId": "pb-0c5b2769ef7cbe587",
        "PatchGroup": "",
    }
    body.update(extra)
    return body


def configuration(patches: list[dict[str, Any]] | None, *, summary: dict | None = None,
                  as_string: bool = False) -> dict[str, Any]:
    patch_map: dict[str, Any] = {}
    if summary is not False:
        failing = [p for p in (patches or []) if p["Status"] == "NON_COMPLIANT"]
        patch_map["ComplianceSummary"] = summary or {
            "ComplianceType": "Patch", "ExecutionType": "Command",
            "PatchBaselineId": "pb-0c5b2769ef7cbe587", "PatchGroup": "",
            "Status": "NON_COMPLIANT" if failing else "COMPLIANT",
            "OverallSeverity": "CRITICAL" if failing else "UNSPECIFIED",
            "NonCompliantCriticalCount": len(failing),
        }
    for p in patches or []:
        patch_map[p["Id"]] = p
    item = {"Content": {"Patch": patch_map}}
    return {"AWS:ComplianceItem": orjson.dumps(item).decode() if as_string else item}


def config_file_ci(captured: str, patches: list[dict] | None = None, *, status: str = "OK",
                   instance: str = INSTANCE, account: str = ACCOUNT, region: str = REGION,
                   state_id: int | None = None, resource_type: str = PATCH_COMPLIANCE,
                   config: dict | None = None) -> dict[str, Any]:
    """A CI as AWS Config writes it into a ConfigHistory file."""
    when = datetime.fromisoformat(captured.replace("Z", "+00:00")).astimezone(UTC)
    deleted = status != "OK" and status != "ResourceDiscovered"
    return {
        "relatedEvents": [], "relationships": [],
        "configuration": None if deleted else (config or configuration(patches)),
        "supplementaryConfiguration": {}, "tags": {},
        "configurationItemVersion": "1.3",
        "configurationItemCaptureTime": captured,
        "configurationStateId": state_id if state_id is not None else int(when.timestamp() * 1000),
        "awsAccountId": account,
        "configurationItemStatus": status,
        "resourceType": resource_type,
        "resourceId": f"AWS::SSM::ManagedInstanceInventory/{instance}",
        "resourceName": None, "ARN": None, "awsRegion": region, "availabilityZone": None,
        "configurationStateMd5Hash": "", "resourceCreationTime": None,
    }


def lake_event(ci: dict[str, Any], *, event_id: str = "5f0c2b1e-8d8a-4c3e-9a57-3b1f7e2d9c10") -> dict:
    """The same CI as a CloudTrail Lake event (eventJson)."""
    data = copy.deepcopy(ci)
    data["accountId"] = data.pop("awsAccountId")
    data["arn"] = data.pop("ARN")
    data.pop("configurationStateMd5Hash", None)
    data["configurationStateId"] = str(data["configurationStateId"])
    return {
        "eventVersion": "1.0", "eventCategory": "ConfigurationItem", "eventType": "AwsConfigurationItem",
        "eventID": event_id, "eventTime": ci["configurationItemCaptureTime"][:19] + "Z",
        "awsRegion": ci["awsRegion"], "recipientAccountId": ci["awsAccountId"], "eventData": data,
    }


def lake_row(ci: dict[str, Any], *, event_id: str = "5f0c2b1e-8d8a-4c3e-9a57-3b1f7e2d9c10") -> dict:
    """The same CI as a row of the JSON-safe Lake extraction (API row or export CSV cells)."""
    row = {
        "eventId": event_id,
        "eventTime": ci["configurationItemCaptureTime"][:19].replace("T", " ") + ".000",
        "accountId": ci["awsAccountId"], "awsRegion": ci["awsRegion"], "resourceId": ci["resourceId"],
        "ciStatus": ci["configurationItemStatus"], "ciCaptureTime": ci["configurationItemCaptureTime"],
        "ciStateId": str(ci["configurationStateId"]),
    }
    if ci["configuration"] is not None:
        row["configurationJson"] = orjson.dumps(ci["configuration"]).decode()
    return row


def config_api_ci(ci: dict[str, Any]) -> dict:
    """The same CI as the AWS Config API returns it (configuration as a JSON string)."""
    data = copy.deepcopy(ci)
    data["accountId"] = data.pop("awsAccountId")
    data["arn"] = data.pop("ARN")
    data["version"] = data.pop("configurationItemVersion")
    data["configurationItemMD5Hash"] = data.pop("configurationStateMd5Hash")
    data["configurationStateId"] = str(data["configurationStateId"])
    if data["configuration"] is not None:
        data["configuration"] = orjson.dumps(data["configuration"]).decode()
    return data


def patch_map(ci: dict[str, Any]) -> dict[str, Any]:
    """The `Content.Patch` map of a Config-file CI built by `config_file_ci` (to mutate it)."""
    return ci["configuration"]["AWS:ComplianceItem"]["Content"]["Patch"]


def third_party_patch(pid: str, **extra: Any) -> dict[str, Any]:
    """A patch entry as `PutComplianceItems --compliance-type Patch` writes it: no PatchState."""
    return {"Id": pid, "Title": f"Title of {pid}", "Status": "NON_COMPLIANT", "Severity": "HIGH",
            "PatchSeverity": "Important", "PatchGroup": "", **extra}


def every_dialect(ci: dict[str, Any]) -> dict[str, dict]:
    """The same CI in every dialect, by name."""
    return {"config_file": copy.deepcopy(ci), "lake_event": lake_event(ci), "lake_row": lake_row(ci),
            "config_api": config_api_ci(ci)}
