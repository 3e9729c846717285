"""`patchtrail check`: every invariant holds on a real warehouse, and each one can fail."""

from __future__ import annotations

import shutil

import pytest
from loading import simulated_warehouse
from typer.testing import CliRunner

from patchtrail.cli import app
from patchtrail.warehouse import connect
from patchtrail.warehouse.check import check_warehouse


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return simulated_warehouse(tmp_path_factory.mktemp("check"))


def corrupted(built, tmp_path, *statements):
    copy = tmp_path / "copy.duckdb"
    shutil.copy(built, copy)
    con = connect(copy)
    try:
        for sql in statements:
            con.execute(sql)
    finally:
        con.close()
    return copy


def failing(warehouse, **kwargs):
    return {r.name for r in check_warehouse(warehouse, **kwargs) if not r.ok}


def test_every_invariant_holds_on_a_real_warehouse(built):
    results = check_warehouse(built, full=True)
    assert [(r.name, r.ok) for r in results] == [(r.name, True) for r in results]
    con = connect(built, read_only=True)
    instances = con.execute("select count(distinct (account_id, aws_region, instance_id)) "
                            "from landing.configuration_items").fetchone()[0]
    con.close()
    assert results[-1].scope == f"{instances} of {instances} instances"


ONE_PATCH = ("(select account_id, aws_region, instance_id, patch_id, valid_from from history.patch_state "
             "where valid_to is not null order by all limit 1)")


@pytest.mark.parametrize("statements,broken", [
    ([f"update history.patch_state set is_current = true, valid_to = null "  # noqa: S608
      f"where (account_id, aws_region, instance_id, patch_id, valid_from) in {ONE_PATCH}"],
     {"one_current_version", "no_overlaps", "rebuild_equal"}),
    ([f"update history.patch_state set valid_to = valid_to + interval 400 day "  # noqa: S608
      f"where (account_id, aws_region, instance_id, patch_id, valid_from) in {ONE_PATCH}"],
     {"no_overlaps", "rebuild_equal"}),
    ([f"update history.patch_state set valid_to = valid_from "  # noqa: S608
      f"where (account_id, aws_region, instance_id, patch_id, valid_from) in {ONE_PATCH}"],
     {"valid_intervals", "rebuild_equal"}),
    (["delete from landing.configuration_items where ci_id = "
      "(select ci_id from history.instance_compliance order by all limit 1)"],
     {"traceable", "staging_matches_landing", "rebuild_equal"}),
    (["update history.patch_state set state = 'Installed' where state = 'Missing' and patch_id = "
      "(select min(patch_id) from history.patch_state where state = 'Missing')"],
     {"rebuild_equal"}),
    (["update landing.loads set items_duplicate = items_duplicate + 1 where load_id = 1"],
     {"load_counts"}),
])
def test_each_invariant_catches_its_corruption(built, tmp_path, statements, broken):
    assert failing(corrupted(built, tmp_path, *statements), full=True) == broken


def test_the_cli_exits_non_zero_and_names_the_offending_rows(built, tmp_path):
    runner = CliRunner()
    good = runner.invoke(app, ["check", "--warehouse", str(built)])
    assert good.exit_code == 0, good.output
    assert "rebuild_equal" in good.output and "NO" not in good.output
    bad = corrupted(built, tmp_path, "update landing.loads set items_landed = 0 where load_id = 1")
    result = runner.invoke(app, ["check", "--warehouse", str(bad), "--sample", "2"])
    assert result.exit_code == 5
    assert "load_counts: read = landed + duplicate + skipped + rejected" in result.output
    assert "what=load 1" in result.output


def test_rebuild_leaves_out_and_records_what_todays_rules_refuse(built, tmp_path):
    from patchtrail.analytics.rebuild import rebuild

    old = corrupted(built, tmp_path, """
        insert into landing.configuration_items by name
        select * replace ('00000000000000000000000000000000' as ci_id,
                          timestamptz '2013-06-01 00:00:00+00' as captured_at)
        from landing.configuration_items where item_status = 'OK' limit 1
    """)  # an item an older patchtrail landed, with a capture time before AWS Config existed
    summary = rebuild(old)
    assert summary.refused == 1
    con = connect(old, read_only=True)
    (reason,) = con.execute("select reason from landing.rejected_records where source = 'rebuild' "
                            "and record_ref = 'ci_id:00000000000000000000000000000000'").fetchone()
    con.close()
    assert "refused by today's rules" in reason and "2014" in reason
    assert failing(old, full=True) == set()
