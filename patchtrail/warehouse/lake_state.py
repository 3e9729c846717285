"""What the warehouse remembers about CloudTrail Lake: watermarks per store, queries run."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb


def watermark(con: duckdb.DuckDBPyConnection, store_id: str) -> datetime | None:
    """Everything with eventTime before this has been read from `store_id` (None: never read)."""
    rows = con.execute("select max(watermark) from landing.lake_watermarks where event_data_store = ?",
                       [store_id]).fetchall()
    value = rows[0][0] if rows else None
    return value.astimezone(UTC) if value is not None else None


def move_watermark(con: duckdb.DuckDBPyConnection, store_id: str, to: datetime, *, load_id: int) -> None:
    """Move the store's watermark forward to `to` (never backward), inside the run's transaction."""
    current = watermark(con, store_id)
    if current is not None and current >= to:
        return
    con.execute("delete from landing.lake_watermarks where event_data_store = ?", [store_id])
    con.execute("insert into landing.lake_watermarks values (?, ?, ?, ?)",
                [store_id, to, load_id, datetime.now(UTC)])


def record_query(con: duckdb.DuckDBPyConnection, values: dict, *, load_id: int) -> None:
    """One row of landing.lake_queries (keys are its column names, fixed in code)."""
    columns = ("query_id", "event_data_store", "window_start", "window_end", "status", "error",
               "events_matched", "events_scanned", "bytes_scanned", "execution_ms", "rows_read",
               "estimated_cost_usd", "delivery_s3_uri", "delivery_status")
    con.execute("insert into landing.lake_queries values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [values.get(c) for c in columns] + [load_id, datetime.now(UTC)])
