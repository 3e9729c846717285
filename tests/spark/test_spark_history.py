"""The Spark job gives the DuckDB warehouse's answers: history, marts, lake and the five seed
queries, row for row, from the same items (simulated fleet + edge cases: late and out-of-order
items, deletions, re-appearance, ResourceNotRecorded, duplicates across sources, same capture
time, string-encoded compliance items, derived status, state spellings, odd InstalledTime)."""

from __future__ import annotations

import json

import duckdb
from sparkkit import A, assert_lakes_equal, manifest_files

from patchtrail.spark.build import Inputs, SlaPolicy
from patchtrail.spark.job import run
from patchtrail.spark.sql import load_sql

SEED = {  # name -> (DuckDB macro call, Spark parameters)
    "ssm-patch-compliance-all-ec2-instances": ("ssm_patch_compliance_all_ec2_instances()", {}),
    "ssm-patch-compliance-all-ec2-instances-time-range": (
        "ssm_patch_compliance_all_ec2_instances_time_range('2026-01-03 00:00:00+00', '2026-01-09 06:00:00+00')",
        {"start_time": "2026-01-03 00:00:00", "end_time": "2026-01-09 06:00:00"}),
    "ssm-patch-compliance-selected-ec2-instance": (
        f"ssm_patch_compliance_selected_ec2_instance('{A}')", {"instance_id": A}),
    "ssm-patch-compliance-selected-ec2-instance-time-range": (
        f"ssm_patch_compliance_selected_ec2_instance_time_range('{A}', '2026-01-01 06:00:00+00', "
        "'2026-01-09 06:00:00+00')",
        {"instance_id": A, "start_time": "2026-01-01 06:00:00", "end_time": "2026-01-09 06:00:00"}),
    "ssm-patch-compliance-distinct-ec2-instance-latest": ("ssm_patch_compliance_distinct_ec2_instance_latest()", {}),
}


def as_micros(columns_and_types, engine: str) -> str:
    """A select list with timestamps as epoch microseconds (exact, zone-free in both engines)."""
    out = []
    for name, kind in columns_and_types:
        is_time = kind.lower().startswith("timestamp")
        if is_time:
            out.append(f"epoch_us({name}) as {name}" if engine == "duckdb" else f"unix_micros({name}) as {name}")
        else:
            out.append(name)
    return ", ".join(out)


def duckdb_rows(wh, sql: str) -> list[tuple]:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        kinds = con.execute(f"describe {sql}").fetchall()  # noqa: S608 (fixed test SQL)
        listed = as_micros([(f'"{k[0]}"', k[1]) for k in kinds], "duckdb")
        return con.execute(f"select {listed} from ({sql}) order by all").fetchall()  # noqa: S608
    finally:
        con.close()


def spark_rows(spark, frame) -> list[tuple]:
    listed = as_micros([(f"`{f.name}`", f.dataType.simpleString()) for f in frame.schema.fields], "spark")
    frame.createOrReplaceTempView("compared")
    rows = [tuple(r) for r in spark.sql(f"select {listed} from compared").collect()]  # noqa: S608
    return sorted(rows, key=repr)


def test_spark_from_the_landed_export_gives_the_warehouse_history_and_lake(spark, fleet, export_build):
    # the build: `patchtrail spark build --export` (Inputs.from_export, then run), once per session
    summary, views, lake = export_build["summary"], export_build["views"], export_build["lake"]
    wh = fleet["warehouse"]
    assert summary["rejected"] == 0  # the export holds landed items only
    # history at full (microsecond) precision, straight from the job's views
    for name in ("patch_state", "instance_compliance"):
        want = sorted(duckdb_rows(wh, f"select * from history.{name}"), key=repr)  # noqa: S608
        assert spark_rows(spark, views[name]) == want, name
    assert len(want) > 20
    # the edge cases are in: a deletion, a ResourceNotRecorded item, two items at one capture time
    statuses = {r[0] for r in views["instance_compliance"].select("item_status").collect()}
    assert {"ResourceDeleted", "ResourceNotRecorded", "ResourceDiscovered", "OK"} <= statuses
    # every lake dataset, file types included
    counts = assert_lakes_equal(lake, fleet["root"] / "duckdb-lake")
    assert all(counts[n] for n in counts if n != "sla_breaches")
    manifest = json.loads((lake / "_manifest.json").read_text())
    assert manifest["engine"] == "spark" and manifest["sla"]["policy_name"] == "internal"

    # the five seed queries, over the patch lists the Spark job published
    files, _ = manifest_files(lake, "patch_lists_by_item")
    spark.read.parquet(*files).createOrReplaceTempView("patch_lists_by_item")
    for name, (macro, params) in SEED.items():
        want = sorted(duckdb_rows(wh, f"select * from {macro}"), key=repr)  # noqa: S608
        got = spark_rows(spark, spark.sql(load_sql(f"seed/{name}"), args=params))
        assert got == want, name
        assert want or name.endswith("time-range"), f"{name} returned nothing: the test would prove nothing"


def test_spark_reading_config_files_and_lake_exports_itself_gives_the_same_lake(spark, fleet, tmp_path):
    root, edges = fleet["root"], fleet["edges"]
    inputs = Inputs(config_files=[str(root / "sim" / "config"), str(edges["first"]), str(edges["second"]),
                                  str(edges["late"])],
                    lake_events=[str(root / "sim" / "lake-events"), str(edges["events"])],
                    lake_exports=[str(root / "sim" / "lake-export")])
    policy = SlaPolicy.from_json((root / "export" / "sla_policy.json").read_text())
    result = run(spark, inputs, policy, str(tmp_path / "lake"))
    landed = duckdb_rows(fleet["warehouse"], "select ci_id from landing.configuration_items")
    assert sorted(r["ci_id"] for r in spark.table("configuration_items").collect()) == [r[0] for r in landed]
    rejected = [r["reason"] for r in spark.table("rejected_records").collect()]
    assert rejected == ["AWS:ComplianceItem.Content has no Patch map (keys: 'Inventory')"]
    assert rejected == [r[0] for r in duckdb_rows(fleet["warehouse"], "select reason from landing.rejected_records")]
    unknown = spark.sql("select patch_id, raw_state from patch_observations where state = 'Unknown'").collect()
    assert sorted(tuple(r) for r in unknown) == [("KB1", "Exploded"), ("KB6", "Exploded"), ("KBD", "")]
    assert result.items == len(landed)
    # raw files carry no recording time: the job's run stands in for it
    assert_lakes_equal(tmp_path / "lake", root / "duckdb-lake", drop=("recorded_at",))
