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


TIGHT_POLICY = """\
name = "tight"
[max_days]
HIGH = 2
LOW = 3
INFORMATIONAL = 4
UNSPECIFIED = 5
"""
SLA_COLUMNS = ("policy_name", "policy_thresholds_sha256", "as_of")


def lake_rows(lake, dataset: str, columns: list[str]) -> list[tuple]:
    files = list(lake.glob(f"{dataset}/account_id=*/data.parquet"))
    if not files:
        return []
    listed = ", ".join(f'"{c}"' for c in columns)
    return duckdb.sql(f"select {listed} from read_parquet('{lake}/{dataset}/*/*.parquet', "  # noqa: S608 (a test path)
                      "hive_partitioning = true, hive_types = {'account_id': 'VARCHAR'}) "
                      "order by all").fetchall()


def warehouse_sla(wh, dataset: str, policy) -> tuple[list[str], list[tuple], object]:
    """The warehouse's own SLA rows (marts.sla_breaches_for / sla_status_for) at its latest capture."""
    con = duckdb.connect(str(wh), read_only=True)
    try:
        as_of = con.execute("select max(captured_at) from staging.instance_snapshots").fetchall()[0][0]
        macro = {"sla_breaches": "marts.sla_breaches_for", "sla_status": "marts.sla_status_for"}[dataset]
        cursor = con.execute(f"select * from {macro}(?, ?) order by all",  # noqa: S608 (fixed names)
                             [as_of, policy.thresholds()])
        return [d[0] for d in cursor.description], cursor.fetchall(), as_of
    finally:
        con.close()


def test_sla_datasets_answer_the_chosen_policy_and_rewrite_only_when_it_changes(warehouse, tmp_path):
    import hashlib
    import json

    from patchtrail.analytics.policy import load_policy_file, stored_policy

    wh = warehouse / "w.duckdb"
    policy_file = tmp_path / "tight.toml"
    policy_file.write_text(TIGHT_POLICY)
    lake = tmp_path / "lake"
    con = duckdb.connect(str(wh), read_only=True)
    internal = stored_policy(con, "internal")
    con.close()
    tight = load_policy_file(policy_file)

    first = publish_parquet(wh, str(lake), policy=str(policy_file))
    for dataset in ("sla_breaches", "sla_status"):
        columns, expected, as_of = warehouse_sla(wh, dataset, tight)
        assert expected, f"the fixture must have {dataset} rows under the tight policy"
        assert lake_rows(lake, dataset, columns) == expected
        labels = lake_rows(lake, dataset, list(SLA_COLUMNS))
        canonical = json.dumps({"max_days": {"HIGH": 2, "INFORMATIONAL": 4, "LOW": 3, "UNSPECIFIED": 5},
                                "severity_source": "severity"}, sort_keys=True, separators=(",", ":"))
        assert set(labels) == {("tight", hashlib.sha256(canonical.encode()).hexdigest(), as_of)}
        assert first.rows[dataset] == len(expected)
    manifest = json.loads((lake / "_manifest.json").read_text())
    assert manifest["sla"]["policy_name"] == "tight" and manifest["sla"]["max_days"]["HIGH"] == 2
    assert set(manifest["tables"]["sla_breaches"]["partitions"]) == {
        p.parent.name for p in lake.glob("sla_breaches/*/data.parquet")}

    # unchanged data, same policy: nothing is rewritten
    again = publish_parquet(wh, str(lake), policy=str(policy_file))
    assert again.written == [] and again.deleted == []

    # another policy rewrites (or deletes) the SLA partitions only, and their rows follow it
    other = publish_parquet(wh, str(lake), policy="internal")
    assert other.written and {f.split("/")[0] for f in other.written + other.deleted} <= {
        "sla_breaches", "sla_status"}
    for dataset in ("sla_breaches", "sla_status"):
        columns, expected, _ = warehouse_sla(wh, dataset, internal)
        assert expected != warehouse_sla(wh, dataset, tight)[1], "the two policies must judge differently"
        assert lake_rows(lake, dataset, columns) == expected
        assert other.rows[dataset] == len(expected)
        assert {r[0] for r in lake_rows(lake, dataset, ["policy_name"])} <= {"internal"}
    assert {r[0] for r in lake_rows(lake, "sla_status", ["policy_name"])} == {"internal"}
    manifest = json.loads((lake / "_manifest.json").read_text())
    assert manifest["sla"]["policy_name"] == "internal"


def test_unknown_policy_is_refused_before_anything_is_written(warehouse, tmp_path):
    from patchtrail.errors import InvalidInput

    lake = tmp_path / "lake"
    with pytest.raises(InvalidInput, match="unknown SLA policy"):
        publish_parquet(warehouse / "w.duckdb", str(lake), policy="internal' or '1'='1")
    assert not lake.exists() or list(lake.iterdir()) == []
