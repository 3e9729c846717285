"""Merge SCD2 history after a run: append where the new item comes last, recompute the rest.

A run's new items (landing load `from_load`) can only change an instance's history from the
capture time of its earliest new item (`from_at`) on. Two ways, with the same result:

- append (history/append_*.sql): an instance that got exactly one item, captured after all its
  others (the daily case), gets set-based close and insert: the current versions the item
  changes or omits end at its capture time, the versions it starts are inserted. Nothing else
  is read or written.
- recompute (history/recomputed_*.sql): for every other instance (late, out-of-order or several
  items) the versions that ended before `from_at` stay; the version open at `from_at` (the
  "seed") and everything after it are recomputed from the items captured since `from_at`.

The cost grows with the increment, not with the history, and the result is identical to a full
recomputation (tests/test_history.py and tests/analytics/test_history_incremental.py check it).
"""

from __future__ import annotations

import duckdb

from patchtrail.warehouse import sql
from patchtrail.warehouse.connect import scalar
from patchtrail.warehouse.land import current_load_id

#: Temp tables a merge leaves behind (fixed names), dropped when it ends.
_SCRATCH = ("changed_history", "append_items", "recompute_history", "append_instance_versions",
            "append_patch_changes", "recomputed_instance_compliance", "recomputed_patch_state")


def merge_history(con: duckdb.DuckDBPyConnection, *, from_load: int | None = None) -> int:
    """Recompute the history of the instances a run touched; return how many were affected.

    Args:
        con: a connection inside the run's transaction, with temp table affected_instances.
        from_load: items landed by this load id or later are the new ones; default: the load
            being run (one more than the last recorded in landing.loads). 0 recomputes every
            instance from its first item (a full rebuild).
    """
    affected = scalar(con, "select count(*) from affected_instances")
    if affected:
        if from_load is None:
            from_load = current_load_id(con)
        sql.run(con, "history/merge_scope", from_load=from_load)
        if scalar(con, "select count(*) from append_items"):
            sql.run(con, "history/append_instance_compliance")
            sql.run(con, "history/append_patch_state")
        if scalar(con, "select count(*) from recompute_history"):
            sql.run(con, "history/recompute_versions", from_load=from_load)
            sql.run(con, "history/delete_affected_history")
            sql.run(con, "history/insert_recomputed_instance_compliance")
            sql.run(con, "history/insert_recomputed_patch_state")
        sql.run(con, "marts/refresh_patch_lists_by_load", load_id=from_load)
        for table in _SCRATCH:
            con.execute(f"drop table if exists temp.{table}")  # fixed names
    return int(affected)


def mark_all_affected(con: duckdb.DuckDBPyConnection) -> None:
    """Treat every staged instance as affected (used by a full rebuild)."""
    sql.run(con, "history/mark_all_affected")
