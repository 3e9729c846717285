"""Raw configuration items -> typed, Arrow-backed frames: items, instance snapshots, patch observations.

Pure: takes records and returns frames. A record that cannot be used comes back as a row of the
`rejected` frame (with its reason and payload), never as an exception.

Fast path: item-level fields are read in Python (a few per item), but the patches, the bulk of
the data, never go through per-patch Python code: each batch's patch objects become one Arrow
struct array in a single C++ conversion, and state normalisation, id fallback, empty-string
handling, CVE splitting, time parsing and per-instance counts are Arrow/numpy kernels.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
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
_STATE_KEYS = pa.array([s.lower() for s in PATCH_STATES])
_STATE_NAMES = pa.array(PATCH_STATES)
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
#: States that make a patch non-compliant (NotApplicable never does).
NON_COMPLIANT_STATES = ("InstalledPendingReboot", "InstalledRejected", "Missing", "Failed")

#: The per-patch fields read from each entry of Content.Patch.
PATCH_FIELDS = ("Id", "Title", "Status", "Severity", "PatchState", "PatchSeverity", "Classification",
                "InstalledTime", "PatchBaselineId", "PatchGroup", "CVEIds")
PATCH_STRUCT = pa.struct([(f, pa.string()) for f in PATCH_FIELDS])

TS = pa.timestamp("us", tz="UTC")
ITEM_SCHEMA = pa.schema([
    ("ci_id", pa.string()), ("account_id", pa.string()), ("aws_region", pa.string()),
    ("resource_type", pa.string()), ("resource_id", pa.string()), ("instance_id", pa.string()),
    ("captured_at", TS), ("item_status", pa.string()), ("state_id", pa.string()),
    ("configuration_json", pa.string()), ("event_id", pa.string()), ("event_time", TS),
    ("dialect", pa.string()), ("source", pa.string()), ("source_ref", pa.string()),
    ("record_ref", pa.string()),
])
_INSTANCE_HEAD = [
    ("ci_id", pa.string()), ("account_id", pa.string()), ("aws_region", pa.string()),
    ("instance_id", pa.string()), ("captured_at", TS), ("state_id", pa.string()),
    ("item_status", pa.string()), ("is_deleted", pa.bool_()), ("has_patch_map", pa.bool_()),
    ("compliance_status", pa.string()), ("overall_severity", pa.string()),
    ("baseline_id", pa.string()), ("patch_group", pa.string()), ("execution_type", pa.string()),
]
INSTANCE_SCHEMA = pa.schema(
    _INSTANCE_HEAD + [("patch_count", pa.int32())]
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
    #: skipped items per (source_ref, resource type), to attribute them to their objects
    skipped_by_ref: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def counts(self) -> dict[str, int]:
        return {"items": len(self.items), "patches": len(self.patches),
                "rejected": len(self.rejected), "skipped": sum(self.skipped.values())}


def normal_state(value: Any) -> str | None:
    """The canonical spelling of a patch state (`INSTALLED_OTHER` -> `InstalledOther`), or None."""
    if not isinstance(value, str):
        return None
    return _canonical_states(pa.array([value])).to_pylist()[0]


def flatten(raw_items: Iterable[RawItem], *, now: datetime | None = None) -> Flattened:
    """Flatten raw records into typed frames; unusable records become rows of `rejected`.

    Only `AWS::SSM::PatchCompliance` items are kept; other resource types are counted in `skipped`.
    `now` is the run's clock (capture times far after it are rejected).
    """
    batch = _Batch()
    for raw in raw_items:
        if raw.error is not None or not isinstance(raw.payload, dict):
            batch.reject(raw, raw.error or "record is not a JSON object")
            continue
        try:
            rtype = resource_type_of(raw.payload)
            if not rtype or rtype == PATCH_COMPLIANCE:
                item = normalise(raw.payload)
                rtype = item.resource_type
            if rtype != PATCH_COMPLIANCE:
                batch.skipped[rtype] += 1
                batch.skipped_by_ref[(raw.source_ref, rtype)] += 1
                continue
            summary, keys, values = _patch_map(item)
            summary_counts = [_count(summary, key) for key in SUMMARY_COUNT_COLUMNS]
        except ItemError as exc:
            batch.reject(raw, str(exc))
            continue
        batch.add(raw, item, summary, summary_counts, keys, values)
    return batch.frames()


def _patch_map(item: NormalItem) -> tuple[dict | None, list[str] | None, list[dict] | None]:
    """(ComplianceSummary, patch keys, patch objects) of an item; keys is None without a patch map."""
    content = compliance_item(item.configuration)
    if content is None:
        return None, None, None
    body = content.get("Content")
    patch_map = body.get("Patch") if isinstance(body, dict) else None
    if patch_map is None:
        return None, None, None
    if not isinstance(patch_map, dict):
        raise ItemError("Content.Patch is not an object")
    keys = list(patch_map)
    values = list(patch_map.values())
    summary = None
    if "ComplianceSummary" in patch_map:
        at = keys.index("ComplianceSummary")
        summary = values.pop(at)
        del keys[at]
        if not isinstance(summary, dict):
            raise ItemError("ComplianceSummary is not an object")
    if not all(type(v) is dict for v in values):
        bad = next(k for k, v in zip(keys, values, strict=True) if type(v) is not dict)
        raise ItemError(f"patch {bad!r} is not an object")
    return summary, keys, values


class _Batch:
    """Item-level columns gathered item by item; patch objects kept for one Arrow conversion."""

    def __init__(self) -> None:
        self.raws: list[RawItem] = []
        self.items: dict[str, list] = {n: [] for n in ITEM_SCHEMA.names}
        self.head: dict[str, list] = {n: [] for n, _ in _INSTANCE_HEAD}
        self.summary_counts: list[list[int | None]] = []
        self.has_summary: list[bool] = []
        self.keys: list[str] = []
        self.values: list[dict] = []
        self.patch_counts: list[int] = []
        self.rejected: dict[str, list] = {n: [] for n in REJECTED_SCHEMA.names}
        self.skipped: Counter[str] = Counter()
        self.skipped_by_ref: Counter[tuple[str, str]] = Counter()

    def reject(self, raw: RawItem, reason: str) -> None:
        payload = raw.payload if isinstance(raw.payload, str) else orjson.dumps(
            raw.payload, default=str).decode()
        for name, value in zip(REJECTED_SCHEMA.names,
                               (raw.source, raw.source_ref, raw.record_ref, reason, payload), strict=True):
            self.rejected[name].append(value)

    def add(self, raw: RawItem, item: NormalItem, summary: dict | None,
            summary_counts: list[int | None], keys: list[str] | None, values: list[dict] | None) -> None:
        self.raws.append(raw)
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
        s = summary or {}
        for name, value in (
            ("ci_id", item.ci_id), ("account_id", item.account_id), ("aws_region", item.aws_region),
            ("instance_id", item.instance_id), ("captured_at", item.captured_at),
            ("state_id", item.state_id), ("item_status", item.item_status),
            ("is_deleted", item.is_deleted), ("has_patch_map", keys is not None),
            ("compliance_status", s.get("Status") or None),
            ("overall_severity", s.get("OverallSeverity") or None),
            ("baseline_id", s.get("PatchBaselineId") or None),
            ("patch_group", s.get("PatchGroup") or None),
            ("execution_type", s.get("ExecutionType") or None),
        ):
            self.head[name].append(value)
        self.summary_counts.append(summary_counts)
        self.has_summary.append(summary is not None)
        self.patch_counts.append(-1 if keys is None else len(keys))
        if keys:
            self.keys.extend(keys)
            self.values.extend(values)

    def frames(self) -> Flattened:
        patches, item_of_row, bad_items = self._patch_struct()
        patches, bad_rows = _normalise_patches(patches, pa.array(self.keys, pa.string()))
        for row, reason in bad_rows:
            bad_items.setdefault(int(item_of_row[row]), reason)
        items = self._item_table()
        instances = self._instances(patches, item_of_row)
        patch_table = _patch_table(patches, item_of_row, instances)
        if bad_items:
            keep = np.ones(len(self.raws), dtype=bool)
            for index, reason in sorted(bad_items.items()):
                keep[index] = False
                self.reject(self.raws[index], reason)
            items = items.filter(pa.array(keep))
            instances = instances.filter(pa.array(keep))
            patch_table = patch_table.filter(pa.array(keep[item_of_row]))
        return Flattened(
            items=_to_pandas(items), instances=_to_pandas(instances), patches=_to_pandas(patch_table),
            rejected=_to_pandas(pa.table(self.rejected, schema=REJECTED_SCHEMA)), skipped=self.skipped,
            skipped_by_ref=self.skipped_by_ref,
        )

    def _item_table(self) -> pa.Table:
        columns = {}
        for column in ITEM_SCHEMA:
            values = self.items[column.name]
            if column.name == "configuration_json":  # bytes: no decode/re-encode of big texts
                columns[column.name] = pa.array(values, pa.binary()).cast(pa.string())
            else:
                columns[column.name] = pa.array(values, column.type)
        return pa.table(columns, schema=ITEM_SCHEMA)

    def _patch_struct(self) -> tuple[pa.StructArray, np.ndarray, dict[int, str]]:
        """All patch objects of the batch as one struct array (one C++ conversion), each row's
        item index, and the items whose patch fields are not strings (rare: found item by item)."""
        counts = np.maximum(np.array(self.patch_counts, dtype=np.int64), 0)
        item_of_row = np.repeat(np.arange(len(counts)), counts)
        try:
            return pa.array(self.values, PATCH_STRUCT), item_of_row, {}
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
        bad: dict[int, str] = {}
        starts = np.concatenate([[0], np.cumsum(counts)])
        for index, n in enumerate(counts):
            try:
                pa.array(self.values[starts[index]:starts[index] + n], PATCH_STRUCT)
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                bad[index] = f"a patch field is not a string ({exc})"
        keep_rows = ~np.isin(item_of_row, list(bad))
        self.values = [v for v, ok in zip(self.values, keep_rows, strict=True) if ok]
        self.keys = [k for k, ok in zip(self.keys, keep_rows, strict=True) if ok]
        return pa.array(self.values, PATCH_STRUCT), item_of_row[keep_rows], bad

    def _instances(self, patches: pa.StructArray, item_of_row: np.ndarray) -> pa.Table:
        n = len(self.raws)
        columns: dict[str, Any] = {name: pa.array(self.head[name], type) for name, type in _INSTANCE_HEAD}
        no_map = ~np.array(self.head["has_patch_map"], dtype=bool)
        codes = pc.fill_null(pc.index_in(patches.field("PatchState"), value_set=_STATE_NAMES), 0)
        counts = np.bincount(item_of_row * len(PATCH_STATES) + codes.to_numpy(zero_copy_only=False),
                             minlength=n * len(PATCH_STATES)).reshape(n, len(PATCH_STATES))
        columns["patch_count"] = pa.array(counts.sum(axis=1), pa.int32(), mask=no_map)
        for i, column in enumerate(STATE_COUNT_COLUMNS.values()):
            columns[column] = pa.array(counts[:, i], pa.int32(), mask=no_map)
        for i, column in enumerate(SUMMARY_COUNT_COLUMNS.values()):
            columns[column] = pa.array([row[i] for row in self.summary_counts], pa.int32())
        table = pa.table(columns, schema=INSTANCE_SCHEMA)
        derive = ~no_map & ~np.array(self.has_summary, dtype=bool)
        if derive.any():
            table = _derive_from_patches(table, patches, item_of_row, derive)
        return table


def _patch_table(patches: pa.StructArray, item_of_row: np.ndarray, instances: pa.Table) -> pa.Table:
    """Patch rows with their item's columns repeated (a vectorised take, not a loop)."""
    take = pa.array(item_of_row, pa.int64())
    cols = {name: instances[name].take(take) for name in
            ("ci_id", "account_id", "aws_region", "instance_id", "captured_at")}
    return pa.table({
        **cols,
        "patch_id": patches.field("Id"), "title": patches.field("Title"),
        "state": patches.field("PatchState"), "compliance_status": patches.field("Status"),
        "severity": patches.field("Severity"), "vendor_severity": patches.field("PatchSeverity"),
        "classification": patches.field("Classification"),
        "installed_at": _installed_times(patches.field("InstalledTime")),
        "cve_ids": _cve_lists(patches.field("CVEIds")),
        "baseline_id": patches.field("PatchBaselineId"), "patch_group": patches.field("PatchGroup"),
    }, schema=PATCH_SCHEMA)


