"""S3 source: discovery in both layouts, narrow listing, incremental runs, parity with local files."""

from __future__ import annotations

from datetime import date

import pytest
from s3kit import (
    ACCOUNT,
    ORG_ID,
    cis_for,
    config_body,
    config_key,
    count_calls,
    export_files,
    export_prefix,
    put,
    put_export,
    put_many,
    rows,
    seed_many,
    table,
)

from patchtrail.devkit.s3_upload import upload_tree
from patchtrail.ingest import ingest_files
from patchtrail.ingest.s3 import by_account_region, ingest_s3
from patchtrail.sources import s3
from patchtrail.sources.sign_file import PublicKeys

pytestmark = pytest.mark.service("s3")

OTHER = "444455556666"


def test_org_bucket_lands_exactly_like_the_same_files_on_disk(client, bucket, fleet, tmp_path):
    keys = upload_tree(fleet, bucket, "", client)
    assert any(k.startswith(f"{ORG_ID}/AWSLogs/") for k in keys)
    assert any("/CloudTrail-Lake/Query/" in k and k.startswith("AWSLogs/") for k in keys)
    from_s3, from_disk = tmp_path / "s3.duckdb", tmp_path / "disk.duckdb"
    summary = ingest_s3(f"s3://{bucket}", warehouse=from_s3, client=client,
                        keys=PublicKeys.from_file(fleet / "lake-export" / "public_key.der"))
    disk = ingest_files([fleet / "config", fleet / "lake-export"], warehouse=from_disk)

    s3_totals, disk_totals = summary.totals(), disk.totals()
    assert s3_totals == disk_totals and s3_totals["objects_rejected"] == 0
    assert s3_totals["items_landed"] > 0
    for name in ("landing.configuration_items", "staging.instance_snapshots",
                 "staging.patch_observations", "history.instance_compliance", "history.patch_state"):
        assert table(from_s3, name) == table(from_disk, name), name
    assert rows(from_s3, "select distinct source from landing.configuration_items") == [("s3",)]
    assert rows(from_s3, "select count(*) from landing.source_objects where etag is null") == [(0,)]


def test_unchanged_rerun_reads_nothing_and_a_reuploaded_object_is_read_again(client, bucket, warehouse):
    first, second = config_key((2026, 3, 1)), config_key((2026, 3, 2))
    put(client, bucket, first, config_body(cis_for((2026, 3, 1))))
    put(client, bucket, second, config_body(cis_for((2026, 3, 2))))
    put_export(client, bucket, export_prefix("q-1"), export_files(cis_for((2026, 3, 1))))
    assert ingest_s3(f"s3://{bucket}", warehouse=warehouse, client=client).totals()["items_landed"] == 4

    gets = count_calls(client, "GetObject")
    again = ingest_s3(f"s3://{bucket}", warehouse=warehouse, client=client).totals()
    assert again["objects_unchanged"] == 3 and again["objects_read"] == 0 and gets == []

    new_etag = put(client, bucket, second, config_body(cis_for((2026, 3, 2), count=3)))
    changed = ingest_s3(f"s3://{bucket}", warehouse=warehouse, client=client)
    assert gets == [second]
    assert changed.totals()["objects_read"] == 1 and changed.totals()["items_landed"] == 1
    assert rows(warehouse, "select etag, status from landing.source_objects where uri = ? order by load_id",
                [f"s3://{bucket}/{second}"])[-1] == (new_etag, "landed")


def test_listing_pages_through_more_than_1000_objects_in_one_region(client, bucket, warehouse):
    objects = {}
    for n in range(1010):  # 2025/1/1 .. 2025/12/31 and on: month and day unpadded (all in the past)
        day = date.fromordinal(date(2025, 1, 1).toordinal() + n % 365)
        ci = cis_for((day.year, day.month, day.day), count=1, instance=f"i-{n:017x}")
        objects[config_key((day.year, day.month, day.day), str(n), org=ORG_ID)] = config_body(ci)
    seed_many(bucket, objects)
    lists = count_calls(client, "ListObjectsV2")
    summary = ingest_s3(f"s3://{bucket}", warehouse=warehouse, client=client)
    region_prefix = f"{ORG_ID}/AWSLogs/{ACCOUNT}/Config/us-east-1/"
    assert lists.count(region_prefix) == 2  # 1010 keys: two pages of ListObjectsV2
    assert summary.totals()["objects_seen"] == 1010 and summary.totals()["items_landed"] == 1010
    assert {r.uri for r in summary.objects} == {f"s3://{bucket}/{k}" for k in objects}


def test_since_lists_only_the_date_folders_from_that_day_on(client, bucket):
    days = [(2025, 12, 31), (2026, 1, 9), (2026, 1, 10), (2026, 2, 1), (2026, 10, 2)]
    put_many(client, bucket, {config_key(d, org=ORG_ID): config_body(cis_for(d)) for d in days})
    put_export(client, bucket, export_prefix("q-old", (2026, 1, 5)), export_files(cis_for((2026, 1, 5))))
    put_export(client, bucket, export_prefix("q-new", (2026, 2, 3)), export_files(cis_for((2026, 2, 3))))

    listing = s3.list_objects(client, bucket, "", since=date(2026, 1, 10))
    config = [o.key.split("/Config/us-east-1/")[1].split("/Config")[0] for o in listing.objects
              if o.format == "config_delivery"]
    assert config == ["2026/1/10", "2026/10/2", "2026/2/1"]  # key order
    assert [o.key.split("/")[-2] for o in listing.objects if o.format == "lake_export"] == ["q-new"]
    listed = " ".join(listing.prefixes_listed)
    assert "/2025/" not in listed and "/2026/1/9/" not in listed
    assert f"{ORG_ID}/AWSLogs/{ACCOUNT}/Config/us-east-1/2026/10/" in listing.prefixes_listed


