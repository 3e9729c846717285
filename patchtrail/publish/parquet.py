"""Publish the warehouse as the Parquet lake (layout and snapshot rules: `patchtrail.publish.parquet_lake`).

    <root>/instance_compliance_versions/valid_from_month=<yyyy-mm>/part-*.parquet
    <root>/instance_compliance_closures/valid_to_month=<yyyy-mm>/part-*.parquet
    <root>/patch_state_versions/valid_from_month=<yyyy-mm>/part-*.parquet
    <root>/patch_state_closures/valid_to_month=<yyyy-mm>/part-*.parquet
    <root>/patch_lists_by_item/event_month=<yyyy-mm>/part-*.parquet
    <root>/instance_compliance_daily/snapshot_month=<yyyy-mm>/part-*.parquet
    <root>/remediation_episodes|current_missing_patches|time_to_remediate/part-*.parquet
    <root>/sla_status|sla_breaches/part-*.parquet
    <root>/_manifest.json

The rows come from sql/warehouse/publish/<dataset>.sql. Every timestamp is truncated to
milliseconds (UTC) before it is fingerprinted or written, so what Athena reads is what was hashed.
`account_id` is a data column (a string) in every file, never a partition folder.

The SLA datasets answer one policy, chosen at publish time, at the warehouse's data-as-of time
(the latest capture time, as the HTML report uses); current_missing_patches is judged at that
same time, so publishing an unchanged warehouse writes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from patchtrail.analytics.policy import DEFAULT_POLICY
from patchtrail.aws import AwsEndpoints
from patchtrail.publish.parquet_lake import (
    DATASETS,
    MAX_ROWS_PER_FILE,
    Dataset,
    PublishResult,
    publish,
)
from patchtrail.publish.sla import sla_parameters
from patchtrail.warehouse import connect, scalar, sql

#: The SLA datasets (sql/warehouse/publish/<name>.sql), evaluated under the publish's policy.
SLA_DATASETS = ("sla_status", "sla_breaches")
#: Backwards-compatible name of the publish result.
LakeExport = PublishResult


def publish_parquet(warehouse: Path | str, root: str, *, policy: str | Path = DEFAULT_POLICY,
                    endpoints: AwsEndpoints | None = None) -> PublishResult:
    """Publish the Parquet lake of `warehouse` under `root` (a folder or s3://bucket/prefix).

    Only partitions whose rows changed are written: a partition that only gained rows gets one
    new file, any other change replaces the partition's files. The manifest is switched last.

    Args:
        policy: the SLA policy of the sla_status and sla_breaches datasets: a stored name or a
            policy file (see `sla_parameters`). Changing it rewrites those datasets only.
        endpoints: for an s3:// root, the S3 endpoint and region (see `lake_files`).
    """
    con = connect(warehouse, read_only=True)
    try:
        sla = sla_parameters(con, policy)  # a bad policy fails here, before any write
        files = lake_files(root, endpoints=endpoints)
        params = {name: sla.bound() for name in SLA_DATASETS}
        params["current_missing_patches"] = {"as_of": sla.as_of}
        writers = [(ds, DuckDBDataset(con, files, ds, params.get(ds.name))) for ds in DATASETS]
        extra = {"sla": sla.describe(),
                 "source": {"warehouse_last_load_id": scalar(con, "select max(load_id) from landing.loads")}}
        result = publish(files, root, engine="duckdb", writers=writers, extra=extra)
        result.sla = sla
        return result
    finally:
        con.close()


def lake_files(root: str, *, endpoints: AwsEndpoints | None = None) -> ArrowFiles:
    """The lake's file operations for a local folder or an s3:// URI (at `endpoints`'
    `s3_endpoint_url`, in its region or else us-east-1)."""
    if root.startswith("s3://"):
        endpoints = endpoints or AwsEndpoints()
        fs = pafs.S3FileSystem(endpoint_override=endpoints.s3_endpoint_url,
                               region=endpoints.region or "us-east-1",
                               allow_bucket_creation=False)
        return ArrowFiles(fs, root.removeprefix("s3://").rstrip("/"), local=False)
    path = Path(root).absolute()
    path.mkdir(parents=True, exist_ok=True)
    return ArrowFiles(pafs.LocalFileSystem(), str(path), local=True)


@dataclass
class ArrowFiles:
    """`LakeFiles` over a pyarrow filesystem. Locally, every file is written under a hidden
    temporary name, flushed to disk and renamed into place, so no reader ever sees part of it;
    an S3 PUT is atomic by itself."""

    fs: pafs.FileSystem
    base: str
    local: bool

    def path(self, relative: str) -> str:
        return f"{self.base}/{relative}"

    def read_text(self, path: str) -> str | None:
        try:
            with self.fs.open_input_stream(self.path(path)) as stream:
                return stream.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return None

    def write_text_atomic(self, path: str, text: str) -> None:
        self._write(path, lambda target: _write_bytes(self.fs, target, text.encode()))

    def write_table(self, path: str, table: pa.Table) -> None:
        self._write(path, lambda target: pq.write_table(table, target, filesystem=self.fs,
                                                         compression="zstd"))

    def read_table(self, paths: list[str]) -> pa.Table:
        return pq.read_table([self.path(p) for p in paths], filesystem=self.fs)

    def list_files(self, folder: str) -> list[str]:
        infos = self.fs.get_file_info(pafs.FileSelector(self.path(folder), recursive=True,
                                                        allow_not_found=True))
        return [i.path.removeprefix(self.base + "/") for i in infos if i.type == pafs.FileType.File]

    def delete(self, path: str) -> None:
        self.fs.delete_file(self.path(path))
        if self.local:  # drop the folders it leaves empty
            folder = Path(self.path(path)).parent
            while folder != Path(self.base) and Path(self.base) in folder.parents:
                try:
                    folder.rmdir()
                except OSError:
                    break
                folder = folder.parent

    def _write(self, path: str, write: Callable[[str], None]) -> None:
        target = self.path(path)
        if not self.local:
            write(target)
            return
        folder, name = target.rsplit("/", 1)
        os.makedirs(folder, exist_ok=True)
        temporary = f"{folder}/.{name}.tmp-{os.getpid()}"
        write(temporary)
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, target)
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


class DuckDBDataset:
    """One dataset's rows in a temp table of the read-only warehouse connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection, files: ArrowFiles, ds: Dataset,
                 params: dict[str, Any] | None) -> None:
        self.con, self.files, self.ds = con, files, ds
        self.table = f"lake_{ds.name}"
        text = sql.load(f"publish/{ds.name}")
        con.execute(f"create or replace temp table {self.table}_raw as {text}",  # noqa: S608 (fixed SQL)
                    sql.bound(text, params or {}, name=f"publish/{ds.name}.sql"))
        columns = con.execute(f"describe {self.table}_raw").fetchall()
        times = [name for name, kind, *_ in columns if kind.startswith("TIMESTAMP")]
        replace = (" replace (" + ", ".join(f"date_trunc('millisecond', \"{c}\") as \"{c}\"" for c in times)
                   + ")") if times else ""
        con.execute(f"create or replace temp table {self.table} as "  # noqa: S608
                    f"select *{replace} from {self.table}_raw")
        con.execute(f"drop table {self.table}_raw")
        self.columns = [name for name, *_ in columns if name != ds.partition]
        self._old: dict[str | None, str] = {}

    def fingerprints(self) -> dict[str | None, tuple[int, str]]:
        group = self.ds.partition or "null"
        rows = self.con.execute(
            f"select {group}, count(*), bit_xor(hash(e))::varchar from {self.table} as e "  # noqa: S608
            f"group by all").fetchall()
        found = {value: (count, digest or "0") for value, count, digest in rows if count}
        if self.ds.partition is None and not found:  # one empty file: every reader finds the schema
            found[None] = (0, "0")
        return found

    def only_added(self, value: str | None, old_files: list[str]) -> bool:
        old = f"{self.table}_old"
        self.con.register(old, self.files.read_table(old_files))
        self._old[value] = old
        removed = self.con.execute(
            f"select count(*) from (select {self._select()} from {old} "  # noqa: S608
            f"except all select {self._select()} from {self.table} where {self._where()})",
            self._bind(value)).fetchall()[0][0]
        return removed == 0

    def write(self, value: str | None, names: Callable[[int], str], *,
              added_to: list[str] | None) -> list[str]:
        rows = f"select {self._select()} from {self.table} where {self._where()}"  # noqa: S608
        if added_to is not None:
            rows = f"({rows} except all select {self._select()} from {self._old[value]})"  # noqa: S608
        else:
            rows = f"({rows})"
        order = ", ".join(f'"{c}"' for c in self.ds.key)
        table = self.con.sql(f"select * from {rows} order by {order}",  # noqa: S608
                             params=self._bind(value)).to_arrow_table()
        table = _milliseconds(table)
        written = []
        for start in range(0, max(table.num_rows, 1), MAX_ROWS_PER_FILE):
            name = names(len(written))
            self.files.write_table(name, table.slice(start, MAX_ROWS_PER_FILE))
            written.append(name)
        if value in self._old:
            self.con.unregister(self._old.pop(value))
        return written

    def _select(self) -> str:
        return ", ".join(f'"{c}"' for c in self.columns)

    def _where(self) -> str:
        return f"{self.ds.partition} = ?" if self.ds.partition else "true"

    def _bind(self, value: str | None) -> list | None:
        return [value] if self.ds.partition else None


def _milliseconds(table: pa.Table) -> pa.Table:
    """Timestamps as timestamp[ms, tz=UTC] (already truncated in SQL, so nothing is lost)."""
    fields = [pa.field(f.name, pa.timestamp("ms", tz="UTC")) if pa.types.is_timestamp(f.type) else f
              for f in table.schema]
    return table.cast(pa.schema(fields))


def _write_bytes(fs: pafs.FileSystem, target: str, data: bytes) -> None:
    with fs.open_output_stream(target) as out:
        out.write(data)
