"""The marts in PostgreSQL, for BI tools that speak only Postgres.

The tables are loaded into a fresh schema `<schema>_incoming` with COPY, and then swapped in by
one transaction: drop `<schema>`, rename `<schema>_incoming` to `<schema>`. PostgreSQL's DDL is
transactional, so a reader sees the old marts or the new ones, never a mix or an empty schema. A
reader mid-query holds its lock; the swap waits for it.

`sla_status` and `sla_breaches` answer the policy chosen at publish time, at the warehouse's
data-as-of time: the same rows, with the same policy columns, as the Parquet lake's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from patchtrail.analytics.policy import DEFAULT_POLICY
from patchtrail.errors import InvalidInput
from patchtrail.publish.sla import SlaParameters, sla_parameters
from patchtrail.warehouse import connect
from patchtrail.warehouse import sql as warehouse_sql

#: What is published: (table name in PostgreSQL, DuckDB query; None: sql/warehouse/publish/<name>.sql).
TABLES = (
    ("current_instance_compliance", "select * from marts.current_instance_compliance"),
    ("current_patch_state", "select * from marts.current_patch_state"),
    ("fleet_summary", "select * from marts.fleet_summary"),
    ("current_missing_patches", "select * from marts.current_missing_patches"),
    ("remediation_episodes", "select * from marts.remediation_episodes"),
    ("time_to_remediate", "select * from marts.time_to_remediate"),
    ("overwrite_anomalies", "select * from marts.overwrite_anomalies"),
    ("instance_compliance_daily", None),
    ("sla_status", None),  # under the publish's policy: $as_of, $thresholds, $policy_name, ...
    ("sla_breaches", None),
)
_TYPES = {
    "VARCHAR": "text", "BIGINT": "bigint", "INTEGER": "integer", "BOOLEAN": "boolean",
    "DOUBLE": "double precision", "DATE": "date", "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "TIMESTAMP": "timestamp", "VARCHAR[]": "text[]", "JSON": "jsonb", "HUGEINT": "numeric",
    "DECIMAL": "numeric", "UBIGINT": "numeric",
}
_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,40}")


@dataclass
class PostgresPublish:
    schema: str
    rows: dict[str, int] = field(default_factory=dict)
    sla: SlaParameters | None = None


def publish_postgres(warehouse: Path | str, dsn: str, *, schema: str = "patchtrail",
                     policy: str | Path = DEFAULT_POLICY) -> PostgresPublish:
    """Load the marts into PostgreSQL schema `schema`, replacing the previous ones atomically.

    Args:
        policy: the SLA policy of sla_status and sla_breaches: a stored name or a policy file
            (see `patchtrail.publish.sla.sla_parameters`); checked before PostgreSQL is touched.
    """
    import psycopg
    from psycopg import sql

    if not _SCHEMA.fullmatch(schema):
        raise InvalidInput.mismatch("schema", schema, _SCHEMA.pattern)
    incoming = f"{schema}_incoming"
    result = PostgresPublish(schema)
    duck = connect(warehouse, read_only=True)
    try:
        result.sla = sla_parameters(duck, policy)
        bound = result.sla.bound()
        with psycopg.connect(dsn) as pg:
            with pg.transaction():
                pg.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(incoming)))
                pg.execute(sql.SQL("create schema {}").format(sql.Identifier(incoming)))
                for name, query in TABLES:
                    cursor = (duck.execute(query) if query
                              else warehouse_sql.run(duck, f"publish/{name}", **bound))
                    columns = [(d[0], _TYPES.get(str(d[1]).upper(), "text")) for d in cursor.description]
                    target = sql.Identifier(incoming, name)
                    pg.execute(sql.SQL("create table {} ({})").format(target, sql.SQL(", ").join(
                        sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in columns)))
                    count = 0
                    with pg.cursor().copy(sql.SQL("copy {} from stdin").format(target)) as copy:
                        while batch := cursor.fetchmany(10_000):
                            for row in batch:
                                copy.write_row(row)
                            count += len(batch)
                    result.rows[name] = count
            with pg.transaction():  # the swap: old or new, never a mix
                pg.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
                pg.execute(sql.SQL("alter schema {} rename to {}").format(
                    sql.Identifier(incoming), sql.Identifier(schema)))
    finally:
        duck.close()
    return result
