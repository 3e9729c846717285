"""SCD2 history: whole tables asserted after each load, and the order/batching invariant."""

from __future__ import annotations

import random

from factories import config_api_ci, config_file_ci, lake_event, lake_row, patch, third_party_patch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loading import load_payloads

from patchtrail.analytics.rebuild import rebuild_connection
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
    load([day(2, [patch("A")])])  # a later load: the mart's row of day 1 is not rebuilt again
    event = lake_event(ci, event_id="ev-9")
    event["eventTime"] = "2026-03-01T06:00:42Z"  # Lake's eventTime a little after the capture
    load([event])
    assert con.execute("select event_id, strftime(event_time, '%H:%M:%S') from "
                       "landing.configuration_items where event_id is not null").fetchall() == [
        ("ev-9", "06:00:42")]
    assert con.execute("select strftime(eventTime, '%d %H:%M:%S') from marts.patch_lists_by_item "
                       "order by eventTime").fetchall() == [("01 06:00:42",), ("02 06:00:00",)]


def test_instances_are_independent(con, load):
    other = "i-00000000000000001"
    load([day(1, [patch("A")]), day(2, [patch("A")], instance=other, account="444455556666")])
    load([day(3, [patch("A", "Missing")])])
    assert [r[:4] for r in instance_rows(con)] == [
        ("i-00000000000000001", "03-02", None, True),
        ("i-0a1b2c3d4e5f67890", "03-01", "03-03", False),
        ("i-0a1b2c3d4e5f67890", "03-03", None, True),
    ]


# --- #11: real shapes -----------------------------------------------------------------------------

INSTANCE = "i-0a1b2c3d4e5f67890"


def test_not_recorded_ends_patch_versions_and_leaves_an_unknown_live_instance(con, load):
    load([day(1, [patch("A", "Missing"), patch("B")]), day(5, status="ResourceNotRecorded")])
    assert con.execute("""
        select strftime(valid_from, '%m-%d'), strftime(valid_to, '%m-%d'), is_current, is_deleted,
            is_recorded, item_status, has_patch_map, compliance_status, patch_count, missing_count,
            unknown_count
        from history.instance_compliance order by valid_from
    """).fetchall() == [
        ("03-01", "03-05", False, False, True, "OK", True, "NON_COMPLIANT", 2, 1, 0),
        ("03-05", None, True, False, False, "ResourceNotRecorded", False, None, None, None, None),
    ]
    assert patch_rows(con) == [(INSTANCE, "A", "03-01", "03-05", False, "Missing"),
                               (INSTANCE, "B", "03-01", "03-05", False, "Installed")]
    # Not deleted: the instance stays live, as unknown; it has no current patches.
    assert con.execute("select instance_id, is_recorded, compliance_status "
                       "from marts.current_instance_compliance").fetchall() == [(INSTANCE, False, None)]
    assert con.execute("select count(*) from marts.current_patch_state").fetchone() == (0,)
    # A later OK item opens a normal version again; a second ResourceNotRecorded changes nothing.
    load([day(9, [patch("A")]), day(7, status="ResourceNotRecorded")])
    assert [r[1:5] for r in instance_rows(con)] == [
        ("03-01", "03-05", False, False), ("03-05", "03-09", False, False), ("03-09", None, True, False)]
    assert con.execute("select is_recorded from history.instance_compliance order by valid_from"
                       ).fetchall() == [(True,), (False,), (True,)]
    assert patch_rows(con) == [(INSTANCE, "A", "03-01", "03-05", False, "Missing"),
                               (INSTANCE, "A", "03-09", None, True, "Installed"),
                               (INSTANCE, "B", "03-01", "03-05", False, "Installed")]


def test_a_deletion_is_still_a_tombstone_and_recorded(con, load):
    load([day(1, [patch("A")]), day(2, status="ResourceDeletedNotRecorded")])
    assert con.execute("select is_deleted, is_recorded from history.instance_compliance "
                       "order by valid_from").fetchall() == [(False, True), (True, True)]
    assert con.execute("select count(*) from marts.current_instance_compliance").fetchone() == (0,)


