"""Write CloudTrail Lake query results as delivered to S3: result_<n>.csv.gz and result_sign.json."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import uuid
from pathlib import Path
from typing import IO, Any

import orjson

from patchtrail.devkit.simulator.items import PATCH_TYPE, SimEvent, utc
from patchtrail.devkit.simulator.signing import signer_for
from patchtrail.devkit.simulator.writers import GZIP_LEVEL

COLUMNS = ("eventId", "eventTime", "accountId", "awsRegion", "resourceId", "ciStatus",
           "ciCaptureTime", "ciStateId", "configurationJson")
QUERY = (
    "SELECT eventID AS eventId, eventTime AS eventTime, eventData.accountId AS accountId, "
    "eventData.awsRegion AS awsRegion, eventData.resourceId AS resourceId, "
    "eventData.configurationItemStatus AS ciStatus, "
    "eventData.configurationItemCaptureTime AS ciCaptureTime, "
    "json_extract_scalar(json_parse(eventJson), '$.eventData.configurationStateId') AS ciStateId, "
    "json_format(json_extract(json_parse(eventJson), '$.eventData.configuration')) "
    "AS configurationJson FROM {store} WHERE eventData.resourceType = '{type}' "
    "AND eventTime >= '{since}' AND eventTime < '{until}'"
)


def query_uuid(seed: int, name: str) -> str:
    """A deterministic lowercase UUID (query id, event data store id) for a seed."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


class LakeExportWriter:
    """Streams PatchCompliance rows into numbered gzip CSV files, then signs them.

    Layout: `lake-export/AWSLogs/<account>/CloudTrail-Lake/Query/<yyyy>/<mm>/<dd>/<query-id>/`;
    the public key goes to `lake-export/public_key.der`."""

    def __init__(self, root: Path, *, seed: int, account_id: str, region: str, start_ms: int,
                 end_ms: int, rows_per_file: int) -> None:
        if rows_per_file < 1:
            raise ValueError(f"lake_rows_per_file={rows_per_file}: expected at least 1")
        self.root = root / "lake-export"
        self.seed, self.region, self.rows_per_file = seed, region, rows_per_file
        self.query_id = query_uuid(seed, "query")
        offset_us = (600 + int(query_uuid(seed, "offset")[:4], 16) % 1800) * 1_000_000 + int(
            query_uuid(seed, "micros")[:5], 16) % 1_000_000
        self.started_us = end_ms * 1000 + offset_us
        started = utc(self.started_us // 1000)
        self.directory = (self.root / "AWSLogs" / account_id / "CloudTrail-Lake" / "Query" /
                          f"{started:%Y}" / f"{started:%m}" / f"{started:%d}" / self.query_id)
        statement = QUERY.format(store=query_uuid(seed, "event-data-store"), type=PATCH_TYPE,
                                 since=f"{utc(start_ms):%Y-%m-%d %H:%M:%S}",
                                 until=f"{utc(end_ms):%Y-%m-%d %H:%M:%S}")
        self.comment = (f"# Execution Time: {started:%Y-%m-%dT%H:%M:%S}."
                        f"{self.started_us % 1_000_000:06d}Z Query Statement: {statement}\r\n")
        self.file_names: list[str] = []
        self.rows_in_file = 0
        self.rows = 0
        self.bytes = 0
        self._raw: IO[bytes] | None = None
        self._gzip: gzip.GzipFile | None = None
        self._text: io.TextIOWrapper | None = None
        self._csv: Any = None
        self._extra_files = 0

    @property
    def files(self) -> int:
        return len(self.file_names) + self._extra_files  # + result_sign.json, public_key.der

    def add(self, event: SimEvent) -> None:
        """Append the event's row (PatchCompliance CIs only; other types are ignored)."""
        ci = event.ci
        if ci["resourceType"] != PATCH_TYPE:
            return
        if self._csv is None or self.rows_in_file >= self.rows_per_file:
            self._open_next()
        configuration = ci["configuration"]
        self._csv.writerow((
            event.event_id,
            f"{event.event_time:%Y-%m-%d %H:%M:%S}.{event.event_time.microsecond // 1000:03d}",
            ci["awsAccountId"], ci["awsRegion"], ci["resourceId"],
            ci["configurationItemStatus"], ci["configurationItemCaptureTime"],
            str(ci["configurationStateId"]),
            "" if configuration is None else orjson.dumps(configuration).decode(),
        ))
        self.rows_in_file += 1
        self.rows += 1

    def close(self) -> None:
        """Finish the last CSV file and write the sign file and the public key."""
        if self._csv is None:
            self._open_next()
        self._close_current()
        signer = signer_for(f"{self.seed}:{self.query_id}")
        hashes = [hashlib.sha256((self.directory / name).read_bytes()).hexdigest()
                  for name in self.file_names]
        complete = utc(self.started_us // 1000 + 4_000 + self.rows // 50)
        sign = {
            "version": "1.0",
            "region": self.region,
            "files": [{"fileHashValue": h, "fileName": n}
                      for h, n in zip(hashes, self.file_names, strict=True)],
            "hashAlgorithm": "SHA-256",
            "signatureAlgorithm": "SHA256withRSA",
            "queryCompleteTime": f"{complete:%Y-%m-%dT%H:%M:%SZ}",
            "hashSignature": signer.sign(" ".join(hashes)),
            "publicKeyFingerprint": signer.fingerprint,
        }
        body = json.dumps(sign, indent=2).encode()
        (self.directory / "result_sign.json").write_bytes(body)
        self.bytes += len(body)
        self._extra_files = 1
        if signer.public_key_der:
            (self.root / "public_key.der").write_bytes(signer.public_key_der)
            self.bytes += len(signer.public_key_der)
            self._extra_files = 2

    def _open_next(self) -> None:
        self._close_current()
        name = f"result_{len(self.file_names) + 1}.csv.gz"
        self.directory.mkdir(parents=True, exist_ok=True)
        self._raw = (self.directory / name).open("wb")
        self._gzip = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw,
                                   compresslevel=GZIP_LEVEL, mtime=0)
        self._text = io.TextIOWrapper(self._gzip, encoding="utf-8", newline="")
        self._text.write(self.comment)
        self._csv = csv.writer(self._text, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        self._csv.writerow(COLUMNS)
        self.file_names.append(name)
        self.rows_in_file = 0

    def _close_current(self) -> None:
        if self._text is None:
            return
        self._text.close()  # closes the GzipFile, which leaves the raw file open
        assert self._raw is not None
        self.bytes += self._raw.tell()
        self._raw.close()
        self._text = self._gzip = self._raw = self._csv = None

