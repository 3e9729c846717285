"""Write the three file formats, and read a test warehouse back (tests of the files source)."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io

import orjson
from factories import config_file_ci, lake_event, lake_row, patch

from patchtrail.constants import LAKE_EXTRACT_COLUMNS
from patchtrail.warehouse import connect

CIS = [config_file_ci(f"2026-03-{d:02d}T06:00:00.000Z", [patch("A", s), patch("B")])
       for d, s in ((1, "Missing"), (2, "InstalledPendingReboot"), (3, "Installed"))]


def write_config_file(path, cis, *, other_types=0):
    items = list(cis) + [config_file_ci("2026-03-01T00:00:00.000Z", resource_type="AWS::EC2::Instance")
                         for _ in range(other_types)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(orjson.dumps({"fileVersion": "1.0", "configurationItems": items}),
                                   mtime=0))
    return path


def write_export(folder, cis, *, rows_per_file=2, header=LAKE_EXTRACT_COLUMNS):
    folder.mkdir(parents=True, exist_ok=True)
    rows = [lake_row(ci, event_id=f"ev-{i}") for i, ci in enumerate(cis)]
    files = []
    for n, start in enumerate(range(0, len(rows), rows_per_file), start=1):
        text = io.StringIO()
        text.write("# Execution Time: 2026-04-01T00:00:00.000000Z Query Statement: SELECT eventId, "
                   "eventTime FROM x WHERE eventTime >= '2026-01-01 00:00:00'\r\n")
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(header)
        for row in rows[start:start + rows_per_file]:
            writer.writerow([row.get(c, "") for c in LAKE_EXTRACT_COLUMNS])
        data = gzip.compress(text.getvalue().encode(), mtime=0)
        (folder / f"result_{n}.csv.gz").write_bytes(data)
        files.append({"fileHashValue": hashlib.sha256(data).hexdigest(), "fileName": f"result_{n}.csv.gz"})
    (folder / "result_sign.json").write_bytes(orjson.dumps({
        "region": "us-east-1", "files": files, "hashAlgorithm": "SHA-256",
        "signatureAlgorithm": "SHA256withRSA", "queryCompleteTime": "2026-04-01T00:00:00Z",
        "hashSignature": "00", "publicKeyFingerprint": "00"}))
    return folder


def write_ndjson(path, cis, *, extra_lines=()):
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [orjson.dumps(lake_event(ci, event_id=f"ev-{i}")).decode() for i, ci in enumerate(cis)]
    path.write_text("\n".join([*lines, *extra_lines]) + "\n")
    return path


def count(wh, sql):
    con = connect(wh, read_only=True)
    try:
        return con.execute(sql).fetchall()[0][0]
    finally:
        con.close()


def rejected(wh):
    con = connect(wh, read_only=True)
    try:
        return con.execute("select source_ref, record_ref, reason, payload from landing.rejected_records "
                           "order by all").fetchall()
    finally:
        con.close()
