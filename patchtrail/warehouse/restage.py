"""Flatten landed items again into staging (for a rebuild, and when a conflict changes the variant
history uses).

Landing is immutable and keeps every item's configuration JSON, so staging can always be
recomputed from it: each landed row is turned back into a CloudTrail Lake extraction row (the
`lake_row` dialect: eventId, eventTime, accountId, awsRegion, resourceId, ciStatus,
ciCaptureTime, ciStateId, configurationJson) and flattened again by transforms.flatten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from patchtrail.transforms.raw import RawItem
from patchtrail.warehouse import sql


@dataclass
class Restaged:
    """What a restage did: items staged again, and the landed items today's rules refuse."""

    staged: list[str] = field(default_factory=list)
    refused: list[tuple[str, str, str, str]] = field(default_factory=list)  # ci_id, source_ref, record_ref, reason
    patch_observations: int = 0


def landed_as_lake_rows(rows: list[tuple]) -> list[RawItem]:
    """Landed rows as raw items of the `lake_row` dialect. The rows have the columns of
    sql/warehouse/landing/rebuild_items.sql, in that order (conflict_winners.sql has them too)."""
    from patchtrail.transforms.configuration_text import text_of

    items = []
    for (_, event_id, event_time, account, region, rtype, resource_id, status, captured, state_id,
         legacy_text, compressed, source, source_ref, record_ref) in rows:
        configuration = legacy_text if compressed is None else text_of(compressed).decode("utf-8")
        payload: dict[str, Any] = {
            "eventId": event_id, "eventTime": event_time, "accountId": account, "awsRegion": region,
            "resourceType": rtype, "resourceId": resource_id, "ciStatus": status,
            "ciCaptureTime": captured, "ciStateId": state_id, "configurationJson": configuration,
        }
        items.append(RawItem({k: v for k, v in payload.items() if v is not None}, source,
                             source_ref, record_ref))
    return items


def restage(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> Restaged:
    """Flatten landed rows again and insert their staging rows (the caller has deleted the old
    ones). A row that today's rules refuse is not staged, and comes back in `refused`.

    Raises ValueError when a landed item flattens to another identity (its ci_id changed):
    that means transforms changed meaning, and nothing should be written."""
    import pyarrow as pa

    from patchtrail.transforms.flatten import flatten

    result = Restaged()
    if not rows:
        return result
    flat = flatten(landed_as_lake_rows(rows))
    expected = {row[0]: row for row in rows}
    got = flat.items["ci_id"].tolist() if not flat.items.empty else []
    strangers = sorted(set(got) - set(expected))
    if strangers:
        raise ValueError(f"{len(strangers)} landed items flattened to another ci_id (first: {strangers[:3]})")
    reasons = dict(zip(zip(flat.rejected["source_ref"], flat.rejected["record_ref"], strict=True),
                       flat.rejected["reason"], strict=True))
    for ci_id in sorted(set(expected) - set(got)):
        source_ref, record_ref = expected[ci_id][-2:]  # the last two columns of the rows
        reason = reasons.get((source_ref, record_ref), "not flattened (a resource type that is not read)")
        result.refused.append((ci_id, source_ref, record_ref, reason))
    con.register("restage_instances", pa.Table.from_pandas(flat.instances, preserve_index=False))
    con.register("restage_patches", pa.Table.from_pandas(flat.patches, preserve_index=False))
    try:
        sql.run(con, "staging/restage_items")
    finally:
        con.unregister("restage_instances")
        con.unregister("restage_patches")
    result.staged = got
    result.patch_observations = len(flat.patches)
    return result
