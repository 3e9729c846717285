"""One local SparkSession for the whole test session, and the shared DuckDB-vs-Spark fixtures.

Spark needs a JRE and pyspark (`pip install -e '.[test,spark]'`, tests/run.sh installs the JRE).
Without them these tests are skipped, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import shutil

import pytest


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
