"""S3 source, bad input: each bad object is rejected with a message naming it; the run goes on."""

from __future__ import annotations

import gzip

import orjson
import pytest
from s3kit import (
    ORG_ID,
    cis_for,
    config_body,
    config_key,
    export_files,
    export_prefix,
    put,
    put_export,
    rows,
    s3_error,
)

from patchtrail.devkit.simulator.signing import signer_for
from patchtrail.errors import InvalidInput, PatchtrailError
from patchtrail.ingest.s3 import ingest_s3
from patchtrail.sources.sign_file import PublicKeys

pytestmark = pytest.mark.service("s3")

GOOD_DAY, BAD_DAY = (2026, 3, 1), (2026, 3, 2)
REJECTED = ("select source_ref, reason, payload is not null from landing.rejected_records "
            "order by source_ref")
OBJECT = "select status, etag, error from landing.source_objects where uri = ?"


def with_good_object(client, bucket):
    put(client, bucket, config_key(GOOD_DAY), config_body(cis_for(GOOD_DAY)))


@pytest.mark.parametrize("body,reason", [
    (config_body(cis_for(BAD_DAY))[:-9], "corrupt or truncated gzip data"),
    (gzip.compress(b"<html>Service Unavailable</html>"), "not JSON"),
    (gzip.compress(b'{"fileVersion": "1.0"}'), "no configurationItems list"),
], ids=["truncated-gzip", "not-json", "no-configuration-items"])
def test_a_bad_config_object_is_rejected_by_name_and_the_rest_lands(client, bucket, warehouse, body, reason):
    with_good_object(client, bucket)
    bad = config_key(BAD_DAY)
    etag = put(client, bucket, bad, body)
    summary = ingest_s3(f"s3://{bucket}", warehouse=warehouse, client=client)
    assert summary.totals()["items_landed"] == 2 and summary.totals()["objects_rejected"] == 1
    ((ref, message, has_payload),) = rows(warehouse, REJECTED)
    assert ref == f"s3://{bucket}/{bad}" and message.startswith(f"s3://{bucket}/{bad}: {reason}")
    assert has_payload
    # recorded with its ETag: not read again until it is replaced
    assert rows(warehouse, OBJECT, [ref]) == [("rejected", etag, message)]
    again = ingest_s3(f"s3://{bucket}", warehouse=warehouse, client=client).totals()
    assert again["objects_read"] == 0


def test_a_tampered_export_is_rejected_whole(client, bucket, warehouse):
    with_good_object(client, bucket)
    prefix = export_prefix("q-tampered")
    files = export_files(cis_for(BAD_DAY, count=4), rows_per_file=2)
    text = gzip.decompress(files["result_2.csv.gz"])
    assert b"T02:00" in text
    files["result_2.csv.gz"] = gzip.compress(text.replace(b"T02:00", b"T05:00"), mtime=0)
    put_export(client, bucket, prefix, files)
    summary = ingest_s3(f"s3://{bucket}", warehouse=warehouse, client=client)
    assert summary.totals()["items_landed"] == 2  # the good Config file only: nothing from result_1
    ((ref, message, _),) = rows(warehouse, REJECTED)
    assert ref == f"s3://{bucket}/{prefix}"
    assert message.startswith(f"s3://{bucket}/{prefix}result_2.csv.gz: SHA-256 ")
    assert "does not match" in message and "export rejected" in message


def test_an_export_missing_a_listed_file_or_its_sign_file_is_rejected(client, bucket, warehouse):
    files = export_files(cis_for(BAD_DAY, count=4), rows_per_file=2)
    put_export(client, bucket, export_prefix("q-missing"), {n: b for n, b in files.items()
                                                            if n != "result_2.csv.gz"})
    put_export(client, bucket, export_prefix("q-unsigned"), {n: b for n, b in files.items()
                                                             if n != "result_sign.json"})
    summary = ingest_s3(f"s3://{bucket}", warehouse=warehouse, client=client)
    errors = sorted(o.error for o in summary.objects)
    assert errors == [
        f"s3://{bucket}/{export_prefix('q-missing')}result_2.csv.gz: listed in result_sign.json but "
        "missing; export rejected",
        f"s3://{bucket}/{export_prefix('q-unsigned')}: Lake result files without result_sign.json; "
        "export cannot be verified",
    ]
    assert rows(warehouse, "select count(*) from landing.configuration_items") == [(0,)]
    # once the missing file arrives, the export's ETags change and it is read again
    put(client, bucket, export_prefix("q-missing") + "result_2.csv.gz", files["result_2.csv.gz"])
    later = ingest_s3(f"s3://{bucket}", warehouse=warehouse, client=client).totals()
    assert later["objects_read"] == 1 and later["items_landed"] == 4


def test_a_wrong_csv_header_rejects_the_export(client, bucket, warehouse):
    header = ("eventId", "eventTime", "accountId", "awsRegion", "resourceId", "status")
    put_export(client, bucket, export_prefix("q-header"), export_files(cis_for(BAD_DAY), header=header))
    (result,) = ingest_s3(f"s3://{bucket}", warehouse=warehouse, client=client).objects
    assert result.status == "rejected"
    assert result.error.startswith(f"s3://{bucket}/{export_prefix('q-header')}result_1.csv.gz: "
                                   "unexpected CSV header")


