"""Land flattened batches: new items into landing + staging, duplicates counted, conflicts
flagged and settled, rejects kept.

Every function here runs inside the caller's transaction (see `patchtrail.run.Run`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import duckdb

from patchtrail.warehouse import sql
from patchtrail.warehouse.connect import scalar

if TYPE_CHECKING:
    import pyarrow as pa

    from patchtrail.transforms.flatten import FlatTables

#: Largest payload kept per rejected record, in characters.
MAX_PAYLOAD = 1 << 20


@dataclass(frozen=True)
class LandCounts:
    """What landing a batch did, in total and per source_ref (file, export member, query)."""

    landed: int
    duplicate: int
    rejected: int
    landed_by_ref: dict[str, int]
    duplicate_by_ref: dict[str, int]
    conflicts: int = 0


def start_run(con: duckdb.DuckDBPyConnection) -> int:
    """Prepare the run's scratch tables; return the next load id.

    affected_instances: instances whose history must be recomputed at the end of the run.
    object_landed: variants landed by the object being read (to undo them if it turns out bad),
        and whether their staging rows were inserted with them.
    run_conflicts: identities that got a conflicting variant (settled by resolve_conflicts).
    """
    con.execute(
        "create or replace temp table affected_instances "
        "(account_id varchar, aws_region varchar, instance_id varchar)"
    )
    con.execute("create or replace temp table object_landed "
                "(ci_id varchar, content_sha256 varchar, is_staged boolean)")
    con.execute("create or replace temp table run_conflicts (ci_id varchar)")
    return current_load_id(con)


def current_load_id(con: duckdb.DuckDBPyConnection) -> int:
    """The id of the load being run: one more than the last one recorded in landing.loads."""
    return int(scalar(con, "select coalesce(max(load_id), 0) + 1 from landing.loads"))


def recorded_objects(con: duckdb.DuckDBPyConnection, source: str) -> set[tuple[str, str]]:
    """(uri, content hash) of every object of `source` already read (landed, rejected or empty)."""
    rows = con.execute(
        "select uri, coalesce(sha256, etag) from landing.source_objects where source = ?", [source]
    ).fetchall()
    return {(uri, digest) for uri, digest in rows}


def start_object(con: duckdb.DuckDBPyConnection) -> None:
    """Forget the previous object's landed ids; call before landing an object's first batch."""
    con.execute("delete from object_landed")


def undo_object(con: duckdb.DuckDBPyConnection, *, load_id: int, source_refs: set[str]) -> None:
    """Remove what the current object landed so far: a bad object lands nothing at all."""
    sql.run(con, "landing/undo_object", load_id=load_id, source_refs=sorted(source_refs))


def fill_event_ids(con: duckdb.DuckDBPyConnection, events: pa.Table) -> None:
    """Give items first landed from files the CloudTrail Lake eventID/eventTime of a Lake copy."""
    if events.num_rows == 0:
        return
    con.register("object_events", events)
    try:
        sql.run(con, "landing/fill_event_ids")
    finally:
        con.unregister("object_events")


def event_ids(flat: FlatTables) -> pa.Table:
    """(ci_id, event_id, event_time) of a batch's items that came through CloudTrail Lake."""
    import pyarrow.compute as pc

    items = flat.items.select(["ci_id", "event_id", "event_time"])
    return items.filter(pc.is_valid(items["event_id"]))


