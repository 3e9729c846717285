"""Fixtures for the analytics tests: one simulated organisation, ingested once, and its items."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # analyticskit, whatever pytest's import mode

from analyticskit import by_instance, episodes, item_of, parse_time  # noqa: E402

from patchtrail.analytics.policy import load_policy_file, store_policy  # noqa: E402
from patchtrail.analytics.waivers import load_waiver_file, store_waivers  # noqa: E402
from patchtrail.devkit.simulator import iter_events, simulate_to_dir  # noqa: E402
from patchtrail.ingest import ingest_files  # noqa: E402
from patchtrail.warehouse import connect, transaction  # noqa: E402

#: 14 instances over 90 days: deletions, joiners, Failed, InstalledPendingReboot,
#: InstalledRejected, NotApplicable, PatchPolicy scans, CVE ids on Linux and Windows.
FLEET = {"accounts": 2, "regions": 1, "instances": 6, "days": 90, "seed": 33}
AS_OF = "2026-03-31T00:00:00Z"


@pytest.fixture(scope="session")
def fleet_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("analytics-fleet")
    simulate_to_dir(out, **FLEET)
    return out


POLICY = """\
name = "acme"
description = "Acme standard: vendor or baseline severity, whichever is higher"
severity_source = "highest"
extends = "fedramp"
[max_days]
CRITICAL = 7
"""


@pytest.fixture(scope="session")
def registers(instances, tmp_path_factory) -> dict[str, Path]:
    """A waiver register and a policy file, written against the fleet's real open episodes:
    W-1 waives one instance's patch all year, W-2 waives a CVE but expired on 2026-03-15,
    W-3 waives a whole account from 2026-03-20, W-4 a patch group until 2026-02-01."""
    at = parse_time(AS_OF)
    open_ = sorted((e for e in episodes(instances, upto=at) if e.closed_at is None and e.cves
                    and e.opened_at < parse_time("2026-03-10T00:00:00Z") and e.vendor_level),
                   key=lambda e: (e.opened_at, e.key, e.patch_id))
    first, second = open_[0], open_[1]
    folder = tmp_path_factory.mktemp("registers")
    (folder / "waivers.toml").write_text(f"""\
[[waiver]]
id = "W-1"
instance_id = "{first.key[2]}"
patch_id = "{first.patch_id}"
reason = "Vendor fix breaks the application; compensating control: WAF rule 12"
approver = "ciso@example.com"
ticket = "SEC-101"
starts = 2026-01-01
expires = 2026-12-31

[[waiver]]
id = "W-2"
cve_id = "{sorted(second.cves)[0].lower()}"
reason = "Not exploitable in our configuration"
approver = "appsec@example.com"
expires = 2026-03-15

[[waiver]]
id = "W-3"
account_id = "{second.key[0]}"
aws_region = "{second.key[1]}"
patch_group = "dev"
reason = "Dev account under decommissioning"
approver = "cto@example.com"
starts = 2026-03-20
expires = 2026-04-30

[[waiver]]
id = "W-4"
patch_group = "staging"
reason = "Staging freeze"
approver = "ops@example.com"
expires = 2026-02-01
""")
    (folder / "acme.toml").write_text(POLICY)
    return {"waivers": folder / "waivers.toml", "policy": folder / "acme.toml"}


@pytest.fixture(scope="session")
def warehouse_path(fleet_dir, registers, tmp_path_factory) -> Path:
    """The fleet's three formats ingested (items land once, with their Lake event ids), with the
    waiver register and the `acme` policy loaded. Two loads: the first misses one account's
    February files (they arrive late, in load 2, with everything else)."""
    path = tmp_path_factory.mktemp("analytics-wh") / "w.duckdb"
    ingest_files(first_load_folders(fleet_dir), warehouse=path)
    ingest_files([fleet_dir], warehouse=path)
    con = connect(path)
    try:
        waivers, digest = load_waiver_file(registers["waivers"])
        with transaction(con):
            store_waivers(con, waivers, source=str(registers["waivers"]), sha256=digest,
                          loaded_at=parse_time("2026-04-01T00:00:00Z"))
            store_policy(con, load_policy_file(registers["policy"], con=con))
    finally:
        con.close()
    return path


def first_load_folders(fleet_dir: Path) -> list[Path]:
    """Every month folder of the Config files except the first account's February."""
    months = sorted(fleet_dir.glob("config/AWSLogs/*/Config/*/2026/*"))
    late_account = sorted(p.parts[-5] for p in months)[0]
    return [p for p in months if not (p.parts[-5] == late_account and p.name == "2")]


@pytest.fixture(scope="session")
def waivers(registers):
    return load_waiver_file(registers["waivers"])[0]


@pytest.fixture(scope="session")
def wh(warehouse_path):
    """A read-only connection to the simulated warehouse."""
    con = connect(warehouse_path, read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="session")
def instances():
    """The same fleet's PatchCompliance items, straight from the simulator, per instance."""
    items = [item_of(e.ci) for e in iter_events(**FLEET)
             if e.ci["resourceType"] == "AWS::SSM::PatchCompliance"]
    return by_instance(items)
