"""Apply the warehouse schema from the SQL files under sql/warehouse/, in data-flow order."""

from __future__ import annotations

import hashlib
from functools import cache

import duckdb

from patchtrail.warehouse import sql

#: Every object of the warehouse, in the order it must be created (each file creates one).
SCHEMA_OBJECTS = (
    "schemas",
    "landing/loads",
    "landing/source_objects",
    "landing/configuration_items",
    "landing/rejected_records",
    "landing/item_conflicts",
    "landing/lake_queries",
    "landing/lake_watermarks",
    "staging/instance_snapshots",
    "staging/patch_observations",
    "history/instance_compliance",
    "history/patch_state",
    "history/changed_instances",
    "history/recomputed_instance_compliance",
    "history/recomputed_patch_state",
    "marts/data_as_of",
    "marts/is_non_compliant",
    "marts/current_instance_compliance",
    "marts/current_patch_state",
    "marts/instance_compliance_as_of",
    "marts/patch_state_as_of",
    "marts/patch_lists_by_item",
    "marts/ssm-patch-compliance-all-ec2-instances",
    "marts/ssm-patch-compliance-all-ec2-instances-time-range",
    "marts/ssm-patch-compliance-selected-ec2-instance",
    "marts/ssm-patch-compliance-selected-ec2-instance-time-range",
    "marts/ssm-patch-compliance-distinct-ec2-instance-latest",
    # compliance analytics (docs/analytics.md)
    "marts/instance_compliance_known_at",
    "marts/patch_state_known_at",
    "marts/instance_compliance_as_of_known",
    "marts/patch_state_as_of_known",
    "marts/remediation_episodes_as_of",
    "marts/remediation_episodes",
    "marts/missing_patches_as_of",
    "marts/current_missing_patches",
    "marts/account_summary",  # after current_missing_patches: views bind when created
    "marts/fleet_summary",
    "marts/time_to_remediate_between",
    "marts/time_to_remediate",
    "marts/sla_policies",
    "marts/waivers",
    "marts/sla_status_for",
    "marts/sla_status",
    "marts/sla_breaches_for",
    "marts/sla_breaches",
    "marts/scan_staleness",
    "marts/overwrite_anomalies",
    "marts/cve_exposure",
    "marts/compliance_by_day",
    "marts/item_provenance",
)


def apply_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every schema object that does not exist yet; replace views and macros.

    Done once per version of the SQL: the warehouse remembers the fingerprint of the files it
    was last given (`meta.schema_version`, a view of one constant), and a connection to a
    warehouse already at this version costs one query instead of every file."""
    fingerprint = schema_fingerprint()
    try:
        if con.execute("select fingerprint from meta.schema_version").fetchone() == (fingerprint,):
            return
    except duckdb.CatalogException:
        pass
    for name in SCHEMA_OBJECTS:
        sql.run(con, name)
    con.execute("create schema if not exists meta")
    con.execute(f"create or replace view meta.schema_version as select '{fingerprint}' as fingerprint")


@cache
def schema_fingerprint() -> str:
    """Hex SHA-256 of the schema files' names and texts, in build order."""
    digest = hashlib.sha256()
    for name in SCHEMA_OBJECTS:
        digest.update(f"{name}\n{sql.load(name)}\n".encode())
    return digest.hexdigest()
