"""SLA status and breaches as of a time under a policy, for the CLI and for Python callers."""

from __future__ import annotations

from datetime import datetime

import duckdb

from patchtrail import validate
from patchtrail.analytics.policy import DEFAULT_POLICY, Policy, resolve_policy
from patchtrail.warehouse import sql


def sla_report(con: duckdb.DuckDBPyConnection, *, as_of: datetime | str | None = None,
               policy: str = DEFAULT_POLICY, known_at: datetime | str | None = None,
               breaches_only: bool = True) -> tuple[Policy, list[str], list[tuple]]:
    """The SLA breaches (or, with breaches_only=False, every covered missing patch) at `as_of`.

    Args:
        as_of: valid time, in any form `validate.parse_time` takes; None: the data-as-of time
            (`patchtrail.as_of.data_as_of`, as known at `known_at`).
        policy: a stored policy name or a policy file path.
        known_at: recording time (None: everything landed).
    Returns the policy used, the column names and the rows (sorted by instance and patch).
    """
    from patchtrail.as_of import resolve_as_of

    known_at_time = validate.parse_time(known_at, parameter="--known-at") if known_at else None
    moment = resolve_as_of(con, as_of, known_at=known_at_time)
    known = known_at_time or "infinity"
    chosen = resolve_policy(con, policy)
    name = "marts/evidence/sla_breaches" if breaches_only else "marts/evidence/sla_status"
    relation = sql.query(con, name, as_of=moment, known_at=known, thresholds=chosen.thresholds())
    return chosen, relation.columns, relation.fetchall()
