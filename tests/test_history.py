"""SCD2 history: whole tables asserted after each load, and the order/batching invariant."""

from __future__ import annotations

import random

from factories import config_file_ci, lake_event, lake_row, patch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loading import load_payloads

from patchtrail.warehouse import apply_schema, connect


def instance_rows(con):
    return con.execute("""
        select instance_id, strftime(valid_from, '%m-%d'), strftime(valid_to, '%m-%d'), is_current,
            is_deleted, compliance_status, missing_count
        from history.instance_compliance order by instance_id, valid_from
    """).fetchall()


def patch_rows(con):
    return con.execute("""
        select instance_id, patch_id, strftime(valid_from, '%m-%d'), strftime(valid_to, '%m-%d'),
            is_current, state
        from history.patch_state order by instance_id, patch_id, valid_from
    """).fetchall()


def day(d: int, patches=None, **kw):
    return config_file_ci(f"2026-03-{d:02d}T06:00:00.000Z", patches, **kw)


def test_versions_open_only_on_change(con, load):
    load([day(1, [patch("A", "Missing"), patch("B")])])
    assert instance_rows(con) == [("i-0a1b2c3d4e5f67890", "03-01", None, True, False, "NON_COMPLIANT", 1)]
    assert patch_rows(con) == [
        ("i-0a1b2c3d4e5f67890", "A", "03-01", None, True, "Missing"),
        ("i-0a1b2c3d4e5f67890", "B", "03-01", None, True, "Installed"),
    ]
    # A later item changes A only: B keeps its one version, A gets a second.
    load([day(5, [patch("A", "Installed"), patch("B")])])
    assert patch_rows(con) == [
        ("i-0a1b2c3d4e5f67890", "A", "03-01", "03-05", False, "Missing"),
        ("i-0a1b2c3d4e5f67890", "A", "03-05", None, True, "Installed"),
        ("i-0a1b2c3d4e5f67890", "B", "03-01", None, True, "Installed"),
    ]
    assert instance_rows(con) == [
        ("i-0a1b2c3d4e5f67890", "03-01", "03-05", False, False, "NON_COMPLIANT", 1),
        ("i-0a1b2c3d4e5f67890", "03-05", None, True, False, "COMPLIANT", 0),
    ]


def test_patch_absent_from_a_later_item_is_closed_and_can_return(con, load):
    load([day(1, [patch("A"), patch("B")]), day(2, [patch("A")]), day(3, [patch("A"), patch("B")])])
    assert [r for r in patch_rows(con) if r[1] == "B"] == [
        ("i-0a1b2c3d4e5f67890", "B", "03-01", "03-02", False, "Installed"),
        ("i-0a1b2c3d4e5f67890", "B", "03-03", None, True, "Installed"),
    ]


def test_deletion_closes_everything_with_a_tombstone(con, load):
    load([day(1, [patch("A", "Missing")]), day(9, status="ResourceDeleted")])
    assert instance_rows(con) == [
        ("i-0a1b2c3d4e5f67890", "03-01", "03-09", False, False, "NON_COMPLIANT", 1),
        ("i-0a1b2c3d4e5f67890", "03-09", None, True, True, None, None),
    ]
    assert patch_rows(con) == [("i-0a1b2c3d4e5f67890", "A", "03-01", "03-09", False, "Missing")]
    assert con.execute("select count(*) from marts.current_instance_compliance").fetchone() == (0,)
    assert con.execute("select count(*) from marts.current_patch_state").fetchone() == (0,)


def test_late_item_is_resequenced_not_ignored(con, load):
    load([day(1, [patch("A", "Missing")]), day(10, [patch("A", "Installed")])])
    load([day(5, [patch("A", "InstalledPendingReboot")])])  # arrives late
    assert patch_rows(con) == [
        ("i-0a1b2c3d4e5f67890", "A", "03-01", "03-05", False, "Missing"),
        ("i-0a1b2c3d4e5f67890", "A", "03-05", "03-10", False, "InstalledPendingReboot"),
        ("i-0a1b2c3d4e5f67890", "A", "03-10", None, True, "Installed"),
    ]


def test_same_item_from_three_sources_lands_once(con, load):
    ci = day(1, [patch("A")])
    load([ci, lake_event(ci), lake_row(ci)])
    assert con.execute("select count(*), count(event_id) from landing.configuration_items").fetchone() == (1, 1)
    assert len(patch_rows(con)) == 1


def test_lake_copy_arriving_later_fills_event_time(con, load):
    ci = day(1, [patch("A")])
    load([ci])
    assert con.execute("select event_id from landing.configuration_items").fetchone() == (None,)
    load([lake_event(ci, event_id="ev-9")])
    assert con.execute("select event_id, strftime(event_time, '%H:%M:%S') "
                       "from landing.configuration_items").fetchone() == ("ev-9", "06:00:00")


def test_instances_are_independent(con, load):
    other = "i-00000000000000001"
    load([day(1, [patch("A")]), day(2, [patch("A")], instance=other, account="444455556666")])
    load([day(3, [patch("A", "Missing")])])
    assert [r[:4] for r in instance_rows(con)] == [
        ("i-00000000000000001", "03-02", None, True),
        ("i-0a1b2c3d4e5f67890", "03-01", "03-03", False),
        ("i-0a1b2c3d4e5f67890", "03-03", None, True),
    ]


# --- the invariant: history is a pure function of the set of landed items -------------------

STATES = ["Installed", "Missing", "Failed", "InstalledPendingReboot", "NotApplicable", "InstalledOther"]
INSTANCES = ["i-0a1b2c3d4e5f67890", "i-00000000000000001"]


@st.composite
def item_sets(draw):
    items = []
    for instance in INSTANCES:
        days = draw(st.lists(st.integers(1, 28), min_size=1, max_size=6, unique=True))
        for d in sorted(days):
            if draw(st.integers(0, 9)) == 0:
                items.append(day(d, status="ResourceDeleted", instance=instance))
                continue
            patches = [patch(pid, draw(st.sampled_from(STATES)))
                       for pid in ("A", "B", "C") if draw(st.booleans())]
            items.append(day(d, patches, instance=instance))
    # Each item may arrive in any dialect (they share a ci_id).
    dialects = [draw(st.sampled_from([lambda c: c, lake_event, lake_row])) for _ in items]
    return [f(ci) for f, ci in zip(dialects, items, strict=True)]


def history_of(batches):
    con = connect(":memory:")
    apply_schema(con)
    for batch in batches:
        load_payloads(con, batch)
    tables = {
        name: con.execute(f"select * exclude (recorded_at) from history.{name} order by all").fetchall()  # noqa: S608 (fixed names)
        for name in ("instance_compliance", "patch_state")
    }
    tables["lists"] = con.execute("select * exclude (eventTime) from marts.patch_lists_by_item "
                                  "order by all").fetchall()
    con.close()
    return tables


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=item_sets(), seed=st.integers(0, 2**32 - 1), batch_count=st.integers(1, 5),
       repeats=st.integers(0, 2))
def test_history_ignores_order_batching_and_repetition(items, seed, batch_count, repeats):
    expected = history_of([items])
    rng = random.Random(seed)
    arrivals = items + [rng.choice(items) for _ in range(repeats * len(items) // 2)]
    rng.shuffle(arrivals)
    cuts = sorted(rng.sample(range(1, len(arrivals)), min(batch_count - 1, len(arrivals) - 1)))
    batches = [arrivals[i:j] for i, j in zip([0, *cuts], [*cuts, len(arrivals)], strict=True)]
    assert history_of(batches) == expected
