"""The Parquet lake's layout, manifest and publish plan, shared by the DuckDB and Spark writers.

Pure Python (no DuckDB, no Spark): the writers supply rows, fingerprints and file writes; this
module decides which files to keep, append, rewrite or delete, and switches the snapshot.

    <root>/<dataset>/<partition>=<yyyy-mm>/part-<snapshot>-<nnnn>.parquet   (monthly datasets)
    <root>/<dataset>/part-<snapshot>-<nnnn>.parquet                          (current datasets)
    <root>/_manifest.json                                                    (the snapshot)

A snapshot is what `_manifest.json` lists. A publish writes new files under names no earlier
snapshot used (on a local disk through a hidden temporary name and a rename, so no reader ever
sees a partial file), then replaces the manifest atomically, then deletes the files the new
snapshot no longer lists, including any left by a killed publish. Readers of the manifest see the
old snapshot or the new one, never a mix.

History is split so that a daily increment appends: version rows (immutable, partitioned by the
month of `valid_from`) and closures (`valid_to` of a version, partitioned by the month of
`valid_to`). A partition whose rows only grew gets one new file; a partition whose rows changed
otherwise (a late item re-sequencing old versions) is rewritten into one file; an unchanged one
is untouched. `patch_state` and `instance_compliance` are views joining the two (docs/bi.md).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from patchtrail.errors import PatchtrailError

MANIFEST = "_manifest.json"
#: Where a Spark writer spools a snapshot's files before renaming them into place (the first),
#: and the name versions before 0.2 used; both are swept.
SPOOL_FOLDERS = ("_spool", "_staging")
FORMAT = "patchtrail-lake"
VERSION = 2
#: Every timestamp in the lake is UTC with millisecond precision (Athena reads milliseconds).
TIMESTAMP_UNIT = "ms"
#: A monthly partition holding this many files is rewritten into one at the next change.
MAX_FILES_PER_PARTITION = 8
#: Rows per data file at most; a larger partition is written as several files.
MAX_ROWS_PER_FILE = 2_000_000
#: Folders of the layout before the split (version 1); their files are removed on the first
#: version-2 publish.
LEGACY_DATASETS = ("instance_compliance", "patch_state")
_PART = re.compile(r"^part-[0-9TZ]+-[0-9a-f]+-\d{4}\.parquet$")


class LakeError(PatchtrailError):
    """The lake cannot be read as it is (e.g. a corrupt manifest); republishing repairs it."""

    hint = "Run `patchtrail publish parquet` (or the Spark job) again: it republishes in full."


@dataclass(frozen=True)
class Dataset:
    """One dataset of the lake.

    Args:
        name: folder and table name.
        partition: the month column it is partitioned by (`yyyy-mm` text), or None for a
            current dataset (small, replaced whole when it changes).
        key: columns that order the rows inside a file (readers skip row groups by them).
    """

    name: str
    partition: str | None
    key: tuple[str, ...]

    @property
    def appendable(self) -> bool:
        return self.partition is not None


DATASETS: tuple[Dataset, ...] = (
    Dataset("instance_compliance_versions", "valid_from_month",
            ("account_id", "aws_region", "instance_id", "valid_from")),
    Dataset("instance_compliance_closures", "valid_to_month",
            ("account_id", "aws_region", "instance_id", "valid_from")),
    Dataset("patch_state_versions", "valid_from_month",
            ("account_id", "aws_region", "instance_id", "patch_id", "valid_from")),
    Dataset("patch_state_closures", "valid_to_month",
            ("account_id", "aws_region", "instance_id", "patch_id", "valid_from")),
    Dataset("patch_lists_by_item", "event_month", ("accountId", "awsRegion", "InstanceId", "eventTime")),
    Dataset("instance_compliance_daily", "snapshot_month",
            ("snapshot_date", "account_id", "aws_region", "instance_id")),
    Dataset("remediation_episodes", None, ("account_id", "aws_region", "instance_id", "patch_id", "episode_no")),
    Dataset("current_missing_patches", None, ("account_id", "aws_region", "instance_id", "patch_id")),
    Dataset("time_to_remediate", None, ("severity", "account_id")),
    Dataset("sla_status", None, ("account_id", "aws_region", "instance_id", "patch_id")),
    Dataset("sla_breaches", None, ("account_id", "aws_region", "instance_id", "patch_id")),
)
DATASET_NAMES = tuple(d.name for d in DATASETS)


def dataset(name: str) -> Dataset:
    return next(d for d in DATASETS if d.name == name)


class LakeFiles(Protocol):
    """The few file operations a lake needs; local disk, S3 (pyarrow) and Hadoop (Spark) do them."""

    def read_text(self, path: str) -> str | None:
        """The file's text, or None if it does not exist."""

    def write_text_atomic(self, path: str, text: str) -> None:
        """Replace `path` so that a reader sees the old text or the new, whole."""

    def list_files(self, folder: str) -> list[str]:
        """Every file under `folder` (recursive), as paths relative to the lake root."""

    def delete(self, path: str) -> None: ...


