"""The Spark job's faces: `patchtrail spark build|package`, spark-submit of the packaged job, and
the `spark-history` flow, each giving DuckDB's lake."""

from __future__ import annotations

import json
import zipfile

from sparkkit import TEST_CONF, TEST_SQL_CONF, assert_lakes_equal
from typer.testing import CliRunner

from patchtrail.cli import app


def test_spark_package_writes_a_zip_with_the_job_and_its_sql(tmp_path):
    result = CliRunner().invoke(app, ["spark", "package", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    names = zipfile.ZipFile(tmp_path / "patchtrail_spark.zip").namelist()
    assert {"patchtrail/spark/job.py", "patchtrail/publish/parquet_lake.py", "sql/spark/patch_state.sql",
            "sql/spark/seed/ssm-patch-compliance-all-ec2-instances.sql"} <= set(names)
    assert not [n for n in names if "duckdb" in n or n.startswith(("transforms/", "flows/"))]
    assert "--py-files" in result.output and "patchtrail_spark_job.py" in result.output


def test_spark_build_in_process_then_again_writes_nothing(spark, export_build, fleet):
    # the first `patchtrail spark build --export` is the session's export_build
    lake, args, summary = export_build["lake"], export_build["args"], export_build["summary"]
    assert summary["written"] >= 11 and summary["unchanged"] == 0
    assert_lakes_equal(lake, fleet["root"] / "duckdb-lake")
    again = CliRunner().invoke(app, args)
    for key, value in TEST_SQL_CONF.items():
        spark.conf.set(key, value)
    assert again.exit_code == 0, again.output
    summary = json.loads(again.output.strip().splitlines()[-1])
    assert summary["written"] == 0 and summary["unchanged"] > 0, "Spark's fingerprints must be stable"


def test_the_spark_history_flow_submits_the_packaged_job(prefect_server, fleet, tmp_path):
    from patchtrail.flows.spark_history import spark_history_flow

    lake = tmp_path / "lake"
    result = spark_history_flow(warehouse=str(fleet["warehouse"]), export_dir=str(tmp_path / "export"),
                                lake_root=str(lake), master="local[2]", conf=TEST_CONF)
    assert result["export"]["rows"]["configuration_items"] > 20
    assert result["spark"]["written"] >= 11 and result["spark"]["items"] == result["export"]["rows"]["configuration_items"]
    assert json.loads((lake / "_manifest.json").read_text())["engine"] == "spark"
    assert_lakes_equal(lake, fleet["root"] / "duckdb-lake")
