"""Fleet layout: accounts, regions, patch baselines and the managed instances with their lifetimes."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace
from datetime import date

from patchtrail.devkit.simulator.catalog import (
    DAY_MS,
    FLAVOURS,
    HOUR_MS,
    LINUX_FLAVOURS,
    WINDOWS_FLAVOURS,
    Catalog,
    build_catalogs,
)

REGIONS = ("us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2", "eu-central-1",
           "ap-northeast-1", "ca-central-1", "sa-east-1", "eu-north-1", "ap-south-1")
PATCH_GROUPS = ("prod-web", "prod-web", "prod-db", "prod-app", "staging", "dev", "dev", "")
HISTORY_DAYS = 183  # releases this far before `start` shape the state at `start`
ORG_ID_PATTERN = re.compile(r"^o-[a-z0-9]{10,32}$")
_EPOCH = date(1970, 1, 1)
OS_FAMILIES = tuple(dict.fromkeys(FLAVOURS[k].os_family for k in WINDOWS_FLAVOURS + LINUX_FLAVOURS))


@dataclass(frozen=True)
class Baseline:
    """A patch baseline of one (account, region, OS family), plus the one a patch policy uses."""

    baseline_id: str
    policy_baseline_id: str
    approve_updates: bool  # Windows `Updates`, Linux `Bugfix` and `Enhancement` are approved too
    unspecified_levels: bool  # every approval rule has compliance level UNSPECIFIED


@dataclass(frozen=True)
class Instance:
    """One managed node and the habits that drive its timeline."""

    account_id: str
    region: str
    instance_id: str
    flavour: str
    arch: str
    patch_group: str
    baseline: Baseline
    scan_offset_ms: int  # daily scan time of day
    window_weekday: int  # weekly maintenance window (0 = Monday)
    window_hour: int
    no_reboot: bool  # installs with RebootOption NoReboot: pending reboot for days
    has_dotnet: bool
    ami_ms: int  # image build time: releases before it are baked in
    join_ms: int | None  # None: managed before the simulation starts
    end_ms: int | None  # termination time, None: survives
    rng_key: str

    @property
    def platform(self) -> str:
        return FLAVOURS[self.flavour].platform

    @property
    def hybrid(self) -> bool:
        return self.instance_id.startswith("mi-")

    @property
    def resource_id(self) -> str:
        return f"AWS::SSM::ManagedInstanceInventory/{self.instance_id}"


@dataclass(frozen=True)
class Fleet:
    """The whole simulated estate and the catalogue it patches from."""

    seed: int
    start_ms: int
    end_ms: int
    window_start_ms: int
    account_ids: tuple[str, ...]
    regions: tuple[str, ...]
    org_id: str | None
    instances: tuple[Instance, ...]
    catalogs: dict[str, Catalog]


def plan_fleet(*, accounts: int, regions: int, instances: int, days: int, seed: int,
               start: date, org_id: str | None) -> Fleet:
    """Lay out accounts, regions and instances (including joiners and terminations)."""
    _check(accounts=accounts, regions=regions, instances=instances, days=days, org_id=org_id)
    rng = random.Random(f"{seed}:fleet")
    start_ms = (start - _EPOCH).days * DAY_MS
    end_ms = start_ms + days * DAY_MS
    window_start_ms = start_ms - HISTORY_DAYS * DAY_MS
    account_ids = tuple(dict.fromkeys(f"{rng.randint(10**11, 10**12 - 1)}"
                                      for _ in range(accounts)))
    while len(account_ids) < accounts:
        account_ids += (f"{rng.randint(10**11, 10**12 - 1)}",)
    catalogs = build_catalogs(seed=seed, window_start_ms=window_start_ms, end_ms=end_ms)
    fleet_instances: list[Instance] = []
    for account_id in account_ids:
        for region in REGIONS[:regions]:
            baselines = {family: _baseline(rng) for family in OS_FAMILIES}
            n_join = round(instances * 0.15 * days / 120 + rng.random() - 0.5)
            if days >= 14:
                n_join = max(n_join, 1)
            group = [_instance(rng, account_id, region, baselines, start_ms=start_ms,
                               end_ms=end_ms, window_start_ms=window_start_ms, days=days,
                               joiner=n >= instances, rng_key=f"{seed}:{account_id}:{region}:{n}")
                     for n in range(instances + n_join)]
            if days >= 14 and instances >= 3 and all(i.end_ms is None for i in group):
                index = rng.randrange(instances)
                group[index] = _terminated(group[index], rng, start_ms, end_ms)
            fleet_instances.extend(group)
    return Fleet(seed, start_ms, end_ms, window_start_ms, account_ids, REGIONS[:regions], org_id,
                 tuple(fleet_instances), catalogs)


def _check(*, accounts: int, regions: int, instances: int, days: int,
           org_id: str | None) -> None:
    if not 1 <= regions <= len(REGIONS):
        raise ValueError(f"regions={regions}: expected 1..{len(REGIONS)}")
    if accounts < 1 or instances < 1 or days < 1:
        raise ValueError(f"accounts={accounts}, instances={instances}, days={days}: "
                         "each must be at least 1")
    if org_id is not None and not ORG_ID_PATTERN.match(org_id):
        raise ValueError(f"org_id {org_id!r} does not match {ORG_ID_PATTERN.pattern}")


def _hex(rng: random.Random, n: int = 17) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"


def _baseline(rng: random.Random) -> Baseline:
    return Baseline(f"pb-{_hex(rng)}", f"pb-{_hex(rng)}", rng.random() < 0.5, rng.random() < 0.2)


def _instance(rng: random.Random, account_id: str, region: str, baselines: dict[str, Baseline],
              *, start_ms: int, end_ms: int, window_start_ms: int, days: int, joiner: bool,
              rng_key: str) -> Instance:
    windows = rng.random() < 0.4
    flavour = rng.choice(WINDOWS_FLAVOURS if windows else LINUX_FLAVOURS)
    hybrid = rng.random() < 0.05
    instance_id = f"{'mi' if hybrid else 'i'}-{_hex(rng)}"
    arch = "x86_64" if windows or rng.random() < 0.75 else "aarch64"
    join_ms = None
    if joiner:  # joins between day 1 and three days before the end
        last = max(1, days - 3)
        join_ms = start_ms + rng.randint(1, last) * DAY_MS + rng.randrange(DAY_MS // 1000) * 1000
        join_ms = min(join_ms, end_ms - 2 * DAY_MS) if days > 3 else start_ms + HOUR_MS
    base_ms = join_ms if join_ms is not None else window_start_ms
    ami_ms = base_ms - rng.randint(15, 300) * DAY_MS - rng.randrange(DAY_MS // 1000) * 1000
    end = None
    if rng.random() < 0.08 * days / 120:
        begin = (join_ms or start_ms) + 3 * DAY_MS
        if begin < end_ms - 2 * DAY_MS:
            end = rng.randrange(begin // 1000, (end_ms - 2 * DAY_MS) // 1000) * 1000
    return Instance(
        account_id=account_id, region=region, instance_id=instance_id, flavour=flavour,
        arch=arch, patch_group=rng.choice(PATCH_GROUPS),
        baseline=baselines[FLAVOURS[flavour].os_family],
        scan_offset_ms=rng.randrange(30 * 60_000, 21 * HOUR_MS),
        window_weekday=rng.randrange(7), window_hour=rng.randrange(24),
        no_reboot=rng.random() < 0.35, has_dotnet=rng.random() < 0.85, ami_ms=ami_ms,
        join_ms=join_ms, end_ms=end, rng_key=rng_key)


def _terminated(instance: Instance, rng: random.Random, start_ms: int, end_ms: int) -> Instance:
    """The same initial instance, terminated at a random time (each group gets at least one)."""
    end = rng.randrange((start_ms + 5 * DAY_MS) // 1000, (end_ms - 2 * DAY_MS) // 1000) * 1000
    return replace(instance, end_ms=end)