def _normalise_patches(patches: pa.StructArray, keys: pa.Array) -> tuple[pa.StructArray, list]:
    """Canonical states, ids (falling back to the map key), empty strings as nulls.

    Returns the new struct array and (row, reason) for rows whose state is unknown.
    """
    state = patches.field("PatchState")
    canonical = _canonical_states(state)
    bad = []
    unknown = pc.is_null(canonical)
    if pc.any(unknown).as_py():
        for row in np.flatnonzero(unknown.to_numpy(zero_copy_only=False)):
            bad.append((int(row), f"patch {keys[row].as_py()!r} has unknown PatchState "
                                  f"{state[row].as_py()!r}"))
    pid = patches.field("Id")
    fields = {f: patches.field(f) for f in PATCH_FIELDS}
    fields["Id"] = pc.if_else(pc.fill_null(pc.equal(pid, ""), True), keys, pid)
    fields["PatchState"] = canonical
    for name in ("Title", "Severity", "PatchSeverity", "Classification", "InstalledTime",
                 "PatchBaselineId", "PatchGroup"):
        fields[name] = _empty_as_null(fields[name])
    return pa.StructArray.from_arrays(list(fields.values()), names=list(fields)), bad


def _canonical_states(state: pa.Array) -> pa.Array:
    """Any spelling (`INSTALLED_OTHER`, `installedOther`) -> canonical; unknown or missing -> null."""
    exact = pc.index_in(state, value_set=_STATE_NAMES)
    if exact.null_count == state.null_count:  # all canonical already (the usual case)
        return state
    key = pc.utf8_lower(pc.replace_substring_regex(state, r"[_\s]", ""))
    return pc.coalesce(pc.take(_STATE_NAMES, exact),
                       pc.take(_STATE_NAMES, pc.index_in(key, value_set=_STATE_KEYS)))


