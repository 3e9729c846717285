"""History at scale: the incremental merge equals a full rebuild, and matches a Python SCD2."""

from __future__ import annotations

import random
import shutil

from factories import config_file_ci, lake_event, lake_row, patch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loading import load_payloads

from patchtrail.analytics.rebuild import rebuild, rebuild_connection
from patchtrail.warehouse import apply_schema, connect

INSTANCES = ["i-0a1b2c3d4e5f67890", "i-00000000000000001", "i-00000000000000002"]
STATES = ["Installed", "Missing", "Failed", "InstalledPendingReboot", "NotApplicable",
          "InstalledOther"]
TABLES = ("history.instance_compliance", "history.patch_state", "marts.patch_lists_by_item",
          "staging.instance_snapshots", "staging.patch_observations")


def day(d: int, patches=None, **kw):
    hour = kw.pop("hour", 6)
    return config_file_ci(f"2026-03-{d:02d}T{hour:02d}:00:00.000Z", patches, **kw)


@st.composite
def histories(draw):
    """Up to three instances with up to 12 items each; some deletions and re-appearances."""
    items = []
    for instance in INSTANCES[: draw(st.integers(1, 3))]:
        days = sorted(draw(st.lists(st.integers(1, 28), min_size=1, max_size=12, unique=True)))
        for d in days:
            if draw(st.integers(0, 11)) == 0:
                items.append(day(d, status="ResourceDeleted", instance=instance))
                continue
            patches = [patch(pid, draw(st.sampled_from(STATES)),
                             severity=draw(st.sampled_from(["CRITICAL", "LOW"])))
                       for pid in ("A", "B", "C", "D") if draw(st.integers(0, 3))]
            items.append(day(d, patches, instance=instance))
    dialects = [draw(st.sampled_from([lambda c: c, lake_event, lake_row])) for _ in items]
    return [f(ci) for f, ci in zip(dialects, items, strict=True)]


def snapshot(con) -> dict[str, list]:
    return {t: con.execute(f"select * from {t} order by all").fetchall() for t in TABLES}  # noqa: S608 (fixed names)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=histories(), seed=st.integers(0, 2**32 - 1), batch_count=st.integers(2, 6))
def test_incremental_merges_equal_a_full_rebuild(items, seed, batch_count):
    """Items arrive late and out of order in several runs; each run merges only its increment.
    A full rebuild from landing then gives exactly the same rows, recorded_at included."""
    rng = random.Random(seed)
    arrivals = items[:]
    rng.shuffle(arrivals)
    cuts = sorted(rng.sample(range(1, len(arrivals)), min(batch_count - 1, len(arrivals) - 1)))
    batches = [arrivals[i:j] for i, j in zip([0, *cuts], [*cuts, len(arrivals)], strict=True)]
    con = connect(":memory:")
    apply_schema(con)
    for batch in batches:
        load_payloads(con, batch)
    incremental = snapshot(con)
    rebuild_connection(con)
    assert snapshot(con) == incremental
    con.close()


def test_a_late_item_leaves_versions_that_ended_before_it_untouched(con, load):
    """The merge rewrites only what the increment can change: versions that ended before the
    late item's capture time keep their physical rows (same rowid)."""
    load([day(d, [patch("A", "Missing" if d % 2 else "Installed"), patch("B")]) for d in range(1, 21)])
    before = dict(con.execute("select valid_from, rowid from history.patch_state "
                              "where patch_id = 'A'").fetchall())
    load([day(15, [patch("A", "Failed"), patch("B")], hour=12)])  # late, between day 15 and 16
    after = dict(con.execute("select valid_from, rowid from history.patch_state "
                             "where patch_id = 'A'").fetchall())
    kept = {k: v for k, v in before.items() if k.day < 15}
    assert kept and all(after[k] == v for k, v in kept.items())
    assert con.execute("select state from history.patch_state where patch_id = 'A' "
                       "and hour(valid_from) = 12").fetchall() == [("Failed",)]


