"""The shared real AWS samples, ingested as a user would: each lands, or is rejected with its reason.

The samples live outside the repository (`../shared/reference/real-samples`, see its SOURCES.md);
they are read in place, never copied in.
"""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import orjson
import pytest
from fileskit import count

from patchtrail.ingest import ingest_files
from patchtrail.sources.sign_file import PublicKeys

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "real-samples"
FIXTURE_FINGERPRINT = "67b9fa73676d86966b449dd677850753"


def by_name(summary):
    return {o.uri.removeprefix(str(SAMPLES) + "/"): o for o in summary.objects}


@pytest.fixture(scope="module")
def everything(tmp_path_factory):
    assert SAMPLES.is_dir(), f"{SAMPLES}: the shared samples must sit beside the clone (see README)"
    warehouse = tmp_path_factory.mktemp("samples") / "w.duckdb"
    return ingest_files([SAMPLES], warehouse=warehouse), warehouse


def test_every_sample_lands_or_is_rejected_with_its_reason(everything):
    summary, _ = everything
    objects = by_name(summary)
    for uri, result in objects.items():
        assert result.status in ("landed", "rejected"), uri
        assert "could not be read (" not in (result.error or ""), (uri, result.error)  # never a crash
    trino = "rendered as a Trino struct ({key=value, ...}), not JSON: this is what SELECT * saves"
    assert trino in objects["lake-export"].error
    assert trino in objects["constructed/lake-export/AWSLogs/123456789012/CloudTrail-Lake/Query/2022/08/08/"
                            "0a1b2c3d-4e5f-6789-abcd-ef0123456789"].error
    notification = objects["config-files/doc-confighistory-delivery-notification.json"]
    assert notification.error.endswith(
        "an AWS Config notification (ConfigurationHistoryDeliveryCompleted), not a delivery file; it "
        "names s3://config-bucket-123456789012-ohio/AWSLogs/123456789012/Config/us-east-2/2016/9/27/"
        "ConfigHistory/123456789012_Config_us-east-2_ConfigHistory_AWS::CloudTrail::Trail_20160927T195818Z_"
        "20160927T195818Z_1.json.gz, read that instead")
    for name in ("security-hub/securityhub-asff-AwsSsmPatchCompliance-example.json",
                 "lake-export/doc-result_sign-example.json"):
        assert objects[name].error.endswith("no configurationItems list (not an AWS Config delivery file)")
    for name in ("config-files/thirdparty-config-rule-invoking-event-ec2-resourcedeleted.json",
                 "config-files/thirdparty-config-rule-invoking-event-iam-user.json"):
        assert (objects[name].status, objects[name].read, objects[name].skipped) == ("landed", 1, 1)
    api = objects["constructed/api/get-resource-config-history-output.json"]
    assert (api.status, api.landed) == ("landed", 1)


def test_every_real_item_lands_once_whatever_route_it_took(everything):
    summary, warehouse = everything
    assert count(warehouse, "select count(*) from landing.configuration_items") == 8
    assert count(warehouse, "select count(distinct ci_id) from landing.configuration_items") == 8
    assert count(warehouse, "select count(*) from landing.rejected_records where record_ref is not null") == 0
    # the Config file and the Lake events carry the same items, the state id spelt either way
    assert summary.totals()["items_duplicate"] == 3
    # the PutComplianceItems-style entry (no PatchState) lands as Unknown, out of the seed lists
    assert count(warehouse, "select count(*) from staging.patch_observations "
                            "where state = 'Unknown' and raw_state = ''") == 1
    assert count(warehouse, "select count(*) from history.instance_compliance where is_deleted") == 1


def test_files_that_are_not_delivery_files_are_noted_with_why(everything):
    summary, _ = everything
    notes = {n.split(": ", 1)[0].removeprefix(str(SAMPLES) + "/"): n.split(": ", 1)[1]
             for n in summary.ignored}
    assert notes["constructed/config/AWSLogs/123456789012/Config/ConfigWritabilityCheckFile"] == (
        "ConfigWritabilityCheckFile (AWS Config's access check)")
    (oversized,) = [k for k in notes if "/OversizedChangeNotification/" in k]
    assert notes[oversized].startswith("OversizedChangeNotification: a change notification too large")
    assert notes["lake-export/sample_public_key.der"].startswith("not a file patchtrail reads")


def test_the_aws_cli_export_fixture_is_verified_the_way_aws_documents(tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    for name in ("result_1.csv.gz", "result_sign.json"):
        shutil.copy(SAMPLES / "lake-export" / name, export / name)  # a temp copy, never in the repo
    wh = tmp_path / "w.duckdb"
    # the hashes verify; with no key, reading is what rejects it (its columns are Trino structs)
    (plain,) = ingest_files([export], warehouse=wh).objects
    assert "Trino struct" in plain.error

    # the bundled DER is not the key that signed the fixture: the signature check says so
    key_file = SAMPLES / "lake-export" / "sample_public_key.der"
    (trusted,) = ingest_files([export], warehouse=tmp_path / "a.duckdb",
                              keys=PublicKeys.from_file(key_file)).objects
    assert trusted.error == (
        f"{export}/result_sign.json: the RSA signature (SHA256withRSA) does not verify with the key "
        f"in {key_file} (the export names fingerprint {FIXTURE_FINGERPRINT!r}); export rejected")

    # keys saved from `aws cloudtrail list-public-keys` are looked up by the fingerprint AWS names
    listed = tmp_path / "keys.json"
    der = key_file.read_bytes()
    listed.write_bytes(orjson.dumps({"PublicKeyList": [
        {"Fingerprint": "0" * 32, "Value": base64.b64encode(der).decode()}]}))
    (unknown,) = ingest_files([export], warehouse=tmp_path / "b.duckdb",
                              keys=PublicKeys.from_file(listed)).objects
    assert f"no public key with fingerprint {FIXTURE_FINGERPRINT!r}" in unknown.error
    listed.write_bytes(orjson.dumps({"PublicKeyList": [
        {"Fingerprint": FIXTURE_FINGERPRINT.upper(), "Value": base64.b64encode(der).decode()}]}))
    (wrong,) = ingest_files([export], warehouse=tmp_path / "c.duckdb",
                            keys=PublicKeys.from_file(listed)).objects
    assert f"does not verify with the key of fingerprint {FIXTURE_FINGERPRINT}" in wrong.error
    assert count(tmp_path / "c.duckdb", "select count(*) from landing.configuration_items") == 0
