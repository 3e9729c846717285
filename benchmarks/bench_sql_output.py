"""Wall time of `patchtrail sql` printing a large result, per output format.

    python benchmarks/bench_sql_output.py --warehouse patchtrail.duckdb --rows 112000
    python benchmarks/bench_sql_output.py --warehouse w.duckdb --compare /tmp/old-checkout

Runs `patchtrail sql "select * from staging.patch_observations limit N"` as a real process for
each format (stdout to a file), `--rounds` times, and prints the median wall seconds with the
lines and bytes written. With `--compare DIR`, the same commands also run against the source
tree in DIR (PYTHONPATH=DIR, e.g. `git archive <commit> | tar -x -C DIR`), interleaved round by
round, so both see the same machine load. Build the warehouse first with `patchtrail demo`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FORMATS = {
    "table": ["--format", "table"],                       # the default 100 rows + a note
    "table --all": ["--format", "table", "--all"],        # every row as a table
    "csv": ["--format", "csv"],
    "json": ["--format", "json"],
    "parquet": ["--format", "parquet", "--out", "{out}"],
}


def run_once(tree: Path | None, warehouse: Path, rows: int, name: str, work: Path) -> tuple[float, int, int]:
    out = work / f"out-{name.replace(' ', '_')}"
    args = [a.replace("{out}", str(out) + ".parquet") for a in FORMATS[name]]
    if name not in FORMATS or (tree is not None and name == "parquet" and not _has_parquet(tree)):
        return float("nan"), 0, 0
    env = dict(os.environ, COLUMNS="160")
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    statement = f"select * from staging.patch_observations limit {int(rows)}"  # noqa: S608
    command = [sys.executable, "-m", "patchtrail.cli", "sql", statement, "-w", str(warehouse), *args]
    if tree is not None and name == "table --all":
        command.remove("--all")  # before --all existed, the table printed every row
    start = time.perf_counter()
    with out.open("wb") as fh:
        subprocess.run(command, stdout=fh, stderr=subprocess.DEVNULL, env=env, check=True)
    seconds = time.perf_counter() - start
    written = Path(str(out) + ".parquet") if name == "parquet" else out
    data = written.read_bytes()
    return seconds, data.count(b"\n"), len(data)


def _has_parquet(tree: Path) -> bool:
    return "parquet" in (tree / "patchtrail" / "cli" / "common.py").read_text()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--warehouse", type=Path, default=Path("patchtrail.duckdb"))
    parser.add_argument("--rows", type=int, default=112_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma-separated")
    parser.add_argument("--compare", type=Path, help="another source tree to run interleaved")
    options = parser.parse_args()
    trees: list[Path | None] = [None] + ([options.compare] if options.compare else [])
    names = options.formats.split(",")
    results: dict[tuple[str, str], list[tuple[float, int, int]]] = {}
    with tempfile.TemporaryDirectory() as work:
        for _ in range(options.rounds):
            for name in names:
                for tree in trees:
                    label = "this tree" if tree is None else str(tree)
                    results.setdefault((label, name), []).append(
                        run_once(tree, options.warehouse, options.rows, name, Path(work)))
    print(f"patchtrail sql of {options.rows:,} rows, median of {options.rounds} rounds "
          f"({os.cpu_count()} cores)")
    print(f"{'tree':<28} {'format':<12} {'seconds':>8} {'lines':>10} {'bytes':>12}")
    for (label, name), runs in results.items():
        seconds = statistics.median(r[0] for r in runs)
        print(f"{label[-28:]:<28} {name:<12} {seconds:>8.1f} {runs[0][1]:>10,} {runs[0][2]:>12,}")


if __name__ == "__main__":
    main()
