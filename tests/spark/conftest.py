"""One local SparkSession for the whole test session, and the shared DuckDB-vs-Spark fixtures.

Spark needs a JRE and pyspark (`pip install -e '.[test,spark]'`, tests/run.sh installs the JRE).
Without them these tests are skipped, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import shutil

import pytest
from sparkkit import write_edge_files

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

    session = spark_session("local[2]", app_name="patchtrail-tests",
                            conf={"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2"})
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
