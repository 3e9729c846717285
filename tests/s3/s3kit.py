"""Helpers for the S3 tests: Config keys and files, Lake exports, warehouse reads, fault hooks."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/: factories

from factories import ACCOUNT, REGION, config_file_ci, lake_row, patch  # noqa: E402

from patchtrail.constants import LAKE_EXTRACT_COLUMNS  # noqa: E402
from patchtrail.warehouse import connect  # noqa: E402

__all__ = ["ACCOUNT", "ORG_ID", "REGION", "config_file_ci", "patch"]

#: The organisation id of the Config delivery prefix in these tests.
ORG_ID = "o-a1b2c3d4e5"
#: Columns that say where and when an item was landed, not what it is.
SOURCE_COLUMNS = ("source", "source_ref", "ingested_at", "load_id", "recorded_at")


def config_key(day: tuple[int, int, int], name: str = "1", *, account: str = ACCOUNT,
               region: str = REGION, org: str | None = None, kind: str = "ConfigHistory") -> str:
    """A Config delivery key as AWS writes it: month and day not zero-padded, `::` in the name."""
    y, m, d = day
    file = (f"{account}_Config_{region}_{kind}_AWS::SSM::PatchCompliance_"
            f"{y}{m:02d}{d:02d}T000000Z_{y}{m:02d}{d:02d}T060000Z_{name}.json.gz")
    return f"{org + '/' if org else ''}AWSLogs/{account}/Config/{region}/{y}/{m}/{d}/{kind}/{file}"


def config_body(cis: list[dict[str, Any]]) -> bytes:
    return gzip.compress(orjson.dumps({"fileVersion": "1.0", "configurationItems": cis}), mtime=0)


def put(client: Any, bucket: str, key: str, body: bytes) -> str:
    """Upload one object; return its ETag (unquoted)."""
    return client.put_object(Bucket=bucket, Key=key, Body=body)["ETag"].strip('"')


def put_many(client: Any, bucket: str, objects: dict[str, bytes]) -> None:
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda kv: put(client, bucket, *kv), objects.items()))


def seed_many(bucket: str, objects: dict[str, bytes]) -> None:
    """Put objects straight into the in-process moto backend: test setup only, ~100x faster than
    PUTs over HTTP (ThreadedMotoServer shares this process). Everything under test reads them
    back over HTTP."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for key, body in objects.items():
        backend.put_object(bucket, key, body)


def export_files(cis: list[dict[str, Any]], *, rows_per_file: int = 2,
                 header: tuple[str, ...] = LAKE_EXTRACT_COLUMNS, signer: Any = None) -> dict[str, bytes]:
    """A Lake export (result_N.csv.gz + result_sign.json) of `cis`, as file name -> bytes."""
    rows = [lake_row(ci, event_id=f"ev-{i}") for i, ci in enumerate(cis)]
    files: dict[str, bytes] = {}
    for n, start in enumerate(range(0, len(rows), rows_per_file), start=1):
        text = io.StringIO()
        text.write("# Execution Time: 2026-04-01T00:00:00.000000Z Query Statement: SELECT eventId "
                   "FROM x\r\n")
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(header)
        for row in rows[start:start + rows_per_file]:
            writer.writerow([row.get(c, "") for c in LAKE_EXTRACT_COLUMNS])
        files[f"result_{n}.csv.gz"] = gzip.compress(text.getvalue().encode(), mtime=0)
    hashes = [hashlib.sha256(body).hexdigest() for body in files.values()]
    files["result_sign.json"] = orjson.dumps({
        "version": "1.0", "region": "us-east-1",
        "files": [{"fileHashValue": h, "fileName": n} for h, n in zip(hashes, files, strict=True)],
        "hashAlgorithm": "SHA-256", "signatureAlgorithm": "SHA256withRSA",
        "queryCompleteTime": "2026-04-01T00:00:00Z",
        "hashSignature": signer.sign(" ".join(hashes)) if signer else "00",
        "publicKeyFingerprint": signer.fingerprint if signer else "00"})
    return files


def export_prefix(query_id: str, day: tuple[int, int, int] = (2026, 4, 1), *,
                  account: str = ACCOUNT, root: str = "") -> str:
    y, m, d = day
    return f"{root}AWSLogs/{account}/CloudTrail-Lake/Query/{y}/{m:02d}/{d:02d}/{query_id}/"


def put_export(client: Any, bucket: str, prefix: str, files: dict[str, bytes]) -> None:
    put_many(client, bucket, {prefix + name: body for name, body in files.items()})


def cis_for(day: tuple[int, int, int], count: int = 2, *, instance: str = "i-0a1b2c3d4e5f67890",
            account: str = ACCOUNT, region: str = REGION) -> list[dict[str, Any]]:
    y, m, d = day
    return [config_file_ci(f"{y}-{m:02d}-{d:02d}T0{h}:00:00.000Z",
                           [patch("KB1", "Missing" if h % 2 else "Installed"), patch("KB2")],
                           instance=instance, account=account, region=region)
            for h in range(count)]


def rows(warehouse: Path, sql: str, params: list[Any] | None = None) -> list[tuple]:
    con = connect(warehouse, read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def table(warehouse: Path, name: str, *, exclude: tuple[str, ...] = SOURCE_COLUMNS) -> list[tuple]:
    """A whole table, sorted, without the columns that say where an item came from."""
    con = connect(warehouse, read_only=True)
    try:
        schema, table_name = name.split(".")
        columns = [c for c, in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and "
            "table_name = ? order by ordinal_position", [schema, table_name]).fetchall()
            if c not in exclude]
        return con.execute(f"select {', '.join(columns)} from {name} order by all").fetchall()  # noqa: S608
    finally:
        con.close()


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any):
        yield self.body


@contextmanager
def s3_error(client: Any, operation: str, code: str, status: int, *, key: str | None = None,
             prefix: str | None = None):
    """Make `client` see `code` (HTTP `status`) for `operation` (on `key`, or for the listing of
    `prefix`, if given), as S3 would answer it: the XML error body goes through botocore's own
    parser."""
    from urllib.parse import parse_qs, urlsplit

    from botocore.awsrequest import AWSResponse

    body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
            f"<Message>{code} (injected)</Message></Error>").encode()

    def answer(request: Any, **_: Any) -> Any:
        url = urlsplit(request.url)
        if key is not None and not url.path.endswith("/" + _quoted(key)):
            return None
        if prefix is not None and parse_qs(url.query).get("prefix") != [prefix]:
            return None
        return AWSResponse(request.url, status, {"Content-Type": "application/xml"}, _Raw(body))

    event = f"before-send.s3.{operation}"
    client.meta.events.register(event, answer)
    try:
        yield
    finally:
        client.meta.events.unregister(event, answer)


def count_calls(client: Any, operation: str) -> list[str]:
    """A list that grows by one entry (the key or prefix) per `operation` call `client` makes."""
    calls: list[str] = []
    client.meta.events.register(
        f"before-parameter-build.s3.{operation}",
        lambda params, **_: calls.append(params.get("Key") or params.get("Prefix") or ""))
    return calls


def _quoted(key: str) -> str:
    from urllib.parse import quote

    return quote(key, safe="/~")