def land_batch(con: duckdb.DuckDBPyConnection, flat: FlatTables, *, load_id: int,
               ingested_at: datetime) -> LandCounts:
    """Insert a batch's new items and their staging rows; record its rejects (see
    sql/warehouse/landing/land_batch.sql for what counts as new, duplicate and conflict).

    Lake event ids of duplicates are applied later, once the whole object proved good
    (see `fill_event_ids`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rejected = _land_rejected(con, flat, load_id=load_id, rejected_at=ingested_at)
    if flat.items.num_rows == 0:
        return LandCounts(0, 0, rejected, {}, {})
    items = flat.items.append_column("batch_row", pa.array(range(flat.items.num_rows), pa.int64()))
    copies = pc.count_distinct(items["ci_id"]).as_py() < items.num_rows
    con.register("batch_items", items)
    con.register("batch_instances", flat.instances)
    con.register("batch_patches", flat.patches)
    try:
        sql.run(con, "landing/land_batch", ingested_at=ingested_at, load_id=load_id, copies=copies)
        landed_by_ref = dict(con.execute(
            "select source_ref, count(*) from batch_new group by source_ref").fetchall())
        # variants beyond the first one an identity ever had
        conflicts = int(scalar(con, "select coalesce(sum(variants - (not was_landed)::int), 0) "
                                    "from batch_conflicts"))
    finally:
        for name in ("batch_items", "batch_instances", "batch_patches"):
            con.unregister(name)
    landed = sum(landed_by_ref.values())
    read_by_ref = {v["values"]: v["counts"] for v in pc.value_counts(flat.items["source_ref"]).to_pylist()}
    duplicate_by_ref = {ref: n - landed_by_ref.get(ref, 0) for ref, n in read_by_ref.items()}
    return LandCounts(landed=landed, duplicate=flat.items.num_rows - landed, rejected=rejected,
                      landed_by_ref=landed_by_ref, duplicate_by_ref=duplicate_by_ref,
                      conflicts=conflicts)


def resolve_conflicts(con: duckdb.DuckDBPyConnection, *, load_id: int) -> int:
    """Settle the run's conflicting variants: where the variant in use (the smallest
    content_sha256) changed, staging is rebuilt from it and its instance marked affected.
    Returns how many identities changed variant."""
    from patchtrail.warehouse.restage import restage

    if not scalar(con, "select count(*) from run_conflicts"):
        return 0
    rows = sql.run(con, "landing/conflict_winners", load_id=load_id).fetchall()
    if not rows:
        return 0
    con.execute("create or replace temp table conflict_changed (ci_id varchar)")
    con.executemany("insert into conflict_changed values (?)", [(r[0],) for r in rows])
    sql.run(con, "landing/unstage_conflicts")
    restage(con, rows)
    sql.run(con, "landing/mark_conflicts_affected")
    return len(rows)


def record_rejected(con: duckdb.DuckDBPyConnection, *, load_id: int, source: str, source_ref: str,
                    record_ref: str | None, reason: str, payload: bytes | str | None,
                    rejected_at: datetime) -> None:
    """Keep one rejected record (or a whole rejected object) with its reason and payload."""
    con.execute(
        "insert into landing.rejected_records values (?, ?, ?, ?, ?, ?, ?)",
        [load_id, source, source_ref, record_ref, reason, payload_text(payload), rejected_at],
    )


def record_object(con: duckdb.DuckDBPyConnection, *, load_id: int, source: str, uri: str,
                  sha256: str | None, etag: str | None, size: int | None, fmt: str, status: str,
                  counts: dict[str, int], error: str | None, recorded_at: datetime) -> None:
    """Record that an object was read (landed / rejected), so later runs skip it."""
    con.execute(
        "insert into landing.source_objects values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [source, uri, sha256, etag, size, fmt, status, counts.get("read", 0),
         counts.get("landed", 0), counts.get("duplicate", 0), counts.get("skipped", 0),
         counts.get("rejected", 0), error, load_id, recorded_at],
    )


def record_load(con: duckdb.DuckDBPyConnection, values: dict[str, Any]) -> None:
    """Insert the run's row into landing.loads (column names are fixed in code)."""
    columns = [c for c, in con.execute(
        "select column_name from information_schema.columns "
        "where table_schema = 'landing' and table_name = 'loads' order by ordinal_position"
    ).fetchall()]
    unknown = set(values) - set(columns)
    if unknown:
        raise ValueError(f"unknown landing.loads columns: {sorted(unknown)}")
    placeholders = ", ".join("?" for _ in columns)
    con.execute(f"insert into landing.loads values ({placeholders})",  # noqa: S608 (fixed names)
                [values.get(c) for c in columns])


def payload_text(payload: bytes | str | None) -> str | None:
    """Text of a payload for rejected_records: UTF-8 as is, binary as `base64:...`, capped."""
    if payload is None:
        return None
    if isinstance(payload, bytes):
        try:
            payload = payload.decode("utf-8")
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(payload[: MAX_PAYLOAD * 3 // 4]).decode()
    return payload[:MAX_PAYLOAD]


def _land_rejected(con: duckdb.DuckDBPyConnection, flat: FlatTables, *, load_id: int,
                   rejected_at: datetime) -> int:
    if flat.rejected.num_rows == 0:
        return 0
    con.register("batch_rejected", flat.rejected)
    try:
        sql.run(con, "landing/land_rejected", load_id=load_id, max_payload=MAX_PAYLOAD,
                rejected_at=rejected_at)
    finally:
        con.unregister("batch_rejected")
    return flat.rejected.num_rows
