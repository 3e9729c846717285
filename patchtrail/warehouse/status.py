"""What a warehouse holds, in a few numbers (for `patchtrail status`)."""

from __future__ import annotations

from typing import Any

import duckdb

from patchtrail.warehouse import sql


def warehouse_status(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """A label -> value mapping of the warehouse's main counts and time span
    (sql/warehouse/summary/status.sql: one column per label, in order)."""
    (facts,) = sql.rows(con, "summary/status")
    return facts
