"""Time of `patchtrail export` to CSV against row count (the CLI, end to end, as a user runs it).

    python benchmarks/bench_export.py                  # 1,000,000 rows of history.patch_state
    python benchmarks/bench_export.py --rows 200000

A small seeded simulated fleet is ingested, then history.patch_state is blown up to `--rows`
rows by copying its rows with new patch ids (the export does not care where rows come from).
`patchtrail export history.patch_state --out x.csv` then runs as its own process, --repeat
times; the median wall time, rows/s, the CSV's size and the process's peak RSS are printed.
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def build(root: Path, rows: int) -> Path:
    from patchtrail.devkit.simulator import simulate_to_dir
    from patchtrail.ingest import ingest_files
    from patchtrail.warehouse import connect

    warehouse = root / "bench.duckdb"
    simulate_to_dir(root / "data", accounts=1, regions=1, instances=20, days=30, seed=7)
    ingest_files([root / "data"], warehouse=warehouse)
    con = connect(warehouse)
    try:
        base = con.execute("select count(*) from history.patch_state").fetchall()[0][0]
        copies = -(-rows // base)
        con.execute("create temp table seed as select * from history.patch_state")
        con.execute("delete from history.patch_state")
        con.execute(
            "insert into history.patch_state select seed.* replace (patch_id || '-' || copy as patch_id) "
            "from seed, range(?) as r(copy) limit ?", [copies, rows])
        con.execute("checkpoint")
    finally:
        con.close()
    return warehouse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        root = Path(tmp)
        warehouse = build(root, args.rows)
        seconds = []
        out = root / "export.csv"
        for _ in range(args.repeat):
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "patchtrail.cli", "export", "history.patch_state",
                                   "--out", str(out), "--warehouse", str(warehouse)],
                                  capture_output=True, text=True, env=dict(os.environ, COLUMNS="200"))
            seconds.append(time.perf_counter() - started)
            if done.returncode != 0:
                sys.exit(done.stderr)
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        figures = {"rows": args.rows, "median_seconds": round(statistics.median(seconds), 2),
                   "min_seconds": round(min(seconds), 2),
                   "rows_per_second": round(args.rows / statistics.median(seconds)),
                   "csv_mb": round(out.stat().st_size / 1e6, 1), "peak_rss_mb": round(peak_mb)}
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