def test_accounts_and_regions_narrow_the_listing_to_their_prefixes(client, bucket, warehouse):
    day = (2026, 3, 1)
    put_many(client, bucket, {
        config_key(day, account=account, region=region, org=ORG_ID):
            config_body(cis_for(day, account=account, region=region))
        for account in (ACCOUNT, OTHER) for region in ("us-east-1", "eu-west-1")})
    put(client, bucket, f"{ORG_ID}/AWSLogs/{OTHER}/CloudTrail/us-east-1/2026/03/01/trail.json.gz", b"x")

    listing = s3.list_objects(client, bucket, "", accounts=[OTHER], regions=["eu-west-1"])
    assert [(o.account_id, o.aws_region) for o in listing.objects] == [(OTHER, "eu-west-1")]
    assert not any(ACCOUNT in p or "us-east-1" in p or "/CloudTrail/" in p
                   for p in listing.prefixes_listed)

    summary = ingest_s3(f"s3://{bucket}", warehouse=warehouse, client=client, max_workers=3)
    report = by_account_region(summary)
    assert [(r["account_id"], r["aws_region"], r["objects_read"], r["items_landed"]) for r in report] == [
        (ACCOUNT, "eu-west-1", 1, 2), (ACCOUNT, "us-east-1", 1, 2),
        (OTHER, "eu-west-1", 1, 2), (OTHER, "us-east-1", 1, 2)]


def test_uri_inside_awslogs_reads_only_that_account_and_region(client, bucket, warehouse):
    day = (2026, 3, 1)
    put_many(client, bucket, {
        config_key(day, account=account, region=region, org=ORG_ID):
            config_body(cis_for(day, account=account, region=region))
        for account in (ACCOUNT, OTHER) for region in ("us-east-1", "eu-west-1")})
    uri = f"s3://{bucket}/{ORG_ID}/AWSLogs/{OTHER}/Config/eu-west-1/"
    summary = ingest_s3(uri, warehouse=warehouse, client=client)
    assert [(r["account_id"], r["aws_region"]) for r in by_account_region(summary)] == [(OTHER, "eu-west-1")]

    deep = s3.list_objects(client, bucket, f"{ORG_ID}/AWSLogs/{OTHER}/Config/eu-west-1/2026/3")
    assert [o.aws_region for o in deep.objects] == ["eu-west-1"]


def test_oversized_notifications_and_writability_checks_are_ignored_with_a_note(client, bucket, warehouse):
    day = (2026, 3, 1)
    put(client, bucket, config_key(day), config_body(cis_for(day)))
    oversized = (f"AWSLogs/{ACCOUNT}/Config/us-east-1/2026/3/1/OversizedChangeNotification/"
                 f"AWS::SSM::PatchCompliance/AWS::SSM::ManagedInstanceInventory/i-0a1b2c3d4e5f67890/"
                 f"{ACCOUNT}_Config_us-east-1_ChangeNotification_AWS::SSM::PatchCompliance_"
                 f"AWS::SSM::ManagedInstanceInventory/i-0a1b2c3d4e5f67890_20260301T000000Z_1.json.gz")
    put(client, bucket, oversized, config_body([]))
    put(client, bucket, f"AWSLogs/{ACCOUNT}/Config/ConfigWritabilityCheckFile", b"")

    summary = ingest_s3(f"s3://{bucket}", warehouse=warehouse, client=client)
    assert summary.totals()["objects_seen"] == 1 and summary.totals()["items_landed"] == 2
    notes = dict(n.split(": ", 1) for n in summary.ignored)
    assert "not a delivery file" in notes[f"s3://{bucket}/{oversized}"]
    assert "access check" in notes[f"s3://{bucket}/AWSLogs/{ACCOUNT}/Config/ConfigWritabilityCheckFile"]
    recorded = "select format, status from landing.source_objects where uri = ?"
    assert rows(warehouse, recorded, [f"s3://{bucket}/{oversized}"]) == [("unsupported", "ignored")]
    ingest_s3(f"s3://{bucket}", warehouse=warehouse, client=client)  # recorded once only
    assert rows(warehouse, recorded, [f"s3://{bucket}/{oversized}"]) == [("unsupported", "ignored")]
    (row,) = [r for r in by_account_region(summary) if r["aws_region"] == "us-east-1"]
    assert row["objects_ignored"] == 1 and row["objects_read"] == 1


def test_upload_tree_writes_the_real_key_layouts(client, bucket, fleet):
    keys = upload_tree(fleet, bucket, "org-logs/", client)
    assert keys and all(k.startswith("org-logs/") for k in keys)
    config = [k for k in keys if "/Config/" in k and k.endswith(".json.gz")]
    lake = [k for k in keys if "/CloudTrail-Lake/" in k]
    assert config and all(k.startswith(f"org-logs/{ORG_ID}/AWSLogs/") for k in config)
    assert lake and all(k.startswith("org-logs/AWSLogs/") for k in lake)
    assert not any(k.endswith(("public_key.der", ".ndjson")) for k in keys)
    listing = s3.list_objects(client, bucket, "org-logs")
    assert len(listing.objects) == len(config) + 1  # one export = one object
