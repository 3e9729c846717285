"""S3 source, large objects: a 200 MB (decompressed) Config file is read with bounded memory."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from s3kit import config_file_ci, config_key, patch, seed_many

pytestmark = pytest.mark.service("s3")

MB = 1 << 20
ROOT = Path(__file__).parents[2]
# Runs in a fresh interpreter so that its peak RSS is the reader's alone (moto stays in pytest).
READ_ONE_OBJECT = """
import json, os, sys, threading, time
from patchtrail.aws import AwsEndpoints
from patchtrail.sources import s3

def rss():  # current resident set (ru_maxrss would carry the forked pytest's peak over exec)
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

peak = [0]
def sample():
    while True:
        peak[0] = max(peak[0], rss())
        time.sleep(0.005)

endpoint, bucket = sys.argv[1:3]
client = s3.make_client(AwsEndpoints(region="us-east-1", s3_endpoint_url=endpoint))
source = s3.S3Source(s3.list_objects(client, bucket, ""), lambda o: s3.fetch_object(client, o))
(obj,) = source.list().objects
before = rss()
threading.Thread(target=sample, daemon=True).start()
count = sum(item.error is None for item in source.read(obj))
peak[0] = max(peak[0], rss())
print(json.dumps({"items": count, "before": before, "peak": peak[0]}))
"""


def big_config_file(items: int, patches: int) -> tuple[bytes, int]:
    """A ConfigHistory file of `items` PatchCompliance items: (gzip bytes, decompressed size)."""
    patch_map = [patch(f"KB{5000000 + j}", "Installed" if j % 7 else "Missing") for j in range(patches)]
    cis = [config_file_ci(f"2026-03-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}.000Z",
                          patch_map, instance=f"i-{i:017x}") for i in range(items)]
    body = orjson.dumps({"fileVersion": "1.0", "configurationItems": cis})
    return gzip.compress(body, compresslevel=1, mtime=0), len(body)


def test_a_200_mb_object_is_read_with_bounded_memory(moto_endpoint, bucket):
    data, size = big_config_file(items=12_000, patches=60)
    assert size > 200 * MB and len(data) < 10 * MB  # small on S3, big once decompressed
    seed_many(bucket, {config_key((2026, 3, 1)): data})
    del data
    done = subprocess.run([sys.executable, "-c", READ_ONE_OBJECT, moto_endpoint, bucket],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, check=True)
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["items"] == 12_000  # more than BATCH_ITEMS: `ingest_s3` lands it a batch at a time
    growth = result["peak"] - result["before"]
    assert growth < 64 * MB, f"RSS grew {growth / MB:.0f} MB reading a {size / MB:.0f} MB object"