def test_history_matches_a_python_scd2_of_the_simulator(wh, instances):
    """history.patch_state and history.instance_compliance against versions computed item by
    item in Python (recorded_at aside)."""
    expected_patches, expected_instances = [], []
    for key, seq in instances.items():
        open_: dict[str, list] = {}
        previous_attributes = None
        for item in seq:
            attributes = _instance_attributes(item)
            if attributes != previous_attributes:
                if expected_instances and expected_instances[-1][0] == key and expected_instances[-1][2] is None:
                    expected_instances[-1][2] = item.captured_at
                expected_instances.append([key, item.captured_at, None, attributes])
                previous_attributes = attributes
            patches = item.patches or {}
            for pid, version in list(open_.items()):
                if _patch_attributes(patches.get(pid)) != version[3]:
                    version[2] = item.captured_at
                    del open_[pid]
            for pid, body in patches.items():
                if pid not in open_:
                    open_[pid] = [(*key, pid), item.captured_at, None, _patch_attributes(body)]
                    expected_patches.append(open_[pid])
    got = wh.execute("""
        select account_id, aws_region, instance_id, patch_id, valid_from, valid_to, state, severity,
            vendor_severity, cve_ids
        from history.patch_state order by all""").fetchall()
    want = sorted((*k, vf, vt, a[0], a[1], a[2], sorted(a[3])) for k, vf, vt, a in expected_patches)
    assert [(*r[:9], sorted(r[9])) for r in got] == want
    got = wh.execute("""
        select account_id, aws_region, instance_id, valid_from, valid_to, is_deleted,
            compliance_status, baseline_id, execution_type
        from history.instance_compliance order by all""").fetchall()
    want = sorted((*k, vf, vt, *a[:4]) for k, vf, vt, a in expected_instances)
    assert got == want


def test_rebuild_recomputes_everything_identically(warehouse_path, tmp_path):
    copy = tmp_path / "copy.duckdb"
    shutil.copy(warehouse_path, copy)
    con = connect(copy)
    before = snapshot(con)
    loads = con.execute("select count(*) from landing.loads").fetchall()[0][0]
    con.close()
    summary = rebuild(copy)
    con = connect(copy, read_only=True)
    try:
        assert snapshot(con) == before
        assert summary.items == con.execute("select count(*) from landing.configuration_items").fetchall()[0][0]
        assert con.execute("select source, status from landing.loads where load_id = ?",
                           [loads + 1]).fetchall() == [("rebuild", "succeeded")]
    finally:
        con.close()


def _instance_attributes(item):
    """Every tracked attribute of history.instance_compliance; the first four are compared."""
    if item.deleted:
        return (True, None, None, None)
    s = item.summary or {}
    states = tuple(sum(p["PatchState"] == state for p in item.patches.values()) for state in
                   ("Installed", "InstalledOther", "InstalledPendingReboot", "InstalledRejected",
                    "Missing", "Failed", "NotApplicable", "AvailableSecurityUpdate"))
    counts = tuple(int(s[f"NonCompliant{level}Count"]) for level in
                   ("Critical", "High", "Medium", "Low", "Informational", "Unspecified"))
    return (False, s.get("Status"), s.get("PatchBaselineId") or None, s.get("ExecutionType"),
            s.get("OverallSeverity"), s.get("PatchGroup") or None, len(item.patches), states, counts)


def _patch_attributes(body):
    if body is None:
        return None
    cve = tuple(sorted(c.strip() for c in (body.get("CVEIds") or "").split(",") if c.strip()))
    return (body["PatchState"], body.get("Severity"), body.get("PatchSeverity"), cve,
            body.get("Title"), body.get("Classification"), body.get("InstalledTime"),
            body.get("Status"), body.get("PatchBaselineId"), body.get("PatchGroup"))

