"""AwsEndpoints: one object for a run's region and endpoints, and the clients it builds."""

from __future__ import annotations

import pytest

from patchtrail import settings as settings_module
from patchtrail.aws import AwsEndpoints
from patchtrail.errors import PatchtrailError
from patchtrail.sources import lake, s3


@pytest.fixture
def credentials(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture
def fresh_settings(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PATCHTRAIL_CONFIG", raising=False)
    settings_module.settings.cache_clear()
    yield
    settings_module.settings.cache_clear()


def test_from_settings_fills_in_what_is_not_given(monkeypatch, fresh_settings):
    monkeypatch.setenv("PATCHTRAIL_AWS_REGION", "eu-west-1")
    monkeypatch.setenv("PATCHTRAIL_LAKE_ENDPOINT_URL", "http://127.0.0.1:4599")
    monkeypatch.setenv("PATCHTRAIL_S3_ENDPOINT_URL", "http://127.0.0.1:5000")
    assert AwsEndpoints.from_settings() == AwsEndpoints(
        region="eu-west-1", lake_endpoint_url="http://127.0.0.1:4599",
        s3_endpoint_url="http://127.0.0.1:5000")
    given = AwsEndpoints.from_settings(region="us-east-2", s3_endpoint_url=None, lake_endpoint_url="")
    assert given == AwsEndpoints(region="us-east-2", lake_endpoint_url="http://127.0.0.1:4599",
                                 s3_endpoint_url="http://127.0.0.1:5000")


def test_each_service_gets_its_own_endpoint():
    endpoints = AwsEndpoints(lake_endpoint_url="http://lake", s3_endpoint_url="http://s3",
                             sts_endpoint_url="http://sts")
    assert [endpoints.endpoint_url(s) for s in ("cloudtrail", "s3", "sts")] == [
        "http://lake", "http://s3", "http://sts"]
    with pytest.raises(KeyError):
        endpoints.endpoint_url("ssm")


def test_the_cloudtrail_client_keeps_its_retries_and_timeouts(credentials):
    client = lake.make_client(AwsEndpoints(region="eu-west-1", lake_endpoint_url="http://127.0.0.1:4599"),
                              max_attempts=5)
    config = client.meta.config
    assert client.meta.endpoint_url == "http://127.0.0.1:4599" and client.meta.region_name == "eu-west-1"
    assert config.retries == {"mode": "standard", "total_max_attempts": 5}
    assert (config.connect_timeout, config.read_timeout) == (10, 60)
    assert "patchtrail" in config.user_agent_extra


def test_the_cloudtrail_client_needs_credentials(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(PatchtrailError, match="no AWS credentials found for CloudTrail Lake"):
        lake.make_client(AwsEndpoints(region="us-east-1"))


def test_the_s3_client_keeps_its_pool_and_path_style_for_an_endpoint(credentials):
    local = s3.make_client(AwsEndpoints(region="us-east-1", s3_endpoint_url="http://127.0.0.1:5000"),
                           max_workers=12)
    assert local.meta.endpoint_url == "http://127.0.0.1:5000"
    assert local.meta.config.max_pool_connections == 24
    assert local.meta.config.s3 == {"addressing_style": "path"}
    assert local.meta.config.retries == {"mode": "standard"}
    aws = s3.make_client(AwsEndpoints(region="eu-west-1"), max_attempts=3)
    assert aws.meta.config.s3 is None and aws.meta.config.max_pool_connections == 16
    assert aws.meta.config.retries == {"mode": "standard", "total_max_attempts": 3}


class _Stop(Exception):
    """Raised by a stand-in once it has seen what it was called with."""


def test_the_lake_flow_takes_the_s3_endpoint_from_settings_and_its_own_parameters_first(
        monkeypatch, fresh_settings):
    from patchtrail.flows import ingest_lake

    monkeypatch.setenv("PATCHTRAIL_AWS_REGION", "eu-west-1")
    monkeypatch.setenv("PATCHTRAIL_LAKE_ENDPOINT_URL", "http://127.0.0.1:4599")
    monkeypatch.setenv("PATCHTRAIL_S3_ENDPOINT_URL", "http://127.0.0.1:5000")
    seen = []

    def plan(stores, warehouse, start, end, window, overlap, endpoints):
        seen.append(endpoints)
        raise _Stop

    monkeypatch.setattr(ingest_lake, "plan_lake_windows", plan)
    store = [{"id": "0a1b2c3d-4e5f-6789-abcd-ef0123456789"}]
    for given in ({}, {"region": "us-east-2", "endpoint_url": "http://127.0.0.1:4600"}):
        with pytest.raises(_Stop):
            ingest_lake.ingest_lake_flow.fn(store, warehouse="w.duckdb", deliver_to="s3://results/x",
                                            **given)
    assert seen == [
        AwsEndpoints(region="eu-west-1", lake_endpoint_url="http://127.0.0.1:4599",
                     s3_endpoint_url="http://127.0.0.1:5000"),
        AwsEndpoints(region="us-east-2", lake_endpoint_url="http://127.0.0.1:4600",
                     s3_endpoint_url="http://127.0.0.1:5000")]


def test_spark_export_writes_to_s3_in_the_configured_region(monkeypatch, fresh_settings, tmp_path):
    from typer.testing import CliRunner

    from patchtrail.cli import app
    from patchtrail.publish import landing
    from patchtrail.warehouse import apply_schema, connect

    monkeypatch.setenv("PATCHTRAIL_AWS_REGION", "eu-west-1")
    con = connect(str(tmp_path / "w.duckdb"))
    apply_schema(con)
    con.close()
    seen = []

    def export(warehouse, out, *, policy, endpoints):
        seen.append(endpoints)
        raise _Stop

    monkeypatch.setattr(landing, "export_landing", export)
    for args in ([], ["--s3-endpoint-url", "http://127.0.0.1:5000"]):
        result = CliRunner().invoke(app, ["spark", "export", "--out", "s3://bucket/export",
                                          "--warehouse", str(tmp_path / "w.duckdb"), *args])
        assert isinstance(result.exception, _Stop), result.output
    assert seen == [AwsEndpoints(region="eu-west-1"),
                    AwsEndpoints(region="eu-west-1", s3_endpoint_url="http://127.0.0.1:5000")]


def test_ingest_s3_looks_public_keys_up_in_the_region_given(monkeypatch, fresh_settings, credentials,
                                                             tmp_path):
    from typer.testing import CliRunner

    from patchtrail.cli import app
    from patchtrail.sources.sign_file import PublicKeys

    monkeypatch.setenv("PATCHTRAIL_AWS_REGION", "eu-west-1")
    monkeypatch.setenv("PATCHTRAIL_LAKE_ENDPOINT_URL", "http://127.0.0.1:4599")
    seen = []

    def from_cloudtrail(cls, client):
        seen.append((client.meta.region_name, client.meta.endpoint_url))
        raise _Stop

    monkeypatch.setattr(PublicKeys, "from_cloudtrail", classmethod(from_cloudtrail))
    for args in ([], ["--region", "us-east-2"]):
        result = CliRunner().invoke(app, ["ingest", "s3", "s3://bucket", "--public-key", "aws",
                                          "--warehouse", str(tmp_path / "w.duckdb"), *args])
        assert isinstance(result.exception, _Stop), result.output
    assert seen == [("eu-west-1", "http://127.0.0.1:4599"), ("us-east-2", "http://127.0.0.1:4599")]
