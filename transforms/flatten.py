"""Raw configuration items -> typed, Arrow-backed frames: items, instance snapshots, patch observations.

Pure: takes records and returns frames. A record that cannot be used comes back as a row of the
`rejected` frame (with its reason and payload), never as an exception: `flatten` does not raise,
whatever its input (tests/test_transforms_fuzz.py).

Fast path: item-level fields are read in Python (a few per item), but the patches, the bulk of
the data, never go through per-patch Python code: each batch's patch objects become one Arrow
struct array in a single C++ conversion, and state normalisation, id fallback, duplicate ids,
empty-string handling, CVE splitting, time parsing and per-instance counts are Arrow/numpy
kernels.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from patchtrail.transforms.configuration_text import compressed
from patchtrail.transforms.installed_time import installed_times
from patchtrail.transforms.items import (
    PATCH_COMPLIANCE,
    ItemError,
    NormalItem,
    json_type,
    normalise,
    resource_type_of,
)
from patchtrail.transforms.payload import MAX_TEXT, clean_text, payload_text
from patchtrail.transforms.raw import RawItem  # noqa: F401 (re-exported: the input of flatten)
from patchtrail.transforms.summary import (
    SEVERITIES,
    SUMMARY_COUNT_COLUMNS,
    SUMMARY_TEXT_COLUMNS,
    summary_count,
    summary_texts,
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
#: The state of a patch entry whose PatchState is absent or none of PATCH_STATES (its text is
#: kept in raw_state). The seed queries' five lists leave such entries out, as the AWS SQL does.
UNKNOWN_STATE = "Unknown"
_STATE_KEYS = pa.array([s.lower() for s in PATCH_STATES])
_STATE_NAMES = pa.array(PATCH_STATES)
_COUNTED_STATES = pa.array((*PATCH_STATES, UNKNOWN_STATE))
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
UNKNOWN_COUNT_COLUMN = "unknown_count"
#: States that make a patch non-compliant (NotApplicable never does).
NON_COMPLIANT_STATES = ("InstalledPendingReboot", "InstalledRejected", "Missing", "Failed")

#: The per-patch fields read from each entry of Content.Patch.
PATCH_FIELDS = ("Id", "Title", "Status", "Severity", "PatchState", "PatchSeverity", "Classification",
                "InstalledTime", "PatchBaselineId", "PatchGroup", "CVEIds")
PATCH_STRUCT = pa.struct([(f, pa.string()) for f in PATCH_FIELDS])

TS = pa.timestamp("us", tz="UTC")
#: Column order = the tables' (landing, staging): new columns only ever go at the end.
ITEM_SCHEMA = pa.schema([
    ("ci_id", pa.string()), ("account_id", pa.string()), ("aws_region", pa.string()),
    ("resource_type", pa.string()), ("resource_id", pa.string()), ("instance_id", pa.string()),
    ("captured_at", TS), ("item_status", pa.string()), ("state_id", pa.string()),
    ("event_id", pa.string()), ("event_time", TS),
    ("dialect", pa.string()), ("source", pa.string()), ("source_ref", pa.string()),
    ("record_ref", pa.string()), ("content_sha256", pa.string()), ("configuration_zstd", pa.binary()),
])
_INSTANCE_HEAD = [
    ("ci_id", pa.string()), ("account_id", pa.string()), ("aws_region", pa.string()),
    ("instance_id", pa.string()), ("captured_at", TS), ("state_id", pa.string()),
    ("item_status", pa.string()), ("is_deleted", pa.bool_()), ("has_patch_map", pa.bool_()),
    ("compliance_status", pa.string()), ("overall_severity", pa.string()),
    ("baseline_id", pa.string()), ("patch_group", pa.string()), ("execution_type", pa.string()),
]
_INSTANCE_TAIL = [(UNKNOWN_COUNT_COLUMN, pa.int32()), ("is_recorded", pa.bool_())]
INSTANCE_SCHEMA = pa.schema(
    _INSTANCE_HEAD + [("patch_count", pa.int32())]
    + [(c, pa.int32()) for c in STATE_COUNT_COLUMNS.values()]
    + [(c, pa.int32()) for c in SUMMARY_COUNT_COLUMNS.values()]
    + _INSTANCE_TAIL
)
PATCH_SCHEMA = pa.schema([
    ("ci_id", pa.string()), ("account_id", pa.string()), ("aws_region", pa.string()),
    ("instance_id", pa.string()), ("captured_at", TS), ("patch_id", pa.string()),
    ("title", pa.string()), ("state", pa.string()), ("compliance_status", pa.string()),
    ("severity", pa.string()), ("vendor_severity", pa.string()), ("classification", pa.string()),
    ("installed_at", TS), ("cve_ids", pa.list_(pa.string())), ("baseline_id", pa.string()),
    ("patch_group", pa.string()), ("raw_state", pa.string()), ("installed_time_raw", pa.string()),
])
REJECTED_SCHEMA = pa.schema([
    ("source", pa.string()), ("source_ref", pa.string()), ("record_ref", pa.string()),
    ("reason", pa.string()), ("payload", pa.string()),
])
#: Longest reason kept, in characters.
MAX_REASON = 2000
_NULL_TEXT = pa.scalar(None, pa.string())


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

    #: the same frames as Arrow tables (items, instances, patches, rejected), when built so
    tables: tuple[pa.Table, pa.Table, pa.Table, pa.Table] | None = field(default=None, repr=False)

    @property
    def counts(self) -> dict[str, int]:
        return {"items": len(self.items), "patches": len(self.patches),
                "rejected": len(self.rejected), "skipped": sum(self.skipped.values())}


@dataclass
class FlatTables:
    """A batch's frames as Arrow tables: what landing reads, and cheap to send between processes."""

    items: pa.Table
    instances: pa.Table
    patches: pa.Table
    rejected: pa.Table
    skipped: Counter[str] = field(default_factory=Counter)
    skipped_by_ref: Counter[tuple[str, str]] = field(default_factory=Counter)

    @classmethod
    def of(cls, flat: Flattened) -> FlatTables:
        """The Arrow tables of `flat` (its own when it kept them, else converted)."""
        if flat.tables is not None:
            items, instances, patches, rejected = flat.tables
        else:
            items, instances, patches, rejected = (
                pa.Table.from_pandas(frame, preserve_index=False)
                for frame in (flat.items, flat.instances, flat.patches, flat.rejected))
        return cls(items, instances, patches, rejected, flat.skipped, flat.skipped_by_ref)