def _derive_from_patches(table: pa.Table, patches: pa.StructArray, item_of_row: np.ndarray,
                         derive: np.ndarray) -> pa.Table:
    """Instance status, severity, baseline and group from the patches, for items without a summary."""
    n = table.num_rows
    failing = pc.or_kleene(pc.is_in(patches.field("PatchState"), pa.array(NON_COMPLIANT_STATES)),
                           pc.equal(patches.field("Status"), "NON_COMPLIANT"))
    failing = pc.fill_null(failing, False).to_numpy(zero_copy_only=False)
    rank = pc.fill_null(pc.index_in(patches.field("Severity"), value_set=pa.array(SEVERITIES)),
                        len(SEVERITIES) - 1).to_numpy(zero_copy_only=False)
    worst = np.full(n, len(SEVERITIES) - 1)
    np.minimum.at(worst, item_of_row[failing], rank[failing])
    any_failing = np.bincount(item_of_row[failing], minlength=n) > 0
    first_row = np.full(n, -1)
    first_row[item_of_row[::-1]] = np.arange(len(item_of_row))[::-1]

    def pick(column: str, derived: list) -> pa.Array:
        return pa.array([d if derive[i] else v for i, (v, d) in
                         enumerate(zip(table[column].to_pylist(), derived, strict=True))], pa.string())

    baseline = patches.field("PatchBaselineId").to_pylist()
    group = patches.field("PatchGroup").to_pylist()
    updates = {
        "compliance_status": ["NON_COMPLIANT" if f else "COMPLIANT" for f in any_failing],
        "overall_severity": [SEVERITIES[w] if f else "UNSPECIFIED" for w, f in zip(worst, any_failing, strict=True)],
        "baseline_id": [baseline[r] if r >= 0 else None for r in first_row],
        "patch_group": [group[r] if r >= 0 else None for r in first_row],
    }
    for column, derived in updates.items():
        table = table.set_column(table.schema.get_field_index(column), column, pick(column, derived))
    return table


def _empty_as_null(values: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)


def _installed_times(text: pa.Array) -> pa.Array:
    """`InstalledTime` strings -> UTC timestamps; empty, unparseable and epoch-0 values -> null."""
    parsed = pc.strptime(pc.replace_substring(text, "Z", "+0000"), format="%Y-%m-%dT%H:%M:%S%z",
                         unit="us", error_is_null=True).cast(TS)
    return pc.if_else(pc.less_equal(parsed, pa.scalar(0, TS)), pa.scalar(None, TS), parsed)


def _cve_lists(text: pa.Array) -> pa.Array:
    """`CVEIds` "CVE-1, CVE-2" -> ["CVE-1", "CVE-2"]; absent or empty -> []."""
    trimmed = _empty_as_null(pc.utf8_trim(text, characters=" ,\t"))
    lists = pc.split_pattern_regex(trimmed, pattern=r"\s*,[\s,]*")
    return pc.fill_null(lists, pa.scalar([], pa.list_(pa.string())))


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
