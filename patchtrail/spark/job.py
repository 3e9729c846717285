"""The Spark job: items in, the Parquet lake out. Runs under spark-submit on any cluster, or in
process from `patchtrail spark build`.

    spark-submit --master yarn --py-files patchtrail_spark.zip job.py \\
        --items s3://bucket/export/configuration_items --sla-policy policy.json \\
        --out s3://analytics-bucket/patchtrail

Prints one JSON line with what it did (rows per dataset, files written, seconds).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class JobResult:
    """What one run built and published."""

    out: str
    rows: dict[str, int] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    rejected: int = 0
    items: int = 0
    as_of: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"out": self.out, "items": self.items, "rejected": self.rejected, "rows": self.rows,
                "written": len(self.written), "deleted": len(self.deleted), "unchanged": self.unchanged,
                "as_of": self.as_of, "seconds": self.seconds}


def run(spark, inputs, policy, out: str) -> JobResult:
    """Build history and marts from `inputs` and publish them under `out`.

    Args:
        spark: a session from `patchtrail.spark.session.spark_session`.
        inputs: a `patchtrail.spark.build.Inputs`.
        policy: a `patchtrail.spark.build.SlaPolicy`.
    """
    from patchtrail.spark.build import build
    from patchtrail.spark.parquet_lake import publish_lake

    started = time.monotonic()
    built = build(spark, inputs, policy)
    result = JobResult(out=out, as_of=built.as_of.isoformat() if built.as_of else None)
    result.items = spark.table("configuration_items").count()
    result.rejected = spark.table("rejected_records").count()
    result.seconds["build"] = round(time.monotonic() - started, 2)
    extra = {"sla": {**policy.describe(), "as_of": result.as_of}, "source": {"spark": inputs.describe()}}
    lake = publish_lake(spark, out, extra=extra)
    result.rows, result.written, result.deleted, result.unchanged = lake.rows, lake.written, lake.deleted, lake.unchanged
    result.seconds["total"] = round(time.monotonic() - started, 2)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="patchtrail-spark", description=__doc__.splitlines()[0])
    parser.add_argument("--export", help="a `patchtrail spark export` folder (items, waivers, policy)")
    parser.add_argument("--items", action="append", default=[], help="Parquet of landing.configuration_items")
    parser.add_argument("--config-files", action="append", default=[], help="AWS Config delivery files")
    parser.add_argument("--lake-events", action="append", default=[], help="CloudTrail Lake event NDJSON")
    parser.add_argument("--lake-exports", action="append", default=[], help="saved Lake results (csv.gz)")
    parser.add_argument("--waivers", action="append", default=[], help="Parquet of marts.waivers")
    parser.add_argument("--sla-policy", help="the SLA policy as JSON (a file written by `patchtrail spark export`)")
    parser.add_argument("--recorded-at", help="recording time of items read from raw files (ISO-8601)")
    parser.add_argument("--out", required=True, help="the lake: a folder or any Hadoop URI (s3://...)")
    parser.add_argument("--master", default=None, help="Spark master (default: what spark-submit set)")
    args = parser.parse_args(argv)

    from patchtrail.spark.build import Inputs, SlaPolicy
    from patchtrail.spark.session import spark_session

    spark = spark_session(args.master)
    inputs, policy = Inputs(), None
    if args.export:
        inputs, policy = Inputs.from_export(spark, args.export)
    inputs.items += args.items
    inputs.config_files += args.config_files
    inputs.lake_events += args.lake_events
    inputs.lake_exports += args.lake_exports
    inputs.waivers += args.waivers
    if args.recorded_at:
        inputs.recorded_at = datetime.fromisoformat(args.recorded_at.replace("Z", "+00:00"))
    if args.sla_policy:  # read by Spark: a local file, or one on any Hadoop file system
        policy = SlaPolicy.from_json(spark.read.text(args.sla_policy, wholetext=True).collect()[0][0])
    if policy is None:
        parser.error("give --sla-policy FILE.json (or --export with its sla_policy.json)")
    result = run(spark, inputs, policy, args.out)
    print(json.dumps(result.as_dict(), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
