"""The history merge of one daily increment against a set-based SQL floor, on the same data.

    python benchmarks/merge_floor.py [--instances 300] [--rounds 5]

A warehouse holds 29 days of history for `instances` instances (synthetic items, 200 patches
each, about 3% of the patches changing between days). The 30th day is one new item per
instance, the daily case. Two timings, each on a fresh copy of the same warehouse with the same
staged increment (landing + staging written, history not yet merged):

- ours: `patchtrail.warehouse.history.merge_history` for the increment's load, as a run does it;
- floor: benchmarks/merge_floor.sql, the least set-based work that gives the same history: close the
  current versions that the new item changes or omits, insert the versions it starts (tracked
  attributes compared by hash). Written here, independently of the warehouse's SQL.

The two resulting histories are compared before any figure is printed (the floor must do the
same work), then the medians and the ratio ours / floor (target <= 1.5) are printed.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: The floor, statements run in order with $load_id bound (see the file's header).
FLOOR_SQL = Path(__file__).with_name("merge_floor.sql")


def build(folder: Path, instances: int) -> tuple[Path, Path, int]:
    """(warehouse with 29 days of history, one holding day 30 staged but not merged, its load)."""
    from patchtrail.transforms.raw import RawItem

    from patchtrail.devkit.simulator import synthetic_items
    from patchtrail.run import Run
    from patchtrail.sources.base import SourceObject
    from patchtrail.warehouse import apply_schema, connect
    from patchtrail.warehouse import history as history_module

    items = list(synthetic_items(30 * instances, 200, seed=1))
    per_day = len(items) // 30
    base, staged = folder / "base.duckdb", folder / "staged.duckdb"
    con = connect(base)
    apply_schema(con)
    raws = [RawItem(item, "file", "bench://history", f"item {i}") for i, item in enumerate(items[:-per_day])]
    with Run(con, source="file", warehouse=str(base), parameters={}, chunk_items=10**9) as run:
        run.land(SourceObject("bench://history", "bench"), raws)
    con.close()
    shutil.copy(base, staged)
    con = connect(staged)
    raws = [RawItem(item, "file", "bench://day30", f"item {i}") for i, item in enumerate(items[-per_day:])]
    real = history_module.merge_history
    import patchtrail.run as run_module

    run_module.merge_history = lambda c, **kw: 0  # stage the increment, leave history as it was
    try:
        with Run(con, source="file", warehouse=str(staged), parameters={}, chunk_items=10**9) as run:
            run.land(SourceObject("bench://day30", "bench"), raws)
            load = run.load_id
    finally:
        run_module.merge_history = real
    con.close()
    return base, staged, load


def time_ours(staged: Path, load: int, work: Path) -> tuple[float, list]:
    from patchtrail.warehouse import connect
    from patchtrail.warehouse.history import merge_history

    copy = work / "ours.duckdb"
    shutil.copy(staged, copy)
    con = connect(copy)
    con.execute("create temp table affected_instances as select distinct account_id, aws_region, "
                "instance_id from landing.configuration_items where load_id = ?", [load])
    con.execute("begin transaction")
    t0 = time.perf_counter()
    merge_history(con, from_load=load)
    seconds = time.perf_counter() - t0
    con.execute("commit")
    result = _history(con)
    con.close()
    return seconds, result


def time_floor(staged: Path, load: int, work: Path) -> tuple[float, list]:
    from patchtrail.warehouse import connect

    copy = work / "floor.duckdb"
    shutil.copy(staged, copy)
    con = connect(copy)
    con.execute("begin transaction")
    t0 = time.perf_counter()
    import duckdb

    for statement in duckdb.extract_statements(FLOOR_SQL.read_text()):
        con.execute(statement, {"load_id": load} if "$load_id" in statement.query else None)
    seconds = time.perf_counter() - t0
    con.execute("commit")
    result = _history(con)
    con.close()
    return seconds, result


def _history(con) -> list:
    return [con.execute(f"select * from history.{t} order by all").fetchall()  # noqa: S608 (fixed names)
            for t in ("instance_compliance", "patch_state")]


def measure_merge(*, instances: int = 300, rounds: int = 5, days: int = 30) -> dict:
    """Median seconds of ours and of the floor for one daily increment (see the docstring)."""
    with tempfile.TemporaryDirectory(prefix="bench-merge-") as tmp:
        work = Path(tmp)
        _, staged, load = build(work, instances)
        ours, floor = [], []
        for _ in range(rounds):
            seconds, ours_history = time_ours(staged, load, work)
            ours.append(seconds)
            seconds, floor_history = time_floor(staged, load, work)
            floor.append(seconds)
            if ours_history != floor_history:
                raise AssertionError("the floor's history differs from the merge's: not the same work")
        return {"ours": statistics.median(ours), "floor": statistics.median(floor),
                "instances": instances}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    result = measure_merge(instances=args.instances, rounds=args.rounds)
    print(f"merge of one daily increment ({result['instances']} instances x 200 patches, 29 days of "
          f"history): ours {result['ours']:.3f} s, floor {result['floor']:.3f} s, "
          f"ratio {result['ours'] / result['floor']:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