@dataclass
class PartitionState:
    """What the manifest says about one partition."""

    rows: int
    fingerprint: str
    files: list[str]

    def describe(self) -> dict[str, Any]:
        return {"rows": self.rows, "fingerprint": self.fingerprint, "files": list(self.files)}


@dataclass
class Snapshot:
    """A parsed manifest. `recovered` is set when the manifest on disk could not be used."""

    snapshot_id: str | None = None
    engine: str | None = None
    datasets: dict[str, dict[str, PartitionState]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    recovered: str | None = None
    legacy_files: list[str] = field(default_factory=list)

    def files(self) -> set[str]:
        return {f for parts in self.datasets.values() for p in parts.values() for f in p.files}


def new_snapshot_id(now: datetime | None = None) -> str:
    """`20260401T020304Z-1a2b3c`: sortable by time, unique across writers and kills."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def partition_path(ds: Dataset, value: str | None) -> str:
    """The folder of a partition, relative to the root: `patch_state_versions/valid_from_month=2026-03`."""
    return ds.name if ds.partition is None else f"{ds.name}/{ds.partition}={value}"


def partition_key(ds: Dataset, value: str | None) -> str:
    """The manifest's key of a partition: `valid_from_month=2026-03`, or '' for a current dataset."""
    return "" if ds.partition is None else f"{ds.partition}={value}"


def file_name(ds: Dataset, value: str | None, snapshot_id: str, seq: int) -> str:
    return f"{partition_path(ds, value)}/part-{snapshot_id}-{seq:04d}.parquet"


def read_snapshot(files: LakeFiles) -> Snapshot:
    """The lake's current snapshot; an absent manifest is an empty lake.

    A manifest that is empty, not JSON, or not a patchtrail manifest does not raise: the result
    has `recovered` set (the reason), and a publish then republishes in full.
    """
    try:
        text = files.read_text(MANIFEST)
    except OSError as exc:
        return Snapshot(recovered=f"{MANIFEST} could not be read ({exc})")
    if text is None:
        return Snapshot()
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        if "tables" in data and "datasets" not in data:  # version 1: in-place data.parquet files
            legacy = [p["file"] for t in data["tables"].values() for p in t["partitions"].values()]
            return Snapshot(recovered="version-1 manifest (layout before the split)", legacy_files=legacy)
        if data.get("format") != FORMAT or data.get("version") != VERSION:
            raise ValueError(f"format {data.get('format')!r} version {data.get('version')!r}")
        datasets = {
            name: {key: PartitionState(int(p["rows"]), str(p["fingerprint"]), [str(f) for f in p["files"]])
                   for key, p in entry["partitions"].items()}
            for name, entry in data["datasets"].items()
        }
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return Snapshot(recovered=f"{MANIFEST} is not a valid manifest ({exc})")
    extra = {k: v for k, v in data.items() if k not in ("datasets",)}
    return Snapshot(snapshot_id=data.get("snapshot_id"), engine=data.get("engine"),
                    datasets=datasets, extra=extra)


def snapshot_files(files: LakeFiles) -> dict[str, list[tuple[str, str]]]:
    """For readers: per dataset, (partition key, file) of the current snapshot.

    Raises:
        LakeError: the manifest is missing or unusable (a publish repairs it).
    """
    snap = read_snapshot(files)
    if snap.recovered or snap.snapshot_id is None:
        raise LakeError(snap.recovered or f"{MANIFEST} is missing: nothing published yet")
    return {name: [(key, f) for key, p in sorted(parts.items()) for f in p.files]
            for name, parts in snap.datasets.items()}


@dataclass
class PublishResult:
    """What one publish did, file by file."""

    root: str
    snapshot_id: str
    written: list[str] = field(default_factory=list)
    appended: list[str] = field(default_factory=list)     # partitions that got a new file
    rewritten: list[str] = field(default_factory=list)    # partitions replaced by new files
    unchanged: int = 0                                    # partitions kept as they were
    deleted: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    recovered: str | None = None
    sla: Any = None


class DatasetWriter(Protocol):
    """What an engine provides for one dataset's rows (computed once per publish)."""

    def fingerprints(self) -> dict[str | None, tuple[int, str]]:
        """Per partition value (None: a current dataset): (rows, order-independent hash)."""

    def only_added(self, value: str | None, old_files: list[str]) -> bool:
        """True if the partition's rows are the rows of `old_files` plus others (none removed).
        An engine that cannot tell cheaply answers False (the partition is then rewritten)."""

    def write(self, value: str | None, names: Callable[[int], str], *, added_to: list[str] | None) -> list[str]:
        """Write the partition's rows (only those not in `added_to`, if given) to files named
        names(0), names(1), ...; return the names written. Called after `prepare`, if defined."""


@dataclass
class _Action:
    key: str
    value: str | None
    rows: int
    fingerprint: str
    kind: str                 # keep | append | rewrite
    files: list[str]          # the files kept (keep, append)


def publish(files: LakeFiles, root: str, *, engine: str, writers: Iterable[tuple[Dataset, DatasetWriter]],
            extra: dict[str, Any] | None = None, snapshot_id: str | None = None) -> PublishResult:
    """Publish one snapshot: write what changed, switch the manifest, delete what it no longer lists.

    Args:
        files: the lake's file operations (paths relative to the root).
        engine: who computes the fingerprints (`duckdb`, `spark`); another engine's fingerprints
            are not comparable, so after a change of engine partitions are compared by their rows.
        writers: each dataset with the engine's writer for its rows.
        extra: more manifest fields (the SLA policy, the source).
    """
    previous = read_snapshot(files)
    snapshot_id = snapshot_id or new_snapshot_id()
    result = PublishResult(root=root, snapshot_id=snapshot_id, recovered=previous.recovered)
    datasets: dict[str, Any] = {}
    for ds, writer in writers:
        actions = _plan(ds, writer, previous.datasets.get(ds.name, {}), previous.engine == engine)
        prepare = getattr(writer, "prepare", None)
        if prepare is not None:  # an engine that writes all its partitions in one job
            prepare({a.value for a in actions if a.kind == "rewrite"},
                    {a.value for a in actions if a.kind == "append"})
        parts: dict[str, Any] = {}
        result.rows[ds.name] = sum(a.rows for a in actions)
        for action in actions:
            if action.kind == "keep":
                result.unchanged += 1
                new: list[str] = []
            else:
                seq = iter(range(10_000))
                new = writer.write(
                    action.value,
                    lambda _i, _d=ds, _v=action.value, _s=seq: file_name(_d, _v, snapshot_id, next(_s)),
                    added_to=action.files if action.kind == "append" else None)
                (result.appended if action.kind == "append" else result.rewritten).append(
                    f"{ds.name}/{action.key}")
            result.written.extend(new)
            parts[action.key] = PartitionState(action.rows, action.fingerprint, action.files + new).describe()
        datasets[ds.name] = {"partition_by": ds.partition, "key": list(ds.key), "partitions": parts}
    manifest = {
        "format": FORMAT, "version": VERSION, "snapshot_id": snapshot_id, "engine": engine,
        "generated_at": datetime.now(UTC).isoformat(), "timestamp_unit": TIMESTAMP_UNIT,
        **(extra or {}), "datasets": datasets,
    }
    files.write_text_atomic(MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))
    keep = {f for entry in datasets.values() for p in entry["partitions"].values() for f in p["files"]}
    result.deleted = sweep(files, keep, previous)
    return result


