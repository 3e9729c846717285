"""One configuration item in any AWS dialect -> one normal form (pure: no I/O, no clock).

Three dialects carry the same configuration item (aws-formats §5.1 crosswalk):

- a CloudTrail Lake event (`eventJson`): envelope + `eventData` with `accountId`, string state id;
- a row of the JSON-safe Lake extraction (API rows or a saved CSV export): `eventId`, `ciStatus`,
  `ciCaptureTime`, `ciStateId`, `configurationJson` (aws-formats §6.4);
- an AWS Config delivery file entry: `awsAccountId`, `ARN`, numeric `configurationStateId`;
- the AWS Config API: `accountId`, `version`, `configuration` as a JSON string.

`normalise` maps each to `NormalItem` or raises `ItemError` with a reason naming the field; no
other exception escapes it, whatever the input.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import orjson

PATCH_COMPLIANCE = "AWS::SSM::PatchCompliance"
RESOURCE_ID_PREFIX = "AWS::SSM::ManagedInstanceInventory/"
ITEM_STATUSES = frozenset(
    {"OK", "ResourceDiscovered", "ResourceNotRecorded", "ResourceDeleted", "ResourceDeletedNotRecorded"}
)
#: Item statuses that delete the instance: all its open versions close under a tombstone.
DELETION_STATUSES = frozenset({"ResourceDeleted", "ResourceDeletedNotRecorded"})
#: "Discovered but not recorded" (the recorder excludes the type): compliance unknown from here
#: on, but the instance is not deleted.
NOT_RECORDED = "ResourceNotRecorded"
#: Item statuses that carry no configuration (it is ignored if present).
UNRECORDED_STATUSES = DELETION_STATUSES | {NOT_RECORDED}
#: The state id's spellings, in order of precedence: Config files and the JSON event,
#: old snapshot files, and CloudTrail Lake's SQL schema (camelCase and as Lake lowercases it).
STATE_ID_FIELDS = ("configurationStateId", "configurationStateID", "configurationItemStateId",
                   "configurationitemstateid")
#: AWS Config did not exist before 2014: no real capture time is earlier.
EARLIEST_TIME = datetime(2014, 1, 1, tzinfo=UTC)
#: How far after the run's start (`now`) a capture time may be (clock skew), before it is refused.
FUTURE_SLACK = timedelta(days=1)
#: Epoch numbers above this are milliseconds (1e11 seconds is the year 5138; 1e11 ms is 1973).
EPOCH_MS_ABOVE = 10**11

_ACCOUNT = re.compile(r"^[0-9]{12}$")
_EPOCH_NUMBER = re.compile(r"^[+-]?[0-9]{1,20}(?:\.[0-9]{0,9})?$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = Decimal(1_000_000)
_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number",
               float: "a number", type(None): "null"}


class ItemError(ValueError):
    """A configuration item that cannot be used; the message says which field and why."""


@dataclass(frozen=True, slots=True)
class NormalItem:
    """A configuration item reduced to what the warehouse keeps, whatever its dialect.

    `compliance` is the `AWS:ComplianceItem` object (decoded when it arrived as a JSON string);
    for an OK / ResourceDiscovered PatchCompliance item it always holds `Content.Patch`, an object.
    `content_sha256` fingerprints the configuration (see `content_fingerprint`); it is None, like
    `configuration`, for items that carry none (deletions, ResourceNotRecorded).
    """

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
    compliance: dict[str, Any] | None = None
    content_sha256: str | None = None

    @property
    def is_deleted(self) -> bool:
        """ResourceDeleted / ResourceDeletedNotRecorded: the instance's history ends here."""
        return self.item_status in DELETION_STATUSES

    @property
    def is_recorded(self) -> bool:
        """False for ResourceNotRecorded: recording stopped, compliance unknown from here on."""
        return self.item_status != NOT_RECORDED


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
    """The resource type a raw record declares (Lake extraction rows are PatchCompliance by query).

    "" when it is absent or not usable text: `normalise` then says what is wrong with it."""
    body = payload.get("eventData") if "eventData" in payload else payload
    if not isinstance(body, dict):
        return ""
    value = body.get("resourceType")
    if value is None and dialect_of(payload) == "lake_row":
        return PATCH_COMPLIANCE
    if not isinstance(value, str) or not _is_text(value):
        return ""
    return value