def flatten(raw_items: Iterable[RawItem], *, now: datetime | None = None) -> Flattened:
    """Flatten raw records into typed frames; unusable records become rows of `rejected`.

    Only `AWS::SSM::PatchCompliance` items are kept; other resource types are counted in `skipped`.
    Every record ends up in exactly one of items, rejected and skipped. Never raises.

    Args:
        raw_items: the records, as the readers yield them.
        now: the run's start time: capture/event times more than a day after it are rejected
            (None skips that check only).
    """
    raws = list(raw_items)
    batch = _Batch()
    for raw in raws:
        batch.take(raw, now)
    try:
        return batch.frames()
    except Exception:  # noqa: BLE001 - a case the item checks missed: isolate it item by item
        return _one_by_one(raws, now)


def _one_by_one(raws: list[RawItem], now: datetime | None) -> Flattened:
    """Flatten each record alone, so whatever broke the batch rejects only its own record."""
    parts = []
    for raw in raws:
        batch = _Batch()
        batch.take(raw, now)
        try:
            parts.append(batch.frames())
        except Exception as exc:  # noqa: BLE001
            alone = _Batch()
            alone.reject(raw, f"the item could not be flattened ({type(exc).__name__}: {exc})")
            parts.append(alone.frames())
    skipped: Counter[str] = Counter()
    by_ref: Counter[tuple[str, str]] = Counter()
    for part in parts:
        skipped.update(part.skipped)
        by_ref.update(part.skipped_by_ref)
    empty = _Batch().frames()
    frames = {name: pd.concat([getattr(p, name) for p in parts if len(getattr(p, name))]
                              or [getattr(empty, name)], ignore_index=True)
              for name in ("items", "instances", "patches", "rejected")}
    return Flattened(**frames, skipped=skipped, skipped_by_ref=by_ref)


