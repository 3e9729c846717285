"""Build history and marts from configuration items with Spark SQL (sql/spark/*.sql, in order).

Each step is one SQL file whose result becomes a temp view of the same name, so any step can be
inspected with `spark.table(name)`. The steps follow the warehouse: items -> flattened ->
history -> marts (docs/spark.md lists which DuckDB object each reproduces).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from patchtrail.spark.sql import load_sql

#: Steps after the inputs, in order: (view, materialised). A materialised step is computed once
#: and its plan cut (a checkpoint): later steps read it many times, and without the cut every
#: view would carry the whole plan above it (the analyser ran out of memory on remediation_episodes).
STEPS = (
    ("normal_items", True),
    ("unique_items", True),
    ("item_contents", True),
    ("patch_entries", True),
    ("patch_states", False),
    ("patch_observations", True),
    ("item_rejections", True),
    ("configuration_items", True),
    ("rejected_records", True),
    ("instance_snapshots", True),
    ("instance_compliance", True),
    ("patch_state", True),
    ("patch_lists_by_item", True),
    ("instance_compliance_daily", True),
    ("remediation_episodes", True),
)
#: Steps judged at the data-as-of time (and, for SLA, under the policy).
TIMED_STEPS = ("current_missing_patches", "time_to_remediate", "sla_status", "sla_breaches")
RAW_COLUMNS = ("dialect", "account_text", "region_text", "resource_type", "resource_id",
               "capture_text", "item_status", "state_text", "configuration_json", "event_id",
               "event_time_text", "source", "source_ref", "record_ref", "ingested_at",
               "ci_id_given", "captured_at_given", "event_time_given", "content_sha256_given")
WAIVER_SCHEMA = ("waiver_id string, account_id string, aws_region string, patch_group string, "
                 "instance_id string, patch_id string, cve_id string, reason string, approver string, "
                 "ticket string, starts_on date, expires_on date, in_force_from timestamp, "
                 "in_force_until timestamp, source string, source_sha256 string, loaded_at timestamp")


@dataclass(frozen=True)
class SlaPolicy:
    """An SLA policy as the job takes it (the JSON `patchtrail spark export` writes)."""

    name: str
    max_days: dict[str, int]
    severity_source: str = "severity"
    thresholds_sha256: str = ""

    @classmethod
    def from_json(cls, text: str) -> SlaPolicy:
        data = json.loads(text)
        return cls(name=str(data["policy_name"]), max_days={str(k): int(v) for k, v in data["max_days"].items()},
                   severity_source=str(data.get("severity_source", "severity")),
                   thresholds_sha256=str(data.get("policy_thresholds_sha256", "")))

    def describe(self) -> dict[str, Any]:
        return {"policy_name": self.name, "policy_thresholds_sha256": self.thresholds_sha256,
                "max_days": dict(sorted(self.max_days.items())), "severity_source": self.severity_source}


@dataclass
class Inputs:
    """Where the items are. Any mix; the same item from several inputs counts once (by ci_id).

    Args:
        items: folders or files of a Parquet export of landing.configuration_items.
        config_files: AWS Config delivery files (*.json, *.json.gz) or folders holding them.
        lake_events: CloudTrail Lake event files (*.ndjson[.gz]) or folders holding them.
        lake_exports: saved CloudTrail Lake results (result_*.csv.gz) or folders holding them.
        waivers: a Parquet export of marts.waivers (none: no waiver applies).
        recorded_at: the recording time of items read from raw files (default: now).
    """

    items: list[str] = field(default_factory=list)
    config_files: list[str] = field(default_factory=list)
    lake_events: list[str] = field(default_factory=list)
    lake_exports: list[str] = field(default_factory=list)
    waivers: list[str] = field(default_factory=list)
    recorded_at: datetime | None = None

    def describe(self) -> dict[str, Any]:
        return {k: v for k, v in {"items": self.items, "config_files": self.config_files,
                                   "lake_events": self.lake_events, "lake_exports": self.lake_exports,
                                   "waivers": self.waivers}.items() if v}

    @classmethod
    def from_export(cls, spark, folder: str) -> tuple[Inputs, SlaPolicy | None]:
        """The inputs of a `patchtrail spark export` folder (any Hadoop URI), and its policy."""
        from patchtrail.spark.parquet_lake import HadoopFiles

        files = HadoopFiles(spark, folder)
        text = files.read_text("sla_policy.json")
        policy = SlaPolicy.from_json(text) if text else None
        waivers = [files.uri("waivers")] if files.list_files("waivers") else []
        return cls(items=[files.uri("configuration_items")], waivers=waivers), policy


@dataclass
class Built:
    """The built views (temp views of the session) and the time they were judged at."""

    as_of: datetime | None
    views: tuple[str, ...]


def build(spark, inputs: Inputs, policy: SlaPolicy) -> Built:
    """Register the inputs and run every step; returns the views and the data-as-of time.

    Args:
        spark: a session made by `patchtrail.spark.session.spark_session` (UTC, ANSI).
        policy: the SLA policy of sla_status and sla_breaches.
    """
    recorded_at = (inputs.recorded_at or datetime.now(UTC)).astimezone(UTC)  # aware: PySpark
    # reads a naive datetime in the driver's local zone
    _register_inputs(spark, inputs, recorded_at)
    _register_policy(spark, policy, inputs.waivers)
    step_params = {"recorded_at": recorded_at}
    for name, materialised in STEPS:
        frame = _run_step(spark, name, step_params)
        _view(spark, name, frame.localCheckpoint(eager=True) if materialised else frame)
    micros = spark.sql("select unix_micros(max(captured_at)) as m from instance_snapshots").collect()[0]["m"]
    as_of = None if micros is None else datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    params = {"as_of": as_of or recorded_at, "policy_name": policy.name,
              "policy_thresholds_sha256": policy.thresholds_sha256}
    for name in TIMED_STEPS:
        frame = _run_step(spark, name, params)
        _view(spark, name, frame.localCheckpoint(eager=True))
    return Built(as_of=as_of, views=tuple(n for n, _ in STEPS) + TIMED_STEPS)


def _view(spark, name: str, frame) -> None:
    frame.createOrReplaceTempView(name)


def _register_inputs(spark, inputs: Inputs, recorded_at: datetime) -> None:
    from pyspark.sql import functions as F

    raw = []
    params = {"recorded_at": recorded_at}
    if inputs.items:
        spark.read.parquet(*inputs.items).createOrReplaceTempView("landed_export")
        raw.append(spark.sql(load_sql("input/landed_items")))
    if inputs.config_files:
        (spark.read.options(recursiveFileLookup=True, pathGlobFilter="*.{json,json.gz}")
         .text(inputs.config_files, wholetext=True)
         .select(F.col("value"), F.col("_metadata.file_path").alias("source_ref"))
         .createOrReplaceTempView("config_files"))
        raw.append(spark.sql(load_sql("input/config_files"), args=params))
    if inputs.lake_events:
        (spark.read.options(recursiveFileLookup=True, pathGlobFilter="*.{ndjson,ndjson.gz,jsonl,jsonl.gz}")
         .text(inputs.lake_events)
         .select(F.col("value"), F.col("_metadata.file_path").alias("source_ref"),
                 F.monotonically_increasing_id().alias("line_no"))
         .createOrReplaceTempView("lake_events"))
        raw.append(spark.sql(load_sql("input/lake_events"), args=params))
    if inputs.lake_exports:
        (spark.read.options(header=True, comment="#", multiLine=True, escape='"', mode="PERMISSIVE",
                            recursiveFileLookup=True, pathGlobFilter="result_*.csv.gz")
         .csv(inputs.lake_exports)
         .select("*", F.col("_metadata.file_path").alias("source_ref"),
                 F.monotonically_increasing_id().alias("row_no"))
         .createOrReplaceTempView("lake_exports"))
        raw.append(spark.sql(load_sql("input/lake_exports"), args=params))
    if not raw:
        raise ValueError("no input: give items, config_files, lake_events or lake_exports")
    union = raw[0].select(*RAW_COLUMNS)
    for frame in raw[1:]:
        union = union.unionByName(frame.select(*RAW_COLUMNS))
    union.localCheckpoint(eager=True).createOrReplaceTempView("raw_items")


def _register_policy(spark, policy: SlaPolicy, waivers: list[str]) -> None:
    rows = [(severity, int(days), policy.severity_source) for severity, days in sorted(policy.max_days.items())]
    spark.createDataFrame(rows, "severity string, max_days int, severity_source string") \
        .createOrReplaceTempView("sla_thresholds")
    frame = spark.read.parquet(*waivers) if waivers else spark.createDataFrame([], WAIVER_SCHEMA)
    frame.createOrReplaceTempView("waivers")


def _run_step(spark, name: str, params: dict[str, Any]):
    """The frame of sql/spark/<name>.sql, read once, with the parameters it names bound."""
    text = load_sql(name)
    return spark.sql(text, args=_used(text, params))


def _used(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """Only the parameters the text names (Spark refuses unused named parameters)."""
    return {k: v for k, v in params.items() if f":{k}" in sql}
