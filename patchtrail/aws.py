"""Where patchtrail's AWS clients connect (the region and endpoint overrides), and how a boto3
client is built for any of them, with botocore's standard retry mode.

One `AwsEndpoints` travels from the CLI or a flow down to every client a run builds (CloudTrail,
S3, STS) and to the pyarrow S3 filesystem the Parquet lake is written with. Credentials are never
part of it: they come from the standard AWS credential chain (role, profile, environment).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

#: The field of `AwsEndpoints` that overrides each service's endpoint.
_ENDPOINT_FIELDS = {"cloudtrail": "lake_endpoint_url", "s3": "s3_endpoint_url", "sts": "sts_endpoint_url"}


@dataclass(frozen=True)
class AwsEndpoints:
    """The AWS region and endpoint overrides of one run; None everywhere means AWS itself, in
    the region the AWS SDK resolves.

    Args:
        region: the clients' region (the pyarrow S3 filesystem defaults to us-east-1).
        lake_endpoint_url: CloudTrail (Lake) endpoint, e.g. the local Lake endpoint.
        s3_endpoint_url: S3 endpoint, e.g. moto or MinIO (clients then use path-style addressing).
        sts_endpoint_url: STS endpoint, for assuming an event data store's role.
    """

    region: str | None = None
    lake_endpoint_url: str | None = None
    s3_endpoint_url: str | None = None
    sts_endpoint_url: str | None = None

    @classmethod
    def from_settings(cls, **given: str | None) -> AwsEndpoints:
        """The endpoints from patchtrail's settings (`aws_region`, `lake_endpoint_url`,
        `s3_endpoint_url`), each replaced by the value `given` for it, when one is given (not
        None or empty)."""
        from patchtrail.settings import settings

        cfg = settings()
        endpoints = cls(region=cfg.aws_region, lake_endpoint_url=cfg.lake_endpoint_url,
                        s3_endpoint_url=cfg.s3_endpoint_url)
        return replace(endpoints, **{k: v for k, v in given.items() if v})

    def endpoint_url(self, service: str) -> str | None:
        """The endpoint override for a boto3 service name (None: AWS's own)."""
        return getattr(self, _ENDPOINT_FIELDS[service])

    def session(self) -> Any:
        """A boto3 session in this region, with the standard credential chain."""
        import boto3

        return boto3.session.Session(region_name=self.region)

    def client(self, service: str, *, max_attempts: int | None = None, role_arn: str | None = None,
               session: Any = None, **options: Any) -> Any:
        """A boto3 client for `service` ("cloudtrail", "s3", "sts") at its endpoint.

        Args:
            max_attempts: attempts per API call in botocore's standard retry mode (None: the
                mode's default).
            role_arn: assume this role (through STS, with the same options) and sign with its
                temporary credentials.
            session: the boto3 session to start from (default: `session()`).
            options: further `botocore.config.Config` options (timeouts, pool size, ...).
        """
        import boto3
        from botocore.config import Config

        retries: dict[str, Any] = {"mode": "standard"}
        if max_attempts:
            retries["total_max_attempts"] = max_attempts
        config = Config(retries=retries, **options)
        session = session or self.session()
        if role_arn:
            sts = session.client("sts", endpoint_url=self.sts_endpoint_url, config=config)
            creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="patchtrail")["Credentials"]
            session = boto3.session.Session(
                aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"], region_name=self.region)
        return session.client(service, endpoint_url=self.endpoint_url(service), config=config)
