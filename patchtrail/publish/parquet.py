"""A Hive-partitioned Parquet lake of the warehouse, for Athena, Trino, Spark and pandas.

    <root>/instance_compliance/account_id=<acct>/data.parquet
    <root>/patch_state/account_id=<acct>/valid_from_month=<yyyy-mm>/data.parquet
    <root>/instance_compliance_daily/snapshot_date=<yyyy-mm-dd>/account_id=<acct>/data.parquet
    <root>/remediation_episodes|current_missing_patches|time_to_remediate/account_id=<acct>/data.parquet
    <root>/sla_status|sla_breaches/account_id=<acct>/data.parquet
    <root>/_manifest.json

Incremental: each partition's content fingerprint (row count and an order-independent hash of
its rows) is kept in the manifest, and only partitions whose fingerprint changed are rewritten;
partitions that no longer exist are deleted. The root is a local folder or `s3://bucket/prefix`.

The SLA datasets answer one policy, chosen at publish time, at the warehouse's data-as-of time
(the latest capture time, as the HTML report uses): each row carries the policy's name, a SHA-256
of its thresholds and that time (`sla_parameters`; PostgreSQL publishes the same rows).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from patchtrail.analytics.policy import DEFAULT_POLICY
from patchtrail.publish.sla import SlaParameters, sla_parameters
from patchtrail.warehouse import connect, load_sql

MANIFEST = "_manifest.json"
#: The SLA datasets (sql/warehouse/publish/<name>.sql), evaluated under the publish's policy.
SLA_DATASETS = ("sla_status", "sla_breaches")


@dataclass(frozen=True)
class Export:
    """One table of the lake: the query that makes it and the columns it is partitioned by."""

    name: str
    sql: str
    partition_by: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)


def exports(sla: SlaParameters) -> list[Export]:
    return [
        Export("instance_compliance", "select * from history.instance_compliance", ("account_id",)),
        Export("patch_state", "select *, strftime(valid_from, '%Y-%m') as valid_from_month "
               "from history.patch_state", ("account_id", "valid_from_month")),
        Export("instance_compliance_daily", load_sql("publish/instance_compliance_daily"),
               ("snapshot_date", "account_id")),
        Export("remediation_episodes", "select * from marts.remediation_episodes", ("account_id",)),
        Export("current_missing_patches", "select * from marts.current_missing_patches", ("account_id",)),
        # Rounded: parallel float aggregation can differ in the last bits between runs, which
        # would change the fingerprint and rewrite partitions whose content did not change.
        Export("time_to_remediate", "select * replace (round(mean_days, 6) as mean_days, "
               "round(median_days, 6) as median_days, round(p90_days, 6) as p90_days, "
               "round(max_days, 6) as max_days) from marts.time_to_remediate", ("account_id",)),
        # No float columns to round here: days and counts are integers, times are exact.
        *(Export(name, load_sql(f"publish/{name}"), ("account_id",), sla.bound())
          for name in SLA_DATASETS),
    ]


@dataclass
class LakeExport:
    """What a publish run wrote."""

    root: str
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    deleted: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    sla: SlaParameters | None = None


def publish_parquet(warehouse: Path | str, root: str, *, policy: str | Path = DEFAULT_POLICY,
                    s3_endpoint_url: str | None = None, region: str | None = None) -> LakeExport:
    """Write (incrementally) the Parquet lake of `warehouse` under `root` (folder or s3:// URI).

    Args:
        policy: the SLA policy of the sla_status and sla_breaches datasets: a stored name or a
            policy file (see `sla_parameters`). Changing it rewrites those datasets only.
    """
    result = LakeExport(root=root)
    con = connect(warehouse, read_only=True)
    try:
        result.sla = sla_parameters(con, policy)  # a bad policy fails here, before any write
        fs, base = _filesystem(root, s3_endpoint_url=s3_endpoint_url, region=region)
        previous = _read_manifest(fs, base)
        manifest: dict[str, Any] = {"generated_at": datetime.now(UTC).isoformat(),
                                    "sla": result.sla.describe(), "tables": {}}
        for export in exports(result.sla):
            old = previous.get("tables", {}).get(export.name, {}).get("partitions", {})
            manifest["tables"][export.name] = _publish_table(con, fs, base, export, old, result)
    finally:
        con.close()
    with fs.open_output_stream(f"{base}/{MANIFEST}") as out:
        out.write(json.dumps(manifest, indent=2, sort_keys=True).encode())
    return result


def _publish_table(con: duckdb.DuckDBPyConnection, fs: pafs.FileSystem, base: str, export: Export,
                   old: dict[str, Any], result: LakeExport) -> dict[str, Any]:
    con.execute(f"create or replace temp table export_rows as {export.sql}",  # noqa: S608 (fixed SQL)
                export.params or None)
    keys = ", ".join(export.partition_by)
    fingerprints = con.execute(
        f"select {keys}, count(*), bit_xor(hash(e))::varchar from export_rows as e "  # noqa: S608
        f"group by all order by all").fetchall()
    partitions: dict[str, Any] = {}
    result.rows.setdefault(export.name, 0)
    for row in fingerprints:
        values, count, digest = row[:-2], row[-2], row[-1]
        path = "/".join(f"{k}={v}" for k, v in zip(export.partition_by, values, strict=True))
        entry = {"rows": count, "fingerprint": digest, "file": f"{export.name}/{path}/data.parquet"}
        partitions[path] = entry
        result.rows[export.name] += count
        if old.get(path, {}).get("fingerprint") == digest and _exists(fs, f"{base}/{entry['file']}"):
            result.unchanged += 1
            continue
        where = " and ".join(f"{k} = ?" for k in export.partition_by)
        table = con.sql(f"select * exclude ({keys}) from export_rows where {where} "  # noqa: S608
                        "order by all", params=list(values)).to_arrow_table()
        fs.create_dir(f"{base}/{export.name}/{path}", recursive=True)
        pq.write_table(table, f"{base}/{entry['file']}", filesystem=fs, compression="zstd")
        result.written.append(entry["file"])
    for path, entry in old.items():
        if path not in partitions:
            fs.delete_file(f"{base}/{entry['file']}")
            result.deleted.append(entry["file"])
    con.execute("drop table export_rows")
    return {"partition_by": list(export.partition_by), "partitions": partitions}


def _filesystem(root: str, *, s3_endpoint_url: str | None, region: str | None) -> tuple[pafs.FileSystem, str]:
    if root.startswith("s3://"):
        fs = pafs.S3FileSystem(endpoint_override=s3_endpoint_url, region=region or "us-east-1",
                               allow_bucket_creation=False)
        return fs, root.removeprefix("s3://").rstrip("/")
    path = Path(root).absolute()
    path.mkdir(parents=True, exist_ok=True)
    return pafs.LocalFileSystem(), str(path)


def _read_manifest(fs: pafs.FileSystem, base: str) -> dict[str, Any]:
    try:
        with fs.open_input_stream(f"{base}/{MANIFEST}") as stream:
            return json.loads(stream.read())
    except (FileNotFoundError, OSError):
        return {}


def _exists(fs: pafs.FileSystem, path: str) -> bool:
    return fs.get_file_info(path).type == pafs.FileType.File
