"""S3 source throughput and memory through moto: concurrent fetches against a sequential baseline.

    python benchmarks/bench_s3.py                        # demo-sized fleet + one 200 MB object
    python benchmarks/bench_s3.py --days 30 --large-mb 50   # quicker (~40 s)

A `moto_server` subprocess on 127.0.0.1 serves S3 over real HTTP (its own process, so the server
does not share the client's GIL). The simulator's files (seeded) are uploaded with `upload_tree`
in AWS's key layouts, and one large ConfigHistory object (small on S3, --large-mb once
decompressed) is put in a bucket of its own. Every measurement runs in a fresh subprocess:

- read, max_workers=8 vs 1: list + fetch + parse every object into raw items (the S3 part);
  moto answers a request in ~6 ms of CPU, so on 2 cores it, not the client, sets the pace;
- read +20 ms: the same with a 20 ms wait added per request (--latency-ms), as a round trip to
  real S3 would add: there concurrency pays;
- ingest, max_workers=8 vs 1: `ingest_s3` into a new warehouse (adds flatten, DuckDB, history);
- largest object: peak RSS above the process's baseline while reading it, and while ingesting it.

Throughput counts objects (an export is one object) and the bytes fetched from S3 (compressed).
Peak RSS is sampled every 5 ms from /proc/self/statm (ru_maxrss would carry the parent's peak).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MB = 1 << 20

CHILD = """
import json, os, sys, threading, time
sys.path.insert(0, {root!r})
from patchtrail.aws import AwsEndpoints
from patchtrail.sources import s3
from patchtrail.ingest.s3 import ingest_s3

def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

peak = [0]
def sample():
    while True:
        peak[0] = max(peak[0], rss())
        time.sleep(0.005)

mode, endpoint, bucket, workers, warehouse, latency = sys.argv[1:7]
client = s3.make_client(AwsEndpoints(region="us-east-1", s3_endpoint_url=endpoint), max_workers=int(workers))
if float(latency):  # a wait per request, as a network round trip would (the GIL is released)
    client.meta.events.register("before-send.s3", lambda **_: time.sleep(float(latency)))
before = rss()
threading.Thread(target=sample, daemon=True).start()
t0 = time.perf_counter()
if mode == "read":
    from patchtrail.ingest.readahead import read_ahead

    source = s3.S3Source(s3.list_objects(client, bucket, "", max_workers=int(workers)),
                         lambda o: s3.fetch_object(client, o), concurrency=int(workers))
    objects = items = size = 0
    for obj, raws in read_ahead(source.list().objects, source.read, workers=int(workers)):
        objects += 1
        size += obj.size
        items += sum(1 for _ in raws)
else:
    summary = ingest_s3(f"s3://{{bucket}}", warehouse=warehouse, client=client,
                        max_workers=int(workers))
    totals = summary.totals()
    objects, items = totals["objects_read"], totals["items_read"]
    size = sum(o.size for o in summary.objects)
