"""Event data stores of the Lake emulator: lookup by id or ARN, and their API descriptions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from patchtrail.devkit.lake_emulator.protocol import ApiError

__all__ = ["Store", "StoreCatalog"]

_ARN = re.compile(r"arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:[0-9]{12}:eventdatastore/(?P<id>[^/\s]+)")
_CONFIG_SELECTOR = [
    {
        "Name": "Select AWS Config configuration items",
        "FieldSelectors": [{"Field": "eventCategory", "Equals": ["ConfigurationItem"]}],
    }
]


@dataclass(frozen=True)
class Store:
    """One event data store: its identity, status, and the DuckDB table holding its events."""

    id: str
    name: str
    status: str
    account_id: str
    region: str
    table: str
    events: int
    bytes: int
    created: float

    @property
    def arn(self) -> str:
        return f"arn:aws:cloudtrail:{self.region}:{self.account_id}:eventdatastore/{self.id}"

    def description(self) -> dict[str, Any]:
        """The GetEventDataStore reply."""
        return {
            "EventDataStoreArn": self.arn,
            "Name": self.name,
            "Status": self.status,
            "AdvancedEventSelectors": _CONFIG_SELECTOR,
            "MultiRegionEnabled": True,
            "OrganizationEnabled": False,
            "RetentionPeriod": 2557,
            "TerminationProtectionEnabled": True,
            "CreatedTimestamp": self.created,
            "UpdatedTimestamp": self.created,
            "BillingMode": "EXTENDABLE_RETENTION_PRICING",
        }


class StoreCatalog:
    """The stores of one emulator, found by id (case-insensitive) or full ARN."""

    def __init__(self, stores: list[Store]) -> None:
        self.stores = list(stores)
        self._by_id = {s.id.lower(): s for s in stores}

    def get(self, ref: Any) -> Store:
        """The store named by `ref`, or the API error a real endpoint gives."""
        if not isinstance(ref, str) or not ref:
            raise ApiError("InvalidParameterException", "EventDataStore is required.")
        key = ref
        if ref.lower().startswith("arn:"):
            match = _ARN.fullmatch(ref)
            if not match:
                raise ApiError(
                    "EventDataStoreARNInvalidException",
                    f"{ref[:200]!r} is not an event data store ARN.",
                )
            key = match.group("id")
        store = self._by_id.get(key.lower())
        if store is None:
            raise ApiError(
                "EventDataStoreNotFoundException",
                f"The event data store {ref[:200]!r} was not found.",
            )
        return store

    def queryable(self, ref: str) -> Store:
        """The store named in a query's FROM; it must be ENABLED."""
        store = self.get(ref)
        if store.status != "ENABLED":
            raise ApiError(
                "InactiveEventDataStoreException",
                f"The event data store {store.id} is {store.status}, not ENABLED.",
            )
        return store

    def summaries(self) -> list[dict[str, str]]:
        """ListEventDataStores entries (only the members the model does not deprecate)."""
        return [{"EventDataStoreArn": s.arn, "Name": s.name} for s in self.stores]
