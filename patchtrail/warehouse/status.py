"""What a warehouse holds, in a few numbers (for `patchtrail status`)."""

from __future__ import annotations

from typing import Any

import duckdb

from patchtrail.warehouse.connect import scalar

_FACTS = {
    "loads (succeeded / failed)": "select count(*) filter (where status = 'succeeded') || ' / ' || "
                                  "count(*) filter (where status = 'failed') from landing.loads",
    "last load": "select max(finished_at) from landing.loads where status = 'succeeded'",
    "source objects recorded": "select count(*) from landing.source_objects",
    "configuration items": "select count(*) from landing.configuration_items",
    "items captured from / to": "select min(captured_at) || ' / ' || max(captured_at) "
                                "from landing.configuration_items",
    "patch observations": "select count(*) from staging.patch_observations",
    "instance versions": "select count(*) from history.instance_compliance",
    "patch versions": "select count(*) from history.patch_state",
    "rejected records": "select count(*) from landing.rejected_records",
}


def warehouse_status(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """A label -> value mapping of the warehouse's main counts and time span."""
    return {label: scalar(con, sql) for label, sql in _FACTS.items()}