def test_unknown_states_land_are_tracked_and_stay_out_of_the_seed_lists(con, load):
    load([day(1, [patch("A", "Superseded"), third_party_patch("B"), patch("C", "Missing")]),
          day(2, [patch("A", "Obsolete"), third_party_patch("B"), patch("C", "Missing")])])
    assert con.execute("""
        select patch_id, strftime(valid_from, '%m-%d'), strftime(valid_to, '%m-%d'), state, raw_state
        from history.patch_state order by all
    """).fetchall() == [
        ("A", "03-01", "03-02", "Unknown", "Superseded"), ("A", "03-02", None, "Unknown", "Obsolete"),
        ("B", "03-01", None, "Unknown", ""), ("C", "03-01", None, "Missing", None),
    ]
    assert con.execute("select unknown_count, patch_count from history.instance_compliance "
                       "order by valid_from").fetchall() == [(2, 3)]
    assert con.execute("select Installed, InstalledOther, InstalledPendingReboot, Missing, Failed "
                       "from ssm_patch_compliance_all_ec2_instances() order by eventTime").fetchall() == [
        ([], [], [], ["C"], [])] * 2


def test_unparseable_installed_time_is_kept_and_tracked(con, load):
    load([day(1, [patch("A", InstalledTime="2021-11-02 04:16:40")]),
          day(2, [patch("A", InstalledTime="2021-11-02T04:16:40Z")]),
          day(3, [patch("A", InstalledTime="soon")])])
    assert con.execute("""
        select strftime(valid_from, '%m-%d'), strftime(installed_at, '%Y-%m-%d %H:%M:%S'),
            installed_time_raw
        from history.patch_state order by valid_from
    """).fetchall() == [("03-01", "2021-11-02 04:16:40", None), ("03-03", None, "soon")]


def test_shapes_that_are_not_a_patch_map_never_change_history(con, load):
    load([day(1, [patch("A", "Missing")])])
    before = (instance_rows(con), patch_rows(con))
    content_list = day(2, [patch("A")])
    content_list["configuration"]["AWS:ComplianceItem"]["Content"] = [{"Patch": {}}]
    no_patch_key = day(3, [patch("A")])
    no_patch_key["configuration"]["AWS:ComplianceItem"]["Content"] = {"Association": {}}
    no_configuration = day(4, [patch("A")])
    no_configuration["configuration"] = None
    load([content_list, no_patch_key, no_configuration, config_api_ci(content_list)])
    assert (instance_rows(con), patch_rows(con)) == before
    assert sorted(r[0] for r in con.execute("select reason from landing.rejected_records").fetchall()) == [
        "AWS:ComplianceItem.Content has no Patch map (keys: 'Association')",
        "AWS:ComplianceItem.Content is an array, expected an object",
        "AWS:ComplianceItem.Content is an array, expected an object",
        "configuration is missing (null); an item that is not a deletion must carry one",
    ]


def test_an_empty_patch_map_closes_the_patches_of_a_live_instance(con, load):
    load([day(1, [patch("A")]), day(2, [])])
    assert patch_rows(con) == [(INSTANCE, "A", "03-01", "03-02", False, "Installed")]
    assert con.execute("select has_patch_map, patch_count from marts.current_instance_compliance"
                       ).fetchall() == [(True, 0)]


def test_duplicate_patch_ids_give_one_history_whatever_the_map_order(con):
    def history(order):
        connection = connect(":memory:")
        apply_schema(connection)
        ci = day(1, [])
        entries = {"KB1": patch("KB1", "Missing"), "KB1-dup": patch("KB1", "Installed")}
        ci["configuration"]["AWS:ComplianceItem"]["Content"]["Patch"].update({k: entries[k] for k in order})
        load_payloads(connection, [ci])
        rows = patch_rows(connection)
        connection.close()
        return rows

    assert history(["KB1", "KB1-dup"]) == history(["KB1-dup", "KB1"]) == [
        (INSTANCE, "KB1", "03-01", None, True, "Missing")]


# --- upgrading a warehouse created before #11 -----------------------------------------------------