seconds = time.perf_counter() - t0
peak[0] = max(peak[0], rss())
print(json.dumps({{"objects": objects, "items": items, "bytes": size, "seconds": seconds,
                  "rss_before": before, "rss_peak": peak[0]}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=3)
    parser.add_argument("--regions", type=int, default=2)
    parser.add_argument("--instances", type=int, default=12)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--large-mb", type=int, default=200, help="decompressed size of the large object")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=20,
                        help="also read with this wait added per request (0: skip)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-s3-"))
    server, endpoint = _start_moto()
    try:
        client = _client(endpoint)
        from patchtrail.devkit.s3_upload import upload_tree
        from patchtrail.devkit.simulator import simulate_to_dir

        simulate_to_dir(work / "fleet", accounts=args.accounts, regions=args.regions,
                        instances=args.instances, days=args.days, seed=7, org_id="o-bench12345")
        keys = upload_tree(work / "fleet", "fleet", "", client, create_bucket=True)
        large_size = _put_large(client, args.large_mb)
        print(f"fleet: {len(keys)} keys uploaded; large object: {large_size / MB:.0f} MB decompressed",
              file=sys.stderr)

        rows = []
        for mode in ("read", "ingest"):
            for workers in (args.workers, 1):
                result = _child(mode, endpoint, "fleet", workers, work / f"{mode}-{workers}.duckdb")
                rows.append((f"{mode}, max_workers={workers}", result))
        if args.latency_ms:
            for workers in (args.workers, 1):
                result = _child("read", endpoint, "fleet", workers, work / "unused.duckdb",
                                latency=args.latency_ms / 1000)
                rows.append((f"read +{args.latency_ms:g} ms, max_workers={workers}", result))
        big_read = _child("read", endpoint, "large", args.workers, work / "unused.duckdb")
        big_ingest = _child("ingest", endpoint, "large", args.workers, work / "large.duckdb")
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)

    print(f"{'run':<26} {'objects':>8} {'items':>7} {'MB':>7} {'s':>6} {'objects/s':>10} {'MB/s':>6}")
    for name, r in rows:
        print(f"{name:<26} {r['objects']:>8} {r['items']:>7} {r['bytes'] / MB:>7.1f} {r['seconds']:>6.2f} "
              f"{r['objects'] / r['seconds']:>10.0f} {r['bytes'] / MB / r['seconds']:>6.2f}")
    by_name = dict(rows)
    modes = ["read", "ingest"] + ([f"read +{args.latency_ms:g} ms"] if args.latency_ms else [])
    for mode in modes:
        fast, slow = by_name[f"{mode}, max_workers={args.workers}"], by_name[f"{mode}, max_workers=1"]
        print(f"{mode}: max_workers={args.workers} is {slow['seconds'] / fast['seconds']:.1f}x "
              "the sequential baseline")
    for name, r in (("read", big_read), ("ingest", big_ingest)):
        print(f"largest object ({large_size / MB:.0f} MB decompressed, {r['bytes'] / MB:.1f} MB on S3), "
              f"{name}: {r['seconds']:.1f} s, peak RSS {r['rss_peak'] / MB:.0f} MB "
              f"(+{(r['rss_peak'] - r['rss_before']) / MB:.0f} MB over the process baseline)")


def _start_moto() -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1",
                               "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server, endpoint
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit("moto_server did not start")


def _client(endpoint: str):
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    from patchtrail.aws import AwsEndpoints
    from patchtrail.sources import s3

    return s3.make_client(AwsEndpoints(region="us-east-1", s3_endpoint_url=endpoint))


def _put_large(client, size_mb: int) -> int:
    """One ConfigHistory object of ~size_mb MB once decompressed (60 patches per item)."""
    import orjson

    from patchtrail.devkit.simulator import synthetic_items

    sample = [len(orjson.dumps(item)) + 1 for item in synthetic_items(300, 60, seed=7)]
    count = int(size_mb * MB / (sum(sample) / len(sample))) + 1
    chunks = [orjson.dumps(item) for item in synthetic_items(count, 60, seed=7)]
    body = b'{"fileVersion":"1.0","configurationItems":[' + b",".join(chunks) + b"]}"
    del chunks
    client.create_bucket(Bucket="large")
    key = ("AWSLogs/111122223333/Config/us-east-1/2026/3/1/ConfigHistory/111122223333_Config_us-east-1_"
           "ConfigHistory_AWS::SSM::PatchCompliance_20260301T000000Z_20260301T060000Z_1.json.gz")
    client.put_object(Bucket="large", Key=key, Body=gzip.compress(body, compresslevel=6, mtime=0))
    return len(body)


def _child(mode: str, endpoint: str, bucket: str, workers: int, warehouse: Path, *,
           latency: float = 0.0) -> dict:
    code = CHILD.format(root=str(ROOT))
    done = subprocess.run([sys.executable, "-c", code, mode, endpoint, bucket, str(workers),
                           str(warehouse), str(latency)],
                          capture_output=True, text=True, cwd=ROOT, env={**os.environ}, check=False)
    if done.returncode:
        raise SystemExit(f"{mode} run failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
