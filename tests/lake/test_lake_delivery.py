"""S3 delivery of query results into moto: object layout, CSV format, sign file and failures."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
import uuid
from datetime import UTC

import boto3
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from lakekit import WINDOW_END, WINDOW_START, error_code, rows_of, wait

from patchtrail.constants import LAKE_EXTRACT_COLUMNS
from patchtrail.devkit.lake_emulator.emulator import LakeEmulator
from patchtrail.sources import lake_queries as queries

pytestmark = [pytest.mark.service("lake"), pytest.mark.service("s3")]


@pytest.fixture(scope="module")
def s3(moto_s3):
    return boto3.client(
        "s3",
        endpoint_url=moto_s3,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="module")
def delivering_lake(events, moto_s3):
    with LakeEmulator(events, s3_endpoint_url=moto_s3) as emulator:
        yield emulator


@pytest.fixture
def bucket(s3):
    name = f"lake-results-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def delivered(client, statement, uri):
    query_id = client.start_query(QueryStatement=statement, DeliveryS3Uri=uri)["QueryId"]
    described = wait(client, query_id, until=lambda r: r.get("DeliveryStatus") != "PENDING")
    return query_id, described


def test_results_and_sign_file_land_in_s3(delivering_lake, s3, bucket):
    client = delivering_lake.client(retries={"total_max_attempts": 1})
    statement = queries.render(
        "extract_patch_compliance",
        event_data_store=delivering_lake.store_id,
        start=WINDOW_START,
        end=WINDOW_END,
    )
    query_id, described = delivered(client, statement, f"s3://{bucket}/exports/lake")
    assert (described["QueryStatus"], described["DeliveryStatus"]) == ("FINISHED", "SUCCESS")
    assert described["DeliveryS3Uri"] == f"s3://{bucket}/exports/lake"

    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    day = described["QueryStatistics"]["CreationTime"].astimezone(UTC).strftime("%Y/%m/%d")
    pattern = (
        rf"exports/lake/AWSLogs/123456789012/CloudTrail-Lake/Query/{day}/"
        rf"{query_id}/(result_1\.csv\.gz|result_sign\.json)"
    )
    assert len(keys) == 2 and all(re.fullmatch(pattern, k) for k in keys)
    prefix = keys[0].rsplit("/", 1)[0] + "/"
    gz = s3.get_object(Bucket=bucket, Key=prefix + "result_1.csv.gz")["Body"].read()
    text = gzip.decompress(gz).decode()

    assert text.startswith("# Execution Time: ") and f"Query Statement: {statement}\r\n" in text
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "").replace(statement, "")
    body = text.split(f"Query Statement: {statement}\r\n", 1)[1]
    table = list(csv.reader(io.StringIO(body, newline="")))
    header, data = table[0], table[1:]
    assert header == list(LAKE_EXTRACT_COLUMNS)
    api_rows = rows_of(client, query_id)
    assert data == [[row.get(column, "") for column in header] for row in api_rows]
    assert any('"' in cell and "," in cell for row in data for cell in row)  # JSON survives quoting

    sign = json.loads(s3.get_object(Bucket=bucket, Key=prefix + "result_sign.json")["Body"].read())
    assert sign["files"] == [
        {"fileHashValue": hashlib.sha256(gz).hexdigest(), "fileName": "result_1.csv.gz"}
    ]
    assert (sign["hashAlgorithm"], sign["signatureAlgorithm"]) == ("SHA-256", "SHA256withRSA")
    assert sign["region"] == "us-east-1" and re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", sign["queryCompleteTime"]
    )
    assert sign["publicKeyFingerprint"] == delivering_lake.public_key_fingerprint
    assert sign["publicKeyFingerprint"] == hashlib.md5(delivering_lake.public_key_der).hexdigest()
    key = serialization.load_der_public_key(delivering_lake.public_key_der)
    signed = " ".join(f["fileHashValue"] for f in sign["files"]).encode()
    key.verify(bytes.fromhex(sign["hashSignature"]), signed, padding.PKCS1v15(), hashes.SHA256())


def test_seed_arrays_are_json_text_in_the_csv(delivering_lake, s3, bucket):
    client = delivering_lake.client(retries={"total_max_attempts": 1})
    statement = queries.render(
        "ssm-patch-compliance-selected-ec2-instance-time-range",
        event_data_store=delivering_lake.store_id,
        instance_id="i-0a1b2c3d4e5f67890",
        start=WINDOW_START,
        end=WINDOW_END,
    )
    query_id, described = delivered(client, statement, f"s3://{bucket}")
    assert described["DeliveryStatus"] == "SUCCESS"
    key = next(
        o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"] if o["Key"].endswith(".gz")
    )
    assert key.startswith("AWSLogs/123456789012/CloudTrail-Lake/Query/")
    text = gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).decode()
    lines = text.split("\r\n")
    header_at = next(i for i, line in enumerate(lines) if line.startswith("InstanceId,accountId,"))
    rows = list(csv.DictReader(io.StringIO("\r\n".join(lines[header_at:]), newline="")))
    assert rows[0]["InstanceId"] == "i-0a1b2c3d4e5f67890" and len(rows) == 1
    assert json.loads(rows[-1]["InstalledPendingReboot"]) == ["KB5"]


def test_missing_bucket_fails_delivery_but_not_the_query(delivering_lake):
    client = delivering_lake.client(retries={"total_max_attempts": 1})
    statement = queries.render(
        "ssm-patch-compliance-all-ec2-instances", event_data_store=delivering_lake.store_id
    )
    _, described = delivered(client, statement, "s3://no-such-bucket-here/x")
    assert (described["QueryStatus"], described["DeliveryStatus"]) == ("FINISHED", "FAILED")


def test_cancelled_query_is_not_delivered(delivering_lake, bucket, s3):
    client = delivering_lake.client(retries={"total_max_attempts": 1})
    delivering_lake.faults.slow_next(5)
    statement = queries.render(
        "ssm-patch-compliance-all-ec2-instances", event_data_store=delivering_lake.store_id
    )
    query_id = client.start_query(QueryStatement=statement, DeliveryS3Uri=f"s3://{bucket}")[
        "QueryId"
    ]
    assert client.describe_query(QueryId=query_id)["DeliveryStatus"] == "PENDING"
    client.cancel_query(QueryId=query_id)
    described = wait(client, query_id, until=lambda r: r["DeliveryStatus"] != "PENDING")
    assert described["DeliveryStatus"] == "CANCELLED"
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_bad_uri_and_missing_s3_endpoint_are_refused(delivering_lake, lake):
    statement = queries.render(
        "ssm-patch-compliance-all-ec2-instances", event_data_store=delivering_lake.store_id
    )
    client = delivering_lake.client(retries={"total_max_attempts": 1})
    with pytest.raises(ClientError) as caught:
        client.start_query(QueryStatement=statement, DeliveryS3Uri="s3://Bad_Bucket/x")
    assert error_code(caught) == "InvalidS3BucketNameException"
    no_s3 = lake.client(retries={"total_max_attempts": 1})
    with pytest.raises(ClientError) as caught:
        no_s3.start_query(
            QueryStatement=statement.replace(delivering_lake.store_id, lake.store_id),
            DeliveryS3Uri="s3://some-bucket",
        )
    assert error_code(caught) == "UnsupportedOperationException"
