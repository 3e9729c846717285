"""Export what a Spark history build needs from the warehouse: the landed items, the waivers and
the SLA policy, as Parquet and JSON (`patchtrail spark export`).

    <out>/configuration_items/part-0000.parquet   landing.configuration_items, every column, the
                                                  configuration JSON as text (configuration_json)
    <out>/waivers/part-0000.parquet               marts.waivers (absent when there is none)
    <out>/sla_policy.json                         the policy: name, max_days, severity_source, hash

Times keep the warehouse's microseconds (UTC); the lake truncates them to milliseconds later.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from patchtrail.analytics.policy import DEFAULT_POLICY
from patchtrail.aws import AwsEndpoints
from patchtrail.publish.parquet import lake_files
from patchtrail.publish.sla import sla_parameters
from patchtrail.transforms.configuration_text import texts_of
from patchtrail.warehouse import connect


@dataclass
class LandingExport:
    """What `export_landing` wrote."""

    root: str
    rows: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def export_landing(warehouse: Path | str, out: str, *, policy: str | Path = DEFAULT_POLICY,
                   endpoints: AwsEndpoints | None = None) -> LandingExport:
    """Write the Spark job's input for `warehouse` under `out` (a folder or s3://bucket/prefix).

    Each file is written whole or not at all (a temporary name and a rename locally).

    Args:
        policy: the SLA policy the Spark build judges sla_status and sla_breaches under.
        endpoints: for an s3:// `out`, the S3 endpoint and region.
    """
    con = connect(warehouse, read_only=True)
    result = LandingExport(root=out)
    try:
        sla = sla_parameters(con, policy)
        files = lake_files(out, endpoints=endpoints)
        for name, sql in (("configuration_items", "select * from landing.configuration_items order by ci_id"),
                          ("waivers", "select * from marts.waivers order by waiver_id")):
            table = con.sql(sql).to_arrow_table()
            if name == "configuration_items":
                table = with_configuration_text(table)
            result.rows[name] = table.num_rows
            if table.num_rows or name == "configuration_items":
                files.write_table(f"{name}/part-0000.parquet", table)
                result.files.append(f"{name}/part-0000.parquet")
        described = sla.describe()
        policy_json = {k: described[k] for k in ("policy_name", "policy_thresholds_sha256", "max_days",
                                                 "severity_source")}
        files.write_text_atomic("sla_policy.json", json.dumps(policy_json, indent=1, sort_keys=True))
        result.files.append("sla_policy.json")
    finally:
        con.close()
    return result


def with_configuration_text(items: pa.Table) -> pa.Table:
    """Landed items with every configuration as JSON text in `configuration_json` (the Spark
    job's input, and any reader without zstd), instead of `configuration_zstd`."""
    legacy = items["configuration_json"].combine_chunks()
    text = pc.coalesce(legacy, texts_of(items["configuration_zstd"].combine_chunks()))
    at = items.schema.get_field_index("configuration_json")
    return items.set_column(at, "configuration_json", text).drop_columns(["configuration_zstd"])
