"""One definition each (#14): of "as of" (marts.data_as_of), of a missing patch
(marts.is_non_compliant), and of a policy name (unknown names are errors, never zero rows)."""

from __future__ import annotations

import duckdb
import pytest
from analyticskit import parse_time

from patchtrail.analytics.sla import sla_report
from patchtrail.as_of import data_as_of, resolve_as_of
from patchtrail.errors import InvalidInput
from patchtrail.warehouse import connect

STATES = ["Installed", "InstalledOther", "InstalledPendingReboot", "InstalledRejected", "Missing",
          "Failed", "NotApplicable", "AvailableSecurityUpdate"]


def test_the_one_definition_of_missing():
    con = connect(":memory:")
    con.execute("create schema marts")
    from patchtrail.warehouse.sql import load as load_sql

    con.execute(load_sql("marts/is_non_compliant"))
    got = {(state, status): con.execute("select marts.is_non_compliant(?, ?)", [state, status]).fetchone()[0]
           for state in STATES for status in ("COMPLIANT", "NON_COMPLIANT", None)}
    missing = {"Missing", "Failed", "InstalledPendingReboot", "InstalledRejected"}
    for (state, status), value in got.items():
        expected = state in missing or (state == "AvailableSecurityUpdate" and status == "NON_COMPLIANT")
        assert value is expected, (state, status)
    assert con.execute("select marts.is_non_compliant(null, null)").fetchone()[0] is False


def test_no_other_sql_lists_the_missing_states():
    """Only marts/is_non_compliant.sql names the non-compliant states as a filter (the seed
    macros name them as output columns, which is not a definition)."""
    from patchtrail.constants import SQL_DIR

    offenders = []
    for path in (SQL_DIR / "warehouse").rglob("*.sql"):
        text = path.read_text()
        body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
        if path.stem == "is_non_compliant":
            continue
        if "'InstalledPendingReboot'" in body and "'Missing'" in body and "state in" in body.lower():
            offenders.append(path.name)
    assert offenders == []


def test_summaries_count_the_missing_patches_mart(wh):
    fleet = wh.execute("select missing_critical_patches, missing_high_patches from marts.fleet_summary").fetchone()
    direct = wh.execute("select count(*) filter (where severity = 'CRITICAL'), "
                        "count(*) filter (where severity = 'HIGH') "
                        "from marts.missing_patches_as_of(marts.data_as_of())").fetchone()
    accounts = wh.execute("select sum(missing_critical_patches), sum(missing_high_patches) "
                          "from marts.account_summary").fetchone()
    assert fleet == direct == accounts and fleet != (0, 0)


def test_a_pending_reboot_counts_as_missing_at_its_episode_severity(con, load):
    """The #14 finding: status said 61 missing-high, the report 63. A HIGH patch installed but
    pending a reboot is reported with severity UNSPECIFIED; it is still missing, and HIGH."""
    from factories import config_file_ci, patch

    load([config_file_ci("2026-03-01T06:00:00Z", [patch("KB1", "Missing", severity="HIGH"),
                                                  patch("KB2", "Missing", severity="CRITICAL")]),
          config_file_ci("2026-03-02T06:00:00Z", [
              patch("KB1", "InstalledPendingReboot", severity="UNSPECIFIED"),
              patch("KB2", "Installed", severity="CRITICAL")])])
    fleet = con.execute("select missing_critical_patches, missing_high_patches "
                        "from marts.fleet_summary").fetchone()
    assert fleet == (0, 1)
    assert con.execute("select patch_id, state, severity from marts.current_missing_patches"
                       ).fetchall() == [("KB1", "InstalledPendingReboot", "HIGH")]


def test_data_as_of_is_the_latest_capture_time(wh):
    latest = wh.execute("select max(captured_at) from landing.configuration_items").fetchone()[0]
    assert data_as_of(wh) == latest
    first_load = wh.execute("select max(ingested_at) from landing.configuration_items "
                            "where load_id = 1").fetchone()[0]
    known_then = wh.execute("select max(captured_at) from landing.configuration_items "
                            "where ingested_at <= ?", [first_load]).fetchone()[0]
    assert data_as_of(wh, known_at=first_load) == known_then
    assert resolve_as_of(wh, None) == latest
    assert resolve_as_of(wh, "2026-03-01T02:00:00+02:00") == parse_time("2026-03-01T00:00:00Z")


def test_data_as_of_of_an_empty_warehouse_is_now(con):
    from datetime import UTC, datetime

    assert abs((data_as_of(con) - datetime.now(UTC)).total_seconds()) < 60


def test_sla_defaults_to_the_data_as_of_time(wh):
    _, _, default = sla_report(wh, policy="fedramp")
    _, _, explicit = sla_report(wh, as_of=data_as_of(wh), policy="fedramp")
    assert default == explicit and default


@pytest.mark.parametrize("macro", ["marts.sla_breaches", "marts.sla_status"])
def test_unknown_policy_name_is_an_error_in_sql(wh, macro):
    with pytest.raises(duckdb.Error, match=r"unknown SLA policy 'pci-dss-4'; stored policies: "
                                           r"acme, fedramp, internal, pci-dss-4.0"):
        wh.execute(f"select * from {macro}('2026-03-31', 'pci-dss-4')").fetchall()  # noqa: S608
    assert wh.execute(f"select count(*) from {macro}('2026-03-31', 'pci-dss-4.0')").fetchone()[0] > 0  # noqa: S608


def test_unknown_policy_name_is_one_line_in_python(wh):
    with pytest.raises(InvalidInput, match="unknown SLA policy 'pci-dss-4'; stored policies: acme, "
                                           "fedramp, internal, pci-dss-4.0"):
        sla_report(wh, as_of="2026-03-31", policy="pci-dss-4")