def _patch_map(item: NormalItem) -> tuple[dict | None, list[str] | None, list[dict] | None]:
    """(ComplianceSummary, patch keys, patch objects) of an item; keys is None without a patch map."""
    if item.compliance is None:
        return None, None, None
    patch_map = item.compliance["Content"]["Patch"]  # normalise checked the shape
    keys = list(patch_map)
    values = list(patch_map.values())
    summary = None
    if "ComplianceSummary" in patch_map:
        at = keys.index("ComplianceSummary")
        summary = values.pop(at)
        del keys[at]
        if not isinstance(summary, dict):
            raise ItemError("ComplianceSummary is not an object")
    if values and set(map(type, values)) != {dict}:  # C-level: no per-patch Python code
        bad = next(k for k, v in zip(keys, values, strict=True) if type(v) is not dict)
        raise ItemError(f"patch {_quoted(bad)} is not an object")
    return summary, keys, values


class _Batch:
    """Item-level columns gathered item by item; patch objects kept for one Arrow conversion."""

    def __init__(self) -> None:
        self.raws: list[RawItem] = []
        self.items: dict[str, list] = {n: [] for n in ITEM_SCHEMA.names}
        self.head: dict[str, list] = {n: [] for n, _ in _INSTANCE_HEAD}
        self.is_recorded: list[bool] = []
        self.summary_counts: list[list[int | None]] = []
        self.has_summary: list[bool] = []
        self.keys: list[str] = []
        self.values: list[dict] = []
        self.patch_counts: list[int] = []
        self.rejected: dict[str, list] = {n: [] for n in REJECTED_SCHEMA.names}
        self.skipped: Counter[str] = Counter()
        self.skipped_by_ref: Counter[tuple[str, str]] = Counter()

    def take(self, raw: RawItem, now: datetime | None) -> None:
        """Add one record: as an item, a skipped record or a rejected one. Never raises."""
        if raw.error is not None or not isinstance(raw.payload, dict):
            self.reject(raw, raw.error or "record is not a JSON object")
            return
        stage = "the item"
        try:
            rtype = resource_type_of(raw.payload)
            if not rtype or rtype == PATCH_COMPLIANCE:
                item = normalise(raw.payload, now=now)
                rtype = item.resource_type
            if rtype != PATCH_COMPLIANCE:
                ref = clean_text(raw.source_ref)
                self.skipped[rtype] += 1
                self.skipped_by_ref[(ref, rtype)] += 1
                return
            stage = "Content.Patch"
            summary, keys, values = _patch_map(item)
            stage = "ComplianceSummary"
            texts = summary_texts(summary)
            counts = [summary_count(summary, key) for key in SUMMARY_COUNT_COLUMNS]
        except ItemError as exc:
            self.reject(raw, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - whatever else goes wrong rejects this record only
            self.reject(raw, f"{stage}: unexpected {type(exc).__name__} ({exc})")
            return
        self.add(raw, item, summary, texts, counts, keys, values)

    def reject(self, raw: RawItem, reason: str) -> None:
        payload = raw.payload if isinstance(raw.payload, str) else payload_text(raw.payload)
        for name, value in zip(REJECTED_SCHEMA.names,
                               (raw.source, raw.source_ref, raw.record_ref, reason, payload), strict=True):
            limit = MAX_REASON if name == "reason" else MAX_TEXT if name == "payload" else None
            self.rejected[name].append(clean_text(value, limit=limit))

    def add(self, raw: RawItem, item: NormalItem, summary: dict | None, texts: list[str | None],
            summary_counts: list[int | None], keys: list[str] | None, values: list[dict] | None) -> None:
        self.raws.append(raw)
        for name, value in (
            ("ci_id", item.ci_id), ("account_id", item.account_id), ("aws_region", item.aws_region),
            ("resource_type", item.resource_type), ("resource_id", item.resource_id),
            ("instance_id", item.instance_id), ("captured_at", item.captured_at),
            ("item_status", item.item_status), ("state_id", item.state_id),
            ("configuration_zstd", item.configuration_json), ("event_id", item.event_id),
            ("event_time", item.event_time), ("dialect", item.dialect),
            ("source", clean_text(raw.source)), ("source_ref", clean_text(raw.source_ref)),
            ("record_ref", clean_text(raw.record_ref)), ("content_sha256", item.content_sha256),
        ):
            self.items[name].append(value)
        for name, value in (
            ("ci_id", item.ci_id), ("account_id", item.account_id), ("aws_region", item.aws_region),
            ("instance_id", item.instance_id), ("captured_at", item.captured_at),
            ("state_id", item.state_id), ("item_status", item.item_status),
            ("is_deleted", item.is_deleted), ("has_patch_map", keys is not None),
            *zip(SUMMARY_TEXT_COLUMNS.values(), texts, strict=True),
        ):
            self.head[name].append(value)
        self.is_recorded.append(item.is_recorded)
        self.summary_counts.append(summary_counts)
        self.has_summary.append(summary is not None)
        self.patch_counts.append(-1 if keys is None else len(keys))
        if keys:
            self.keys.extend(keys)
            self.values.extend(values)

    def frames(self) -> Flattened:
        patches, item_of_row, bad_items = self._patch_struct()
        fields = _normalise_patches(patches, pa.array(self.keys, pa.string()))
        first = _first_per_patch_id(item_of_row, fields["Id"], fields["_key"])
        if first is not None:
            fields = {name: values.filter(first) for name, values in fields.items()}
            item_of_row = item_of_row[first.to_numpy(zero_copy_only=False)]
        items = self._item_table()
        instances = self._instances(fields, item_of_row)
        patch_table = _patch_table(fields, item_of_row, instances)
        if bad_items:
            keep = np.ones(len(self.raws), dtype=bool)
            for index, reason in sorted(bad_items.items()):
                keep[index] = False
                self.reject(self.raws[index], reason)
            items = items.filter(pa.array(keep))
            instances = instances.filter(pa.array(keep))
            patch_table = patch_table.filter(pa.array(keep[item_of_row]))
        rejected = pa.table(self.rejected, schema=REJECTED_SCHEMA)
        return Flattened(
            items=_to_pandas(items), instances=_to_pandas(instances), patches=_to_pandas(patch_table),
            rejected=_to_pandas(rejected), skipped=self.skipped,
            tables=(items, instances, patch_table, rejected),
            skipped_by_ref=self.skipped_by_ref,
        )

    def _item_table(self) -> pa.Table:
        columns = {}
        for column in ITEM_SCHEMA:
            values = self.items[column.name]
            if column.name == "configuration_zstd":  # the JSON text, compressed here (in the workers)
                columns[column.name] = compressed(values)
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
        except Exception:  # noqa: BLE001 - find the items at fault below
            pass
        bad: dict[int, str] = {}
        starts = np.concatenate([[0], np.cumsum(counts)])
        for index, n in enumerate(counts):
            chunk = slice(int(starts[index]), int(starts[index] + n))
            try:
                pa.array(self.values[chunk], PATCH_STRUCT)
            except Exception as exc:  # noqa: BLE001
                bad[index] = _patch_field_problem(self.keys[chunk], self.values[chunk], exc)
        keep_rows = ~np.isin(item_of_row, list(bad))
        self.values = [v for v, ok in zip(self.values, keep_rows, strict=True) if ok]
        self.keys = [k for k, ok in zip(self.keys, keep_rows, strict=True) if ok]
        return pa.array(self.values, PATCH_STRUCT), item_of_row[keep_rows], bad

    def _instances(self, fields: dict[str, pa.Array], item_of_row: np.ndarray) -> pa.Table:
        n = len(self.raws)
        columns: dict[str, Any] = {name: pa.array(self.head[name], type) for name, type in _INSTANCE_HEAD}
        no_map = ~np.array(self.head["has_patch_map"], dtype=bool)
        states = len(_COUNTED_STATES)
        codes = pc.fill_null(pc.index_in(fields["PatchState"], value_set=_COUNTED_STATES), states - 1)
        counts = np.bincount(item_of_row * states + codes.to_numpy(zero_copy_only=False),
                             minlength=n * states).reshape(n, states)
        columns["patch_count"] = pa.array(counts.sum(axis=1), pa.int32(), mask=no_map)
        for i, column in enumerate(STATE_COUNT_COLUMNS.values()):
            columns[column] = pa.array(counts[:, i], pa.int32(), mask=no_map)
        for i, column in enumerate(SUMMARY_COUNT_COLUMNS.values()):
            columns[column] = pa.array([row[i] for row in self.summary_counts], pa.int32())
        columns[UNKNOWN_COUNT_COLUMN] = pa.array(counts[:, states - 1], pa.int32(), mask=no_map)
        columns["is_recorded"] = pa.array(self.is_recorded, pa.bool_())
        table = pa.table(columns, schema=INSTANCE_SCHEMA)
        derive = ~no_map & ~np.array(self.has_summary, dtype=bool)
        if derive.any():
            table = _derive_from_patches(table, fields, item_of_row, derive)
        return table


def _patch_table(fields: dict[str, pa.Array], item_of_row: np.ndarray, instances: pa.Table) -> pa.Table:
    """Patch rows with their item's columns repeated (a vectorised take, not a loop)."""
    take = pa.array(item_of_row, pa.int64())
    cols = {name: instances[name].take(take) for name in
            ("ci_id", "account_id", "aws_region", "instance_id", "captured_at")}
    installed_at, installed_raw = installed_times(fields["InstalledTime"])
    return pa.table({
        **cols,
        "patch_id": fields["Id"], "title": fields["Title"],
        "state": fields["PatchState"], "compliance_status": fields["Status"],
        "severity": fields["Severity"], "vendor_severity": fields["PatchSeverity"],
        "classification": fields["Classification"],
        "installed_at": installed_at,
        "cve_ids": _cve_lists(fields["CVEIds"]),
        "baseline_id": fields["PatchBaselineId"], "patch_group": fields["PatchGroup"],
        "raw_state": fields["raw_state"], "installed_time_raw": installed_raw,
    }, schema=PATCH_SCHEMA)


def _normalise_patches(patches: pa.StructArray, keys: pa.Array) -> dict[str, pa.Array]:
    """The patch fields with canonical states (Unknown + raw_state otherwise), ids (falling back to
    the map key), empty strings as nulls; `_key` is the map key of each row."""
    state = patches.field("PatchState")
    canonical = _canonical_states(state)
    fields = {f: patches.field(f) for f in PATCH_FIELDS}
    if canonical.null_count:
        unknown = pc.is_null(canonical)
        fields["PatchState"] = pc.fill_null(canonical, UNKNOWN_STATE)
        fields["raw_state"] = pc.if_else(unknown, pc.fill_null(state, ""), _NULL_TEXT)
    else:
        fields["PatchState"] = canonical
        fields["raw_state"] = pa.nulls(len(state), pa.string())
    pid = fields["Id"]
    fields["Id"] = pc.if_else(pc.fill_null(pc.equal(pid, ""), True), keys, pid)
    for name in ("Title", "Severity", "PatchSeverity", "Classification", "PatchBaselineId",
                 "PatchGroup"):
        fields[name] = _empty_as_null(fields[name])
    fields["_key"] = keys
    return fields


def _canonical_states(state: pa.Array) -> pa.Array:
    """Any spelling (`INSTALLED_OTHER`, `installedOther`) -> canonical; unknown or missing -> null."""
    exact = pc.index_in(state, value_set=_STATE_NAMES)
    if exact.null_count == state.null_count == 0:  # all canonical already (the usual case)
        return state
    key = pc.utf8_lower(pc.replace_substring_regex(state, r"[_\s]", ""))
    return pc.coalesce(pc.take(_STATE_NAMES, exact),
                       pc.take(_STATE_NAMES, pc.index_in(key, value_set=_STATE_KEYS)))


def _first_per_patch_id(item_of_row: np.ndarray, ids: pa.Array, keys: pa.Array) -> pa.Array | None:
    """Rows to keep when two map keys of one item carry the same patch Id: the smallest map key.

    None when no item has duplicate ids. Map keys are unique, so only rows whose Id differs from
    their key can collide: the usual case costs one comparison."""
    if not len(ids) or not pc.any(pc.not_equal(ids, keys)).as_py():
        return None
    table = pa.table({"item": pa.array(item_of_row, pa.int64()), "id": ids, "key": keys,
                      "row": pa.array(np.arange(len(ids)), pa.int64())})
    order = pc.sort_indices(table, sort_keys=[("item", "ascending"), ("id", "ascending"),
                                              ("key", "ascending")])
    ranked = table.take(order)
    same_item = pc.equal(ranked["item"].combine_chunks().slice(1), ranked["item"].combine_chunks()[:-1])
    same_id = pc.equal(ranked["id"].combine_chunks().slice(1), ranked["id"].combine_chunks()[:-1])
    duplicate = np.concatenate([[False], pc.and_(same_item, same_id).to_numpy(zero_copy_only=False)])
    keep = np.ones(len(ids), dtype=bool)
    keep[ranked["row"].to_numpy()[duplicate]] = False
    return pa.array(keep)


def _derive_from_patches(table: pa.Table, fields: dict[str, pa.Array], item_of_row: np.ndarray,
                         derive: np.ndarray) -> pa.Table:
    """Instance status, severity, baseline and group from the patches, for items without a summary."""
    n = table.num_rows
    failing = pc.or_kleene(pc.is_in(fields["PatchState"], pa.array(NON_COMPLIANT_STATES)),
                           pc.equal(fields["Status"], "NON_COMPLIANT"))
    failing = pc.fill_null(failing, False).to_numpy(zero_copy_only=False)
    rank = pc.fill_null(pc.index_in(fields["Severity"], value_set=pa.array(SEVERITIES)),
                        len(SEVERITIES) - 1).to_numpy(zero_copy_only=False)
    worst = np.full(n, len(SEVERITIES) - 1)
    np.minimum.at(worst, item_of_row[failing], rank[failing])
    any_failing = np.bincount(item_of_row[failing], minlength=n) > 0
    first_row = np.full(n, -1)
    first_row[item_of_row[::-1]] = np.arange(len(item_of_row))[::-1]
    first = pa.array(np.maximum(first_row, 0), pa.int64(), mask=first_row < 0)
    derived = {
        "compliance_status": pa.array(np.where(any_failing, "NON_COMPLIANT", "COMPLIANT"), pa.string()),
        "overall_severity": pa.array(np.where(any_failing, np.array(SEVERITIES)[worst], "UNSPECIFIED"),
                                     pa.string()),
        "baseline_id": pc.take(fields["PatchBaselineId"], first),
        "patch_group": pc.take(fields["PatchGroup"], first),
    }
    mask = pa.array(derive)
    for column, values in derived.items():
        at = table.schema.get_field_index(column)
        table = table.set_column(at, column, pc.if_else(mask, values, table[column].combine_chunks()))
    return table


def _patch_field_problem(keys: list[str], values: list[dict], exc: Exception) -> str:
    """Which patch field of one item is not a string (the slow path of _patch_struct)."""
    for key, value in zip(keys, values, strict=True):
        for name in PATCH_FIELDS:
            got = value.get(name)
            if got is not None and type(got) is not str:
                return f"patch {_quoted(key)} field {name} is {json_type(got)}, expected a string"
    return f"a patch field could not be read ({type(exc).__name__}: {exc})"


def _empty_as_null(values: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(values, ""), _NULL_TEXT, values)


def _cve_lists(text: pa.Array) -> pa.Array:
    """`CVEIds` "CVE-1, CVE-2" -> ["CVE-1", "CVE-2"]; absent or empty -> []."""
    trimmed = _empty_as_null(pc.utf8_trim(text, characters=" ,\t"))
    lists = pc.split_pattern_regex(trimmed, pattern=r"\s*,[\s,]*")
    # absent -> [] by rebuilding the offsets (fill_null with a list scalar is ~20x slower)
    lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pc.list_flatten(lists))


def _quoted(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper=pd.ArrowDtype)
