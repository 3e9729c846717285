"""Bitemporal macros: status as of valid time T, as known at recording time K."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from analyticskit import by_instance, item_of, live_instances, parse_time
from conftest import FLEET
from loading import load_payloads

from patchtrail.devkit.simulator import iter_events
from patchtrail.warehouse import apply_schema, connect

CUTS = ("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", None)
LATE_SHARE = 0.2
TIMES = ["2026-01-20T00:00:00Z", "2026-02-10T12:00:00Z", "2026-02-28T00:00:00Z",
         "2026-03-20T00:00:00Z"]


def _loads() -> list[list[dict]]:
    """The fleet's items in three runs; each run holds back a fifth of its items until the next
    (late, out-of-order arrivals), and the last run repeats a few items already landed."""
    payloads = [e.ci for e in iter_events(**FLEET) if e.ci["resourceType"] == "AWS::SSM::PatchCompliance"]
    rng = random.Random(5)
    loads, pending = [], []
    for cut in CUTS:
        due = [p for p in payloads if cut is None or parse_time(p["configurationItemCaptureTime"]) < parse_time(cut)]
        payloads = [p for p in payloads if p not in due]
        batch, held = pending, []
        for p in due:
            (held if cut is not None and rng.random() < LATE_SHARE else batch).append(p)
        rng.shuffle(batch)
        loads.append(batch)
        pending = held
    loads[-1] += loads[0][:5]
    return loads


@pytest.fixture(scope="module")
def bitemporal():
    """One warehouse that received the three runs, the recording time after each, and for each
    run a separate warehouse that received only the runs up to it."""
    loads = _loads()
    main = connect(":memory:")
    apply_schema(main)
    known, partial = [], []
    for i, batch in enumerate(loads):
        load_payloads(main, batch)
        known.append(main.execute("select max(ingested_at) from landing.configuration_items").fetchall()[0][0])
        con = connect(":memory:")
        apply_schema(con)
        for earlier in loads[: i + 1]:
            load_payloads(con, earlier)
        partial.append(con)
    yield main, known, partial, loads
    for con in [main, *partial]:
        con.close()


def _versions(con, sql, *params):
    return con.execute(f"select * exclude (recorded_at) from ({sql}) order by all", list(params)).fetchall()  # noqa: S608 (fixed text)


@pytest.mark.parametrize("table,macro", [("history.patch_state", "marts.patch_state_known_at"),
                                         ("history.instance_compliance", "marts.instance_compliance_known_at")])
def test_history_known_at_k_is_the_history_of_the_items_known_at_k(bitemporal, table, macro):
    main, known, partial, _ = bitemporal
    for k, con in zip(known, partial, strict=True):
        expected = _versions(con, f"select * from {table}")  # noqa: S608 (fixed names)
        got = _versions(main, f"select * from {macro}(?)", k)  # noqa: S608
        assert got == expected and len(got) > 0
        late = main.execute(f"select count(*) from {macro}(?) where recorded_at > ?",  # noqa: S608
                            [k, k]).fetchall()
        assert late == [(0,)]


def test_late_items_change_what_was_known(bitemporal):
    """The held-back items make the earlier knowledge differ from today's for some instants."""
    main, known, _, _ = bitemporal
    differs = main.execute("""
        select count(*) from (
            (select * exclude (recorded_at) from marts.instance_compliance_known_at(?)
             where valid_from < ?)
            except
            (select * exclude (recorded_at) from history.instance_compliance where valid_from < ?)
        )""", [known[0], known[0], known[0]]).fetchall()[0][0]
    assert differs > 0


def test_as_of_known_against_python(bitemporal):
    main, known, _, loads = bitemporal
    for i, k in enumerate(known):
        items = by_instance([item_of(p) for batch in loads[: i + 1] for p in batch])
        for text in TIMES:
            moment = parse_time(text)
            live = live_instances(items, moment)
            want = sorted((*key, item.summary["Status"], item.summary["PatchBaselineId"])
                          for key, item in live.items())
            got = main.execute("""
                select account_id, aws_region, instance_id, compliance_status, baseline_id
                from marts.instance_compliance_as_of_known(?, ?) order by all""", [moment, k]).fetchall()
            assert got == want
            want_patches = sorted((*key, pid, body["PatchState"]) for key, item in live.items()
                                  for pid, body in item.patches.items())
            got_patches = main.execute("""
                select account_id, aws_region, instance_id, patch_id, state
                from marts.patch_state_as_of_known(?, ?) order by all""", [moment, k]).fetchall()
            assert got_patches == want_patches


def test_known_now_equals_as_of(wh):
    for text in TIMES:
        for level in ("instance_compliance", "patch_state"):
            assert wh.execute(f"select * from marts.{level}_as_of_known(?, 'infinity') order by all",  # noqa: S608
                              [text]).fetchall() == \
                wh.execute(f"select * from marts.{level}_as_of(?) order by all", [text]).fetchall()  # noqa: S608


def test_known_before_the_first_load_is_empty(wh):
    early = datetime(2000, 1, 1, tzinfo=UTC)
    assert wh.execute("select count(*) from marts.patch_state_known_at(?)", [early]).fetchall() == [(0,)]
    assert wh.execute("select count(*) from marts.instance_compliance_as_of_known('2026-03-01', ?)",
                      [early]).fetchall() == [(0,)]
