"""S3 delivery of Lake query results: `result_1.csv.gz` plus a signed `result_sign.json` (§4)."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = [
    "DELIVERY_URI_PATTERN",
    "ResultSigner",
    "csv_gz",
    "deliver",
    "deliver_query",
    "result_prefix",
    "sign_file",
]

DELIVERY_URI_PATTERN = r"s3://[a-z0-9][.\-a-z0-9]{1,61}[a-z0-9](/.*)?"
RESULT_FILE = "result_1.csv.gz"
SIGN_FILE = "result_sign.json"


class ResultSigner:
    """An RSA key made at emulator start; signs the hash list of each delivery (SHA256withRSA).

    Valid (for ListPublicKeys) from its creation for `lifetime` seconds (default a year).
    """

    def __init__(self, *, lifetime: float = 365 * 86400) -> None:
        self.valid_from = float(int(time.time()))  # whole seconds, as the wire carries them
        self.valid_until = self.valid_from + lifetime
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = self._key.public_key()
        self.public_key_der = public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.PKCS1
        )
        self.fingerprint = hashlib.md5(self.public_key_der, usedforsecurity=False).hexdigest()

    def sign(self, text: str) -> str:
        """Hex of the PKCS#1 v1.5 SHA-256 signature of `text` (UTF-8)."""
        signature = self._key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signature.hex()


def result_prefix(
    uri: str, *, account_id: str, created: datetime, query_id: str
) -> tuple[str, str]:
    """Bucket and key prefix (ending in `/`) of a query's result files under DeliveryS3Uri `uri`."""
    if not re.fullmatch(DELIVERY_URI_PATTERN, uri):
        raise ValueError(f"DeliveryS3Uri {uri!r} does not match {DELIVERY_URI_PATTERN}")
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    parts = [p for p in prefix.strip("/").split("/") if p] + [
        "AWSLogs",
        account_id,
        "CloudTrail-Lake",
        "Query",
        created.strftime("%Y/%m/%d"),
        query_id,
    ]
    return bucket, "/".join(parts) + "/"


def csv_gz(
    columns: Sequence[str],
    rows: Sequence[Sequence[str | None]],
    *,
    statement: str,
    executed_at: datetime,
) -> bytes:
    """Gzip of the result CSV: comment line, header, rows; CRLF, RFC 4180 quoting, NULL empty.

    The statement is written as given, newlines included (what Lake does with them is unknown),
    so readers must look for the header line rather than skip a fixed number of lines.
    """
    out = io.StringIO(newline="")
    stamp = executed_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    out.write(f"# Execution Time: {stamp} Query Statement: {statement}\r\n")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([["" if cell is None else cell for cell in row] for row in rows])
    return gzip.compress(out.getvalue().encode(), mtime=0)


def sign_file(
    files: Sequence[tuple[str, bytes]], *, signer: ResultSigner, region: str, completed_at: datetime
) -> bytes:
    """`result_sign.json` for `files` (name, gzip bytes), in the §4.4 layout."""
    hashes_ = [hashlib.sha256(data).hexdigest() for _, data in files]
    document = {
        "version": "1.0",
        "region": region,
        "files": [
            {"fileHashValue": h, "fileName": name}
            for (name, _), h in zip(files, hashes_, strict=True)
        ],
        "hashAlgorithm": "SHA-256",
        "signatureAlgorithm": "SHA256withRSA",
        "queryCompleteTime": completed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "hashSignature": signer.sign(" ".join(hashes_)),
        "publicKeyFingerprint": signer.fingerprint,
    }
    return json.dumps(document, indent=2).encode()


def deliver(
    s3: Any,
    *,
    bucket: str,
    prefix: str,
    result: bytes,
    signer: ResultSigner,
    region: str,
    completed_at: datetime,
) -> str:
    """Write the result and sign files; return the DeliveryStatus (SUCCESS, FAILED, ACCESS_DENIED...)."""
    try:
        s3.put_object(Bucket=bucket, Key=prefix + RESULT_FILE, Body=result)
    except (ClientError, BotoCoreError) as exc:
        return "ACCESS_DENIED" if _code(exc) == "AccessDenied" else "FAILED"
    try:
        body = sign_file(
            [(RESULT_FILE, result)], signer=signer, region=region, completed_at=completed_at
        )
        s3.put_object(Bucket=bucket, Key=prefix + SIGN_FILE, Body=body)
    except (ClientError, BotoCoreError) as exc:
        return (
            "ACCESS_DENIED_SIGNING_FILE" if _code(exc) == "AccessDenied" else "FAILED_SIGNING_FILE"
        )
    return "SUCCESS"


def _code(exc: Exception) -> str:
    return exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""


def deliver_query(run: Any, *, s3_client: Callable[[], Any] | None, signer: ResultSigner) -> str:
    """DeliveryStatus for a terminal QueryRun asked to deliver: write its files when FINISHED."""
    if run.status != "FINISHED" or run.output is None or s3_client is None:
        return "CANCELLED" if run.status == "CANCELLED" else "FAILED"
    completed = datetime.now(UTC)
    bucket, prefix = result_prefix(
        run.delivery_uri,
        account_id=run.account_id,
        created=datetime.fromtimestamp(run.created, UTC),
        query_id=run.query_id,
    )
    result = csv_gz(
        run.output.columns, run.output.rows, statement=run.statement, executed_at=completed
    )
    try:
        client = s3_client()
    except Exception:  # an unusable endpoint is a failed delivery, not a crash
        return "FAILED"
    return deliver(
        client,
        bucket=bucket,
        prefix=prefix,
        result=result,
        signer=signer,
        region=run.region,
        completed_at=completed,
    )