def _plan(ds: Dataset, writer: DatasetWriter, old: dict[str, PartitionState], same_engine: bool) -> list[_Action]:
    """Keep a partition whose fingerprint (or, across engines, whose rows) did not change; append
    to a monthly partition that only gained rows and has fewer than MAX_FILES_PER_PARTITION
    files; rewrite any other."""
    actions = []
    for value, (rows, fingerprint) in sorted(writer.fingerprints().items(), key=lambda kv: str(kv[0])):
        key = partition_key(ds, value)
        before = old.get(key)
        kind, kept = "rewrite", []
        if before is not None and same_engine and (before.fingerprint, before.rows) == (fingerprint, rows):
            kind, kept = "keep", before.files
        elif before is not None and before.rows <= rows and (
                not same_engine or (ds.appendable and len(before.files) < MAX_FILES_PER_PARTITION)) \
                and writer.only_added(value, before.files):
            if before.rows == rows:
                kind, kept = "keep", before.files          # the same rows, another engine's hash
            elif ds.appendable and len(before.files) < MAX_FILES_PER_PARTITION:
                kind, kept = "append", before.files
        actions.append(_Action(key, value, rows, fingerprint, kind, kept))
    return actions


def sweep(files: LakeFiles, keep: set[str], previous: Snapshot | None = None) -> list[str]:
    """Delete every data or temporary file of the lake's folders that `keep` does not list:
    files of the previous snapshot, files a killed publish left, the version-1 layout's files,
    a Spark writer's spool (`_spool/`, `_staging/` before 0.2). Returns the lake files deleted
    (not the spool's)."""
    deleted = []
    candidates = set(previous.legacy_files) if previous else set()
    for folder in (*DATASET_NAMES, *LEGACY_DATASETS, *SPOOL_FOLDERS):
        candidates.update(files.list_files(folder))
    for path in sorted(candidates - keep):
        name = path.rsplit("/", 1)[-1]
        spooled = path.startswith(tuple(f"{folder}/" for folder in SPOOL_FOLDERS))
        if name.endswith(".parquet") or ".tmp" in name or spooled:
            files.delete(path)
            if not spooled:  # a writer's scratch files are not lake files
                deleted.append(path)
    return deleted


def is_part_file(name: str) -> bool:
    return bool(_PART.match(name))
