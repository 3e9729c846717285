"""Items for the DuckDB-vs-Spark tests: a seeded simulated fleet plus hand-made edge cases, as
files both engines read, and helpers that read a lake snapshot back for comparison."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import duckdb
from factories import config_file_ci, configuration, lake_event, patch

from patchtrail.publish.parquet_lake import DATASET_NAMES

#: Spark settings for the tests' tiny inputs, in process and under spark-submit alike: one
#: partition per core (2 cores), no adaptive re-planning, no whole-stage code generation and the
#: JVM's quick (C1) JIT only. On a few hundred rows, planning and compiling Java code cost far
#: more than they save: a first build took 102 s with the job's local settings and 35 s with
#: these, a warm one 44 s and 19 s (same loaded 2-core box, same inputs).
TEST_SQL_CONF = {"spark.sql.shuffle.partitions": "2", "spark.sql.adaptive.enabled": "false",
                 "spark.sql.codegen.wholeStage": "false"}
TEST_CONF = {**TEST_SQL_CONF, "spark.default.parallelism": "2",
             "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"}


ACCOUNT = "012345678901"   # a leading zero: must stay a string everywhere
A, B, C = "i-0aaaaaaaaaaaaaaaa", "i-0bbbbbbbbbbbbbbbb", "i-0cccccccccccccccc"


def at(day: int, hour: int = 6) -> str:
    return f"2026-01-{day:02d}T{hour:02d}:00:00.000Z"


def edge_items() -> dict[str, list[dict]]:
    """Hand-made edge cases in batches: `first`, `second` and `late` are landed in that order by
    DuckDB (out of order and late), all at once by Spark. `events` are Lake events. Among them:
    unknown PatchStates (kept as Unknown; one closes an episode as unknown_state), a
    ResourceNotRecorded item (closes episodes as not_recorded), two map keys with one patch Id,
    a Lake event spelling configurationItemStateId (the same item as a Config file's),
    InstalledTime spellings, and one item refused by both engines (a Content without Patch)."""
    a1 = config_file_ci(at(1), [patch("KB1", "Missing"), patch("KB2"),
                                patch("KB3", "INSTALLED_OTHER", CVEIds=" CVE-1, CVE-2,,CVE-3 ,")],
                        instance=A, account=ACCOUNT)
    a3 = config_file_ci(at(3), [patch("KB1"), patch("KB2"), {**patch("KB4", "NotApplicable"), "Id": ""}],
                        instance=A, account=ACCOUNT)
    a3["configuration"]["AWS:ComplianceItem"]["Content"]["Patch"]["KB4"] = \
        a3["configuration"]["AWS:ComplianceItem"]["Content"]["Patch"].pop("")
    a5 = config_file_ci(at(5), [patch("KB1", "InstalledPendingReboot"), patch("KB2")], instance=A, account=ACCOUNT)
    a7 = config_file_ci(at(7), status="ResourceDeleted", instance=A, account=ACCOUNT)
    a9 = config_file_ci(at(9), [patch("KB1", "missing", severity="HIGH"), patch("KB6", "Missing"), patch("KB7")],
                        status="ResourceDiscovered", instance=A, account=ACCOUNT)
    # two map keys with one patch Id: the smallest key's entry (KB7: Installed) is the one kept
    a9_map = a9["configuration"]["AWS:ComplianceItem"]["Content"]["Patch"]
    a9_map["KB8"] = {**patch("KB7", "Missing"), "Id": "KB7"}
    a11 = config_file_ci(at(11), [patch("KB1", "missing", severity="HIGH"), patch("KB6", "Exploded")],
                         instance=A, account=ACCOUNT)
    derived = [patch("KB1", "Failed", severity="HIGH"), patch("KB2", "Missing", severity="CRITICAL",
                                                              PatchBaselineId="pb-derived", PatchGroup="web")]
    b2 = config_file_ci(at(2), derived, instance=B, account=ACCOUNT,
                        config=configuration(derived, summary=False, as_string=True))
    b2_same_time = config_file_ci(at(2), [patch("KB1")], instance=B, account=ACCOUNT,
                                  state_id=int(b2["configurationStateId"]) + 1)
    b4 = config_file_ci(at(4), [patch("KB1"), patch("KB2", "Missing", severity="CRITICAL")],
                        instance=B, account=ACCOUNT)
    b6 = config_file_ci(at(6), status="ResourceNotRecorded", instance=B, account=ACCOUNT)
    times = [patch("KB1", "Installed", InstalledTime="2026-01-01T10:00:00+02:00"),
             patch("KB2", "Installed", InstalledTime="1970-01-01T00:00:00Z"),
             patch("KB3", "Installed", InstalledTime="garbage"),
             patch("KB4", "Installed", InstalledTime="2026-02-30T10:00:00Z"),
             patch("KB5", "AvailableSecurityUpdate", status="NON_COMPLIANT", severity="MEDIUM"),
             patch("KB6", "Installed", InstalledTime="2026-01-01 10:00:00.123456789"),
             patch("KB7", "Installed", InstalledTime="1767261600123.9"),
             patch("KB8", "Installed", InstalledTime=" 2026-01-01t10:00:00,5-0530 "),
             patch("KB9", "Installed", InstalledTime="2024-02-29T10:00:00UTC"),
             patch("KBA", "Installed", InstalledTime="2025-02-29T10:00:00Z"),
             patch("KBB", "Installed", InstalledTime="0"),
             patch("KBC", "INSTALLED_OTHER", InstalledTime="9999-12-31T23:59:59-01:00"),
             {**patch("KBD"), "PatchState": None}]
    c2 = config_file_ci(at(2, 12), times, instance=C, account="111122223333", region="eu-west-1")
    c2["configurationStateId"] = "not-a-number"
    c8 = config_file_ci(at(8), times[:2] + [patch("KB5", "Installed")], instance=C, account="111122223333",
                        region="eu-west-1")
    other = copy.deepcopy(c8)
    other["resourceType"], other["configurationItemCaptureTime"] = "AWS::EC2::Instance", at(9)
    unknown_state = config_file_ci(at(10), [patch("KB1", "Exploded")], instance=C, account="111122223333",
                                   region="eu-west-1")
    no_patch_map = config_file_ci(at(10, 8), instance=C, account="111122223333", region="eu-west-1",
                                  config={"AWS:ComplianceItem": {"Content": {"Inventory": {}}}})
    event = lake_event(b4, event_id="0f0e0d0c-0b0a-4000-8000-000000000001")
    event["eventTime"] = "2026-01-04T06:30:00Z"   # Lake's eventTime is not the capture time
    # Lake's SQL schema spells the state id configurationItemStateId: still a1's ci_id
    spelled = lake_event(a1, event_id="0f0e0d0c-0b0a-4000-8000-000000000002")
    spelled["eventData"]["configurationItemStateId"] = spelled["eventData"].pop("configurationStateId")
    return {"first": [a3, b4, b6, c8, other],
            "second": [a1, b2, b2_same_time, c2, a7, a9, unknown_state, no_patch_map],
            "late": [a5, a11], "events": [event, spelled]}


def write_edge_files(folder: Path) -> dict[str, Path]:
    """Each batch as an AWS Config delivery file (events: Lake event NDJSON)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, items in edge_items().items():
        if name == "events":
            path = folder / "events" / "events.ndjson"
            path.parent.mkdir(exist_ok=True)
            path.write_text("".join(json.dumps(e) + "\n" for e in items))
        else:
            path = folder / name / f"{ACCOUNT}_Config_us-east-1_ConfigHistory_{name}.json"
            path.parent.mkdir(exist_ok=True)
            path.write_text(json.dumps({"fileVersion": "1.0", "configurationItems": items}))
        paths[name] = path
    return paths


def manifest_files(lake: Path, dataset: str) -> tuple[list[str], str | None]:
    entry = json.loads((lake / "_manifest.json").read_text())["datasets"][dataset]
    return [str(lake / f) for p in entry["partitions"].values() for f in p["files"]], entry["partition_by"]


def lake_rows(lake: Path, dataset: str, *, drop: tuple[str, ...] = ()) -> tuple[list[str], list[tuple]]:
    """A dataset of a lake snapshot (files listed by its manifest): its columns and sorted rows."""
    files, partition = manifest_files(lake, dataset)
    listed = ", ".join(f"'{f}'" for f in files)
    hive = f", hive_partitioning = true, hive_types = {{'{partition}': 'VARCHAR'}}" if partition else ""
    rel = duckdb.sql(f"select * from read_parquet([{listed}]{hive})")  # noqa: S608 (test paths)
    columns = [c for c in rel.columns if c not in drop]
    quoted = ", ".join(f'"{c}"' for c in columns)
    return columns, duckdb.sql(f"select {quoted} from rel order by all").fetchall()  # noqa: S608


def lake_types(lake: Path, dataset: str) -> list[tuple[str, str]]:
    import pyarrow.parquet as pq

    files, _ = manifest_files(lake, dataset)
    return [(f.name, str(f.type)) for f in pq.read_schema(files[0])]


def assert_lakes_equal(spark_lake: Path, duckdb_lake: Path, *, drop: tuple[str, ...] = ()) -> dict[str, int]:
    """Every dataset of the two snapshots: same columns, same Parquet types, same rows."""
    counts = {}
    for name in DATASET_NAMES:
        assert lake_types(spark_lake, name) == lake_types(duckdb_lake, name), name
        got, want = lake_rows(spark_lake, name, drop=drop), lake_rows(duckdb_lake, name, drop=drop)
        assert got[0] == want[0], name
        assert got[1] == want[1], f"{name}: Spark {len(got[1])} rows, DuckDB {len(want[1])}; first differences " \
            f"{sorted(set(map(repr, got[1])) ^ set(map(repr, want[1])))[:4]}"
        counts[name] = len(want[1])
    return counts
