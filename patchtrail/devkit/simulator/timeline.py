"""Per-instance patch timelines: plans from the catalogue, daily scans, DAILY-recorded patch CIs."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from patchtrail.devkit.simulator.catalog import (
    CORE_PACKAGES,
    DAY_MS,
    HOUR_MS,
    Catalog,
    Release,
    linux_patch_id,
    linux_title,
)
from patchtrail.devkit.simulator.fleet import Fleet, Instance
from patchtrail.devkit.simulator.items import (
    PATCH_TYPE,
    PatchView,
    compliance_summary,
    configuration_item,
    iso_seconds,
    patch_configuration,
    patch_entry,
)

Plan = list[tuple[int, PatchView]]  # (visible from, view), ordered; the last visible entry wins

#: Patching discipline per instance: (share of the fleet, delay factor, never-remediated rate).
#: Diligent teams patch within days and leave almost nothing behind; neglected ones do not.
DISCIPLINES = ((0.45, 0.25, 0.002), (0.40, 1.0, 0.03), (0.15, 2.0, 0.12))
INSTALL_FAILS = 0.06
REJECTED_INSTANCES = 0.03
ANOMALY_PER_SCAN = 0.008
STRING_ITEM_RATE = 0.03
STRING_COUNT_RATE = 0.10
MAX_CAPTURE_LAG_MS = 25 * 60_000
DELAY_DAYS = {"Critical": (1, 6), "Important": (3, 20), "Moderate": (10, 45),
              "Medium": (10, 45), "Low": (30, 100), "Unspecified": (3, 25), "": (5, 40)}
LEVEL_BY_SEVERITY = {"Critical": "CRITICAL", "Important": "HIGH", "Moderate": "MEDIUM",
                     "Medium": "MEDIUM", "Low": "LOW", "Unspecified": "INFORMATIONAL",
                     "": "UNSPECIFIED"}
NOT_APPLICABLE = PatchView("", "NotApplicable", "", "", "", "", "UNSPECIFIED")


def patch_items(instance: Instance, fleet: Fleet) -> Iterator[dict[str, Any]]:
    """Yield the instance's `AWS::SSM::PatchCompliance` CIs (file dialect) in capture order.

    A CI is recorded only when a daily scan's content differs from the previous CI (DAILY
    recording); a terminated instance ends with one `ResourceDeleted` CI."""
    plans = patch_plans(instance, fleet.catalogs[instance.flavour],
                        random.Random(f"{instance.rng_key}:plan"), fleet.start_ms, fleet.end_ms)
    rng = random.Random(f"{instance.rng_key}:scan")
    keys, timelines = list(plans), list(plans.values())
    pointers = [-1] * len(keys)
    current: list[PatchView | None] = [None] * len(keys)
    previous: tuple[Any, ...] | None = None
    last_capture, anomaly = 0, False
    for scan_ms in scan_times(instance, fleet, rng):
        for i, timeline in enumerate(timelines):
            p = pointers[i]
            while p + 1 < len(timeline) and timeline[p + 1][0] <= scan_ms:
                p += 1
            if p != pointers[i]:
                pointers[i], current[i] = p, timeline[p][1]
        anomaly = previous is not None and not anomaly and rng.random() < ANOMALY_PER_SCAN
        signature = (tuple(current), anomaly)
        if signature == previous:
            continue
        status = "ResourceDiscovered" if previous is None and instance.join_ms else "OK"
        previous = signature
        last_capture = scan_ms + rng.randrange(20_000, MAX_CAPTURE_LAG_MS)
        baseline = instance.baseline
        baseline_id = baseline.policy_baseline_id if anomaly else baseline.baseline_id
        patches = {key: patch_entry(key, view, baseline_id=baseline_id,
                                    patch_group=instance.patch_group)
                   for key, view in zip(keys, current, strict=True) if view is not None}
        summary = compliance_summary(
            patches, execution_type="PatchPolicy" if anomaly else "Command",
            baseline_id=baseline_id, patch_group=instance.patch_group,
            counts_as_strings=rng.random() < STRING_COUNT_RATE)
        configuration = patch_configuration(summary, patches,
                                            as_string=rng.random() < STRING_ITEM_RATE)
        yield _item(instance, last_capture, status, configuration)
    if instance.end_ms is not None and last_capture:
        deleted = max(instance.end_ms + rng.randrange(60_000, 40 * 60_000), last_capture + 1000)
        yield _item(instance, deleted, "ResourceDeleted", None)


def scan_times(instance: Instance, fleet: Fleet, rng: random.Random) -> Iterator[int]:
    """Daily scans at the instance's time of day (ms precision); a joiner scans soon after joining."""
    first = fleet.start_ms
    if instance.join_ms is not None:
        first = instance.join_ms + rng.randrange(20 * 60_000, 60 * 60_000)
        yield first
        first += HOUR_MS
    stop = min(fleet.end_ms - MAX_CAPTURE_LAG_MS, instance.end_ms or fleet.end_ms)
    for day_ms in range(fleet.start_ms, fleet.end_ms, DAY_MS):
        scan_ms = day_ms + instance.scan_offset_ms + rng.randrange(-600_000, 600_000)
        if scan_ms >= stop:
            return
        if scan_ms >= first:
            yield scan_ms


