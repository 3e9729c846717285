"""The Parquet lake: split history, appends per month, atomic manifest and recovery, local and S3 (moto)."""

from __future__ import annotations

import json
import re
import shutil

import boto3
import duckdb
import pytest

from patchtrail.aws import AwsEndpoints
from patchtrail.devkit.simulator import simulate_to_dir
from patchtrail.ingest import ingest_files
from patchtrail.publish.parquet import publish_parquet


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("pq")
    simulate_to_dir(root / "a", accounts=2, regions=1, instances=3, days=20, seed=1)
    ingest_files([root / "a"], warehouse=root / "w.duckdb")
    return root


def lake_sql(lake, dataset: str) -> str:
    """A DuckDB query over the files the lake's manifest lists for `dataset` (the snapshot)."""
    manifest = json.loads((lake / "_manifest.json").read_text())
    entry = manifest["datasets"][dataset]
    files = [str(lake / f) for p in entry["partitions"].values() for f in p["files"]]
    if not files:
        return "select null where false"
    listed = ", ".join(f"'{f}'" for f in files)
    hive = f", hive_partitioning = true, hive_types = {{'{entry['partition_by']}': 'VARCHAR'}}" \
        if entry["partition_by"] else ""
    return f"select * from read_parquet([{listed}]{hive})"  # noqa: S608 (test paths)


def history_from_lake(lake, name: str) -> list[tuple]:
    """history.<name> rebuilt from the lake: versions joined with closures (the docs' views)."""
    key = "account_id, aws_region, instance_id, " + ("patch_id, " if name == "patch_state" else "") + "valid_from, ci_id"
    versions = duckdb.sql(lake_sql(lake, f"{name}_versions"))
    closures = duckdb.sql(lake_sql(lake, f"{name}_closures"))  # noqa: F841 (read by name below)
    columns = [c for c in versions.columns if c != "valid_from_month"]
    first = columns[:columns.index("valid_from") + 1]
    rest = [c for c in columns if c not in first]
    rel = duckdb.sql(f"select {', '.join('v.' + c for c in first)}, c.valid_to, c.valid_to is null as is_current, "  # noqa: S608
                     f"{', '.join('v.' + c for c in rest)} from versions as v left join closures as c using ({key}) "
                     "order by all")
    return rel.fetchall()


def warehouse_history(wh, name: str) -> list[tuple]:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        columns = [c[0] for c in con.execute(f"describe history.{name}").fetchall()]
        times = [c for c in columns if c in ("valid_from", "valid_to", "recorded_at", "installed_at")]
        replace = ", ".join(f"date_trunc('millisecond', {c}) as {c}" for c in times)
        return con.execute(f"select * replace ({replace}) from history.{name} order by all").fetchall()  # noqa: S608
    finally:
        con.close()


def days_with_files(src) -> list[str]:
    return sorted({_day(p) for p in (src / "config").rglob("*.json.gz")})


def _day(path) -> str:
    y, m, d = re.search(r"/(\d{4})/(\d+)/(\d+)/", str(path)).groups()
    return f"{int(y):04d}-{int(m):02d}-{int(d):02d}"


def split_by_day(src, last_day: str, before, on):
    """Copy the Config files of `src` captured before `last_day` to `before`, that day's to `on`."""
    before.mkdir()
    on.mkdir()
    for i, path in enumerate(sorted((src / "config").rglob("*.json.gz"))):
        day = _day(path)
        if day < last_day:
            shutil.copy(path, before / f"{i}_{path.name}")
        elif day == last_day:
            shutil.copy(path, on / f"{i}_{path.name}")