def test_rsa_signatures_are_verified_when_a_public_key_is_given(client, bucket, tmp_path):
    signer, stranger = signer_for("s3-tests"), signer_for("someone-else")
    good = export_files(cis_for(GOOD_DAY), signer=signer)
    forged = export_files(cis_for(BAD_DAY), signer=signer)
    sign = orjson.loads(forged["result_sign.json"])
    sign["hashSignature"] = stranger.sign(" ".join(f["fileHashValue"] for f in sign["files"]))
    forged["result_sign.json"] = orjson.dumps(sign)
    put_export(client, bucket, export_prefix("q-good"), good)
    put_export(client, bucket, export_prefix("q-forged"), forged)

    listed = PublicKeys(listed={signer.fingerprint: signer.public_key_der})  # as ListPublicKeys
    checked = ingest_s3(f"s3://{bucket}", warehouse=tmp_path / "a.duckdb", client=client, keys=listed)
    assert {o.uri.split("/")[-2]: o.status for o in checked.objects} == {
        "q-good": "landed", "q-forged": "rejected"}
    (forged_result,) = [o for o in checked.objects if o.status == "rejected"]
    assert forged_result.error == (
        f"s3://{bucket}/{export_prefix('q-forged')}result_sign.json: the RSA signature (SHA256withRSA) "
        f"does not verify with the key of fingerprint {signer.fingerprint} (the export names "
        f"fingerprint {signer.fingerprint!r}); export rejected")

    wrong_key = ingest_s3(f"s3://{bucket}", warehouse=tmp_path / "b.duckdb", client=client,
                          keys=PublicKeys(listed={stranger.fingerprint: stranger.public_key_der}))
    assert all("no public key with fingerprint" in o.error for o in wrong_key.objects)
    unchecked = ingest_s3(f"s3://{bucket}", warehouse=tmp_path / "c.duckdb", client=client)
    assert unchecked.totals()["objects_rejected"] == 0  # hashes match: only the key can tell


def test_an_object_deleted_between_list_and_get_is_rejected_and_not_remembered(client, bucket, warehouse):
    with_good_object(client, bucket)
    gone = config_key(BAD_DAY)
    put(client, bucket, gone, config_body(cis_for(BAD_DAY)))
    summary = ingest_s3(f"s3://{bucket}", warehouse=warehouse, client=client,
                        on_listed=lambda *_: client.delete_object(Bucket=bucket, Key=gone))
    assert summary.totals()["items_landed"] == 2
    uri = f"s3://{bucket}/{gone}"
    assert rows(warehouse, OBJECT, [uri]) == [
        ("rejected", None, f"{uri}: deleted after it was listed (NoSuchKey)")]


def test_access_denied_on_one_object_is_rejected_and_read_on_the_next_run(client, bucket, warehouse):
    with_good_object(client, bucket)
    locked = config_key(BAD_DAY)
    put(client, bucket, locked, config_body(cis_for(BAD_DAY)))
    with s3_error(client, "GetObject", "AccessDenied", 403, key=locked):
        denied = ingest_s3(f"s3://{bucket}", warehouse=warehouse, client=client)
    uri = f"s3://{bucket}/{locked}"
    (result,) = [o for o in denied.objects if o.status == "rejected"]
    assert result.uri == uri and result.error.startswith(f"{uri}: access denied (s3:GetObject; ")
    assert "kms:Decrypt" in result.error
    assert rows(warehouse, OBJECT, [uri])[0][:2] == ("rejected", None)  # no ETag: not remembered
    granted = ingest_s3(f"s3://{bucket}", warehouse=warehouse, client=client).totals()
    assert granted["objects_read"] == 1 and granted["items_landed"] == 2


def test_a_missing_bucket_or_denied_listing_stops_with_a_hint(client, bucket, warehouse):
    with pytest.raises(PatchtrailError, match=r"^s3://no-such-bucket-here: no such bucket$") as missing:
        ingest_s3("s3://no-such-bucket-here/AWSLogs", warehouse=warehouse, client=client)
    assert "bucket name" in missing.value.hint
    with s3_error(client, "ListObjectsV2", "AccessDenied", 403):
        with pytest.raises(PatchtrailError, match=rf"^s3://{bucket}/{ORG_ID}/: access denied listing") as denied:
            ingest_s3(f"s3://{bucket}/{ORG_ID}", warehouse=warehouse, client=client)
    assert "s3:ListBucket" in denied.value.hint
    assert not warehouse.exists()  # nothing to continue with: the warehouse is not touched
    with pytest.raises(InvalidInput, match="does not match s3://bucket"):
        ingest_s3("https://example.com/x", warehouse=warehouse, client=client)


def test_discovery_skips_top_level_folders_it_may_not_list(client, bucket, warehouse):
    put(client, bucket, config_key(GOOD_DAY, org=ORG_ID), config_body(cis_for(GOOD_DAY)))
    put(client, bucket, "private/secrets.txt", b"not for us")
    with s3_error(client, "ListObjectsV2", "AccessDenied", 403, prefix="private/"):
        summary = ingest_s3(f"s3://{bucket}", warehouse=warehouse, client=client)
    assert summary.totals()["items_landed"] == 2


def test_a_prefix_the_policy_does_not_allow_is_skipped_with_a_note(client, bucket, warehouse):
    put(client, bucket, config_key(GOOD_DAY, org=ORG_ID), config_body(cis_for(GOOD_DAY)))
    lake = f"{ORG_ID}/AWSLogs/111122223333/CloudTrail-Lake/Query/"
    with s3_error(client, "ListObjectsV2", "AccessDenied", 403, prefix=lake):
        summary = ingest_s3(f"s3://{bucket}", warehouse=warehouse, client=client)
    assert summary.totals()["items_landed"] == 2
    assert f"s3://{bucket}/{lake}: not allowed to list (s3:ListBucket); skipped" in summary.ignored


def test_an_unreadable_public_key_file_is_invalid_input(client, bucket, warehouse, tmp_path):
    with pytest.raises(InvalidInput, match="cannot read the public key"):
        ingest_s3(f"s3://{bucket}", warehouse=warehouse, client=client,
                  keys=PublicKeys.from_file(tmp_path / "none.der"))
