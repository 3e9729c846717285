"""One local SparkSession for the whole test session, and the shared DuckDB-vs-Spark fixtures:
one fleet (warehouse, DuckDB lake, export) and one Spark build of its export, each made once.

Spark needs a JRE and pyspark (`pip install -e '.[test,spark]'`, tests/run.sh installs the JRE).
Without them these tests are skipped, except under CI=true, where they fail.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest
from sparkkit import TEST_CONF, TEST_SQL_CONF, write_edge_files

from patchtrail.devkit.simulator import simulate_to_dir
from patchtrail.ingest import ingest_files
from patchtrail.publish.landing import export_landing
from patchtrail.publish.parquet import publish_parquet


def _spark_missing() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install -e '.[spark]')"
    if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (apt-get install default-jre-headless)"
    return None


@pytest.fixture(scope="session")
def spark():
    missing = _spark_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI runs the Spark tests: {missing}")
        pytest.skip(missing)
    from patchtrail.spark.session import spark_session

    session = spark_session("local[2]", app_name="patchtrail-tests", conf=TEST_CONF)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def fleet(tmp_path_factory):
    """One warehouse landed in seven loads, out of order, its DuckDB lake and its export."""
    root = tmp_path_factory.mktemp("spark")
    simulate_to_dir(root / "sim", accounts=1, regions=1, instances=3, days=12, seed=11)
    edges = write_edge_files(root / "edges")
    wh = root / "w.duckdb"
    for batch in (edges["first"], root / "sim" / "lake-events", edges["second"], root / "sim" / "config",
                  root / "sim" / "lake-export", edges["events"], edges["late"]):
        ingest_files([batch], warehouse=wh)
    publish_parquet(wh, str(root / "duckdb-lake"))
    export_landing(wh, str(root / "export"))
    return {"root": root, "warehouse": wh, "edges": edges}


#: The views of a Spark build the tests compare with the warehouse (kept past later builds).
BUILD_VIEWS = ("patch_state", "instance_compliance")


@pytest.fixture(scope="session")
def export_build(spark, fleet, tmp_path_factory):
    """`patchtrail spark build --export` of the fleet's export, in this process, once: its
    arguments, lake, JSON summary and the job's history views (checkpointed, so a later build in
    the session does not replace them)."""
    from typer.testing import CliRunner

    from patchtrail.cli import app

    lake = tmp_path_factory.mktemp("spark-build") / "lake"
    args = ["spark", "build", "--export", str(fleet["root"] / "export"), "--out", str(lake),
            "--master", "local[2]"]
    first = CliRunner().invoke(app, args)
    for key, value in TEST_SQL_CONF.items():  # the CLI's session settings apply to this session too
        spark.conf.set(key, value)
    assert first.exit_code == 0, first.output
    summary = json.loads(first.output.strip().splitlines()[-1])
    views = {name: spark.table(name).localCheckpoint(eager=True) for name in BUILD_VIEWS}
    return {"args": args, "lake": lake, "summary": summary, "views": views}
