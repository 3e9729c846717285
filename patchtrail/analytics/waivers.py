"""The waiver register: exemptions from SLA breaches, with reason, approver and expiry.

A register file (TOML shown; YAML takes a `waivers:` list of the same tables; CSV takes these
names as its header):

    [[waiver]]
    id = "W-2026-014"                  # unique, [A-Za-z0-9][A-Za-z0-9._:-]*
    instance_id = "i-0a1b2c3d4e5f67890" # scope: any of account_id, aws_region, patch_group,
    patch_id = "KB5034441"             #   instance_id, patch_id, cve_id; at least one
    reason = "Vendor hotfix pending; compensating control: host firewall"
    approver = "ciso@example.com"
    ticket = "SEC-1234"                # optional
    starts = 2026-03-01                # optional, date (UTC)
    expires = 2026-06-30               # date (UTC): the waiver stops applying on this day

Loading a register replaces the whole marts.waivers table (the file is the register).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import duckdb

from patchtrail import validate
from patchtrail.analytics.registers import read_register
from patchtrail.errors import InvalidInput

SCOPE_FIELDS = ("account_id", "aws_region", "patch_group", "instance_id", "patch_id", "cve_id")
FIELDS = ("id", *SCOPE_FIELDS, "reason", "approver", "ticket", "starts", "expires")
PATTERNS = {
    "id": r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}",
    "account_id": r"[0-9]{12}",
    "aws_region": r"[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}",
    "patch_group": r"[^\x00-\x1f]{1,256}",
    "patch_id": r"[^\x00-\x1f]{1,256}",
    "cve_id": r"CVE-[0-9]{4}-[0-9]{4,7}",
}


@dataclass(frozen=True)
class Waiver:
    """One waiver of the register (see the module docstring for the fields)."""

    waiver_id: str
    reason: str
    approver: str
    expires_on: date
    account_id: str | None = None
    aws_region: str | None = None
    patch_group: str | None = None
    instance_id: str | None = None
    patch_id: str | None = None
    cve_id: str | None = None
    ticket: str | None = None
    starts_on: date | None = None

    def in_force_at(self, moment: datetime) -> bool:
        """True from starts_on (00:00 UTC) until expires_on (00:00 UTC, excluded)."""
        start = _midnight(self.starts_on) if self.starts_on else None
        return (start is None or start <= moment) and moment < _midnight(self.expires_on)


def load_waiver_file(path: Path | str) -> tuple[list[Waiver], str]:
    """Read and check a register file; return its waivers and the file's SHA-256.

    Raises:
        InvalidInput: naming the file, the waiver and the field.
    """
    data, digest = read_register(path)
    if isinstance(data, dict):
        data = data.get("waiver", data.get("waivers"))
    if data is None:
        data = []
    if not isinstance(data, list):
        raise InvalidInput(f"{path}: expected a list of waivers ([[waiver]] tables or `waivers:`)")
    waivers = [_waiver(entry, f"{path}: waiver {n}") for n, entry in enumerate(data, start=1)]
    seen: set[str] = set()
    for waiver in waivers:
        if waiver.waiver_id in seen:
            raise InvalidInput(f"{path}: waiver id {waiver.waiver_id!r} appears twice")
        seen.add(waiver.waiver_id)
    return waivers, digest


def store_waivers(con: duckdb.DuckDBPyConnection, waivers: list[Waiver], *, source: str,
                  sha256: str, loaded_at: datetime) -> int:
    """Replace marts.waivers with `waivers` (call inside a transaction); return how many."""
    con.execute("delete from marts.waivers")
    rows = []
    for w in sorted(waivers, key=lambda w: w.waiver_id):
        rows.append([w.waiver_id, w.account_id, w.aws_region, w.patch_group, w.instance_id,
                     w.patch_id, w.cve_id, w.reason, w.approver, w.ticket, w.starts_on,
                     w.expires_on, _midnight(w.starts_on) if w.starts_on else None,
                     _midnight(w.expires_on), source, sha256, loaded_at])
    if rows:
        con.executemany("insert into marts.waivers values "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def _waiver(entry: Any, where: str) -> Waiver:
    if not isinstance(entry, dict):
        raise InvalidInput(f"{where}: expected a table of fields, got {type(entry).__name__}")
    entry = {str(k).strip(): v for k, v in entry.items() if v not in (None, "")}
    unknown = set(entry) - set(FIELDS)
    if unknown:
        raise InvalidInput(f"{where}: unknown fields {sorted(unknown)}; expected {', '.join(FIELDS)}")
    values: dict[str, Any] = {}
    for name in ("id", *SCOPE_FIELDS, "reason", "approver", "ticket"):
        value = entry.get(name)
        if value is None:
            continue
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise InvalidInput(f"{where}: {name} must be text")
        value = str(value).strip()
        if name == "cve_id":
            value = value.upper()
        if name == "instance_id":
            value = validate.instance_id(value, parameter=f"{where}: instance_id")
        elif name in PATTERNS and not re.fullmatch(PATTERNS[name], value):
            raise InvalidInput.mismatch(f"{where}: {name}", value, PATTERNS[name])
        values[name] = value
    label = f"{where} ({values['id']})" if "id" in values else where
    for required in ("id", "reason", "approver", "expires"):
        if required not in entry:
            raise InvalidInput(f"{label}: {required} is required")
    if not any(name in values for name in SCOPE_FIELDS):
        raise InvalidInput(f"{label}: give at least one scope field ({', '.join(SCOPE_FIELDS)})")
    expires = _date(entry["expires"], f"{label}: expires")
    starts = _date(entry["starts"], f"{label}: starts") if "starts" in entry else None
    if starts is not None and starts >= expires:
        raise InvalidInput(f"{label}: starts {starts} is not before expires {expires}")
    return Waiver(waiver_id=values["id"], reason=values["reason"], approver=values["approver"],
                  expires_on=expires, starts_on=starts, ticket=values.get("ticket"),
                  **{name: values.get(name) for name in SCOPE_FIELDS})


def _date(value: Any, where: str) -> date:
    if isinstance(value, datetime):
        raise InvalidInput(f"{where}: give a date (YYYY-MM-DD), not a time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InvalidInput.mismatch(where, value, "a date YYYY-MM-DD")


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)