def normalise(payload: dict[str, Any], *, now: datetime | None = None) -> NormalItem:
    """Map a raw record of any dialect to a `NormalItem`.

    Args:
        payload: one record as parsed from its source (a dict).
        now: the run's start; capture and event times more than a day after it are refused.
            None skips only that check (times before 2014 are always refused).
    Raises:
        ItemError: a required field is missing or malformed; the message names it.
    """
    dialect = dialect_of(payload)
    if dialect == "lake_event":
        body = payload.get("eventData")
        if not isinstance(body, dict):
            raise ItemError(f"eventData is {json_type(body)}, expected an object")
        account, account_field = body.get("accountId"), "accountId"
        state_id, state_field = _first_present(body, STATE_ID_FIELDS)
        configuration = body.get("configuration")
        event_id, event_time = payload.get("eventID"), payload.get("eventTime")
        event_fields = ("eventID", "eventTime")
        fields = (body.get("awsRegion"), body.get("resourceType"), body.get("resourceId"))
        capture, status = body.get("configurationItemCaptureTime"), body.get("configurationItemStatus")
        capture_field, status_field = "configurationItemCaptureTime", "configurationItemStatus"
    elif dialect == "lake_row":
        account, account_field = payload.get("accountId"), "accountId"
        state_id, state_field = _first_present(payload, ("ciStateId", *STATE_ID_FIELDS))
        configuration = payload.get("configurationJson")
        if configuration in ("", "null"):
            configuration = None
        event_id, event_time = payload.get("eventId"), payload.get("eventTime")
        event_fields = ("eventId", "eventTime")
        fields = (payload.get("awsRegion"), payload.get("resourceType") or PATCH_COMPLIANCE,
                  payload.get("resourceId"))
        capture, status = payload.get("ciCaptureTime"), payload.get("ciStatus")
        capture_field, status_field = "ciCaptureTime", "ciStatus"
    else:
        account_field = "awsAccountId" if dialect == "config_file" else "accountId"
        account = payload.get(account_field)
        state_id, state_field = _first_present(payload, STATE_ID_FIELDS)
        configuration = payload.get("configuration")
        event_id, event_time, event_fields = None, None, ("", "")
        fields = (payload.get("awsRegion"), payload.get("resourceType"), payload.get("resourceId"))
        capture, status = payload.get("configurationItemCaptureTime"), payload.get("configurationItemStatus")
        capture_field, status_field = "configurationItemCaptureTime", "configurationItemStatus"
    region, resource_type, resource_id = fields

    account = _required_str(account, account_field)
    if not _ACCOUNT.match(account):
        raise ItemError(f"{account_field} {_shown(account)} is not 12 digits")
    region = _required_str(region, "awsRegion")
    resource_type = _required_str(resource_type, "resourceType")
    resource_id = _required_str(resource_id, "resourceId")
    instance_id = resource_id.removeprefix(RESOURCE_ID_PREFIX)
    if not instance_id:
        raise ItemError(f"resourceId {_shown(resource_id)} names no instance")
    status = _required_str(status, status_field)
    if status not in ITEM_STATUSES:
        raise ItemError(f"{status_field} {_shown(status)} is not one of {sorted(ITEM_STATUSES)}")
    captured_at = plausible_time(parse_time(capture, capture_field), capture_field, now=now)
    state = _state_id(state_id, state_field)

    if status in UNRECORDED_STATUSES:
        configuration = config_json = compliance = sha = None
    else:
        configuration, config_json, compliance, sha = _configuration(
            configuration, check_patch_map=resource_type == PATCH_COMPLIANCE)

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
        event_id=_optional_str(event_id, event_fields[0]),
        event_time=(None if event_time is None or event_time == "" else
                    plausible_time(parse_time(event_time, event_fields[1]), event_fields[1], now=now)),
        compliance=compliance,
        content_sha256=sha,
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
    """Parse a time as UTC; raise ItemError (never anything else) when it is not one.

    Accepts ISO-8601 (Z or offset, `T` or space, any fraction; zone-less is UTC), epoch seconds
    or epoch milliseconds (above 1e11) as numbers or numeric strings, and datetimes.
    """
    if isinstance(value, datetime):
        parsed = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    elif isinstance(value, bool):
        raise ItemError(f"{field} is a boolean, expected a time")
    elif isinstance(value, int | float):
        parsed = _from_epoch(value, field)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if _EPOCH_NUMBER.match(text):
            parsed = _from_epoch(Decimal(text), field, shown=value)
        else:
            if text[-1:] == "z":
                text = text[:-1] + "Z"
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                raise ItemError(f"{field} {_shown(value)} is not an ISO-8601 time or epoch number") from None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)  # Lake renders UTC without a zone
    elif value is None or isinstance(value, str):
        raise ItemError(f"{field} is missing")
    else:
        raise ItemError(f"{field} is {json_type(value)}, expected a time")
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ItemError(f"{field} {_shown(value)} is out of range") from None


