"""docs/bi.md's Spark DDL, run verbatim in Spark local mode (only the location changes): every
table and both views read the lake the way DuckDB's warehouse sees it."""

from __future__ import annotations

import re
from pathlib import Path

from sparkkit import lake_rows, manifest_files
from test_spark_history import duckdb_rows, spark_rows

from patchtrail.publish.parquet_lake import DATASET_NAMES

DOCS = Path(__file__).parents[2] / "docs" / "bi.md"
LOCATION = "s3://analytics-bucket/patchtrail"


def docs_block(engine: str) -> str:
    text = DOCS.read_text()
    found = re.search(rf"<!-- ddl:{engine} -->\n```sql\n(.*?)\n```", text, re.S)
    assert found, f"docs/bi.md has no ddl:{engine} block"
    return found.group(1)


def test_every_dataset_has_ddl_for_athena_spark_and_trino():
    for engine in ("athena", "spark", "trino"):
        block = docs_block(engine)
        for name in DATASET_NAMES:
            assert re.search(rf"CREATE (EXTERNAL )?TABLE IF NOT EXISTS [a-z.]*patchtrail\.{name} \(", block), \
                (engine, name)
        assert "VIEW" in block and ".patch_state AS" in block and ".instance_compliance AS" in block
    assert "MSCK" not in docs_block("athena") and docs_block("athena").count("'projection.enabled' = 'true'") == 6


def test_the_docs_spark_ddl_reads_the_lake_as_duckdb_does(spark, fleet):
    lake = fleet["root"] / "duckdb-lake"
    block = docs_block("spark").replace(LOCATION, lake.as_uri())
    for statement in [s.strip() for s in block.split(";") if s.strip()]:
        spark.sql(statement)
    try:
        for name in DATASET_NAMES:
            columns, _ = lake_rows(lake, name)
            frame = spark.table(f"patchtrail.{name}")
            assert frame.columns == columns, name
            files, partition = manifest_files(lake, name)
            hive = f", hive_partitioning = true, hive_types = {{'{partition}': 'VARCHAR'}}" if partition else ""
            listed = ", ".join(f"'{f}'" for f in files)
            want = duckdb_rows(fleet["warehouse"], f"select * from read_parquet([{listed}]{hive})")  # noqa: S608
            assert spark_rows(spark, frame) == sorted(want, key=repr), name
            assert want or name == "sla_breaches", f"{name} is empty: the comparison proves nothing"
        types = dict(spark.table("patchtrail.patch_state_versions").dtypes)
        assert types["account_id"] == "string" and types["valid_from"] == "timestamp"
        for name in ("patch_state", "instance_compliance"):
            frame = spark.table(f"patchtrail.{name}")
            micros = ", ".join(f"date_trunc('millisecond', {c}) as {c}" if c in ("valid_from", "valid_to", "recorded_at",
                                                                                  "installed_at") else c
                               for c in frame.columns)
            want = sorted(duckdb_rows(fleet["warehouse"], f"select {micros} from history.{name}"), key=repr)  # noqa: S608
            assert spark_rows(spark, frame) == want, name
    finally:
        spark.sql("DROP DATABASE IF EXISTS patchtrail CASCADE")
