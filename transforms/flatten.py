"""Raw configuration items -> typed, Arrow-backed frames: items, instance snapshots, patch observations.

Pure: takes records and returns frames. A record that cannot be used comes back as a row of the
`rejected` frame (with its reason and payload), never as an exception.

One pass of plain Python gathers column lists (no per-item DataFrame, no json_normalize); the
columns become Arrow arrays and then pandas frames with `pd.ArrowDtype` columns, so casting
(timestamps, lists) is vectorised.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from transforms.items import (
    PATCH_COMPLIANCE,
    ItemError,
    NormalItem,
    compliance_item,
    normalise,
    resource_type_of,
)

#: Canonical patch states; any CamelCase / UPPER_SNAKE / lower spelling maps onto one of these.
PATCH_STATES = (
    "Installed",
    "InstalledOther",
    "InstalledPendingReboot",
    "InstalledRejected",
    "Missing",
    "Failed",
    "NotApplicable",
    "AvailableSecurityUpdate",
)
_STATE_BY_KEY = {s.lower(): s for s in PATCH_STATES}
STATE_COUNT_COLUMNS = {
    "Installed": "installed_count",
    "InstalledOther": "installed_other_count",
    "InstalledPendingReboot": "installed_pending_reboot_count",
    "InstalledRejected": "installed_rejected_count",
    "Missing": "missing_count",
    "Failed": "failed_count",
    "NotApplicable": "not_applicable_count",
    "AvailableSecurityUpdate": "available_security_update_count",
}
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNSPECIFIED")
SUMMARY_COUNT_COLUMNS = {
    f"{kind}{sev.capitalize()}Count": f"{'compliant' if kind == 'Compliant' else 'non_compliant'}_{sev.lower()}_count"
    for kind in ("Compliant", "NonCompliant")
    for sev in SEVERITIES
}
_NON_COMPLIANT_STATES = {"InstalledPendingReboot", "InstalledRejected", "Missing", "Failed"}

TS = pa.timestamp("us", tz="UTC")
ITEM_SCHEMA = pa.schema([
    ("ci_id", pa.string()), ("account_id", pa.string()), ("aws_region", pa.string()),
    ("resource_type", pa.string()), ("resource_id", pa.string()), ("instance_id", pa.string()),
    ("captured_at", TS), ("item_status", pa.string()), ("state_id", pa.string()),
    ("configuration_json", pa.string()), ("event_id", pa.string()), ("event_time", TS),
    ("dialect", pa.string()), ("source", pa.string()), ("source_ref", pa.string()),
    ("record_ref", pa.string()),
])
INSTANCE_SCHEMA = pa.schema(
    [("ci_id", pa.string()), ("account_id", pa.string()), ("aws_region", pa.string()),
     ("instance_id", pa.string()), ("captured_at", TS), ("state_id", pa.string()),
     ("item_status", pa.string()), ("is_deleted", pa.bool_()), ("has_patch_map", pa.bool_()),
     ("compliance_status", pa.string()), ("overall_severity", pa.string()),
     ("baseline_id", pa.string()), ("patch_group", pa.string()), ("execution_type", pa.string()),
     ("patch_count", pa.int32())]
    + [(c, pa.int32()) for c in STATE_COUNT_COLUMNS.values()]
    + [(c, pa.int32()) for c in SUMMARY_COUNT_COLUMNS.values()]
)
PATCH_SCHEMA = pa.schema([
    ("ci_id", pa.string()), ("account_id", pa.string()), ("aws_region", pa.string()),
    ("instance_id", pa.string()), ("captured_at", TS), ("patch_id", pa.string()),
    ("title", pa.string()), ("state", pa.string()), ("compliance_status", pa.string()),
    ("severity", pa.string()), ("vendor_severity", pa.string()), ("classification", pa.string()),
    ("installed_at", TS), ("cve_ids", pa.list_(pa.string())), ("baseline_id", pa.string()),
    ("patch_group", pa.string()),
])
REJECTED_SCHEMA = pa.schema([
    ("source", pa.string()), ("source_ref", pa.string()), ("record_ref", pa.string()),
    ("reason", pa.string()), ("payload", pa.string()),
])


@dataclass(slots=True)
class RawItem:
    """One record as a source read it.

    Args:
        payload: the parsed record (dict), or its raw text when it could not be parsed.
        source: lake | lake_export | config_delivery | file.
        source_ref: the file path, S3 key + ETag, or Lake query id it came from.
        record_ref: where in that source (e.g. `item 3`, `line 57`).
        error: set by the reader when the record could not even be parsed.
    """

    payload: dict[str, Any] | str
    source: str
    source_ref: str
    record_ref: str
    error: str | None = None


@dataclass
class Flattened:
    """The frames of one batch: landing items, instance snapshots, patch observations, rejects."""

    items: pd.DataFrame
    instances: pd.DataFrame
    patches: pd.DataFrame
    rejected: pd.DataFrame
    skipped: Counter[str] = field(default_factory=Counter)

    @property
    def counts(self) -> dict[str, int]:
        return {"items": len(self.items), "patches": len(self.patches),
                "rejected": len(self.rejected), "skipped": sum(self.skipped.values())}


def normal_state(value: Any) -> str | None:
    """The canonical spelling of a patch state (`INSTALLED_OTHER` -> `InstalledOther`), or None."""
    if not isinstance(value, str):
        return None
    return _STATE_BY_KEY.get(value.replace("_", "").replace(" ", "").lower())


def flatten(raw_items: Iterable[RawItem]) -> Flattened:
    """Flatten raw records into typed frames; unusable records become rows of `rejected`.

    Only `AWS::SSM::PatchCompliance` items are kept; other resource types are counted in `skipped`.
    """
    acc = _Columns()
    for raw in raw_items:
        if raw.error is not None or not isinstance(raw.payload, dict):
            acc.reject(raw, raw.error or "record is not a JSON object")
            continue
        try:
            rtype = resource_type_of(raw.payload)
            if rtype and rtype != PATCH_COMPLIANCE:
                acc.skipped[rtype] += 1
                continue
            item = normalise(raw.payload)
            if item.resource_type != PATCH_COMPLIANCE:
                acc.skipped[item.resource_type] += 1
                continue
            summary, patches = _patch_content(item)
            summary_counts = {col: _count(summary, key) for key, col in SUMMARY_COUNT_COLUMNS.items()}
        except ItemError as exc:
            acc.reject(raw, str(exc))
            continue
        acc.add(raw, item, summary, summary_counts, patches)
    return acc.frames()


def _patch_content(item: NormalItem) -> tuple[dict[str, Any] | None, list[tuple] | None]:
    """(ComplianceSummary, patch tuples) of an item; patches is None when there is no patch map."""
    content = compliance_item(item.configuration)
    if content is None:
        return None, None
    body = content.get("Content")
    patch_map = body.get("Patch") if isinstance(body, dict) else None
    if patch_map is None:
        return None, None
    if not isinstance(patch_map, dict):
        raise ItemError("Content.Patch is not an object")
    summary = None
    patches = []
    for key, p in patch_map.items():
        if key == "ComplianceSummary":
            if not isinstance(p, dict):
                raise ItemError("ComplianceSummary is not an object")
            summary = p
            continue
        if not isinstance(p, dict):
            raise ItemError(f"patch {key!r} is not an object")
        raw_state = p.get("PatchState")
        state = normal_state(raw_state)
        if state is None:
            raise ItemError(f"patch {key!r} has unknown PatchState {raw_state!r}")
        cves = p.get("CVEIds")
        patches.append((
            str(p.get("Id") or key),
            p.get("Title") or None,
            state,
            p.get("Status"),
            p.get("Severity") or None,
            p.get("PatchSeverity") or None,
            p.get("Classification") or None,
            p.get("InstalledTime") or None,
            [c.strip() for c in cves.split(",") if c.strip()] if isinstance(cves, str) else [],
            p.get("PatchBaselineId") or None,
            p.get("PatchGroup") or None,
        ))
    return summary, patches


class _Columns:
    """Column lists gathered item by item, turned into frames once per batch."""

    def __init__(self) -> None:
        self.items: dict[str, list] = {n: [] for n in ITEM_SCHEMA.names}
        self.inst: dict[str, list] = {n: [] for n in INSTANCE_SCHEMA.names}
        self.patch_cols: list[list] = [[] for _ in range(11)]
        self.patch_counts: list[int] = []
        self.rejected: dict[str, list] = {n: [] for n in REJECTED_SCHEMA.names}
        self.skipped: Counter[str] = Counter()

    def reject(self, raw: RawItem, reason: str) -> None:
        payload = raw.payload if isinstance(raw.payload, str) else orjson.dumps(
            raw.payload, default=str).decode()
        for name, value in zip(REJECTED_SCHEMA.names,
                               (raw.source, raw.source_ref, raw.record_ref, reason, payload), strict=True):
            self.rejected[name].append(value)

    def add(self, raw: RawItem, item: NormalItem, summary: dict | None,
            summary_counts: dict[str, int | None], patches: list[tuple] | None) -> None:
        counts = Counter(p[2] for p in patches) if patches else Counter()
        status, severity, baseline, group, execution = _instance_level(summary, patches)
        for name, value in (
            ("ci_id", item.ci_id), ("account_id", item.account_id), ("aws_region", item.aws_region),
            ("resource_type", item.resource_type), ("resource_id", item.resource_id),
            ("instance_id", item.instance_id), ("captured_at", item.captured_at),
            ("item_status", item.item_status), ("state_id", item.state_id),
            ("configuration_json", item.configuration_json), ("event_id", item.event_id),
            ("event_time", item.event_time), ("dialect", item.dialect), ("source", raw.source),
            ("source_ref", raw.source_ref), ("record_ref", raw.record_ref),
        ):
            self.items[name].append(value)
        row = {
            "ci_id": item.ci_id, "account_id": item.account_id, "aws_region": item.aws_region,
            "instance_id": item.instance_id, "captured_at": item.captured_at, "state_id": item.state_id,
            "item_status": item.item_status, "is_deleted": item.is_deleted,
            "has_patch_map": patches is not None, "compliance_status": status,
            "overall_severity": severity, "baseline_id": baseline, "patch_group": group,
            "execution_type": execution, "patch_count": len(patches) if patches is not None else None,
            **{col: (counts.get(state, 0) if patches is not None else None)
               for state, col in STATE_COUNT_COLUMNS.items()},
            **summary_counts,
        }
        for name in INSTANCE_SCHEMA.names:
            self.inst[name].append(row[name])
        n = 0
        if patches:
            for p in patches:
                for i in range(11):
                    self.patch_cols[i].append(p[i])
            n = len(patches)
        self.patch_counts.append(n)

    def frames(self) -> Flattened:
        items = pa.table(self.items, schema=ITEM_SCHEMA)
        instances = pa.table(self.inst, schema=INSTANCE_SCHEMA)
        patches = self._patch_table(instances)
        rejected = pa.table(self.rejected, schema=REJECTED_SCHEMA)
        return Flattened(
            items=_to_pandas(items), instances=_to_pandas(instances), patches=_to_pandas(patches),
            rejected=_to_pandas(rejected), skipped=self.skipped,
        )

    def _patch_table(self, instances: pa.Table) -> pa.Table:
        # Item-level columns repeated once per patch: vectorised, not per row.
        take = pa.array(np.repeat(np.arange(len(self.patch_counts)), self.patch_counts))
        cols = {name: instances[name].take(take) for name in
                ("ci_id", "account_id", "aws_region", "instance_id", "captured_at")}
        (pid, title, state, status, sev, vsev, cls, installed, cves, baseline, group) = self.patch_cols
        installed_at = _installed_times(pa.array(installed, pa.string()))
        return pa.table({
            **cols,
            "patch_id": pa.array(pid, pa.string()), "title": pa.array(title, pa.string()),
            "state": pa.array(state, pa.string()), "compliance_status": pa.array(status, pa.string()),
            "severity": pa.array(sev, pa.string()), "vendor_severity": pa.array(vsev, pa.string()),
            "classification": pa.array(cls, pa.string()), "installed_at": installed_at,
            "cve_ids": pa.array(cves, pa.list_(pa.string())),
            "baseline_id": pa.array(baseline, pa.string()), "patch_group": pa.array(group, pa.string()),
        }, schema=PATCH_SCHEMA)


def _installed_times(text: pa.Array) -> pa.Array:
    """`InstalledTime` strings -> UTC timestamps; empty, unparseable and epoch-0 values -> null."""
    parsed = pc.strptime(pc.replace_substring(text, "Z", "+0000"), format="%Y-%m-%dT%H:%M:%S%z",
                         unit="us", error_is_null=True)
    parsed = parsed.cast(TS)
    epoch_zero = pc.less_equal(parsed, pa.scalar(0, TS))
    return pc.if_else(epoch_zero, pa.scalar(None, TS), parsed)


def _instance_level(summary: dict | None, patches: list[tuple] | None) -> tuple:
    """(compliance status, overall severity, baseline id, patch group, execution type) of an item.

    The `ComplianceSummary` supplies them; without one they are derived from the patches.
    """
    if summary is not None:
        return (summary.get("Status") or None, summary.get("OverallSeverity") or None,
                summary.get("PatchBaselineId") or None, summary.get("PatchGroup") or None,
                summary.get("ExecutionType") or None)
    if patches is None:
        return None, None, None, None, None
    failing = [p for p in patches if p[2] in _NON_COMPLIANT_STATES or p[3] == "NON_COMPLIANT"]
    severity = "UNSPECIFIED"
    for sev in SEVERITIES:
        if any(p[4] == sev for p in failing):
            severity = sev
            break
    first = patches[0] if patches else (None,) * 11
    return ("NON_COMPLIANT" if failing else "COMPLIANT", severity, first[9], first[10], None)


def _count(summary: dict | None, key: str) -> int | None:
    if summary is None:
        return None
    value = summary.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ItemError(f"ComplianceSummary.{key} is a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise ItemError(f"ComplianceSummary.{key} {value!r} is not a count")


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper=pd.ArrowDtype)
