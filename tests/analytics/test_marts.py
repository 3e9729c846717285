"""Every analytics mart and macro against a plain-Python computation on the simulator's items."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, timedelta

import pytest
from analyticskit import (
    DAY,
    NON_COMPLIANT,
    end_of_day,
    episodes,
    latest_at,
    live_instances,
    midnight,
    parse_time,
    quantile_cont,
)
from conftest import AS_OF

TIMES = ["2026-01-15T00:00:00Z", "2026-02-14T08:30:00Z", "2026-03-10T00:00:00Z",
         "2026-03-14T23:00:00Z", "2026-03-15T00:00:00Z", AS_OF]
PRESETS = {"pci-dss-4.0": ({"CRITICAL": 30}, "severity"),
           "fedramp": ({"CRITICAL": 30, "HIGH": 30, "MEDIUM": 90, "LOW": 180}, "severity"),
           "internal": ({"CRITICAL": 14, "HIGH": 30, "MEDIUM": 90, "LOW": 180}, "severity"),
           "acme": ({"CRITICAL": 7, "HIGH": 30, "MEDIUM": 90, "LOW": 180}, "highest")}


def _episode_row(e):
    return (*e.key, e.patch_id, e.opened_at, e.closed_at, e.close_reason, e.severity,
            e.vendor_level, sorted(e.cves), e.closed_at is None)


def test_remediation_episodes(wh, instances):
    want = sorted(_episode_row(e) for e in episodes(instances))
    got = wh.execute("""
        select account_id, aws_region, instance_id, patch_id, opened_at, closed_at, close_reason,
            severity, vendor_level, cve_ids, is_open
        from marts.remediation_episodes order by all""").fetchall()
    assert got == want
    reasons = {r[6] for r in got}
    assert {"installed", "instance_deleted", None} <= reasons
    reopened = wh.execute("select count(*) from marts.remediation_episodes where episode_no > 1").fetchall()
    durations = wh.execute("select duration_days, opened_at, closed_at from marts.remediation_episodes "
                           "where not is_open").fetchall()
    assert all(abs(d - (c - o).total_seconds() / 86400) < 1e-9 for d, o, c in durations)
    assert reopened[0][0] >= 0


@pytest.mark.parametrize("text", TIMES)
def test_episodes_and_missing_patches_as_of(wh, instances, text):
    moment = parse_time(text)
    seen = episodes(instances, upto=moment)
    got = wh.execute("""
        select account_id, aws_region, instance_id, patch_id, opened_at, closed_at, close_reason,
            severity, vendor_level, cve_ids, is_open
        from marts.remediation_episodes_as_of(?) order by all""", [moment]).fetchall()
    assert got == sorted(_episode_row(e) for e in seen)
    want = sorted((*e.key, e.patch_id, e.states[-1], e.opened_at,
                   math.floor((moment - e.opened_at).total_seconds() / 86400), e.severity)
                  for e in seen if e.closed_at is None)
    got = wh.execute("""
        select account_id, aws_region, instance_id, patch_id, state, first_seen_missing,
            days_missing, severity
        from marts.missing_patches_as_of(?) order by all""", [moment]).fetchall()
    assert got == want and got
    assert {r[4] for r in got} <= set(NON_COMPLIANT)


def test_not_applicable_is_never_missing(wh):
    assert wh.execute("select count(*) from marts.missing_patches_as_of(?) where state = 'NotApplicable'",
                      [AS_OF]).fetchall() == [(0,)]
    assert wh.execute("select count(*) from marts.patch_state_as_of(?) where state = 'NotApplicable'",
                      [AS_OF]).fetchall()[0][0] > 0


def test_current_missing_patches_is_as_of_the_data_as_of_time(wh):
    got = wh.execute("select * from marts.current_missing_patches order by all").fetchall()
    want = wh.execute("select * from marts.missing_patches_as_of(marts.data_as_of()) "
                      "order by all").fetchall()
    assert got == want and got
    # nothing is known after the data-as-of time: "now" differs only in days_missing
    later = wh.execute("select * exclude (days_missing) from marts.missing_patches_as_of(now()) "
                       "order by all").fetchall()
    assert later == wh.execute("select * exclude (days_missing) from marts.current_missing_patches "
                               "order by all").fetchall()


def _ttr(eps):
    groups = defaultdict(list)
    for e in eps:
        if e.close_reason == "installed":
            groups[(e.severity, e.key[0])].append(e.duration_days)
            groups[(e.severity, "all")].append(e.duration_days)
    return {k: (len(v), sum(v) / len(v), quantile_cont(v, 0.5), quantile_cont(v, 0.9), max(v))
            for k, v in groups.items()}


def _close(a, b):
    return all(x == y if isinstance(x, int) else abs(x - y) < 1e-6 for x, y in zip(a, b, strict=True))


def test_time_to_remediate(wh, instances):
    want = _ttr(episodes(instances))
    got = {(r[0], r[1]): r[2:] for r in wh.execute("select * from marts.time_to_remediate").fetchall()}
    assert got.keys() == want.keys() and len(got) > 4
    assert all(_close(got[k], want[k]) for k in want)
    start, end = parse_time("2026-02-01T00:00:00Z"), parse_time("2026-03-01T00:00:00Z")
    want = _ttr([e for e in episodes(instances) if e.closed_at and start <= e.closed_at < end])
    got = {(r[0], r[1]): r[2:] for r in wh.execute(
        "select * from marts.time_to_remediate_between(?, ?)", [start, end]).fetchall()}
    assert got.keys() == want.keys() and all(_close(got[k], want[k]) for k in want)


def _sla_severity(e, source):
    if source == "severity":
        return e.severity
    if source == "vendor":
        return e.vendor_level
    rank = {"INFORMATIONAL": 1, "LOW": 2, "MEDIUM": 3, "HIGH": 4, "CRITICAL": 5}
    return e.vendor_level if rank.get(e.vendor_level, 0) > rank.get(e.severity, 0) else e.severity


def _waived(e, waivers, moment):
    matching = []
    for w in waivers:
        start = midnight(w.starts_on) if w.starts_on else None
        if start is not None and moment < start or moment >= midnight(w.expires_on):
            continue
        checks = [(w.account_id, e.key[0]), (w.aws_region, e.key[1]), (w.patch_group, e.patch_group),
                  (w.instance_id, e.key[2]), (w.patch_id, e.patch_id)]
        if all(scope is None or scope == value for scope, value in checks) and (
                w.cve_id is None or w.cve_id in e.cves):
            matching.append(w.waiver_id)
    return sorted(matching)


@pytest.mark.parametrize("policy", sorted(PRESETS))
@pytest.mark.parametrize("text", [TIMES[2], TIMES[3], TIMES[4], AS_OF])
def test_sla_status_and_breaches(wh, instances, waivers, policy, text):
    moment = parse_time(text)
    thresholds, source = PRESETS[policy]
    want = []
    for e in episodes(instances, upto=moment):
        severity = _sla_severity(e, source)
        if e.closed_at is not None or severity not in thresholds:
            continue
        due = e.opened_at + timedelta(days=thresholds[severity])
        want.append((*e.key, e.patch_id, severity, due, moment > due, _waived(e, waivers, moment)))
    got = wh.execute("""
        select account_id, aws_region, instance_id, patch_id, sla_severity, due_at, is_breached,
            waiver_ids
        from marts.sla_status(?, ?) order by all""", [moment, policy]).fetchall()
    assert got == sorted(want)
    breaches = wh.execute("select account_id, aws_region, instance_id, patch_id from "
                          "marts.sla_breaches(?, ?) order by all", [moment, policy]).fetchall()
    assert breaches == [tuple(w[:4]) for w in sorted(want) if w[6] and not w[7]]


def test_waivers_apply_until_their_expiry_date(wh, waivers):
    """W-2 expires on 2026-03-15: it exempts its CVE on the 14th, not from the 15th on."""
    w2 = next(w for w in waivers if w.waiver_id == "W-2")
    status = "select count(*) from marts.sla_status(?, 'acme') where list_contains(waiver_ids, 'W-2')"
    assert wh.execute(status, ["2026-03-14T23:59:59Z"]).fetchall()[0][0] > 0
    assert wh.execute(status, ["2026-03-15T00:00:00Z"]).fetchall() == [(0,)]
    assert w2.cve_id.startswith("CVE-")


def test_sla_for_takes_thresholds_directly(wh):
    thresholds = [{"severity": "CRITICAL", "max_days": 30, "severity_source": "severity"}]
    direct = wh.execute("select * from marts.sla_status_for(?, ?) order by all", [AS_OF, thresholds]).fetchall()
    named = wh.execute("select * from marts.sla_status(?, 'pci-dss-4.0') order by all", [AS_OF]).fetchall()
    assert direct == named


@pytest.mark.parametrize("max_age", [2, 7, 30])
def test_scan_staleness(wh, instances, max_age):
    moment = parse_time(AS_OF)
    want = []
    for key in live_instances(instances, moment):
        last = latest_at(instances[key], moment)
        want.append((*key, last.captured_at, (moment - last.captured_at) > timedelta(days=max_age)))
    got = wh.execute("select account_id, aws_region, instance_id, last_captured_at, is_stale "
                     "from marts.scan_staleness(?, ?) order by all", [moment, max_age]).fetchall()
    assert got == sorted(want)


def test_overwrite_anomalies(wh, instances):
    want = []
    for key, seq in instances.items():
        for before, after in zip(seq, seq[1:], strict=False):
            if before.summary is None or after.summary is None:
                continue
            old = (before.summary["PatchBaselineId"], before.summary["ExecutionType"])
            new = (after.summary["PatchBaselineId"], after.summary["ExecutionType"])
            if old != new:
                want.append((*key, before.captured_at, after.captured_at, *old, *new))
    got = wh.execute("""
        select account_id, aws_region, instance_id, previous_captured_at, captured_at,
            previous_baseline_id, previous_execution_type, baseline_id, execution_type
        from marts.overwrite_anomalies order by all""").fetchall()
    assert got == sorted(want) and any(r[6] == "PatchPolicy" or r[8] == "PatchPolicy" for r in got)


def test_cve_exposure(wh, instances):
    eps = episodes(instances)
    counts = defaultdict(int)
    for e in eps:
        for cve in e.cves:
            counts[cve] += 1
    windows = {cve for e in eps if e.patch_id.startswith("KB") for cve in e.cves}
    chosen = [max(counts, key=lambda c: (counts[c], c)), sorted(windows)[0]]
    for cve in chosen:
        want = sorted((*e.key, e.patch_id, e.opened_at, e.closed_at, e.closed_at is None)
                      for e in eps if cve in e.cves)
        got = wh.execute("""
            select account_id, aws_region, instance_id, patch_id, exposed_from, exposed_until, is_open
            from marts.cve_exposure(?) order by all""", [cve.lower()]).fetchall()
        assert got == want and got


def test_compliance_by_day(wh, instances):
    first, last = date(2026, 1, 1), date(2026, 3, 31)
    want = []
    day = first
    while day <= last:
        groups = defaultdict(lambda: [0, 0, 0, 0])
        for key, item in live_instances(instances, end_of_day(day)).items():
            s = item.summary or {}   # none when recording stopped (ResourceNotRecorded)
            counts = groups[(key[0], key[1], s.get("PatchGroup") or None, s.get("PatchBaselineId"))]
            counts[0] += 1
            counts[1] += s.get("Status") == "COMPLIANT"
            counts[2] += s.get("Status") == "NON_COMPLIANT"
            counts[3] += not item.recorded
        want += [(day, *g, *c, round(100.0 * c[1] / c[0], 2)) for g, c in groups.items()]
        day += DAY
    got = wh.execute("select * from marts.compliance_by_day('2026-01-01', '2026-03-31') order by all").fetchall()
    key = lambda r: tuple("" if v is None else v for v in r)  # noqa: E731
    assert sorted(got, key=key) == sorted(want, key=key)
    assert {r[0] for r in got} == {first + timedelta(days=n) for n in range(90)}


def test_item_provenance_names_each_items_file_and_its_hash(wh, fleet_dir):
    rows = wh.execute("""
        select p.ci_id, p.object_uri, p.object_sha256, p.source_ref, i.source_ref
        from marts.item_provenance as p join landing.configuration_items as i using (ci_id)""").fetchall()
    assert len(rows) == wh.execute("select count(*) from landing.configuration_items").fetchall()[0][0]
    assert all(r[1] and r[2] and r[3] == r[4] for r in rows)
    recorded = dict(wh.execute("select uri, sha256 from landing.source_objects").fetchall())
    assert all(recorded[r[1]] == r[2] for r in rows)
    assert all(r[3] == r[1] or r[3].startswith(r[1] + "/") for r in rows)


def test_item_provenance_names_the_lake_query(con):
    """Rows read through the CloudTrail Lake API, or from its results delivered to S3, point to
    their query (id, store, window) and to the object recorded for it."""
    from datetime import UTC, datetime

    from factories import config_file_ci, lake_row
    from patchtrail.transforms.flatten import RawItem

    from patchtrail.run import Run
    from patchtrail.sources.base import SourceObject

    query_id = "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"
    delivered = f"s3://results/AWSLogs/111122223333/CloudTrail-Lake/Query/2026/03/02/{query_id}/result_1.csv.gz"
    items = [RawItem(lake_row(config_file_ci("2026-03-01T06:00:00.000Z")), "lake", query_id, "row 1"),
             RawItem(lake_row(config_file_ci("2026-03-02T06:00:00.000Z")), "lake", delivered, "line 3")]
    with Run(con, source="lake", warehouse=":memory:", parameters={}) as run:
        window = "lake://0a1b2c3d-4e5f-6789-abcd-ef0123456789/2026-03-01T00:00:00Z/2026-03-03T00:00:00Z"
        run.land(SourceObject(window, "lake_window"), items)
        con.execute("insert into landing.lake_queries (query_id, event_data_store, window_start, "
                    "window_end, status, load_id, recorded_at) values (?, ?, ?, ?, 'FINISHED', ?, ?)",
                    [query_id, "0a1b2c3d-4e5f-6789-abcd-ef0123456789",
                     datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC),
                     run.summary.load_id, datetime(2026, 3, 3, tzinfo=UTC)])
    rows = con.execute("select record_ref, lake_query_id, lake_window_start, object_uri "
                       "from marts.item_provenance order by record_ref").fetchall()
    assert [(r[0], r[1], r[2].day, r[3]) for r in rows] == [
        ("line 3", query_id, 1, window), ("row 1", query_id, 1, window)]
