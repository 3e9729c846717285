"""Flattening throughput and peak memory: patchtrail's flatten() against a naive baseline.

    python benchmarks/bench_flatten.py                 # 10,000 items x 200 patches (the target)
    python benchmarks/bench_flatten.py --items 2000    # quicker

Each measurement runs in a fresh subprocess so peak RSS (ru_maxrss) belongs to it alone.
Input is generated on the fly by the simulator (seeded) and serialised to JSON per item, the
way items arrive from NDJSON or Lake rows; throughput counts those JSON bytes.

- ours: orjson.loads + transforms.flatten in batches of constants.BATCH_ITEMS (what ingest does);
- naive baseline: json.loads + pd.json_normalize per item, then pd.concat (the obvious way),
  timed on a sample of --naive-items and reported per item (it is too slow for all 10,000).
- memory: ours at --items and at --items / 10, to show peak memory is bounded by the batch,
  not by the input.

Prints figures and the ratios ours/naive (target >= 5x) and peak(10x input)/peak(1x).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _items_json(n_items: int, n_patches: int, seed: int):
    import orjson

    from patchtrail.devkit.simulator import synthetic_items

    for item in synthetic_items(n_items, n_patches, seed=seed):
        yield orjson.dumps(item)


def run_ours(n_items: int, n_patches: int, seed: int) -> dict:
    from itertools import islice

    import orjson
    from patchtrail.transforms.flatten import RawItem, flatten

    from patchtrail.constants import BATCH_ITEMS

    source = _items_json(n_items, n_patches, seed)
    total_bytes = rows = items = 0
    elapsed = 0.0
    while batch := list(islice(source, BATCH_ITEMS)):
        total_bytes += sum(len(b) for b in batch)
        t0 = time.perf_counter()
        raw = [RawItem(orjson.loads(b), "file", "bench", f"item {i}") for i, b in enumerate(batch)]
        flat = flatten(raw)
        elapsed += time.perf_counter() - t0
        rows += len(flat.patches)
        items += len(flat.items)
        assert flat.rejected.empty
        del raw, flat
    return {"items": items, "rows": rows, "bytes": total_bytes, "seconds": elapsed}


def run_naive(n_items: int, n_patches: int, seed: int) -> dict:
    import pandas as pd

    total_bytes = rows = 0
    elapsed = 0.0
    frames = []
    for text in _items_json(n_items, n_patches, seed):
        total_bytes += len(text)
        t0 = time.perf_counter()
        item = json.loads(text)
        patch_map = item["configuration"]["AWS:ComplianceItem"]["Content"]["Patch"]
        patches = [v for k, v in patch_map.items() if k != "ComplianceSummary"]
        frame = pd.json_normalize(patches)
        frame["accountId"] = item["awsAccountId"]
        frame["awsRegion"] = item["awsRegion"]
        frame["resourceId"] = item["resourceId"]
        frame["captureTime"] = item["configurationItemCaptureTime"]
        frames.append(frame)
        elapsed += time.perf_counter() - t0
        rows += len(frame)
    t0 = time.perf_counter()
    pd.concat(frames, ignore_index=True)
    elapsed += time.perf_counter() - t0
    return {"items": n_items, "rows": rows, "bytes": total_bytes, "seconds": elapsed}


def _worker(args: argparse.Namespace) -> None:
    fn = run_ours if args.worker == "ours" else run_naive
    result = fn(args.items, args.patches, args.seed)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def _measure(mode: str, items: int, patches: int, seed: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", mode, "--items", str(items), "--patches", str(patches),
         "--seed", str(seed)], check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median(results: list[dict]) -> dict:
    """The run with the median time, and the median peak memory."""
    by_time = sorted(results, key=lambda r: r["seconds"])
    middle = dict(by_time[len(by_time) // 2])
    middle["peak_rss_mb"] = sorted(r["peak_rss_mb"] for r in results)[len(results) // 2]
    return middle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--patches", type=int, default=200)
    parser.add_argument("--naive-items", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds; the median of each figure is reported")
    parser.add_argument("--worker", choices=["ours", "naive"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args)
        return

    print(f"flatten benchmark: {args.items} items x {args.patches} patches (seed {args.seed}); "
          f"naive baseline on {args.naive_items} items; median of {args.rounds} interleaved rounds")
    runs: dict[str, list[dict]] = {"ours": [], "small": [], "naive": []}
    for _ in range(args.rounds):  # interleaved, so machine noise hits both sides alike
        runs["ours"].append(_measure("ours", args.items, args.patches, args.seed))
        runs["naive"].append(_measure("naive", args.naive_items, args.patches, args.seed))
        runs["small"].append(_measure("ours", max(args.items // 10, 1), args.patches, args.seed))
    ours, naive, small = (_median(runs[k]) for k in ("ours", "naive", "small"))

    def rates(r: dict) -> tuple[float, float, float]:
        return r["bytes"] / 1e6 / r["seconds"], r["rows"] / r["seconds"], r["items"] / r["seconds"]

    print(f"{'':<22}{'MB/s JSON':>12}{'patch rows/s':>15}{'items/s':>10}{'peak RSS MB':>13}")
    for label, r in (("patchtrail flatten", ours), ("naive (json_normalize)", naive)):
        mb, rows, items = rates(r)
        print(f"{label:<22}{mb:>12.1f}{rows:>15,.0f}{items:>10,.0f}{r['peak_rss_mb']:>13.0f}")
    speedup = rates(ours)[1] / rates(naive)[1]
    memory_ratio = ours["peak_rss_mb"] / small["peak_rss_mb"]
    print(f"input {ours['bytes'] / 1e6:,.0f} MB JSON, {ours['rows']:,} patch rows in {ours['seconds']:.1f} s")
    print(f"speed-up over naive: {speedup:.1f}x (target >= 5x)")
    print(f"peak RSS at {args.items} items vs {small['items']} items: {ours['peak_rss_mb']:.0f} MB vs "
          f"{small['peak_rss_mb']:.0f} MB = {memory_ratio:.2f}x for 10x the input (target: well below 10x)")


if __name__ == "__main__":
    main()
