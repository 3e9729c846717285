"""SLA policies: per-severity thresholds in days, from a preset or a TOML/YAML file.

A policy file:

    name = "acme-2026"                 # [a-z0-9][a-z0-9._-]*, at most 64 characters
    description = "Acme patch standard"
    severity_source = "highest"        # severity (default) | vendor | highest
    extends = "fedramp"                # optional: start from a stored policy, then override
    [max_days]
    CRITICAL = 7
    HIGH = 14

Presets live in marts.sla_policies (sql/warehouse/marts/sla_policies.sql): pci-dss-4.0, fedramp,
internal. The SLA clock starts when a patch is first seen missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from patchtrail.analytics.registers import read_register
from patchtrail.errors import InvalidInput
from patchtrail.transforms.summary import SEVERITIES

SEVERITY_SOURCES = ("severity", "vendor", "highest")
NAME_PATTERN = r"[a-z0-9][a-z0-9._-]{0,63}"
MAX_DAYS = 3650
DEFAULT_POLICY = "internal"


@dataclass(frozen=True)
class Policy:
    """An SLA policy: a name and, per severity, the most days a patch may stay missing."""

    name: str
    max_days: dict[str, int]
    severity_source: str = "severity"
    description: str | None = None
    source: str = "preset"
    source_sha256: str | None = None
    extends: str | None = field(default=None, compare=False)

    def thresholds(self) -> list[dict[str, Any]]:
        """The `thresholds` argument of marts.sla_status_for / marts.sla_breaches_for."""
        return [{"severity": s, "max_days": d, "severity_source": self.severity_source}
                for s, d in sorted(self.max_days.items())]


def load_policy_file(path: Path | str, *, con: duckdb.DuckDBPyConnection | None = None) -> Policy:
    """Read and check a policy file (TOML or YAML). `extends` needs `con` to read the base policy.

    Raises:
        InvalidInput: naming the file, the field and what was expected.
    """
    data, digest = read_register(path)
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: a policy file is a table of fields (name, max_days, ...)")
    unknown = set(data) - {"name", "description", "severity_source", "extends", "max_days"}
    if unknown:
        raise InvalidInput(f"{path}: unknown fields {sorted(unknown)}")
    name = data.get("name")
    if not isinstance(name, str) or not re.fullmatch(NAME_PATTERN, name):
        raise InvalidInput.mismatch(f"{path}: name", name, NAME_PATTERN)
    max_days: dict[str, int] = {}
    base = data.get("extends")
    source = data.get("severity_source")
    if base is not None:
        if con is None:
            raise InvalidInput(f"{path}: 'extends' needs a warehouse to read {base!r} from")
        parent = stored_policy(con, str(base))
        max_days.update(parent.max_days)
        source = source or parent.severity_source
    source = source or "severity"
    if source not in SEVERITY_SOURCES:
        raise InvalidInput.mismatch(f"{path}: severity_source", source, " | ".join(SEVERITY_SOURCES))
    days = data.get("max_days") or {}
    if not isinstance(days, dict):
        raise InvalidInput(f"{path}: max_days is a table of SEVERITY = days")
    for severity, value in days.items():
        key = str(severity).upper()
        if key not in SEVERITIES:
            raise InvalidInput.mismatch(f"{path}: max_days severity", severity, " | ".join(SEVERITIES))
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
            raise InvalidInput.mismatch(f"{path}: max_days.{key}", value, f"whole days 1..{MAX_DAYS}")
        max_days[key] = value
    if not max_days:
        raise InvalidInput(f"{path}: max_days sets no threshold")
    description = data.get("description")
    return Policy(name=name, max_days=max_days, severity_source=source,
                  description=str(description) if description is not None else None,
                  source=str(path), source_sha256=digest, extends=base)


def stored_policy(con: duckdb.DuckDBPyConnection, name: str) -> Policy:
    """A policy stored in marts.sla_policies (a preset or one loaded earlier)."""
    rows = con.execute(
        "select severity, max_days, severity_source, description, source, source_sha256 "
        "from marts.sla_policies where policy_name = ? order by severity", [name]).fetchall()
    if not rows:
        names = [r[0] for r in con.execute(
            "select distinct policy_name from marts.sla_policies order by 1").fetchall()]
        raise InvalidInput(f"unknown SLA policy {name!r}; stored policies: {', '.join(names)} "
                           "(or give a policy file)")
    return Policy(name=name, max_days={r[0]: int(r[1]) for r in rows}, severity_source=rows[0][2],
                  description=rows[0][3], source=rows[0][4], source_sha256=rows[0][5])


def resolve_policy(con: duckdb.DuckDBPyConnection, policy: str | Path) -> Policy:
    """A stored policy by name, or a policy file (read, not stored): a .toml/.yaml/.yml path."""
    path = Path(policy)
    if path.suffix.lower() in (".toml", ".yaml", ".yml"):
        return load_policy_file(path, con=con)
    return stored_policy(con, str(policy))


def store_policy(con: duckdb.DuckDBPyConnection, policy: Policy) -> None:
    """Store (or replace) a policy in marts.sla_policies; presets cannot be replaced."""
    preset = con.execute("select count(*) from marts.sla_policies where policy_name = ? and "
                         "source = 'preset'", [policy.name]).fetchall()[0][0]
    if preset:
        raise InvalidInput(f"{policy.name!r} is a preset; give your policy another name")
    con.execute("delete from marts.sla_policies where policy_name = ?", [policy.name])
    con.executemany(
        "insert into marts.sla_policies values (?, ?, ?, ?, ?, ?, ?)",
        [[policy.name, severity, days, policy.severity_source, policy.description, policy.source,
          policy.source_sha256] for severity, days in sorted(policy.max_days.items())])
