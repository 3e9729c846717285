"""Check a warehouse's invariants (`patchtrail check`): what holds, what does not, with examples.

The invariants the design promises, tested on a real warehouse (read-only; nothing is changed):

- one current version per history key, no overlapping versions, valid_to > valid_from, and
  is_current exactly when valid_to is null (sql/warehouse/check/*.sql);
- every history version traceable to the landed item that opened it;
- staging holds exactly the landed items;
- per load and per object, items read = landed + duplicate + skipped + rejected;
- history equals a rebuild from landing: the landed items of a sample of instances (or of all,
  with `full`) are flattened again and their history rebuilt in a scratch in-memory warehouse,
  then compared row for row with the stored history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from patchtrail.warehouse import sql
from patchtrail.warehouse.connect import connect
from patchtrail.warehouse.schema import apply_schema

#: (check name = sql/warehouse/check/<name>.sql, what it asserts)
SQL_CHECKS = (
    ("one_current_version", "one current version per history key"),
    ("no_overlaps", "versions of a key never overlap"),
    ("valid_intervals", "valid_to > valid_from; is_current = (valid_to is null)"),
    ("traceable", "every version opened by a landed item"),
    ("staging_matches_landing", "staging holds exactly the landed items"),
    ("load_counts", "read = landed + duplicate + skipped + rejected, per load and object"),
)
REBUILD_CHECK = ("rebuild_equal", "history equals a rebuild from landing")
#: (history table, its stored rows for the checked instances, the two directions of difference)
_COMPARISONS = (
    ("instance_compliance",
     "select h.* from history.instance_compliance as h "
     "semi join check_keys using (account_id, aws_region, instance_id)",
     (("stored, not rebuilt", "select * from stored except all select * from history.instance_compliance"),
      ("rebuilt, not stored", "select * from history.instance_compliance except all select * from stored"))),
    ("patch_state",
     "select h.* from history.patch_state as h "
     "semi join check_keys using (account_id, aws_region, instance_id)",
     (("stored, not rebuilt", "select * from stored except all select * from history.patch_state"),
      ("rebuilt, not stored", "select * from history.patch_state except all select * from stored"))),
)


@dataclass
class CheckResult:
    """One invariant: whether it holds, how many rows break it, and the first few of them."""

    name: str
    description: str
    ok: bool
    violations: int
    examples: list[dict[str, Any]] = field(default_factory=list)
    scope: str = ""


def check_warehouse(warehouse: Path | str, *, full: bool = False, sample: int = 200,
                    examples: int = 5) -> list[CheckResult]:
    """Run every invariant on the warehouse (opened read-only).

    Args:
        full: rebuild the history of every instance for the comparison (default: a sample).
        sample: instances rebuilt without `full` (chosen by a hash of their key: the same
            instances every time for the same warehouse).
        examples: offending rows kept per failed check.
    """
    con = connect(warehouse, read_only=True)
    try:
        con.execute(f"create or replace temp view versions as {sql.load('check/history_versions')}")
        results = [_sql_check(con, name, description, examples) for name, description in SQL_CHECKS]
        results.append(_rebuild_check(con, full=full, sample=sample, examples=examples))
        return results
    finally:
        con.close()


def _sql_check(con: duckdb.DuckDBPyConnection, name: str, description: str, examples: int) -> CheckResult:
    cursor = sql.run(con, f"check/{name}")
    columns = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    return CheckResult(name, description, ok=not rows, violations=len(rows),
                       examples=[dict(zip(columns, r, strict=True)) for r in rows[:examples]])


def _rebuild_check(con: duckdb.DuckDBPyConnection, *, full: bool, sample: int,
                   examples: int) -> CheckResult:
    from patchtrail.analytics.rebuild import rebuild_connection

    name, description = REBUILD_CHECK
    keys = sql.query(con, "check/rebuild_sample").fetchall()
    total = len(keys)
    chosen = keys if full else keys[:sample]
    scope = f"{len(chosen)} of {total} instances" + ("" if full or len(chosen) == total else " (sample)")
    scratch = connect(":memory:")
    try:
        apply_schema(scratch)
        con.execute("create or replace temp table check_keys (account_id varchar, aws_region varchar, "
                    "instance_id varchar)")
        if chosen:
            con.executemany("insert into check_keys values (?, ?, ?)", chosen)
        landed = con.sql("select l.* from landing.configuration_items as l "
                         "semi join check_keys using (account_id, aws_region, instance_id)").to_arrow_table()
        scratch.register("landed", landed)
        scratch.execute("insert into landing.configuration_items by name select * from landed")
        scratch.unregister("landed")
        rebuild_connection(scratch)
        differences: list[dict[str, Any]] = []
        count = 0
        for table, stored_sql, sides in _COMPARISONS:
            scratch.register("stored", con.sql(stored_sql).to_arrow_table())
            try:
                for side, difference_sql in sides:
                    rows = scratch.execute(difference_sql).fetchall()
                    count += len(rows)
                    names = [d[0] for d in scratch.description]
                    differences += [{"history_table": table, "difference": side,
                                     **dict(zip(names, r, strict=True))} for r in rows[:examples]]
            finally:
                scratch.unregister("stored")
        return CheckResult(name, description, ok=count == 0, violations=count,
                           examples=differences[:examples], scope=scope)
    finally:
        scratch.close()
