"""The Parquet lake: Hive partitions, incremental rewrites, local and S3 (moto over HTTP)."""

from __future__ import annotations

import boto3
import duckdb
import pytest

from patchtrail.ingest import ingest_files
from patchtrail.publish.parquet import publish_parquet
from patchtrail.simulator import simulate_to_dir


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("pq")
    simulate_to_dir(root / "a", accounts=2, regions=1, instances=3, days=20, seed=1)
    ingest_files([root / "a"], warehouse=root / "w.duckdb")
    return root


def counts(con, sql):
    return con.execute(sql).fetchall()


def test_lake_matches_the_warehouse_and_rewrites_only_changed_partitions(warehouse, tmp_path):
    wh = tmp_path / "w.duckdb"
    wh.write_bytes((warehouse / "w.duckdb").read_bytes())
    lake = tmp_path / "lake"
    first = publish_parquet(wh, str(lake))
    assert first.written and first.unchanged == 0
    con = duckdb.connect(str(wh), read_only=True)
    expected = counts(con, "select account_id, count(*) from history.patch_state group by 1 order by 1")
    con.close()
    got = duckdb.sql(f"select account_id, count(*) from read_parquet('{lake}/patch_state/*/*/*.parquet', "  # noqa: S608 (a test path)
                     "hive_partitioning = true, hive_types = {'account_id': 'VARCHAR', 'valid_from_month': 'VARCHAR'}) "
                     "group by 1 order by 1").fetchall()
    assert got == expected
    again = publish_parquet(wh, str(lake))
    assert again.written == [] and again.unchanged == len(first.written)
    # a new month of data for one account rewrites only the partitions it touches
    simulate_to_dir(tmp_path / "b", accounts=1, regions=1, instances=2, days=40, seed=9)
    ingest_files([tmp_path / "b"], warehouse=wh)
    third = publish_parquet(wh, str(lake))
    assert 0 < len(third.written) < len(first.written) + 200
    assert third.unchanged > 0
    manifest = (lake / "_manifest.json").read_text()
    assert '"fingerprint"' in manifest and "instance_compliance_daily" in manifest


def test_lake_on_s3(warehouse):
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
        s3.create_bucket(Bucket="analytics")
        result = publish_parquet(warehouse / "w.duckdb", "s3://analytics/patchtrail", s3_endpoint_url=url)
        keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket="analytics")
                for o in page.get("Contents", [])]
        assert "patchtrail/_manifest.json" in keys
        assert len([k for k in keys if k.endswith(".parquet")]) == len(result.written)
        again = publish_parquet(warehouse / "w.duckdb", "s3://analytics/patchtrail", s3_endpoint_url=url)
        assert again.written == []
    finally:
        server.stop()