def patch_plans(instance: Instance, catalog: Catalog, rng: random.Random, start_ms: int,
                end_ms: int) -> dict[str, Plan]:
    """The timeline of every patch key the instance ever reports, in report order."""
    planner = _Planner(instance, rng)
    if instance.platform == "Windows":
        plans = planner.windows(catalog)
    else:
        plans = planner.linux(catalog)
    if rng.random() < REJECTED_INSTANCES:  # the baseline starts rejecting an installed patch
        candidates = [k for k, plan in plans.items()
                      if len(plan) == 1 and plan[0][1].state == "InstalledOther"]
        if candidates:
            key = rng.choice(candidates)
            at = rng.randrange(start_ms, end_ms)
            plans[key].append((at, plans[key][0][1]._replace(state="InstalledRejected")))
    return plans


class _Planner:
    """Turns catalogue releases into per-patch plans for one instance."""

    def __init__(self, instance: Instance, rng: random.Random) -> None:
        self.instance, self.rng = instance, rng
        self.windows_os = instance.platform == "Windows"
        self.visible_from = instance.join_ms or 0
        draw = random.Random(f"{instance.rng_key}:discipline").random()
        for share, delay_factor, never in DISCIPLINES:
            self.delay_factor, self.never_remediated = delay_factor, never
            if draw < share:
                break
            draw -= share

    def windows(self, catalog: Catalog) -> dict[str, Plan]:
        rng, ami, plans = self.rng, self.instance.ami_ms, {}
        for kb in rng.sample(catalog.old_kbs, rng.randint(9, 16)):
            installed = self._installed_time(ami - rng.randrange(0, 700) * DAY_MS)
            plans[kb] = [(-1, PatchView("", "InstalledOther", "", "", installed, "", "UNSPECIFIED"))]
        for kb in rng.sample(catalog.old_not_applicable, rng.randint(4, 8)):
            plans[kb] = [(-1, NOT_APPLICABLE)]
        for release in catalog.releases:
            approved = release.classification != "Updates" or self.instance.baseline.approve_updates
            if release.not_applicable or (release.kind == "dotnet" and not self.instance.has_dotnet):
                plans[release.key] = [(self._visible(release), NOT_APPLICABLE)]
            elif release.released_ms <= ami:
                state = "Installed" if approved else "InstalledOther"
                plans[release.key] = [(-1, self._done(release, release.version, state, ami))]
            elif approved:
                self._remediate(plans, release, release.version)
        return plans

    def linux(self, catalog: Catalog) -> dict[str, Plan]:
        rng, ami, arch = self.rng, self.instance.ami_ms, self.instance.arch
        others = [p for p in catalog.packages if p not in CORE_PACKAGES]
        count = rng.randint(50, min(95, len(catalog.packages))) - len(CORE_PACKAGES)
        chosen = set(CORE_PACKAGES) | set(rng.sample(others, count))
        assert catalog.initial_versions is not None
        plans: dict[str, Plan] = {}
        names: dict[str, str] = {}
        for package in catalog.packages:
            if package in chosen:
                key = names[package] = linux_patch_id(package, arch)
                installed = self._installed_time(ami + rng.randrange(0, 3600) * 1000)
                title = linux_title(package, arch, catalog.initial_versions[package])
                plans[key] = [(-1, PatchView(title, "InstalledOther", "", "", installed, "",
                                             "UNSPECIFIED"))]
        for release in catalog.releases:
            if release.key not in names:
                continue
            title = linux_title(release.key, arch, release.version)
            approved = release.classification == "Security" or self.instance.baseline.approve_updates
            if release.released_ms <= ami:
                state = "Installed" if approved else "InstalledOther"
                plans[names[release.key]] = [(-1, self._done(release, title, state, ami))]
            elif approved:
                self._remediate(plans, release, title, key=names[release.key])
        return plans

    def _visible(self, release: Release) -> int:
        return max(release.released_ms, self.visible_from)

    def _level(self, severity: str) -> str:
        if self.instance.baseline.unspecified_levels:
            return "UNSPECIFIED"
        return LEVEL_BY_SEVERITY.get(severity, "UNSPECIFIED")

    def _installed_time(self, ms: int) -> str:
        if self.windows_os:  # Windows reports the install date only
            ms -= ms % DAY_MS
        return iso_seconds(ms)

    def _done(self, release: Release, title: str, state: str, at_ms: int) -> PatchView:
        if state == "InstalledOther" and self.windows_os:
            return PatchView("", state, "", "", self._installed_time(at_ms), "", "UNSPECIFIED")
        severity, classification = ((release.severity, release.classification)
                                    if state != "InstalledOther" else ("", ""))
        return PatchView(title, state, severity, classification, self._installed_time(at_ms), "",
                         "UNSPECIFIED")

    def _remediate(self, plans: dict[str, Plan], release: Release, title: str,
                   key: str | None = None) -> None:
        """Missing from release (or join); installed after a severity-dependent delay."""
        rng, key = self.rng, key or release.key
        visible = self._visible(release)
        plan = [entry for entry in plans.get(key, []) if entry[0] < visible]
        missing = PatchView(title, "Missing", release.severity, release.classification, "",
                            release.cve_ids, self._level(release.severity))
        plan.append((visible, missing))
        plans[key] = plan
        if rng.random() < self.never_remediated:
            return
        low, high = DELAY_DAYS.get(release.severity, (5, 40))
        due = visible + int(rng.uniform(low, high) * self.delay_factor * DAY_MS)
        install = due - due % 1000 if release.severity == "Critical" else self._window(due)
        if rng.random() < INSTALL_FAILS:
            plan.append((install, missing._replace(state="Failed")))
            install = self._window(install + rng.randint(2, 20) * DAY_MS)
        installed = self._done(release, title, "Installed", install)
        if release.reboot and self.instance.no_reboot:
            plan.append((install, installed._replace(state="InstalledPendingReboot")))
            install += rng.randint(1, 3) * DAY_MS + rng.randrange(0, 4 * HOUR_MS)
        plan.append((install, installed))

    def _window(self, after_ms: int) -> int:
        """Start (plus a few minutes) of the first weekly maintenance window after `after_ms`."""
        day = after_ms // DAY_MS
        while True:
            start = day * DAY_MS + self.instance.window_hour * HOUR_MS
            if (day + 3) % 7 == self.instance.window_weekday and start > after_ms:
                return start + self.rng.randrange(60, 3000) * 1000
            day += 1


def _item(instance: Instance, capture_ms: int, status: str,
          configuration: dict[str, Any] | None) -> dict[str, Any]:
    return configuration_item(account_id=instance.account_id, region=instance.region,
                              resource_type=PATCH_TYPE, resource_id=instance.resource_id,
                              capture_ms=capture_ms, status=status, configuration=configuration)
