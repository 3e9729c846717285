"""Recompute SCD2 history for the instances a run touched (temp table affected_instances)."""

from __future__ import annotations

import duckdb

from patchtrail.warehouse.connect import scalar
from patchtrail.warehouse.schema import load_sql


def merge_history(con: duckdb.DuckDBPyConnection) -> int:
    """Rebuild the versions (and seed-query lists) of every affected instance; return how many.

    Each affected instance's versions are recomputed from all of its staged items, so late and
    out-of-order items are re-sequenced and the result is independent of arrival order.
    """
    affected = scalar(con, "select count(*) from affected_instances")
    if affected:
        con.execute(load_sql("history/delete_affected_history"))
        con.execute(load_sql("history/merge_instance_compliance"))
        con.execute(load_sql("history/merge_patch_state"))
        con.execute(load_sql("marts/refresh_patch_lists_by_item"))
    return int(affected)


def mark_all_affected(con: duckdb.DuckDBPyConnection) -> None:
    """Treat every staged instance as affected (used by a full rebuild)."""
    con.execute("""
        insert into affected_instances
        select distinct account_id, aws_region, instance_id from staging.instance_snapshots
    """)
