"""Remediation episodes on hand-made histories: every way an episode opens, continues and closes."""

from __future__ import annotations

from analyticskit import by_instance, episodes, item_of
from factories import config_file_ci, patch


def day(d: int, patches=None, **kw):
    return config_file_ci(f"2026-03-{d:02d}T06:00:00.000Z", patches, **kw)


def _episodes(con):
    return con.execute("""
        select patch_id, episode_no, strftime(opened_at, '%d'), strftime(closed_at, '%d'), close_reason,
            opened_state, state, severity, is_remediated
        from marts.remediation_episodes order by patch_id, episode_no""").fetchall()


def _reference(items):
    rows = []
    for e in episodes(by_instance([item_of(ci) for ci in items])):
        rows.append((e.patch_id, e.opened_at.strftime("%d"),
                     e.closed_at.strftime("%d") if e.closed_at else None, e.close_reason))
    return sorted(rows)


def test_every_close_reason(con, load):
    items = [
        day(1, [patch("A", "Missing"), patch("B", "Missing"), patch("C", "Missing"),
                patch("D", "AvailableSecurityUpdate", status="NON_COMPLIANT"), patch("E", "Missing")]),
        day(3, [patch("A", "Failed"), patch("B", "NotApplicable", status=""), patch("C", "Missing"),
                patch("D", "AvailableSecurityUpdate", status="COMPLIANT"), patch("E", "Missing")]),
        day(5, [patch("A", "InstalledPendingReboot", severity="UNSPECIFIED"),
                patch("B", "NotApplicable", status=""), patch("E", "Missing")]),
        day(7, [patch("A", "Installed"), patch("C", "Missing"), patch("E", "Missing")]),
        day(9, status="ResourceDeleted"),
    ]
    load(items)
    assert _episodes(con) == [
        # Missing -> Failed -> pending reboot -> Installed: one episode, highest severity kept
        ("A", 1, "01", "07", "installed", "Missing", "InstalledPendingReboot", "CRITICAL", True),
        ("B", 1, "01", "03", "not_applicable", "Missing", "Missing", "CRITICAL", False),
        # C is left out of the day-5 item: the episode ends; it comes back missing: a new one
        ("C", 1, "01", "05", "not_reported", "Missing", "Missing", "CRITICAL", False),
        ("C", 2, "07", "09", "instance_deleted", "Missing", "Missing", "CRITICAL", False),
        ("D", 1, "01", "03", "compliant", "AvailableSecurityUpdate", "AvailableSecurityUpdate",
         "CRITICAL", False),
        ("E", 1, "01", "09", "instance_deleted", "Missing", "Missing", "CRITICAL", False),
    ]
    assert [(r[0], r[2], r[3], r[4]) for r in _episodes(con)] == _reference(items)


def test_as_of_sees_only_what_was_known_by_then(con, load):
    load([day(1, [patch("A", "Missing")]), day(4, [patch("A", "Failed")]), day(8, [patch("A")])])
    rows = con.execute("""
        select strftime(opened_at, '%d'), is_open, state, closed_at
        from marts.remediation_episodes_as_of('2026-03-05')""").fetchall()
    assert rows == [("01", True, "Failed", None)]
    missing = con.execute("select days_missing, strftime(first_seen_missing, '%d') "
                          "from marts.missing_patches_as_of('2026-03-05T07:00:00Z')").fetchall()
    assert missing == [(4, "01")]
    assert con.execute("select count(*) from marts.missing_patches_as_of('2026-03-08T07:00:00Z')"
                       ).fetchall() == [(0,)]


def test_late_item_splits_an_episode(con, load):
    """An item arriving late that shows the patch installed in between closes the first episode
    and opens a second one (reopening)."""
    load([day(1, [patch("A", "Missing")]), day(9, [patch("A", "Missing")]), day(12, [patch("A")])])
    assert [r[:5] for r in _episodes(con)] == [("A", 1, "01", "12", "installed")]
    load([day(5, [patch("A")])])
    assert [r[:5] for r in _episodes(con)] == [("A", 1, "01", "05", "installed"),
                                               ("A", 2, "09", "12", "installed")]


def test_not_recorded_and_unknown_state_end_episodes_without_a_fix(con, load):
    """Recording stopped (ResourceNotRecorded) or a PatchState AWS never defined: the episode ends
    where the evidence ends, never as a remediation, and the instance stays live, counted as not
    recorded rather than compliant or non-compliant."""
    items = [
        day(1, [patch("A", "Missing"), patch("B", "Missing")]),
        day(3, [patch("A", "Missing"), patch("B", "Reinstalled")]),
        day(5, status="ResourceNotRecorded"),
    ]
    load(items)
    assert [r[:5] + r[8:] for r in _episodes(con)] == [
        ("A", 1, "01", "05", "not_recorded", False),
        ("B", 1, "01", "03", "unknown_state", False),
    ]
    assert [(r[0], r[2], r[3], r[4]) for r in _episodes(con)] == _reference(items)
    fleet = con.execute("select instances, compliant, non_compliant, not_recorded "
                        "from marts.fleet_summary").fetchone()
    assert fleet == (1, 0, 0, 1)
    by_day = con.execute("""
        select strftime(day, '%d'), managed_instances, non_compliant_instances, not_recorded_instances
        from marts.compliance_by_day('2026-03-04', '2026-03-05') order by day""").fetchall()
    assert by_day == [("04", 1, 1, 0), ("05", 1, 0, 1)]
