"""docs/analytics.md stays true: every worked query runs as printed on the demo warehouse (after
the setup commands the page shows) and returns rows, every documented column list matches the
object, and every analytics object is documented."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "analytics.md").read_text()
WORKED = DOC.split("## Worked queries", 1)[1].split("\n## ", 1)[0]
QUERIES = re.findall(r"```sql\n(.*?)```", WORKED, flags=re.S)
SETUP = [line for block in re.findall(r"```bash\n(.*?)```", WORKED, flags=re.S)
         for line in block.splitlines() if line.startswith("patchtrail ")]
#: Arguments to call each documented macro with, to read its columns.
SAMPLE_ARGS = {
    "marts.remediation_episodes_as_of": "('2026-03-31')",
    "marts.missing_patches_as_of": "('2026-03-31')",
    "marts.time_to_remediate_between": "('2026-01-01', '2026-04-01')",
    "marts.sla_status_for": "('2026-03-31', [{'severity': 'HIGH', 'max_days': 30, 'severity_source': 'severity'}])",
    "marts.sla_status": "('2026-03-31', 'fedramp')",
    "marts.sla_breaches_for": "('2026-03-31', [{'severity': 'HIGH', 'max_days': 30, 'severity_source': 'severity'}])",
    "marts.sla_breaches": "('2026-03-31', 'fedramp')",
    "marts.scan_staleness": "('2026-03-31', 7)",
    "marts.cve_exposure": "('CVE-2026-1')",
    "marts.compliance_by_day": "('2026-03-01', '2026-03-02')",
    "marts.instance_compliance_known_at": "('infinity')",
    "marts.patch_state_known_at": "('infinity')",
    "marts.instance_compliance_as_of_known": "('2026-03-31', 'infinity')",
    "marts.patch_state_as_of_known": "('2026-03-31', 'infinity')",
    "history.changed_instances": "('infinity', null)",
    "history.recomputed_instance_compliance": "('infinity', null)",
    "history.recomputed_patch_state": "('infinity', null)",
}


def _sections() -> dict[str, str]:
    parts = re.split(r"^### ", DOC.split("## Objects", 1)[1].split("\n## How", 1)[0], flags=re.M)[1:]
    return {p.split("\n", 1)[0].split("(")[0].strip(): p for p in parts}


def _columns(con, name: str) -> list[str]:
    sql = f"select * from {name}{SAMPLE_ARGS.get(name, '')} limit 0"  # noqa: S608 (documented names)
    return [d[0] for d in con.execute(sql).description]


def test_at_least_fifteen_worked_queries():
    assert len(QUERIES) >= 15


@pytest.fixture(scope="session")
def demo_wh(tmp_path_factory):
    """The warehouse `patchtrail demo` builds (its default fleet, landed from files), after the
    setup commands the worked-queries section prints, run as printed from the repository root."""
    from patchtrail.devkit import demo
    from patchtrail.warehouse import connect

    root = tmp_path_factory.mktemp("demo-docs")
    path = root / "patchtrail.duckdb"
    demo.simulate(root / "demo-data", **demo.DEFAULTS)
    demo.ingest("files", root / "demo-data", warehouse=path, days=demo.DEFAULTS["days"])
    env = dict(os.environ, PATCHTRAIL_WAREHOUSE=str(path), PATCHTRAIL_PUBLISH_AFTER_RUN="false")
    for line in SETUP:
        done = subprocess.run([sys.executable, "-m", "patchtrail", *shlex.split(line)[1:]], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
    con = connect(path, read_only=True)
    yield con
    con.close()


def test_the_setup_is_shown_and_loads_what_queries_13_and_14_read():
    assert SETUP == ["patchtrail policies load docs/examples/acme-policy.toml",
                     "patchtrail waivers load docs/examples/waivers.toml"]


@pytest.mark.parametrize("number", range(1, len(QUERIES) + 1))
def test_worked_query_runs_on_the_demo_warehouse_and_answers(demo_wh, number):
    """As `patchtrail sql` runs it: one statement, on a locked reader (connect read_only)."""
    from patchtrail.warehouse.readonly import analyst_statement

    rows = demo_wh.execute(analyst_statement(QUERIES[number - 1])).fetchall()
    assert rows, f"worked query {number} returned no rows on the demo warehouse"
    assert demo_wh.execute("select current_setting('lock_configuration')").fetchall() == [(True,)]


def test_documented_columns_match(wh):
    for name, text in _sections().items():
        rows = re.findall(r"^\| (\w+) \| [\w\[\]]+ \|", text, flags=re.M)
        same = re.search(r"Same columns as\s+`([\w.]+)`", text)
        if rows:
            assert _columns(wh, name) == [r for r in rows if r != "column"], name
        elif same:
            assert _columns(wh, name) == _columns(wh, same.group(1)), name


def test_every_analytics_object_is_documented():
    """Each history/marts object of the schema is documented here, or is one of the warehouse's
    earlier objects (documented in docs/warehouse.md)."""
    from patchtrail.warehouse.schema import schema_objects

    earlier = {"history.instance_compliance", "history.patch_state",
               "marts.current_instance_compliance", "marts.current_patch_state",
               "marts.instance_compliance_as_of", "marts.patch_state_as_of",
               "marts.patch_lists_by_item", "marts.fleet_summary", "marts.account_summary"}
    objects = {o.replace("/", ".") for o in schema_objects()
               if o.startswith(("history/", "marts/")) and "ssm-patch-compliance" not in o}
    assert objects - earlier - set(_sections()) == set()
