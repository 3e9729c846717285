"""Fast synthetic PatchCompliance CIs for benchmarks: many items, a fixed number of patches each."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any

from patchtrail.devkit.simulator.catalog import CORE_PACKAGES, DAY_MS, OTHER_PACKAGES
from patchtrail.devkit.simulator.items import (
    PATCH_TYPE,
    PatchView,
    compliance_summary,
    configuration_item,
    iso_seconds,
    patch_configuration,
    patch_entry,
)

ITEMS_PER_INSTANCE = 30
CHANGE_RATE = 0.03  # share of an instance's patches that change between two of its items
START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
_STATES = ("Installed", "InstalledOther", "Missing", "NotApplicable", "Failed",
           "InstalledPendingReboot")
_WINDOWS_WEIGHTS = (50, 22, 12, 12, 1, 3)
_LINUX_WEIGHTS = (55, 30, 12, 0, 1, 2)
_SEVERITIES = ("Critical", "Important", "Moderate", "Low", "Unspecified")
_LEVELS = {"Critical": "CRITICAL", "Important": "HIGH", "Moderate": "MEDIUM", "Medium": "MEDIUM",
           "Low": "LOW", "Unspecified": "INFORMATIONAL"}


def synthetic_items(n_items: int, n_patches: int, *, seed: int = 0) -> Iterator[dict[str, Any]]:
    """Yield `n_items` PatchCompliance CIs (Config-file dialect), `n_patches` patches each.

    Items form daily histories of about 30 items per instance, in capture-time order: between
    two items of an instance about 3% of its patches change state, so an SCD2 merge has real
    work to do. Every item is recorded as `OK` with an object `AWS:ComplianceItem`.

    Args:
        n_items: number of CIs to yield.
        n_patches: patches per CI (plus the `ComplianceSummary` entry).
        seed: the same seed yields the same items."""
    rng = random.Random(f"{seed}:synthetic")
    n_instances = max(1, math.ceil(n_items / ITEMS_PER_INSTANCE))
    instances = sorted((_SyntheticInstance(rng, n_patches, f"{seed}:{i}")
                        for i in range(n_instances)), key=lambda inst: inst.offset_ms)
    for index in range(n_items):
        instance = instances[index % n_instances]
        day = index // n_instances
        if day:
            instance.evolve(day)
        yield instance.item(START_MS + day * DAY_MS + instance.offset_ms)


class _SyntheticInstance:
    def __init__(self, rng: random.Random, n_patches: int, key: str) -> None:
        self.rng = random.Random(key)
        self.windows = rng.random() < 0.4
        self.account_id = f"{100_000_000_000 + rng.randrange(5) * 111_111_111_111}"
        self.region = rng.choice(("us-east-1", "eu-west-1"))
        self.instance_id = f"i-{rng.getrandbits(68):017x}"
        self.baseline_id = f"pb-{rng.getrandbits(68):017x}"
        self.group = rng.choice(("prod-web", "prod-db", "dev", ""))
        self.offset_ms = rng.randrange(DAY_MS - 3_600_000)
        ids = _windows_ids(rng, n_patches) if self.windows else _linux_ids(n_patches)
        weights = _WINDOWS_WEIGHTS if self.windows else _LINUX_WEIGHTS
        self.patches = [self._entry(pid, self.rng.choices(_STATES, weights)[0], 0) for pid in ids]

    def evolve(self, day: int) -> None:
        rng = self.rng
        for index in range(len(self.patches)):
            if rng.random() < CHANGE_RATE:
                entry = self.patches[index]
                state = {"Missing": "Installed", "Failed": "Installed",
                         "InstalledPendingReboot": "Installed", "Installed": "Missing",
                         "InstalledOther": "Missing"}.get(entry["PatchState"], "NotApplicable")
                self.patches[index] = self._entry(entry["Id"], state, day)

    def item(self, capture_ms: int) -> dict[str, Any]:
        patches = {entry["Id"]: dict(entry) for entry in self.patches}
        summary = compliance_summary(patches, execution_type="Command",
                                     baseline_id=self.baseline_id, patch_group=self.group)
        return configuration_item(
            account_id=self.account_id, region=self.region, resource_type=PATCH_TYPE,
            resource_id=f"AWS::SSM::ManagedInstanceInventory/{self.instance_id}",
            capture_ms=capture_ms, status="OK",
            configuration=patch_configuration(summary, patches))

    def _entry(self, patch_id: str, state: str, day: int) -> dict[str, str]:
        rng = self.rng
        if state == "NotApplicable" or (state == "InstalledOther" and self.windows):
            installed = "" if state == "NotApplicable" else iso_seconds(
                START_MS - rng.randrange(30, 900) * DAY_MS)
            view = PatchView("", state, "", "", installed, "", "UNSPECIFIED")
            return patch_entry(patch_id, view, baseline_id=self.baseline_id, patch_group=self.group)
        severity = rng.choice(_SEVERITIES)
        if self.windows:
            title = f"2026-01 Security Update for Windows Server 2022 for x64-based Systems ({patch_id})"
            classification = rng.choice(("SecurityUpdates", "CriticalUpdates", "UpdateRollups"))
        else:
            severity = "Medium" if severity == "Moderate" else severity
            title = f"{patch_id}:0:{rng.randint(1, 9)}.{rng.randint(0, 40)}.{day}-1.amzn2"
            classification = rng.choice(("Security", "Security", "Bugfix", "Enhancement"))
        installed = state.startswith("Installed")
        view = PatchView(
            title, state, "" if state == "InstalledOther" else severity,
            "" if state == "InstalledOther" else classification,
            iso_seconds(START_MS + day * DAY_MS - rng.randrange(1, 86_400) * 1000) if installed else "",
            f"CVE-2026-{rng.randint(1000, 59999)}"
            if state in ("Missing", "Failed") and classification.startswith("Security") else "",
            _LEVELS.get(severity, "UNSPECIFIED") if state in ("Missing", "Failed") else "UNSPECIFIED")
        return patch_entry(patch_id, view, baseline_id=self.baseline_id, patch_group=self.group)


def _windows_ids(rng: random.Random, n: int) -> list[str]:
    start = 4_000_000 + rng.randrange(1_000_000)
    return [f"KB{start + 37 * i}" for i in range(n)]


def _linux_ids(n: int) -> list[str]:
    names = list(CORE_PACKAGES + OTHER_PACKAGES)
    out = [f"{name}.x86_64" for name in names[:n]]
    suffix = 0
    while len(out) < n:
        suffix += 1
        out.extend(f"{name}-libs{suffix}.x86_64" for name in names[: n - len(out)])
    return out
