"""SLA policy files and waiver registers: formats, checks, and what they store."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from patchtrail.analytics.policy import load_policy_file, resolve_policy, store_policy
from patchtrail.analytics.waivers import load_waiver_file, store_waivers
from patchtrail.errors import InvalidInput

TOML = """\
[[waiver]]
id = "W-1"
instance_id = "i-0a1b2c3d4e5f67890"
patch_id = "KB5034441"
reason = "Hotfix pending"
approver = "ciso@example.com"
expires = 2026-06-30
"""
YAML = """\
waivers:
  - id: W-1
    instance_id: i-0a1b2c3d4e5f67890
    patch_id: KB5034441
    reason: Hotfix pending
    approver: ciso@example.com
    expires: 2026-06-30
"""
CSV = """\
id,instance_id,patch_id,cve_id,reason,approver,expires,starts
W-1,i-0a1b2c3d4e5f67890,KB5034441,,Hotfix pending,ciso@example.com,2026-06-30,
"""


@pytest.mark.parametrize("suffix,text", [(".toml", TOML), (".yaml", YAML), (".csv", CSV)])
def test_one_register_in_three_formats(tmp_path, suffix, text):
    path = tmp_path / f"waivers{suffix}"
    path.write_text(text)
    waivers, digest = load_waiver_file(path)
    assert [(w.waiver_id, w.instance_id, w.patch_id, w.expires_on, w.cve_id) for w in waivers] == [
        ("W-1", "i-0a1b2c3d4e5f67890", "KB5034441", date(2026, 6, 30), None)]
    assert len(digest) == 64
    assert waivers[0].in_force_at(datetime(2026, 6, 29, 23, 59, tzinfo=UTC))
    assert not waivers[0].in_force_at(datetime(2026, 6, 30, tzinfo=UTC))


@pytest.mark.parametrize("change,message", [
    ('instance_id = "i-0a1b2c3d4e5f67890"', None),
    ('instance_id = "i-1\' or 1=1"', "does not match"),
    ('cve_id = "CVE-26-1"', "does not match"),
    ('account_id = "12345"', "does not match"),
    ('color = "red"', "unknown fields"),
    ('starts = 2026-07-01', "is not before expires"),
])
def test_waiver_checks(tmp_path, change, message):
    text = TOML.replace('instance_id = "i-0a1b2c3d4e5f67890"', change)
    path = tmp_path / "w.toml"
    path.write_text(text)
    if message is None:
        assert load_waiver_file(path)[0]
        return
    with pytest.raises(InvalidInput, match=message):
        load_waiver_file(path)


def test_a_waiver_needs_a_scope_an_approver_and_an_expiry(tmp_path):
    for drop, message in (("instance_id", "scope field"), ("approver", "approver is required"),
                          ("expires", "expires is required")):
        lines = [line for line in TOML.splitlines()
                 if not line.startswith(drop) and not (drop == "instance_id" and line.startswith("patch_id"))]
        path = tmp_path / f"{drop}.toml"
        path.write_text("\n".join(lines))
        with pytest.raises(InvalidInput, match=message):
            load_waiver_file(path)
    path = tmp_path / "twice.toml"
    path.write_text(TOML + "\n" + TOML)
    with pytest.raises(InvalidInput, match="appears twice"):
        load_waiver_file(path)


def test_loading_a_register_replaces_the_table(con, tmp_path):
    path = tmp_path / "w.toml"
    path.write_text(TOML)
    waivers, digest = load_waiver_file(path)
    now = datetime(2026, 4, 1, tzinfo=UTC)
    store_waivers(con, waivers, source=str(path), sha256=digest, loaded_at=now)
    store_waivers(con, waivers, source=str(path), sha256=digest, loaded_at=now)
    rows = con.execute("select waiver_id, in_force_until, source_sha256 from marts.waivers").fetchall()
    assert rows == [("W-1", datetime(2026, 6, 30, tzinfo=UTC), digest)]


def test_presets_are_stored_by_the_schema(con):
    assert resolve_policy(con, "pci-dss-4.0").max_days == {"CRITICAL": 30}
    assert resolve_policy(con, "fedramp").max_days == {"CRITICAL": 30, "HIGH": 30, "MEDIUM": 90, "LOW": 180}
    assert resolve_policy(con, "internal").max_days["CRITICAL"] == 14
    with pytest.raises(InvalidInput, match="unknown SLA policy 'sox'"):
        resolve_policy(con, "sox")


@pytest.mark.parametrize("suffix,text", [
    (".toml", 'name = "acme"\nextends = "fedramp"\nseverity_source = "vendor"\n[max_days]\ncritical = 7\n'),
    (".yaml", "name: acme\nextends: fedramp\nseverity_source: vendor\nmax_days:\n  CRITICAL: 7\n"),
])
def test_policy_files(con, tmp_path, suffix, text):
    path = tmp_path / f"acme{suffix}"
    path.write_text(text)
    policy = load_policy_file(path, con=con)
    assert policy.max_days == {"CRITICAL": 7, "HIGH": 30, "MEDIUM": 90, "LOW": 180}
    assert policy.severity_source == "vendor"
    assert resolve_policy(con, path) == policy
    store_policy(con, policy)
    assert resolve_policy(con, "acme").max_days == policy.max_days


@pytest.mark.parametrize("text,message", [
    ('name = "Acme Corp"\n[max_days]\nHIGH = 1\n', "does not match"),
    ('name = "acme"\n[max_days]\nHIGH = 0\n', "whole days"),
    ('name = "acme"\n[max_days]\nURGENT = 3\n', "severity"),
    ('name = "acme"\nseverity_source = "cvss"\n[max_days]\nHIGH = 3\n', "severity_source"),
    ('name = "internal"\n[max_days]\nHIGH = 3\n', "is a preset"),
])
def test_bad_policies_are_refused(con, tmp_path, text, message):
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(InvalidInput, match=message):
        store_policy(con, load_policy_file(path, con=con))
