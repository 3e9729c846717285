"""Patch catalogue: monthly Windows KB releases and Linux package advisories per OS flavour."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Flavour:
    """An operating system the fleet runs; `os_family` is what a patch baseline is made for."""

    key: str
    platform: str  # "Windows" | "Linux"
    os_family: str
    name: str  # inventory PlatformName
    version: str  # inventory PlatformVersion
    product: str  # Windows product name in KB titles; Linux release suffix ("amzn2")


FLAVOURS: dict[str, Flavour] = {
    f.key: f
    for f in (
        Flavour("windows-2019", "Windows", "WINDOWS", "Microsoft Windows Server 2019 Datacenter",
                "10.0.17763", "Windows Server 2019"),
        Flavour("windows-2022", "Windows", "WINDOWS", "Microsoft Windows Server 2022 Datacenter",
                "10.0.20348", "Microsoft server operating system version 21H2"),
        Flavour("al2", "Linux", "AMAZON_LINUX_2", "Amazon Linux", "2", "amzn2"),
        Flavour("al2023", "Linux", "AMAZON_LINUX_2023", "Amazon Linux", "2023", "amzn2023"),
        Flavour("rhel8", "Linux", "REDHAT_ENTERPRISE_LINUX", "Red Hat Enterprise Linux", "8.10",
                "el8_10"),
    )
}
WINDOWS_FLAVOURS = ("windows-2019", "windows-2022")
LINUX_FLAVOURS = ("al2", "al2023", "rhel8")

# Packages every Linux instance has; the rest of the pool is sampled per instance.
CORE_PACKAGES = ("kernel", "glibc", "glibc-common", "openssl-libs", "openssh", "openssh-server",
                 "bash", "systemd", "systemd-libs", "curl", "libcurl", "sudo", "tzdata",
                 "ca-certificates", "python3", "python3-libs")
OTHER_PACKAGES = (
    "kernel-tools", "openssl", "openssh-clients", "systemd-udev", "vim-minimal", "vim-common",
    "krb5-libs", "nss", "nss-util", "nss-softokn", "nspr", "expat", "libxml2", "zlib", "xz-libs",
    "sqlite-libs", "rpm", "rpm-libs", "rpm-build-libs", "git", "perl-libs", "perl-interpreter",
    "libssh2", "gnutls", "libgcrypt", "libtasn1", "p11-kit", "cyrus-sasl-lib", "openldap", "dbus",
    "dbus-libs", "polkit", "libselinux", "libsepol", "shadow-utils", "util-linux", "libblkid",
    "libmount", "libuuid", "e2fsprogs", "e2fsprogs-libs", "binutils", "cpio", "tar", "gzip",
    "bzip2-libs", "unzip", "less", "grep", "sed", "gawk", "coreutils", "procps-ng", "libnghttp2",
    "libidn2", "pcre2", "libarchive", "libxslt", "libpng", "freetype", "libjpeg-turbo", "cronie",
    "rsyslog", "logrotate", "chrony", "NetworkManager", "dhcp-client", "bind-libs", "bind-utils",
    "libcap", "pam", "audit", "audit-libs", "libsolv", "amazon-ssm-agent", "grub2-tools", "kpartx",
    "device-mapper", "lvm2", "python3-pip", "python3-setuptools", "python3-urllib3",
    "python3-requests", "python3-jinja2", "yum", "dnf", "cloud-init", "grub2-common", "firewalld",
    "linux-firmware", "crypto-policies", "setup", "basesystem", "publicsuffix-list-dafsa",
    "libstdc++", "libgcc", "ncurses-libs", "readline", "file-libs", "libffi", "elfutils-libs",
)
NOARCH = frozenset({
    "tzdata", "ca-certificates", "python3-pip", "python3-setuptools", "python3-urllib3",
    "python3-requests", "python3-jinja2", "yum", "dnf", "cloud-init", "grub2-common", "firewalld",
    "linux-firmware", "crypto-policies", "setup", "basesystem", "publicsuffix-list-dafsa",
})
EPOCHS = {"openssl": 1, "openssl-libs": 1, "vim-minimal": 2, "vim-common": 2, "NetworkManager": 1,
          "dhcp-client": 12, "bind-libs": 32, "bind-utils": 32, "grub2-tools": 1,
          "grub2-common": 1, "device-mapper": 8, "lvm2": 8, "kpartx": 0, "perl-libs": 4,
          "perl-interpreter": 4}
REBOOT_PACKAGES = frozenset({"kernel", "glibc", "glibc-common", "systemd", "systemd-libs",
                             "linux-firmware", "openssl-libs"})


@dataclass(frozen=True)
class Release:
    """One released patch version: a Windows KB, or a new version of a Linux package.

    `key` is the KB id (Windows) or the package name without arch (Linux); `version` is the KB
    title (Windows) or `version-release` (Linux)."""

    key: str
    released_ms: int
    version: str
    classification: str
    severity: str
    cve_ids: str
    reboot: bool
    not_applicable: bool = False
    kind: str = ""  # Windows: "cu", "ssu", "dotnet", "msrt", "update", "na"


@dataclass(frozen=True)
class Catalog:
    """Everything released for one flavour between the catalogue start and the simulation end."""

    flavour: Flavour
    releases: tuple[Release, ...]  # ordered by released_ms
    packages: tuple[str, ...] = ()  # Linux package names available on the flavour
    initial_versions: dict[str, str] | None = None  # Linux: package -> version-release at start
    old_kbs: tuple[str, ...] = ()  # Windows: KBs installed outside any baseline long ago
    old_not_applicable: tuple[str, ...] = ()  # Windows: old KBs reported NotApplicable


def build_catalogs(*, seed: int, window_start_ms: int, end_ms: int) -> dict[str, Catalog]:
    """Return the catalogue of every flavour, releases between `window_start_ms` and `end_ms`."""
    rng = random.Random(f"{seed}:catalog")
    kb = _KbCounter(rng)
    catalogs: dict[str, Catalog] = {}
    for key in WINDOWS_FLAVOURS:
        catalogs[key] = _windows_catalog(FLAVOURS[key], rng, kb, window_start_ms, end_ms)
    for key in LINUX_FLAVOURS:
        catalogs[key] = _linux_catalog(FLAVOURS[key], rng, window_start_ms, end_ms)
    return catalogs


def linux_patch_id(package: str, arch: str) -> str:
    """`name.arch` as the agent reports it (`noarch` packages keep `noarch`)."""
    return f"{package}.{'noarch' if package in NOARCH else arch}"


def linux_title(package: str, arch: str, version: str) -> str:
    """`name.arch:epoch:version-release`, the yum/dnf patch title."""
    return f"{linux_patch_id(package, arch)}:{EPOCHS.get(package, 0)}:{version}"


def month_starts(start_ms: int, end_ms: int) -> list[date]:
    """First day of every calendar month overlapping [start_ms, end_ms)."""
    first = EPOCH + timedelta(milliseconds=start_ms)
    current, out = date(first.year, first.month, 1), []
    while date_ms(current) < end_ms:
        out.append(current)
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return out


def date_ms(day: date) -> int:
    """Epoch milliseconds of `day` at midnight UTC."""
    return (day - EPOCH).days * DAY_MS


def _patch_tuesday(month: date) -> date:
    first_tuesday = month + timedelta(days=(1 - month.weekday()) % 7)
    return first_tuesday + timedelta(days=7)


class _KbCounter:
    def __init__(self, rng: random.Random) -> None:
        self.rng, self.value = rng, 5_040_000 + rng.randint(0, 9_999)

    def next(self) -> str:
        self.value += self.rng.randint(3, 400)
        return f"KB{self.value}"


def _cves(rng: random.Random, year: int, low: int, high: int) -> str:
    ids = sorted({f"CVE-{year - (rng.random() < 0.2)}-{rng.randint(1000, 59999)}"
                  for _ in range(rng.randint(low, high))})
    return ",".join(ids)


def _windows_catalog(flavour: Flavour, rng: random.Random, kb: _KbCounter,
                     window_start_ms: int, end_ms: int) -> Catalog:
    product, releases = flavour.product, []
    for month in month_starts(window_start_ms, end_ms):
        tuesday = _patch_tuesday(month)
        at = date_ms(tuesday) + 18 * HOUR_MS
        if not window_start_ms <= at < end_ms:
            continue
        stamp, year = f"{tuesday:%Y-%m}", tuesday.year

        def add(kind: str, key: str, title: str, classification: str, severity: str,
                cves: str = "", reboot: bool = False, na: bool = False,
                _at: int = at) -> None:
            releases.append(Release(key, _at + len(releases) % 7 * 1000, title, classification,
                                    severity, cves, reboot, na, kind))

        cu = kb.next()
        add("cu", cu, f"{stamp} Cumulative Update for {product} for x64-based Systems ({cu})",
            "SecurityUpdates", "Critical" if rng.random() < 0.7 else "Important",
            _cves(rng, year, 2, 6), reboot=True)
        if rng.random() < 0.4:
            ssu = kb.next()
            add("ssu", ssu, f"{stamp} Servicing Stack Update for {product} for x64-based Systems "
                f"({ssu})", "CriticalUpdates", "Unspecified")
        if rng.random() < 0.7:
            net = kb.next()
            add("dotnet", net, f"{stamp} Cumulative Update for .NET Framework 3.5, 4.8 and 4.8.1 "
                f"for {product} for x64 ({net})", "SecurityUpdates", "Important",
                _cves(rng, year, 1, 3))
        msrt = 131 + (tuesday.year - 2025) * 12 + tuesday.month
        add("msrt", "KB890830", f"Windows Malicious Software Removal Tool x64 - v5.{msrt} "
            "(KB890830)", "UpdateRollups", "Unspecified")
        if rng.random() < 0.5:
            upd = kb.next()
            add("update", upd, f"{stamp} Update for {product} for x64-based Systems ({upd})",
                "Updates", rng.choice(("Moderate", "Low", "Unspecified")))
        for _ in range(rng.randint(1, 3)):
            na = kb.next()
            add("na", na, f"{stamp} Security Update for {product} Azure Edition ({na})",
                "SecurityUpdates", "Important", na=True)
    old_kbs = tuple(f"KB{rng.randint(4_000_000, 5_030_000)}" for _ in range(24))
    old_na = tuple(f"KB{rng.randint(2_000_000, 5_030_000)}" for _ in range(10))
    releases.sort(key=lambda r: (r.released_ms, r.key))
    return Catalog(flavour, tuple(releases), old_kbs=tuple(dict.fromkeys(old_kbs)),
                   old_not_applicable=tuple(dict.fromkeys(old_na)))


def _linux_catalog(flavour: Flavour, rng: random.Random, window_start_ms: int,
                   end_ms: int) -> Catalog:
    pool = list(OTHER_PACKAGES)
    rng.shuffle(pool)
    packages = CORE_PACKAGES + tuple(sorted(pool[: len(pool) * 9 // 10]))
    versions = {name: _initial_version(rng, name, flavour.product) for name in packages}
    initial = dict(versions)
    releases: list[Release] = []
    for month in month_starts(window_start_ms, end_ms):
        chosen = rng.sample(packages, rng.randint(10, 18))
        for name in chosen:
            at = date_ms(month) + rng.randrange(28 * DAY_MS // 1000) * 1000
            if not window_start_ms <= at < end_ms:
                continue
            versions[name] = _bump(rng, versions[name], flavour.product)
            roll = rng.random()
            if roll < 0.62:
                classification = "Security"
                severity = rng.choices(("Critical", "Important", "Medium", "Low"),
                                       (10, 35, 40, 15))[0]
                cves = _cves(rng, (EPOCH + timedelta(milliseconds=at)).year, 1, 3)
            else:
                classification = "Bugfix" if roll < 0.9 else "Enhancement"
                severity, cves = rng.choice(("Medium", "Low", "Low")), ""
            releases.append(Release(name, at, versions[name], classification, severity, cves,
                                    name in REBOOT_PACKAGES))
    releases.sort(key=lambda r: (r.released_ms, r.key))
    return Catalog(flavour, tuple(releases), packages=packages, initial_versions=initial)


def _initial_version(rng: random.Random, name: str, suffix: str) -> str:
    if name == "kernel" or name == "kernel-tools":
        if suffix.startswith("el"):
            return f"4.18.0-{rng.randint(500, 560)}.{rng.randint(1, 40)}.1.{suffix}"
        base = "6.1" if suffix == "amzn2023" else "5.10"
        return f"{base}.{rng.randint(100, 240)}-{rng.randint(100, 600)}.{rng.randint(1, 99)}.{suffix}"
    return (f"{rng.randint(1, 5)}.{rng.randint(0, 40)}.{rng.randint(0, 20)}"
            f"-{rng.randint(1, 30)}.{suffix}")


def _bump(rng: random.Random, version: str, suffix: str) -> str:
    upstream, release = version.split("-", 1)
    parts = upstream.split(".")
    if rng.random() < 0.4:
        parts[-1] = str(int(parts[-1]) + rng.randint(1, 3))
        return f"{'.'.join(parts)}-1.{suffix}"
    number = release.split(".", 1)[0]
    return f"{upstream}-{int(number) + 1}.{suffix}"
