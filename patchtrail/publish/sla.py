"""The policy and time that published SLA rows answer (Parquet lake and PostgreSQL alike)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from patchtrail.analytics.policy import DEFAULT_POLICY, Policy, resolve_policy


@dataclass(frozen=True)
class SlaParameters:
    """What the published SLA rows answer: a policy, evaluated at the warehouse's data-as-of time."""

    policy: Policy
    as_of: datetime
    thresholds_sha256: str

    def bound(self) -> dict[str, Any]:
        """The named parameters of sql/warehouse/publish/sla_*.sql."""
        return {"as_of": self.as_of, "thresholds": self.policy.thresholds(),
                "policy_name": self.policy.name, "policy_thresholds_sha256": self.thresholds_sha256}

    def describe(self) -> dict[str, Any]:
        """The policy and time as the manifest records them."""
        return {"policy_name": self.policy.name, "policy_thresholds_sha256": self.thresholds_sha256,
                "max_days": dict(sorted(self.policy.max_days.items())),
                "severity_source": self.policy.severity_source, "source": self.policy.source,
                "source_sha256": self.policy.source_sha256, "as_of": self.as_of.astimezone(UTC).isoformat()}


def sla_parameters(con: duckdb.DuckDBPyConnection, policy: str | Path = DEFAULT_POLICY) -> SlaParameters:
    """Resolve `policy` and the warehouse's data-as-of time, for publishing the SLA datasets.

    Args:
        policy: a stored policy name (preset or loaded) or a .toml/.yaml policy file, read with
            the same checks as `patchtrail sla` and `patchtrail evidence`.
    The time is the warehouse's data-as-of time (`patchtrail.as_of.data_as_of`), the default
    of every surface.

    Raises:
        InvalidInput: an unknown policy name or a bad policy file, before anything is written.
    """
    from patchtrail.as_of import data_as_of

    chosen = resolve_policy(con, policy)
    return SlaParameters(chosen, data_as_of(con), thresholds_sha256(chosen))


def thresholds_sha256(policy: Policy) -> str:
    """SHA-256 of the policy's thresholds as canonical JSON: equal exactly when they judge alike.

    The text hashed is `{"max_days": {"CRITICAL": 14, ...}, "severity_source": "severity"}` with
    sorted keys and no spaces, so a reader can recompute it from `marts.sla_policies`.
    """
    canonical = json.dumps({"max_days": policy.max_days, "severity_source": policy.severity_source},
                           sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
