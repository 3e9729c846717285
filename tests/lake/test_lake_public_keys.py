"""ListPublicKeys: boto3 gets the key that signs delivered results, and verifies a delivery with it
the way AWS documents (find the key by the sign file's fingerprint, check SHA256withRSA)."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from lakekit import WINDOW_END, WINDOW_START, error_code, wait

from patchtrail.devkit.lake_emulator.emulator import LakeEmulator
from patchtrail.sources import lake_queries as queries

pytestmark = [pytest.mark.service("lake"), pytest.mark.service("s3")]


@pytest.fixture(scope="module")
def lake(events, moto_s3):
    with LakeEmulator(events, s3_endpoint_url=moto_s3) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def s3(moto_s3):
    return boto3.client("s3", endpoint_url=moto_s3, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def test_the_current_key_is_the_signing_key(lake):
    client = lake.client(retries={"total_max_attempts": 1})
    keys = client.list_public_keys()["PublicKeyList"]
    assert len(keys) == 1
    key = keys[0]
    assert key["Value"] == lake.public_key_der  # a blob: base64 on the wire, bytes in boto3
    assert key["Fingerprint"] == lake.public_key_fingerprint == hashlib.md5(key["Value"]).hexdigest()
    now = datetime.now(UTC)
    assert key["ValidityStartTime"] <= now < key["ValidityEndTime"]
    serialization.load_der_public_key(key["Value"])  # DER, PKCS#1


def test_a_delivery_verifies_with_the_listed_key(lake, s3):
    bucket = f"lake-keys-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    client = lake.client(retries={"total_max_attempts": 1})
    statement = queries.render("extract_patch_compliance", event_data_store=lake.store_id,
                               start=WINDOW_START, end=WINDOW_END)
    query_id = client.start_query(QueryStatement=statement, DeliveryS3Uri=f"s3://{bucket}/r")["QueryId"]
    described = wait(client, query_id, until=lambda r: r.get("DeliveryStatus") != "PENDING")
    assert described["DeliveryStatus"] == "SUCCESS"
    listing = s3.list_objects_v2(Bucket=bucket)["Contents"]
    sign_key = next(o["Key"] for o in listing if o["Key"].endswith("result_sign.json"))
    sign = json.loads(s3.get_object(Bucket=bucket, Key=sign_key)["Body"].read())

    completed = datetime.strptime(sign["queryCompleteTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    keys = client.list_public_keys(StartTime=completed - timedelta(minutes=1),
                                   EndTime=completed + timedelta(minutes=1))["PublicKeyList"]
    key = next(k for k in keys if k["Fingerprint"] == sign["publicKeyFingerprint"])
    public = serialization.load_der_public_key(key["Value"])
    for entry in sign["files"]:
        data = s3.get_object(Bucket=bucket, Key=sign_key.rsplit("/", 1)[0] + "/" + entry["fileName"])
        assert hashlib.sha256(data["Body"].read()).hexdigest() == entry["fileHashValue"]
    signed = " ".join(entry["fileHashValue"] for entry in sign["files"]).encode()
    public.verify(bytes.fromhex(sign["hashSignature"]), signed, padding.PKCS1v15(), hashes.SHA256())


def test_time_range_and_token(lake):
    client = lake.client(retries={"total_max_attempts": 1})
    long_ago = datetime(2001, 1, 1, tzinfo=UTC)
    assert client.list_public_keys(StartTime=long_ago, EndTime=long_ago + timedelta(days=1))[
        "PublicKeyList"] == []
    with pytest.raises(ClientError) as caught:
        client.list_public_keys(StartTime=datetime.now(UTC), EndTime=long_ago)
    assert error_code(caught) == "InvalidTimeRangeException"
    with pytest.raises(ClientError) as caught:
        client.list_public_keys(NextToken="made-up")
    assert error_code(caught) == "InvalidTokenException"