def plausible_time(value: datetime, field: str, *, now: datetime | None = None) -> datetime:
    """`value`, unless it is before AWS Config existed (2014) or more than a day after `now`."""
    if value < EARLIEST_TIME:
        raise ItemError(f"{field} {canonical_time(value)} is before {EARLIEST_TIME:%Y-%m-%d}, "
                        "when AWS Config did not exist")
    if now is not None:
        now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
        if value > now + FUTURE_SLACK:
            raise ItemError(f"{field} {canonical_time(value)} is more than a day after the run "
                            f"started ({canonical_time(now)})")
    return value


def content_fingerprint(configuration: dict[str, Any]) -> tuple[bytes, str]:
    """(canonical JSON, hex SHA-256) of a configuration whose `AWS:ComplianceItem` is decoded.

    Canonical = orjson with sorted keys: equal for the same content from any dialect.
    Raises ItemError when the configuration is not JSON-serialisable (orjson's limits)."""
    try:
        canonical = orjson.dumps(configuration, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError as exc:
        raise ItemError(f"configuration cannot be written as JSON ({_json_problem(configuration, exc)})"
                        ) from None
    return canonical, hashlib.sha256(canonical).hexdigest()


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
        raise ItemError(f"AWS:ComplianceItem is {json_type(item)}, expected an object")
    return item


def _configuration(value: Any, *, check_patch_map: bool
                   ) -> tuple[dict[str, Any], bytes, dict[str, Any] | None, str]:
    """(configuration, its JSON text, the decoded AWS:ComplianceItem, content SHA-256)."""
    raw: bytes | None = None
    if value is None:
        raise ItemError("configuration is missing (null); an item that is not a deletion must carry one")
    if isinstance(value, str):
        try:
            raw = value.encode("utf-8")
        except UnicodeEncodeError:
            raise ItemError("configuration is not valid Unicode text (a lone surrogate)") from None
        value = _loads(value, "configuration")
        if value is None:
            raise ItemError("configuration is null; an item that is not a deletion must carry one")
    if not isinstance(value, dict):
        raise ItemError(f"configuration is {json_type(value)}, expected an object")
    if not check_patch_map:
        canonical, sha = content_fingerprint(value)
        return value, raw or canonical, None, sha
    item = value.get("AWS:ComplianceItem")
    decoded = isinstance(item, str)
    if item is None:
        raise ItemError("configuration has no AWS:ComplianceItem")
    if decoded:
        item = _loads(item, "AWS:ComplianceItem")
    if not isinstance(item, dict):
        raise ItemError(f"AWS:ComplianceItem is {json_type(item)}, expected an object")
    if "Content" not in item:
        raise ItemError(f"AWS:ComplianceItem has no Content (keys: {_keys(item)})")
    content = item["Content"]
    if not isinstance(content, dict):
        raise ItemError(f"AWS:ComplianceItem.Content is {json_type(content)}, expected an object")
    if "Patch" not in content:
        raise ItemError(f"AWS:ComplianceItem.Content has no Patch map (keys: {_keys(content)})")
    if not isinstance(content["Patch"], dict):
        raise ItemError(f"Content.Patch is not an object ({json_type(content['Patch'])})")
    canonical, sha = content_fingerprint({**value, "AWS:ComplianceItem": item} if decoded else value)
    if raw is None:  # an object: its text is the canonical one, unless it held a string to decode
        raw = content_fingerprint(value)[0] if decoded else canonical
    return value, raw, item, sha


def _json_problem(value: Any, exc: Exception) -> str:
    """Where in `value` orjson's limits were hit, and which (the slow path of a rejection)."""
    stack: list[tuple[Any, str, int]] = [(value, "configuration", 0)]
    while stack:
        node, path, depth = stack.pop()
        if depth > 254:
            return f"{path} is nested deeper than 255 levels"
        if isinstance(node, dict):
            for key, child in reversed(list(node.items())):
                if not isinstance(key, str):
                    return f"{path} has a key that is not a string ({_shown(key)})"
                if not _is_text(key):
                    return f"{path} has a key that is not valid Unicode (a lone surrogate)"
                stack.append((child, f"{path}.{_capped(key, 60)}", depth + 1))
        elif isinstance(node, list | tuple):
            stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in reversed(list(enumerate(node))))
        elif isinstance(node, int) and not isinstance(node, bool) and not -(2**63) <= node < 2**64:
            return f"{path} is {_shown(node)}, beyond 64 bits"
        elif isinstance(node, str) and not _is_text(node):
            return f"{path} is not valid Unicode text (a lone surrogate)"
        elif not isinstance(node, str | int | float | bool) and node is not None:
            return f"{path} is {json_type(node)}, not a JSON value"
    return _capped(str(exc))