def test_lake_matches_the_warehouse_and_a_republish_writes_nothing(warehouse, tmp_path):
    wh = warehouse / "w.duckdb"
    lake = tmp_path / "lake"
    first = publish_parquet(wh, str(lake))
    assert first.written and first.unchanged == 0 and first.recovered is None
    for name in ("patch_state", "instance_compliance"):
        assert history_from_lake(lake, name) == warehouse_history(wh, name)
    again = publish_parquet(wh, str(lake))
    assert again.written == [] and again.deleted == [] and again.unchanged == len(
        {f.rsplit("/", 1)[0] for f in first.written})
    # every file on disk is listed, and every name is new: nothing was written in place
    on_disk = {str(p.relative_to(lake)) for p in lake.rglob("*.parquet")}
    assert on_disk == set(first.written)
    assert all(re.fullmatch(r"part-[0-9TZ]+-[0-9a-f]{6}-\d{4}\.parquet", f.rsplit("/", 1)[1]) for f in on_disk)


def test_a_daily_increment_appends_to_the_current_month_only(tmp_path):
    src = tmp_path / "sim"
    simulate_to_dir(src, accounts=2, regions=1, instances=3, days=45, seed=3)
    split_by_day(src, "2026-02-14", tmp_path / "before", tmp_path / "day")
    wh = tmp_path / "w.duckdb"
    ingest_files([tmp_path / "before"], warehouse=wh)
    lake = tmp_path / "lake"
    first = publish_parquet(wh, str(lake))
    old_months = {f.rsplit("/", 1)[0] for f in first.written if "=2026-01" in f}
    assert old_months, "the fixture must have January partitions"
    mtimes = {p: p.stat().st_mtime_ns for p in lake.rglob("*.parquet")}
    ingest_files([tmp_path / "day"], warehouse=wh)
    increment = publish_parquet(wh, str(lake))
    # January is untouched; February's partitions got one new file each (appended, not rewritten)
    assert not [f for f in increment.written if "=2026-01" in f]
    assert all(p.stat().st_mtime_ns == t for p, t in mtimes.items() if p.exists())
    monthly = [f for f in increment.written if "_month=" in f]
    assert monthly and all("=2026-02/" in f for f in monthly)
    assert increment.appended and not [r for r in increment.rewritten if "_month=" in r]
    current = {f.split("/")[0] for f in increment.written if "_month=" not in f}
    assert current <= {"remediation_episodes", "current_missing_patches", "time_to_remediate",
                       "sla_status", "sla_breaches"}
    assert len(increment.written) <= 12
    for name in ("patch_state", "instance_compliance"):
        assert history_from_lake(lake, name) == warehouse_history(wh, name)


def test_a_late_item_rewrites_only_the_months_it_changes(tmp_path):
    src = tmp_path / "sim"
    simulate_to_dir(src, accounts=1, regions=1, instances=3, days=45, seed=3)
    late_day = next(d for d in days_with_files(src) if d >= "2026-01-15")
    split_by_day(src, late_day, tmp_path / "skip", tmp_path / "late")
    everything = tmp_path / "rest"
    everything.mkdir()
    late = {p.name.split("_", 1)[1] for p in (tmp_path / "late").iterdir()}
    for i, path in enumerate(sorted((src / "config").rglob("*.json.gz"))):
        if path.name not in late:
            shutil.copy(path, everything / f"{i}_{path.name}")
    wh = tmp_path / "w.duckdb"
    ingest_files([everything], warehouse=wh)
    lake = tmp_path / "lake"
    publish_parquet(wh, str(lake))
    ingest_files([tmp_path / "late"], warehouse=wh)
    result = publish_parquet(wh, str(lake))
    assert result.written and result.rewritten
    assert not [f for f in result.written if "_month=" in f and "=2026-01/" not in f and "closures" not in f]
    for name in ("patch_state", "instance_compliance"):
        assert history_from_lake(lake, name) == warehouse_history(wh, name)


