"""History merge cost against history size, analytics query latency, size on disk.

    python benchmarks/bench_history.py                          # 500 instances, 360 days (~2 min)
    python benchmarks/bench_history.py --instances 2000         # ~6 min
    python benchmarks/bench_history.py --instances 10000 --days 365   # the issue's size (36 min, 10 GB)

The issue's figure is 10,000 instances with a year of daily history (about a million items and
75 M patch observations). On this project's shared 2-core machines that run took 36 minutes with
a peak RSS of 10 GB, so the default is scaled down with --instances; figures are also reported per
unit (MB per million patch versions) so runs of different sizes compare. The simulated items are
spooled to disk (gzip NDJSON per day), and the landing connections run with a 4 GB DuckDB memory
limit (DuckDB spills beyond it).

What it does, with one seeded simulated fleet (patchtrail.devkit.simulator, PatchCompliance items only):
1. History 1x: a warehouse gets the days/10 days before day `--days` (a month per run); then
   each of the next --increments days is landed as its own run (a daily increment), in a
   connection of its own as a CLI or flow run would, timing the history merge.
2. History 10x: the same with all `--days` days before it. Both cases merge exactly the same
   daily increments, so only the size of the history differs. The ratio merge(10x) / merge(1x)
   is the figure to watch (target <= 1.5: the merge grows with the increment, not the history).
3. On the 10x warehouse: latency of fleet-wide compliance as of a time (instance and patch
   level), missing patches, SLA breaches, time to remediate, compliance by day, as-of-known, and
   an evidence pack.
4. Size on disk after a checkpoint, per million patch versions, with a per-table breakdown.
Medians (and minimums) over the increments are reported: on a shared 2-core machine single
merges of a few hundred milliseconds vary by tens of percent. Nothing is asserted; figures are
printed (and written as JSON with --json).
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from patchtrail.transforms.raw import RawItem  # noqa: E402

from patchtrail import run as run_module  # noqa: E402
from patchtrail.devkit.simulator import iter_events  # noqa: E402
from patchtrail.run import Run  # noqa: E402
from patchtrail.sources.base import SourceObject  # noqa: E402
from patchtrail.warehouse import apply_schema, connect  # noqa: E402
from patchtrail.warehouse import history as history_module  # noqa: E402

START = date(2026, 1, 1)
ACCOUNTS = 4
#: Days of history landed per run while building a case's history.
BULK_DAYS = 30
#: DuckDB memory limit of the benchmark's connections (it spills beyond), so a big fleet fits.
MEMORY_LIMIT = "4GB"
#: Tables whose share of the file is reported (blocks of 256 KiB, shared blocks counted in each).
SIZED_TABLES = ("landing.configuration_items", "staging.instance_snapshots",
                "staging.patch_observations", "history.instance_compliance", "history.patch_state",
                "marts.patch_lists_by_item")
BLOCK_BYTES = 256 * 1024


def _connect(path: Path):
    con = connect(path)
    con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")  # a constant, not user input
    return con


class DaySpool:
    """The fleet's PatchCompliance items spooled to disk, one gzip NDJSON file per capture day,
    so memory stays bounded whatever the fleet size."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.counts: dict[int, int] = defaultdict(int)

    def fill(self, instances: int, days: int, seed: int) -> int:
        per_account = max(1, instances // ACCOUNTS)
        day, out = None, None
        try:
            for event in iter_events(accounts=ACCOUNTS, regions=1, instances=per_account,
                                     days=days, seed=seed, start=START):
                ci = event.ci
                if ci["resourceType"] != "AWS::SSM::PatchCompliance":
                    continue
                captured = datetime.fromisoformat(ci["configurationItemCaptureTime"].replace("Z", "+00:00"))
                index = (captured.date() - START).days
                if index != day:  # the simulator yields items in capture order
                    if out:
                        out.close()
                    day, out = index, gzip.open(self.folder / f"day-{index:05d}.ndjson.gz", "ab",
                                                compresslevel=1)
                out.write(orjson.dumps(ci) + b"\n")
                self.counts[index] += 1
        finally:
            if out:
                out.close()
        return sum(self.counts.values())

    def items(self, days: range) -> Iterator[bytes]:
        for day in days:
            path = self.folder / f"day-{day:05d}.ndjson.gz"
            if path.exists():
                with gzip.open(path, "rb") as fh:
                    yield from fh

    def count(self, days: range) -> int:
        return sum(self.counts.get(d, 0) for d in days)


def land(con, cis: Iterable[bytes], uri: str) -> float:
    """Land items as one run; return the seconds its history merge took."""
    merged = []
    original = history_module.merge_history

    def timed(connection, **kwargs):
        t0 = time.perf_counter()
        result = original(connection, **kwargs)
        merged.append(time.perf_counter() - t0)
        return result

    run_module.merge_history = timed
    try:
        items = (RawItem(orjson.loads(ci), "file", uri, f"item {i}") for i, ci in enumerate(cis))
        with Run(con, source="file", warehouse="bench", parameters={}) as run:
            run.land(SourceObject(uri, "bench"), items)
    finally:
        run_module.merge_history = original
    return merged[0] if merged else 0.0


def history_case(folder: Path, name: str, spool: DaySpool, history_days: int,
                 increments: int, end_day: int) -> dict:
    """History of the `history_days` days before `end_day`, then the days from `end_day` on
    landed one run per day (both cases merge exactly the same increments)."""
    path = folder / f"{name}.duckdb"
    con = _connect(path)
    apply_schema(con)
    first = end_day - history_days
    t0 = time.perf_counter()
    bulk_items = 0
    for chunk in range(first, end_day, BULK_DAYS):  # the history arrives a month per run
        days = range(chunk, min(chunk + BULK_DAYS, end_day))
        land(con, spool.items(days), f"bench://{name}/history-{chunk}")
        bulk_items += spool.count(days)
    con.execute("checkpoint")
    bulk_seconds = time.perf_counter() - t0
    versions = con.execute("select count(*) from history.patch_state").fetchall()[0][0]
    con.close()
    merges, run_seconds, day_items = [], [], []
    for d in range(end_day, end_day + increments):
        t0 = time.perf_counter()
        con = _connect(path)  # each daily run is a process of its own, as with the CLI or a flow
        merges.append(land(con, spool.items(range(d, d + 1)), f"bench://{name}/day-{d}"))
        con.close()
        run_seconds.append(time.perf_counter() - t0)
        day_items.append(spool.count(range(d, d + 1)))
    return {"history_days": history_days, "history_items": bulk_items,
            "patch_versions_before": versions, "bulk_load_seconds": round(bulk_seconds, 1),
            "increment_items": day_items, "merge_seconds": [round(s, 3) for s in merges],
            "merge_seconds_median": round(statistics.median(merges), 3),
            "merge_seconds_min": round(min(merges), 3),
            "run_seconds_median": round(statistics.median(run_seconds), 3), "path": str(path)}


def latencies(path: str, as_of: datetime, repeats: int) -> dict:
    from patchtrail.analytics.evidence import write_evidence

    con = connect(path, read_only=True)
    known = con.execute("select min(ingested_at) from landing.configuration_items "
                        "where load_id = (select max(load_id) from landing.configuration_items)"
                        ).fetchall()[0][0] - timedelta(microseconds=1)
    start = (as_of - timedelta(days=90)).date()
    queries = {
        "instance_compliance_as_of (fleet %)":
            ("select count(*), count(*) filter (where compliance_status = 'COMPLIANT') "
             "from marts.instance_compliance_as_of(?)", [as_of]),
        "patch_state_as_of (all patches)": ("select count(*) from marts.patch_state_as_of(?)", [as_of]),
        "missing_patches_as_of": ("select count(*) from marts.missing_patches_as_of(?)", [as_of]),
        "sla_breaches (fedramp)": ("select count(*) from marts.sla_breaches(?, 'fedramp')", [as_of]),
        "time_to_remediate": ("select count(*) from marts.time_to_remediate", []),
        "compliance_by_day (90 days)":
            ("select count(*) from marts.compliance_by_day(?, ?)", [start, as_of.date()]),
        "instance_compliance_as_of_known (before last run)":
            ("select count(*) from marts.instance_compliance_as_of_known(?, ?)", [as_of, known]),
        "patch_state_as_of_known (before last run)":
            ("select count(*) from marts.patch_state_as_of_known(?, ?)", [as_of, known]),
    }
    result = {}
    for label, (sql, params) in queries.items():
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            con.execute(sql, params).fetchall()
            times.append(time.perf_counter() - t0)
        result[label] = round(statistics.median(times), 3)
    con.close()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        write_evidence(path, Path(tmp) / "pack", as_of=as_of, policy="fedramp")
        result["evidence pack (fedramp)"] = round(time.perf_counter() - t0, 3)
    return result


def size(path: str) -> dict:
    con = connect(path)
    con.execute("checkpoint")
    versions, observations = con.execute(
        "select (select count(*) from history.patch_state), "
        "(select count(*) from staging.patch_observations)").fetchall()[0]
    tables = {}
    for table in SIZED_TABLES:
        blocks = con.execute(
            "select count(distinct b) from (select block_id as b from pragma_storage_info(?) "
            "union all select unnest(additional_block_ids) from pragma_storage_info(?))",
            [table, table]).fetchall()[0][0]
        tables[table] = round(blocks * BLOCK_BYTES / 1e6, 1)
    con.close()
    size_bytes = Path(path).stat().st_size
    return {"file_mb": round(size_bytes / 1e6, 1), "patch_versions": versions,
            "patch_observations": observations,
            "mb_per_million_patch_versions": round(size_bytes / 1e6 / (versions / 1e6), 1),
            "history_patch_state_mb_per_million_versions":
                round(tables["history.patch_state"] / (versions / 1e6), 1),
            "table_mb_approx": tables}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=500, help="managed instances (about)")
    parser.add_argument("--days", type=int, default=360, help="history days of the 10x case")
    parser.add_argument("--increments", type=int, default=7, help="daily increments merged per case")
    parser.add_argument("--repeats", type=int, default=3, help="runs per query (median reported)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="keep the warehouses in this folder")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-history-"))
    folder.mkdir(parents=True, exist_ok=True)
    spool_dir = Path(tempfile.mkdtemp(prefix="spool-", dir=folder))
    try:
        t0 = time.perf_counter()
        spool = DaySpool(spool_dir)
        total = spool.fill(args.instances, args.days + args.increments + 1, args.seed)
        print(f"simulated {total} items in {time.perf_counter() - t0:.0f} s")
        one = history_case(folder, "history-1x", spool, max(1, args.days // 10), args.increments,
                           args.days)
        print("1x ", json.dumps(one))
        ten = history_case(folder, "history-10x", spool, args.days, args.increments, args.days)
        print("10x", json.dumps(ten))
        ratio = ten["merge_seconds_median"] / max(one["merge_seconds_median"], 1e-9)
        ratio_min = ten["merge_seconds_min"] / max(one["merge_seconds_min"], 1e-9)
        as_of = datetime.combine(START + timedelta(days=args.days), datetime.min.time(), UTC)
        queries = latencies(ten["path"], as_of, args.repeats)
        disk = size(ten["path"])
    finally:
        shutil.rmtree(spool_dir, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    figures = {"instances": args.instances, "days": args.days, "history_1x": one, "history_10x": ten,
               "merge_ratio_10x_over_1x": round(ratio, 2), "merge_ratio_of_minimums": round(ratio_min, 2),
               "query_seconds": queries, "disk": disk}
    print(f"\nmerge of one day's increment: 1x {one['merge_seconds_median']:.3f} s "
          f"({one['history_items']} items of history), 10x {ten['merge_seconds_median']:.3f} s "
          f"({ten['history_items']} items): ratio {ratio:.2f} (target <= 1.5); "
          f"fastest of each: {one['merge_seconds_min']:.3f} s / {ten['merge_seconds_min']:.3f} s, "
          f"ratio {ratio_min:.2f}")
    for label, seconds in queries.items():
        print(f"  {label:<52} {seconds:8.3f} s")
    print(f"size: {disk['file_mb']} MB for {disk['patch_versions']} patch versions "
          f"({disk['patch_observations']} observations): "
          f"{disk['mb_per_million_patch_versions']} MB per million patch versions, the whole "
          f"warehouse; history.patch_state alone "
          f"{disk['history_patch_state_mb_per_million_versions']} MB per million")
    for table, mb in disk["table_mb_approx"].items():
        print(f"  {table:<40} ~{mb} MB")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
