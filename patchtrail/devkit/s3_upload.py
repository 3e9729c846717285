"""Upload the simulator's files to an S3 bucket in AWS's key layouts (the demo and tests)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

_ORG_ID = re.compile(r"^o-[a-z0-9]{10,32}$")


def upload_tree(local_dir: Path | str, bucket: str, prefix: str, client: Any, *,
                create_bucket: bool = False, max_workers: int = 8) -> list[str]:
    """Upload simulator output (or any tree holding `AWSLogs/` folders) in AWS's key layouts.

    `config/[<org-id>/]AWSLogs/...` -> `<prefix>/[<org-id>/]AWSLogs/...` (Config delivery) and
    `lake-export/AWSLogs/...` -> `<prefix>/AWSLogs/...` (Lake exports). Files outside an
    `AWSLogs/` folder (`public_key.der`, `lake-events/`) are not uploaded.

    Args:
        local_dir: the folder `simulate_to_dir` wrote.
        create_bucket: create the bucket first (for a local endpoint such as moto).
    Returns the keys written, sorted.
    """
    root = Path(local_dir)
    base = prefix.strip("/")
    uploads: list[tuple[Path, str]] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        parts = path.relative_to(root).parts
        if "AWSLogs" not in parts:
            continue
        at = parts.index("AWSLogs")
        if at > 0 and _ORG_ID.match(parts[at - 1]):
            at -= 1
        key = "/".join(parts[at:])
        uploads.append((path, f"{base}/{key}" if base else key))
    if create_bucket:
        region = client.meta.region_name
        location = {} if region in (None, "us-east-1") else {
            "CreateBucketConfiguration": {"LocationConstraint": region}}
        try:
            client.create_bucket(Bucket=bucket, **location)
        except client.exceptions.BucketAlreadyOwnedByYou:
            pass

    def put(item: tuple[Path, str]) -> None:
        path, key = item
        client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())

    with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
        list(pool.map(put, uploads))
    return sorted(key for _, key in uploads)
