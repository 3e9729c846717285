"""What storing the items alone costs in DuckDB: the floor under `patchtrail ingest files`.

    python benchmarks/storage_floor.py                # the 2,000-item input of bench_ingest.py
    python benchmarks/storage_floor.py --items 10000

The input is already parsed and flattened in memory (not timed): the items' configuration JSON
(zstd frames, compressed by the flattening as a run's workers do) and their patch rows, as the
warehouse keeps them. Timed: inserting them into a new DuckDB file in chunks of CHUNK_ITEMS
(landing.configuration_items' frames, staging.patch_observations' rows, the same tables the
product creates) and committing each chunk, as a run does. No de-duplication, no history, no
marts. Printed beside the naive flattening of bench_ingest.py
measured in the same run, so the best end-to-end ratio any design that keeps every item's
configuration could reach on this machine is visible.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_ingest import NAIVE, generate  # noqa: E402


def flattened(folder: Path):
    """The items of `folder` as patchtrail flattens them (in this process, not timed)."""
    from patchtrail.transforms.flatten import FlatTables, flatten

    from patchtrail.sources.files import FileSource

    source = FileSource([str(folder)])
    for obj in source.list().objects:
        yield FlatTables.of(flatten(list(source.read(obj))))


def store(tables, warehouse: Path) -> float:
    """Seconds to insert and commit the tables in chunks of CHUNK_ITEMS items."""
    from patchtrail.constants import CHUNK_ITEMS
    from patchtrail.warehouse import apply_schema, connect

    con = connect(warehouse)
    apply_schema(con)
    clock = time.perf_counter()
    pending = 0
    con.execute("begin transaction")
    for flat in tables:
        con.register("floor_items", flat.items)
        con.register("floor_patches", flat.patches)
        con.execute("insert into landing.configuration_items by name "
                    "select *, now() as ingested_at, 1::bigint as load_id from floor_items")
        con.execute("insert into staging.patch_observations by name select * from floor_patches")
        pending += flat.items.num_rows
        if pending >= CHUNK_ITEMS:
            con.execute("commit")
            con.execute("begin transaction")
            pending = 0
    con.execute("commit")
    con.close()
    return time.perf_counter() - clock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=2000)
    args = parser.parse_args()
    folder = generate(args.items)
    tables = list(flattened(folder))
    with tempfile.TemporaryDirectory(prefix="storage-floor-") as tmp:
        seconds = store(tables, Path(tmp) / "w.duckdb")
    clock = time.perf_counter()
    subprocess.run([sys.executable, "-c", NAIVE, str(folder)], check=True, stdout=subprocess.DEVNULL)
    naive = time.perf_counter() - clock
    print(f"{args.items} items: storing them in DuckDB (insert + commit, nothing else) {seconds:.2f} s; "
          f"the naive flattening {naive:.2f} s; best ratio a design that stores every item "
          f"could reach: {naive / seconds:.1f}x")


if __name__ == "__main__":
    main()
