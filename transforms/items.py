"""One configuration item in any AWS dialect -> one normal form (pure: no I/O, no clock).

Three dialects carry the same configuration item (aws-formats §5.1 crosswalk):

- a CloudTrail Lake event (`eventJson`): envelope + `eventData` with `accountId`, string state id;
- a row of the JSON-safe Lake extraction (API rows or a saved CSV export): `eventId`, `ciStatus`,
  `ciCaptureTime`, `ciStateId`, `configurationJson` (aws-formats §6.4);
- an AWS Config delivery file entry: `awsAccountId`, `ARN`, numeric `configurationStateId`;
- the AWS Config API: `accountId`, `version`, `configuration` as a JSON string.

`normalise` maps each to `NormalItem` or raises `ItemError` with a reason naming the field.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

PATCH_COMPLIANCE = "AWS::SSM::PatchCompliance"
RESOURCE_ID_PREFIX = "AWS::SSM::ManagedInstanceInventory/"
ITEM_STATUSES = frozenset(
    {"OK", "ResourceDiscovered", "ResourceNotRecorded", "ResourceDeleted", "ResourceDeletedNotRecorded"}
)
#: Item statuses that end an instance's history: no configuration, all open versions close.
DELETION_STATUSES = frozenset({"ResourceDeleted", "ResourceDeletedNotRecorded", "ResourceNotRecorded"})

_ACCOUNT = re.compile(r"^\d{12}$")


class ItemError(ValueError):
    """A configuration item that cannot be used; the message says which field and why."""


@dataclass(frozen=True, slots=True)
class NormalItem:
    """A configuration item reduced to what the warehouse keeps, whatever its dialect."""

    ci_id: str
    dialect: str
    account_id: str
    aws_region: str
    resource_type: str
    resource_id: str
    instance_id: str
    captured_at: datetime
    item_status: str
    state_id: str
    configuration: dict[str, Any] | None
    configuration_json: bytes | None  # UTF-8 JSON text
    event_id: str | None
    event_time: datetime | None

    @property
    def is_deleted(self) -> bool:
        return self.item_status in DELETION_STATUSES


def dialect_of(payload: dict[str, Any]) -> str:
    """Name the dialect of a raw record: lake_event, lake_row, config_file or config_api."""
    if "eventData" in payload:
        return "lake_event"
    if "ciStatus" in payload or "configurationJson" in payload or "ciCaptureTime" in payload:
        return "lake_row"
    if "awsAccountId" in payload:
        return "config_file"
    if "accountId" in payload or "configurationItemStatus" in payload:
        return "config_api"
    raise ItemError("not a configuration item: none of eventData, ciStatus, awsAccountId, accountId")


def resource_type_of(payload: dict[str, Any]) -> str:
    """The resource type a raw record declares (Lake extraction rows are PatchCompliance by query)."""
    body = payload.get("eventData") if "eventData" in payload else payload
    if not isinstance(body, dict):
        return ""
    value = body.get("resourceType")
    if value is None and dialect_of(payload) == "lake_row":
        return PATCH_COMPLIANCE
    return str(value or "")


def normalise(payload: dict[str, Any]) -> NormalItem:
    """Map a raw record of any dialect to a `NormalItem`.

    Args:
        payload: one record as parsed from its source (a dict).
    Raises:
        ItemError: a required field is missing or malformed; the message names it.
    """
    dialect = dialect_of(payload)
    if dialect == "lake_event":
        body = payload.get("eventData")
        if not isinstance(body, dict):
            raise ItemError("eventData is not an object")
        account = body.get("accountId")
        state_id = body.get("configurationStateId", body.get("configurationitemstateid"))
        configuration = body.get("configuration")
        event_id, event_time = payload.get("eventID"), payload.get("eventTime")
        fields = (body.get("awsRegion"), body.get("resourceType"), body.get("resourceId"))
        capture, status = body.get("configurationItemCaptureTime"), body.get("configurationItemStatus")
    elif dialect == "lake_row":
        account = payload.get("accountId")
        state_id = payload.get("ciStateId")
        configuration = payload.get("configurationJson")
        if configuration in ("", "null"):
            configuration = None
        event_id, event_time = payload.get("eventId"), payload.get("eventTime")
        fields = (payload.get("awsRegion"), payload.get("resourceType") or PATCH_COMPLIANCE,
                  payload.get("resourceId"))
        capture, status = payload.get("ciCaptureTime"), payload.get("ciStatus")
    else:
        account = payload.get("awsAccountId" if dialect == "config_file" else "accountId")
        state_id = payload.get("configurationStateId")
        configuration = payload.get("configuration")
        event_id, event_time = None, None
        fields = (payload.get("awsRegion"), payload.get("resourceType"), payload.get("resourceId"))
        capture, status = payload.get("configurationItemCaptureTime"), payload.get("configurationItemStatus")
    region, resource_type, resource_id = fields

    account = _required_str(account, "accountId")
    if not _ACCOUNT.match(account):
        raise ItemError(f"accountId {account!r} is not 12 digits")
    region = _required_str(region, "awsRegion")
    resource_type = _required_str(resource_type, "resourceType")
    resource_id = _required_str(resource_id, "resourceId")
    status = _required_str(status, "configurationItemStatus")
    if status not in ITEM_STATUSES:
        raise ItemError(f"configurationItemStatus {status!r} is not one of {sorted(ITEM_STATUSES)}")
    captured_at = parse_time(capture, "configurationItemCaptureTime")
    state = _state_id(state_id)

    config_json: bytes | None
    if configuration is None or status in DELETION_STATUSES:
        configuration, config_json = None, None
    elif isinstance(configuration, str):
        config_json = configuration.encode()
        configuration = _loads(configuration, "configuration")
        if configuration is not None and not isinstance(configuration, dict):
            raise ItemError("configuration is not a JSON object")
    elif isinstance(configuration, dict):
        config_json = orjson.dumps(configuration)
    else:
        raise ItemError(f"configuration is a {type(configuration).__name__}, expected an object")

    instance_id = resource_id.removeprefix(RESOURCE_ID_PREFIX)
    return NormalItem(
        ci_id=ci_id_of(account, region, resource_id, captured_at, status, state),
        dialect=dialect,
        account_id=account,
        aws_region=region,
        resource_type=resource_type,
        resource_id=resource_id,
        instance_id=instance_id,
        captured_at=captured_at,
        item_status=status,
        state_id=state,
        configuration=configuration,
        configuration_json=config_json,
        event_id=str(event_id) if event_id else None,
        event_time=parse_time(event_time, "eventTime") if event_time else None,
    )


def ci_id_of(account_id: str, aws_region: str, resource_id: str, captured_at: datetime,
             item_status: str, state_id: str) -> str:
    """The deterministic id of a configuration item: equal for the same item from any source."""
    key = "|".join((account_id, aws_region, resource_id, canonical_time(captured_at), item_status, state_id))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def canonical_time(value: datetime) -> str:
    """UTC ISO-8601 with milliseconds and Z: the one spelling used inside ids."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_time(value: Any, field: str) -> datetime:
    """Parse an ISO-8601 string (Z or offset, `T` or space), epoch seconds, or a datetime, as UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        parsed = datetime.fromtimestamp(value, UTC)
    elif isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ItemError(f"{field} {value!r} is not an ISO-8601 time") from None
    else:
        raise ItemError(f"{field} is missing")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # Lake renders UTC without a zone
    return parsed.astimezone(UTC)


def compliance_item(configuration: dict[str, Any] | None) -> dict[str, Any] | None:
    """The `AWS:ComplianceItem` object of a configuration, decoding it when sent as a JSON string."""
    if not configuration:
        return None
    item = configuration.get("AWS:ComplianceItem")
    if isinstance(item, str):
        item = _loads(item, "AWS:ComplianceItem")
    if item is None:
        return None
    if not isinstance(item, dict):
        raise ItemError("AWS:ComplianceItem is not an object")
    return item


def _required_str(value: Any, field: str) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ItemError(f"{field} is missing")
    if isinstance(value, dict | list):
        raise ItemError(f"{field} is a {type(value).__name__}, expected a string")
    return str(value).strip()


def _state_id(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        raise ItemError("configurationStateId is a boolean")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return str(int(text)) if text.isdigit() else text


def _loads(text: str, field: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ItemError(f"{field} is not valid JSON ({exc})") from None