NEW_COLUMNS = {
    "staging.instance_snapshots": ("unknown_count", "is_recorded"),
    "history.instance_compliance": ("unknown_count", "is_recorded"),
    "staging.patch_observations": ("raw_state", "installed_time_raw"),
    "history.patch_state": ("raw_state", "installed_time_raw"),
}


def _columns(con, table):
    schema, name = table.split(".")
    return [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position", [schema, name]).fetchall()]


def _downgrade(con):
    """Make `con` look like a warehouse of before #11: the new columns dropped, rows kept."""
    for table, columns in NEW_COLUMNS.items():
        for column in columns:
            con.execute(f"alter table {table} drop column {column}")  # noqa: S608 (fixed names)
    con.execute("drop view meta.schema_version")  # an old warehouse has no schema fingerprint


def test_an_old_warehouse_upgrades_in_place_and_keeps_its_history(con, load):
    fresh = {t: _columns(con, t) for t in NEW_COLUMNS}
    load([day(1, [patch("A", "Missing"), patch("B")]), day(2, status="ResourceDeleted"),
          day(3, [patch("A")])])
    _downgrade(con)
    assert all(c not in _columns(con, t) for t, cs in NEW_COLUMNS.items() for c in cs)
    apply_schema(con)  # what every command does first
    assert {t: _columns(con, t) for t in NEW_COLUMNS} == fresh  # same names, same order
    assert con.execute("select count(*) from history.instance_compliance where is_recorded is null"
                       ).fetchone() == (0,)
    # Items landed after the upgrade continue the old versions: no spurious version at the seam.
    before = (instance_rows(con), patch_rows(con))
    load([day(4, [patch("A")]), day(5, [patch("A")])])
    assert (instance_rows(con), patch_rows(con)) == before
    load([day(6, [patch("A", "Superseded")])])
    assert [r for r in patch_rows(con) if r[1] == "A"][-2:] == [
        (INSTANCE, "A", "03-03", "03-06", False, "Installed"), (INSTANCE, "A", "03-06", None, True, "Unknown")]
    # And a rebuild (which inserts the frames by position) gives the same history.
    history = [con.execute(f"select * exclude (recorded_at, unknown_count) from {t} order by all").fetchall()  # noqa: S608
               for t in ("history.instance_compliance",)]
    rebuild_connection(con)
    assert [con.execute(f"select * exclude (recorded_at, unknown_count) from {t} order by all").fetchall()  # noqa: S608
            for t in ("history.instance_compliance",)] == history
    assert con.execute("select count(*) from history.instance_compliance "
                       "where has_patch_map and unknown_count is null").fetchone() == (0,)


# --- the invariant: history is a pure function of the set of landed items -------------------

STATES = ["Installed", "Missing", "Failed", "InstalledPendingReboot", "NotApplicable", "InstalledOther",
          "Superseded", "INSTALLED_OTHER", None]
INSTALLED_TIMES = ["2026-01-01T00:00:00Z", "2026-01-01 00:00:00", "", "0.0", "not a time"]
INSTANCES = ["i-0a1b2c3d4e5f67890", "i-00000000000000001"]


def _patch(draw, pid):
    state = draw(st.sampled_from(STATES))
    if state is None:
        return third_party_patch(pid)
    return patch(pid, state, InstalledTime=draw(st.sampled_from(INSTALLED_TIMES)))


@st.composite
def item_sets(draw):
    items = []
    for instance in INSTANCES:
        days = draw(st.lists(st.integers(1, 28), min_size=1, max_size=6, unique=True))
        for d in sorted(days):
            kind = draw(st.integers(0, 9))
            if kind == 0:
                items.append(day(d, status="ResourceDeleted", instance=instance))
                continue
            if kind == 1:
                items.append(day(d, status="ResourceNotRecorded", instance=instance))
                continue
            patches = [_patch(draw, pid) for pid in ("A", "B", "C") if draw(st.booleans())]
            items.append(day(d, patches, instance=instance))
    # Each item may arrive in any dialect (they share a ci_id).
    dialects = [draw(st.sampled_from([lambda c: c, lake_event, lake_row, config_api_ci])) for _ in items]
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
