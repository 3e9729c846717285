"""The five seed queries of the AWS walkthrough, run against the warehouse's table macros."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from patchtrail import validate
from patchtrail.errors import InvalidInput


@dataclass(frozen=True)
class SeedQuery:
    """A seed query: its file name (the CLI name), its macro and the parameters it takes."""

    name: str
    macro: str
    needs_instance: bool
    needs_range: bool


SEED_QUERIES = {
    q.name: q
    for q in (
        SeedQuery("ssm-patch-compliance-all-ec2-instances",
                  "ssm_patch_compliance_all_ec2_instances", False, False),
        SeedQuery("ssm-patch-compliance-all-ec2-instances-time-range",
                  "ssm_patch_compliance_all_ec2_instances_time_range", False, True),
        SeedQuery("ssm-patch-compliance-selected-ec2-instance",
                  "ssm_patch_compliance_selected_ec2_instance", True, False),
        SeedQuery("ssm-patch-compliance-selected-ec2-instance-time-range",
                  "ssm_patch_compliance_selected_ec2_instance_time_range", True, True),
        SeedQuery("ssm-patch-compliance-distinct-ec2-instance-latest",
                  "ssm_patch_compliance_distinct_ec2_instance_latest", False, False),
    )
}


def run_seed_query(con: duckdb.DuckDBPyConnection, name: str, *, instance_id: str | None = None,
                   start: str | datetime | None = None, end: str | datetime | None = None,
                   limit: int | None = None) -> tuple[list[str], list[tuple]]:
    """Run seed query `name` (its .sql file name, with or without `.sql`); return columns and rows.

    Args:
        instance_id: required by the selected-instance queries; validated strictly.
        start, end: required by the time-range queries; ISO-8601 UTC, exclusive bounds.
        limit: at most this many rows (ordered by account, region, instance, eventTime).
    """
    sql, params = seed_query_statement(name, instance_id=instance_id, start=start, end=end,
                                       limit=limit)
    cursor = con.execute(sql, params)
    columns = [d[0] for d in cursor.description]
    return columns, cursor.fetchall()


def seed_query_statement(name: str, *, instance_id: str | None = None,
                         start: str | datetime | None = None, end: str | datetime | None = None,
                         limit: int | None = None) -> tuple[str, list[object]]:
    """The SQL text and bound parameters of seed query `name` (see `run_seed_query`), for
    callers that stream the result (`con.sql(sql, params=params)`)."""
    query = SEED_QUERIES.get(name.removesuffix(".sql"))
    if query is None:
        raise InvalidInput(f"unknown query {name!r}; choose one of: {', '.join(SEED_QUERIES)}")
    params: list[object] = []
    if query.needs_instance:
        if instance_id is None:
            raise InvalidInput(f"{query.name} needs --instance")
        params.append(validate.instance_id(instance_id, parameter="--instance"))
    elif instance_id is not None:
        raise InvalidInput(f"{query.name} takes no --instance")
    if query.needs_range:
        if start is None or end is None:
            raise InvalidInput(f"{query.name} needs --start and --end")
        params += [validate.utc_timestamp(start, parameter="--start"), validate.utc_timestamp(end, parameter="--end")]
    elif start is not None or end is not None:
        raise InvalidInput(f"{query.name} takes no --start/--end")
    placeholders = ", ".join("?" for _ in params)
    sql = (f"select * from {query.macro}({placeholders}) "  # noqa: S608 (macro name from a fixed table)
           "order by accountId, awsRegion, InstanceId, eventTime")
    if limit is not None:
        sql += f" limit {int(limit)}"
    return sql, params
