"""Reference computations for the analytics tests: plain Python over the simulator's items.

Independent of the warehouse: items come straight from `iter_events` (or from payload dicts),
and every metric is computed item by item, the obvious way, from the definitions in
docs/analytics.md.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

NON_COMPLIANT = ("Missing", "Failed", "InstalledPendingReboot", "InstalledRejected")
SEVERITY_RANK = {"CRITICAL": 5, "HIGH": 4, "MEDIUM": 3, "LOW": 2, "INFORMATIONAL": 1,
                 "UNSPECIFIED": 0}
VENDOR_LEVEL = {"CRITICAL": "CRITICAL", "IMPORTANT": "HIGH", "HIGH": "HIGH", "MODERATE": "MEDIUM",
                "MEDIUM": "MEDIUM", "LOW": "LOW"}
VENDOR_RANK = {"CRITICAL": 4, "HIGH": 3, "MEDIUM": 2, "LOW": 1}
DELETED = ("ResourceDeleted", "ResourceDeletedNotRecorded")
NOT_RECORDED = "ResourceNotRecorded"   # recording stopped: live, compliance unknown, no patches
PATCH_STATES = {s.lower() for s in ("Installed", "InstalledOther", "InstalledPendingReboot",
                                    "InstalledRejected", "Missing", "NotApplicable", "Failed",
                                    "AvailableSecurityUpdate")}
DAY = timedelta(days=1)


@dataclass
class Item:
    """One configuration item, reduced to what the metrics read."""

    key: tuple[str, str, str]          # account, region, instance
    captured_at: datetime
    state_id: int
    status: str
    summary: dict[str, Any] | None
    patches: dict[str, dict[str, Any]] | None   # None: no patch map (deletions)

    @property
    def deleted(self) -> bool:
        return self.status in DELETED

    @property
    def recorded(self) -> bool:
        return self.status != NOT_RECORDED


@dataclass
class Episode:
    key: tuple[str, str, str]
    patch_id: str
    opened_at: datetime
    states: list[str] = field(default_factory=list)
    severities: list[str | None] = field(default_factory=list)
    vendor: list[str | None] = field(default_factory=list)
    cves: set[str] = field(default_factory=set)
    closed_at: datetime | None = None
    close_reason: str | None = None
    patch_group: str | None = None

    @property
    def severity(self) -> str | None:
        ranked = [s for s in self.severities if s in SEVERITY_RANK]
        return max(ranked, key=SEVERITY_RANK.get) if ranked else None

    @property
    def vendor_level(self) -> str | None:
        levels = [VENDOR_LEVEL.get((v or "").upper()) for v in self.vendor]
        levels = [v for v in levels if v]
        return max(levels, key=VENDOR_RANK.get) if levels else None

    @property
    def duration_days(self) -> float | None:
        return None if self.closed_at is None else (self.closed_at - self.opened_at).total_seconds() / 86400


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def item_of(ci: dict[str, Any]) -> Item:
    """An Item from a CI in the Config-file dialect (what iter_events and factories produce)."""
    key = (ci["awsAccountId"], ci["awsRegion"], ci["resourceId"].split("/", 1)[1])
    summary = patches = None
    configuration = ci.get("configuration")
    if configuration is not None and ci["configurationItemStatus"] not in (*DELETED, NOT_RECORDED):
        compliance = configuration["AWS:ComplianceItem"]
        if isinstance(compliance, str):
            compliance = json.loads(compliance)
        patch_map = compliance["Content"]["Patch"]
        summary = patch_map.get("ComplianceSummary")
        patches = {}
        for name, body in patch_map.items():
            if name == "ComplianceSummary":
                continue
            patches[body.get("Id") or name] = {k: (v if v != "" else None) for k, v in body.items()}
    return Item(key=key, captured_at=parse_time(ci["configurationItemCaptureTime"]),
                state_id=int(ci["configurationStateId"]), status=ci["configurationItemStatus"],
                summary=summary, patches=patches)


def by_instance(items: list[Item]) -> dict[tuple[str, str, str], list[Item]]:
    grouped: dict[tuple, list[Item]] = defaultdict(list)
    for item in items:
        grouped[item.key].append(item)
    for seq in grouped.values():
        seq.sort(key=lambda i: (i.captured_at, i.state_id))
    return dict(grouped)


def cves(patch: dict[str, Any]) -> set[str]:
    return {c.strip() for c in (patch.get("CVEIds") or "").split(",") if c.strip()}


def is_non_compliant(patch: dict[str, Any]) -> bool:
    state = patch["PatchState"]
    return state in NON_COMPLIANT or (state == "AvailableSecurityUpdate"
                                      and patch.get("Status") == "NON_COMPLIANT")


def latest_at(seq: list[Item], moment: datetime) -> Item | None:
    seen = [i for i in seq if i.captured_at <= moment]
    return seen[-1] if seen else None


def live_instances(instances: dict, moment: datetime) -> dict[tuple, Item]:
    """Instance -> its latest item at `moment`, for instances live then."""
    live = {}
    for key, seq in instances.items():
        item = latest_at(seq, moment)
        if item is not None and not item.deleted:
            live[key] = item
    return live


def episodes(instances: dict, *, upto: datetime | None = None) -> list[Episode]:
    """Remediation episodes from items (captured at or before `upto`, if given)."""
    found: list[Episode] = []
    for key, seq in instances.items():
        open_: dict[str, Episode] = {}
        for item in seq:
            if upto is not None and item.captured_at > upto:
                break
            for pid, ep in list(open_.items()):
                patch = (item.patches or {}).get(pid)
                if item.deleted:
                    reason = "instance_deleted"
                elif not item.recorded:
                    reason = "not_recorded"
                elif patch is None:
                    reason = "not_reported"
                elif is_non_compliant(patch):
                    continue
                elif patch["PatchState"] in ("Installed", "InstalledOther"):
                    reason = "installed"
                elif patch["PatchState"] == "NotApplicable":
                    reason = "not_applicable"
                elif (patch.get("PatchState") or "").lower() not in PATCH_STATES:
                    reason = "unknown_state"
                else:
                    reason = "compliant"
                ep.closed_at, ep.close_reason = item.captured_at, reason
                del open_[pid]
            for pid, patch in (item.patches or {}).items():
                if not is_non_compliant(patch):
                    continue
                ep = open_.get(pid)
                if ep is None:
                    ep = open_[pid] = Episode(key=key, patch_id=pid, opened_at=item.captured_at)
                    found.append(ep)
                ep.states.append(patch["PatchState"])
                ep.severities.append(patch.get("Severity"))
                ep.vendor.append(patch.get("PatchSeverity"))
                ep.cves |= cves(patch)
                ep.patch_group = patch.get("PatchGroup")
    return found


def quantile_cont(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def end_of_day(day: date) -> datetime:
    """The last microsecond of a UTC day."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + DAY - timedelta(microseconds=1)


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
