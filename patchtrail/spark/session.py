"""The SparkSession settings the job relies on, for local mode and for clusters alike."""

from __future__ import annotations

import os
from typing import Any

#: Settings the SQL depends on. UTC: days and months are UTC days and months; milliseconds in
#: Parquet: what Athena reads is what was fingerprinted; ANSI stays on (the SQL uses try_*).
REQUIRED_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MILLIS",
    "spark.sql.ansi.enabled": "true",
    # Local files without Hadoop's .crc sidecars: the checksum layer cannot even open a file whose
    # name holds `::`, as every AWS Config delivery file's does (..._AWS::SSM::PatchCompliance_...).
    "spark.hadoop.fs.file.impl": "org.apache.hadoop.fs.RawLocalFileSystem",
    "spark.hadoop.fs.file.impl.disable.cache": "true",
}
#: Settings for a small local run (tests, a laptop); a cluster keeps its own.
LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.driver.host": "127.0.0.1",          # loopback only: nothing listens beyond it
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    "spark.sql.adaptive.enabled": "true",
    "spark.driver.memory": "2g",
    "spark.sql.execution.arrow.pyspark.enabled": "false",
}


def spark_session(master: str | None = "local[*]", *, app_name: str = "patchtrail-history",
                  conf: dict[str, Any] | None = None):
    """Get or create the session with REQUIRED_CONF (and LOCAL_CONF on a local master).

    Args:
        master: `local[*]`, `yarn`, `spark://host:7077`, `k8s://...`; None keeps what
            spark-submit set.
    """
    from pyspark.sql import SparkSession

    if master and master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.appName(app_name)
    settings = dict(REQUIRED_CONF)
    if master:
        builder = builder.master(master)
        if master.startswith("local"):
            settings = {**LOCAL_CONF, **settings}
    for key, value in {**settings, **(conf or {})}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    for key, value in REQUIRED_CONF.items():  # a session that existed already gets them too
        if not key.startswith("spark.hadoop."):
            spark.conf.set(key, value)
    return spark