def _first_present(body: dict[str, Any], names: tuple[str, ...]) -> tuple[Any, str]:
    """The first of `names` with a value (not None or ""), and its name."""
    for name in names:
        value = body.get(name)
        if value is not None and value != "":
            return value, name
    return None, names[0]


def _required_str(value: Any, field: str) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ItemError(f"{field} is missing")
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() <= 64:
        return str(value)
    if not isinstance(value, str):
        raise ItemError(f"{field} is {json_type(value)}, expected a string")
    if not _is_text(value):
        raise ItemError(f"{field} is not valid Unicode text (a lone surrogate)")
    return value.strip()


def _optional_str(value: Any, field: str) -> str | None:
    if value is None or value == "":
        return None
    return _required_str(value, field)


def _state_id(value: Any, field: str) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ItemError(f"{field} is {json_type(value)}, expected a number or a string")
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ItemError(f"{field} {value!r} is not a number")
        if value.is_integer():
            value = int(value)
    if isinstance(value, int) and value.bit_length() > 64:
        raise ItemError(f"{field} {_shown(value)} is out of range")
    text = str(value).strip()
    if not _is_text(text):
        raise ItemError(f"{field} is not valid Unicode text (a lone surrogate)")
    if text.isdecimal() and len(text) <= 100:
        return str(int(text))
    return text


def _from_epoch(value: int | float | Decimal, field: str, *, shown: Any = None) -> datetime:
    """Epoch seconds, or milliseconds above EPOCH_MS_ABOVE, to a UTC datetime (to the microsecond)."""
    shown = value if shown is None else shown
    if isinstance(value, int) and value.bit_length() > 128:
        raise ItemError(f"{field} {_shown(shown)} is out of range")
    number = value if isinstance(value, Decimal) else Decimal(value)
    if not number.is_finite():
        raise ItemError(f"{field} {_shown(shown)} is not a finite number")
    try:
        seconds = number / 1000 if abs(number) > EPOCH_MS_ABOVE else number
        micros = int((seconds * _MICRO).to_integral_value(rounding=ROUND_HALF_EVEN))
        return _EPOCH + timedelta(microseconds=micros)
    except (OverflowError, ArithmeticError):  # decimal's errors are ArithmeticErrors
        raise ItemError(f"{field} {_shown(shown)} is out of range") from None


def _loads(text: str, field: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ItemError(f"{field} is not valid JSON ({_capped(str(exc))})") from None
    except UnicodeEncodeError:
        raise ItemError(f"{field} is not valid Unicode text (a lone surrogate)") from None


def _is_text(value: str) -> bool:
    """True when `value` can be stored as UTF-8 (no lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def json_type(value: Any) -> str:
    """`an object`, `a string`, ... : how a value's type reads in a reason."""
    return _JSON_TYPES.get(type(value)) or f"a {type(value).__name__}"


def _keys(body: dict[str, Any]) -> str:
    return _capped(", ".join(repr(k) for k in list(body)[:5]) + (", ..." if len(body) > 5 else ""))


def _shown(value: Any) -> str:
    """A short, always printable rendering of a scalar value for a reason."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"<a {value.bit_length()}-bit integer>"
    if isinstance(value, dict | list):
        return json_type(value)
    try:
        return _capped(repr(value))
    except Exception:  # noqa: BLE001 - a reason must never fail to render
        return f"<{type(value).__name__}>"


def _capped(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