@pytest.mark.parametrize("text", ["", "{", "[]", '{"format": "other"}', "\x00\x00\x00\x00"])
def test_a_corrupt_or_empty_manifest_is_recovered_by_a_full_republish(warehouse, tmp_path, text):
    from patchtrail.publish.parquet import lake_files
    from patchtrail.publish.parquet_lake import LakeError, snapshot_files

    wh = warehouse / "w.duckdb"
    lake = tmp_path / "lake"
    first = publish_parquet(wh, str(lake))
    (lake / "_manifest.json").write_text(text)
    with pytest.raises(LakeError, match="not a valid manifest|could not be read"):
        snapshot_files(lake_files(str(lake)))
    again = publish_parquet(wh, str(lake))
    assert again.recovered and len(again.written) == len(first.written)
    assert set(again.deleted) == set(first.written)  # the old files went, the new ones are listed
    assert {str(p.relative_to(lake)) for p in lake.rglob("*.parquet")} == set(again.written)
    for name in ("patch_state", "instance_compliance"):
        assert history_from_lake(lake, name) == warehouse_history(wh, name)


def test_a_version_1_lake_is_replaced_by_the_split_layout(warehouse, tmp_path):
    lake = tmp_path / "lake"
    old = lake / "patch_state" / "account_id=111122223333" / "valid_from_month=2026-01"
    old.mkdir(parents=True)
    (old / "data.parquet").write_bytes(b"PAR1")
    (lake / "_manifest.json").write_text(json.dumps({"tables": {"patch_state": {"partitions": {
        "account_id=111122223333/valid_from_month=2026-01": {
            "file": "patch_state/account_id=111122223333/valid_from_month=2026-01/data.parquet"}}}}}))
    result = publish_parquet(warehouse / "w.duckdb", str(lake))
    assert "version-1" in result.recovered
    assert not (lake / "patch_state").exists()


def test_account_ids_with_a_leading_zero_stay_strings(tmp_path):
    import pyarrow.dataset as pads
    from factories import config_file_ci, patch

    wh = tmp_path / "w.duckdb"
    src = tmp_path / "in"
    src.mkdir()
    items = [config_file_ci("2026-03-01T06:00:00.000Z", [patch("KB1", "Missing")], account="012345678901")]
    (src / "items.json").write_text(json.dumps({"fileVersion": "1.0", "configurationItems": items}))
    ingest_files([src], warehouse=wh)
    lake = tmp_path / "lake"
    publish_parquet(wh, str(lake))
    for name in ("patch_state_versions", "remediation_episodes", "instance_compliance_daily"):
        table = pads.dataset(lake / name, partitioning="hive", format="parquet").to_table()
        assert table.schema.field("account_id").type == "string", name
        assert set(table.column("account_id").to_pylist()) == {"012345678901"}
    assert duckdb.sql(lake_sql(lake, "patch_state_versions")).fetchall()[0][0] == "012345678901"


def test_lake_on_s3(warehouse):
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
        s3.create_bucket(Bucket="analytics")
        result = publish_parquet(warehouse / "w.duckdb", "s3://analytics/patchtrail",
                                 endpoints=AwsEndpoints(s3_endpoint_url=url))
        keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket="analytics")
                for o in page.get("Contents", [])]
        assert "patchtrail/_manifest.json" in keys
        assert sorted(k.removeprefix("patchtrail/") for k in keys if k.endswith(".parquet")) == sorted(result.written)
        again = publish_parquet(warehouse / "w.duckdb", "s3://analytics/patchtrail",
                                 endpoints=AwsEndpoints(s3_endpoint_url=url))
        assert again.written == [] and again.deleted == []
        s3.put_object(Bucket="analytics", Key="patchtrail/_manifest.json", Body=b"")
        recovered = publish_parquet(warehouse / "w.duckdb", "s3://analytics/patchtrail",
                                 endpoints=AwsEndpoints(s3_endpoint_url=url))
        assert recovered.recovered and set(recovered.deleted) == set(result.written)
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
    listed = ", ".join(f'"{c}"' for c in columns)
    return duckdb.sql(f"select {listed} from ({lake_sql(lake, dataset)}) order by all").fetchall()  # noqa: S608


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
    assert [f for p in manifest["datasets"]["sla_breaches"]["partitions"].values() for f in p["files"]] == [
        str(p.relative_to(lake)) for p in lake.glob("sla_breaches/*.parquet")]

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
