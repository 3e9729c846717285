"""The append path of the history merge: in-order daily items are closed-and-inserted, the rest
recomputed, and both give exactly the history a full rebuild gives."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from factories import config_file_ci, patch

from patchtrail.analytics.rebuild import rebuild_connection
from patchtrail.warehouse import history

SQL = Path(__file__).resolve().parents[1] / "sql" / "warehouse" / "history"
HISTORY = ("select * from history.instance_compliance order by all",
           "select * from history.patch_state order by all")


def day(n: int, states: dict[str, str], *, instance: str = "i-0a1b2c3d4e5f67890", status: str = "OK"):
    return config_file_ci(f"2026-03-{n:02d}T06:00:00.000Z",
                          [patch(pid, state) for pid, state in states.items()],
                          instance=instance, status=status)


@pytest.fixture
def steps(monkeypatch):
    ran: list[str] = []
    real = history.sql.run

    def recording(con, name, **parameters):
        ran.append(name)
        return real(con, name, **parameters)

    monkeypatch.setattr(history.sql, "run", recording)
    return ran


def test_an_in_order_daily_item_is_appended_and_equals_a_rebuild(con, load, steps):
    load([day(1, {"A": "Missing", "B": "Installed"}), day(2, {"A": "Missing", "B": "Installed"}),
          day(1, {"X": "Missing"}, instance="i-0fffffffffffffff1")])
    steps.clear()
    load([day(3, {"A": "Installed", "C": "Missing"}),          # A changes, B omitted, C appears
          day(4, {"X": "Missing"}, instance="i-0fffffffffffffff1"),   # nothing changes
          day(2, {"N": "Failed"}, instance="i-0eeeeeeeeeeeeeee1")])   # a new instance
    assert "history/append_patch_state" in steps and "history/recompute_versions" not in steps
    appended = [con.execute(sql).fetchall() for sql in HISTORY]
    rebuild_connection(con)
    assert [con.execute(sql).fetchall() for sql in HISTORY] == appended


def test_a_deletion_and_recording_stopping_are_appended_like_the_recompute(con, load, steps):
    load([day(1, {"A": "Missing"}), day(1, {"A": "Missing"}, instance="i-0fffffffffffffff1")])
    steps.clear()
    load([day(2, {}, status="ResourceDeleted"),
          day(2, {}, instance="i-0fffffffffffffff1", status="ResourceNotRecorded")])
    assert "history/append_patch_state" in steps and "history/recompute_versions" not in steps
    appended = [con.execute(sql).fetchall() for sql in HISTORY]
    rebuild_connection(con)
    assert [con.execute(sql).fetchall() for sql in HISTORY] == appended


def test_a_late_item_is_recomputed(con, load, steps):
    load([day(1, {"A": "Missing"}), day(3, {"A": "Installed"})])
    steps.clear()
    load([day(2, {"A": "Failed"})])  # captured before the latest item: out of order
    assert "history/recompute_versions" in steps and "history/append_patch_state" not in steps
    recomputed = [con.execute(sql).fetchall() for sql in HISTORY]
    rebuild_connection(con)
    assert [con.execute(sql).fetchall() for sql in HISTORY] == recomputed


def _tracked(name: str, function: str) -> list[list[str]]:
    """The attribute lists of the `function` calls (struct_pack or hash) in a history SQL file,
    without table aliases."""
    text = "\n".join(line for line in (SQL / f"{name}.sql").read_text().splitlines()
                     if not line.lstrip().startswith("--"))
    packs = re.findall(rf"\b{function}\(([^()]*)\)", text)
    return [[column.strip().split(".")[-1] for column in pack.split(",")] for pack in packs]


@pytest.mark.parametrize("table,function", [("instance_compliance", "struct_pack"),
                                            ("patch_state", "hash")])
def test_append_and_recompute_track_the_same_attributes(table, function):
    recomputed = _tracked(f"recomputed_{table}", function)
    appended = _tracked(f"append_{table}", function)
    assert len(recomputed) == 1 and len(appended) == 2
    assert appended[0] == appended[1] == recomputed[0]
