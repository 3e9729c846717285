"""Evidence packs: the patch status as of a time, SLA breaches, the SQL used, hashes, provenance.

    write_evidence("patchtrail.duckdb", Path("evidence/2026-03-31"), as_of=..., policy="fedramp")

A pack is a folder: data files (CSV and Parquet, rows sorted, no timestamps of the run in them),
the SQL files that produced them, README.md, SHA256SUMS (`sha256sum -c SHA256SUMS` checks the
pack) and manifest.json (parameters, warehouse fingerprint, row counts, SHA-256 of every file,
and the one time stamp: when it was generated). Run again on an unchanged warehouse with the
same parameters, every data file is byte-identical.

A pack is written into a new hidden sibling folder (`.<name>.<32 hex>.tmp`) and renamed into
place only when complete, so the folder is the earlier pack or the new one, never a mix: an
earlier pack is swapped out in one atomic exchange (renameat2 RENAME_EXCHANGE; elsewhere two
renames). The target must be absent, empty, or an earlier pack whose every file its manifest
lists; anything else is refused untouched. Leftovers of a killed run are removed by the next
run into the same folder, and only when they hold nothing but files a pack writes.

CSV cells that a spreadsheet would run as a formula (text starting with `=`, `+`, `-`, `@`, tab
or carriage return, and text starting with `'`, so that the rule can be undone) get a leading
`'` (OWASP's advice); strip one leading `'` from any text cell that starts with one to get the
value back. The Parquet files hold the values as they are.
"""

from __future__ import annotations

import csv
import ctypes
import errno
import hashlib
import io
import json
import math
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

import patchtrail
from patchtrail import validate
from patchtrail.analytics.policy import DEFAULT_POLICY, Policy, resolve_policy
from patchtrail.errors import InvalidInput
from patchtrail.publish.atomic import folder_lock, fsync_dir, fsync_file, leftovers, temporary_path
from patchtrail.warehouse import connect, sql

#: Data files of a pack, in the order they are written: (name, SQL file under sql/warehouse/).
DATASETS = (
    ("instance_status", "marts/evidence/instance_status"),
    ("patch_status", "marts/evidence/patch_status"),
    ("missing_patches", "marts/evidence/missing_patches"),
    ("sla_status", "marts/evidence/sla_status"),
    ("sla_breaches", "marts/evidence/sla_breaches"),
    ("waivers", "marts/evidence/waivers"),
    ("provenance", "marts/evidence/provenance"),
)
#: Columns whose values are configuration item ids: provenance lists each of them.
CITED_COLUMNS = ("ci_id", "last_item_ci_id", "opened_ci_id")
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
README = "README.md"
FORMAT_VERSION = 2  # 2: formula-like CSV text cells carry a leading ' (see the module docstring)
#: What a spreadsheet would read as the start of a formula, and the escape itself.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")
_REQUIRED_MACRO = "sla_status_for"


@dataclass
class EvidenceResult:
    """What a pack holds: its folder, rows per dataset and the SHA-256 of every file."""

    out: Path
    rows: dict[str, int] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)


def write_evidence(warehouse: Path | str, out: Path | str, *, as_of: datetime | str,
                   known_at: datetime | str | None = None, policy: str | Path = DEFAULT_POLICY,
                   now: datetime | None = None) -> EvidenceResult:
    """Write an evidence pack for valid time `as_of`, as known at recording time `known_at`.

    Args:
        warehouse: the DuckDB file; opened read-only.
        out: the pack's folder: new, empty, or an earlier pack (which is replaced).
        as_of: the valid time (ISO-8601 UTC or a date: midnight UTC).
        known_at: the recording time; None means everything landed so far.
        policy: a stored SLA policy name (preset or loaded) or a policy file.
        now: the generation time written to manifest.json (default: the clock).
    """
    as_of_at = validate.utc_timestamp(as_of, parameter="--as-of")
    known = validate.utc_timestamp(known_at, parameter="--known-at") if known_at is not None else None
    target = Path(out).resolve()
    con = connect(warehouse, read_only=True)
    try:
        _check_schema(con)
        chosen = resolve_policy(con, policy)
        target.parent.mkdir(parents=True, exist_ok=True)
        with folder_lock(target.parent):
            earlier = _check_target(target)  # refuses before anything is written
            remove_leftovers(target)
            staging = temporary_path(target)
            staging.mkdir()
            try:
                result = _write_pack(con, staging, warehouse=warehouse, as_of=as_of_at, known=known,
                                     policy=chosen, now=now)
                _fsync_tree(staging)
                _move_into_place(staging, target, earlier=earlier)
            except BaseException:
                _remove_pack_folder(staging)
                raise
    finally:
        con.close()
    result.out = Path(out)
    return result


def remove_leftovers(out: Path | str) -> list[Path]:
    """Remove what killed runs left beside `out` (`.<name>.<32 hex>.tmp` / `.old` folders)
    when they hold only files a pack writes; return the folders removed."""
    removed = []
    for path in leftovers(Path(out), ("tmp", "old")):
        if path.is_dir() and _remove_pack_folder(path):
            removed.append(path)
    return removed


def _write_pack(con: duckdb.DuckDBPyConnection, out: Path, *, warehouse: Path | str, as_of: datetime,
                known: datetime | None, policy: Policy, now: datetime | None) -> EvidenceResult:
    """Every file of the pack, into the (new, empty) folder `out`."""
    parameters = {"as_of": as_of, "known_at": known if known is not None else "infinity",
                  "thresholds": policy.thresholds()}
    result = EvidenceResult(out=out)
    cited: set[str] = set()
    queries = []
    (out / "sql").mkdir()
    for name, sql_name in DATASETS:
        text = sql.load(sql_name)
        given = {"ci_ids": sorted(cited)} if name == "provenance" else parameters
        bound = sql.bound(text, given, name=f"{sql_name}.sql") or {}
        table = sql.query(con, sql_name, **given).to_arrow_table()
        table = table.replace_schema_metadata(None)
        if name != "provenance":
            for column in CITED_COLUMNS:
                if column in table.column_names:
                    cited.update(v for v in table[column].to_pylist() if v)
        result.rows[name] = table.num_rows
        _write_csv(table, out / f"{name}.csv")
        _write_parquet(table, out / f"{name}.parquet")
        (out / "sql" / f"{name}.sql").write_text(_sql_with_parameters(text, bound))
        queries.append({"name": name, "sql": f"sql/{name}.sql",
                        "parameters": {k: _json_value(v) for k, v in bound.items()
                                       if k != "ci_ids"}})
    (out / README).write_text(_readme(as_of, known, policy, result.rows))
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name not in (MANIFEST, SUMS))
    result.files = {p.relative_to(out).as_posix(): _sha256(p) for p in files}
    (out / SUMS).write_text("".join(f"{digest}  {name}\n" for name, digest in result.files.items()))
    manifest = {
        "patchtrail_evidence": FORMAT_VERSION,
        "generated_at": _iso(now or datetime.now(UTC)),
        "parameters": {"as_of": _iso(as_of), "known_at": _iso(known) if known else None,
                       "policy": _policy_json(policy)},
        "warehouse": _fingerprint(con, known, warehouse),
        "software": {"patchtrail": patchtrail.__version__, "duckdb": duckdb.__version__,
                     "pyarrow": pa.__version__},
        "rows": result.rows,
        "queries": queries,
        "files": [{"path": name, "sha256": digest, "bytes": (out / name).stat().st_size}
                  for name, digest in result.files.items()],
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return result


def verify_evidence(folder: Path | str) -> list[str]:
    """Check a pack against its SHA256SUMS and manifest.json; return the problems (none: intact)."""
    folder = Path(folder)
    problems = []
    try:
        sums = (folder / SUMS).read_text().splitlines()
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        return [f"{folder}: not an evidence pack ({exc})"]
    listed = {}
    for line in sums:
        digest, _, name = line.partition("  ")
        listed[name] = digest
    in_manifest = {f["path"]: f["sha256"] for f in manifest.get("files", [])}
    if listed != in_manifest:
        problems.append("SHA256SUMS and manifest.json list different files or hashes")
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*")
               if p.is_file() and p.name not in (MANIFEST, SUMS)}
    for name in sorted(present - set(listed)):
        problems.append(f"{name}: not listed in {SUMS}")
    for name, digest in sorted(listed.items()):
        path = folder / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif _sha256(path) != digest:
            problems.append(f"{name}: SHA-256 differs from {SUMS}")
    return problems


def _check_schema(con: duckdb.DuckDBPyConnection) -> None:
    found = con.execute("select count(*) from duckdb_functions() where schema_name = 'marts' "
                        "and function_name = ?", [_REQUIRED_MACRO]).fetchall()[0][0]
    if not found:
        error = InvalidInput("the warehouse has no compliance analytics objects yet")
        error.hint = "Run `patchtrail rebuild` (or any ingest) once to add them."
        raise error


def _check_target(out: Path) -> bool:
    """True when `out` is an earlier pack (to be swapped out), False when absent or empty;
    InvalidInput, with nothing changed, for anything else."""
    if not out.exists() and not out.is_symlink():
        return False
    if not out.is_dir():
        raise InvalidInput(f"{out}: exists and is not a folder; choose another --out")
    entries = sorted(out.rglob("*"))
    if not entries:
        return False
    listed = _listed_files(out / MANIFEST)
    if listed is None:
        raise InvalidInput(f"{out}: not empty and not an evidence pack of patchtrail (nothing was "
                           "changed); choose another --out")
    for entry in entries:
        name = entry.relative_to(out).as_posix()
        ours = (name in listed or name in (MANIFEST, SUMS)
                or (entry.is_dir() and not entry.is_symlink() and any(f.startswith(name + "/") for f in listed)))
        if not ours:
            raise InvalidInput(f"{out}: an earlier evidence pack, but {name} is not one of its files "
                               "(nothing was changed); move it out or choose another --out")
    return True


def _listed_files(manifest: Path) -> set[str] | None:
    """The files a pack's manifest lists; None when it is not a manifest this module wrote."""
    try:
        document = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or not isinstance(document.get("patchtrail_evidence"), int):
        return None
    files = document.get("files")
    if not isinstance(files, list):
        return None
    return {f["path"] for f in files if isinstance(f, dict) and isinstance(f.get("path"), str)}


def _pack_names() -> set[str]:
    """Every relative path a pack of this version can hold."""
    names = {README, SUMS, MANIFEST, "sql"}
    for name, _ in DATASETS:
        names |= {f"{name}.csv", f"{name}.parquet", f"sql/{name}.sql"}
    return names


def _remove_pack_folder(folder: Path) -> bool:
    """Delete `folder` if it holds only paths a pack writes (or those its own manifest lists);
    otherwise leave it whole. True when it is gone."""
    if not folder.is_dir():
        return True
    allowed = _pack_names() | (_listed_files(folder / MANIFEST) or set())
    entries = sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True)
    if any(e.relative_to(folder).as_posix() not in allowed or e.is_symlink() for e in entries):
        return False
    for entry in entries:
        entry.rmdir() if entry.is_dir() else entry.unlink()
    folder.rmdir()
    return True


def _move_into_place(staging: Path, out: Path, *, earlier: bool) -> None:
    """`staging` becomes `out` in one step; an earlier pack at `out` is then removed."""
    if not earlier:
        os.rename(staging, out)  # onto nothing, or onto an empty folder: atomic on POSIX
    elif _exchange(staging, out):
        _remove_pack_folder(staging)  # now the earlier pack
    else:
        old = temporary_path(out, "old")
        os.rename(out, old)
        os.rename(staging, out)
        _remove_pack_folder(old)
    fsync_dir(out.parent)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(first), None, str(second))


def _fsync_tree(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        fsync_file(path) if path.is_file() else fsync_dir(path)
    fsync_dir(folder)


def _write_parquet(table: pa.Table, path: Path) -> None:
    """Parquet written the same way every time: one writer, fixed options, no metadata of ours."""
    pq.write_table(table, path, compression="zstd", compression_level=3, use_dictionary=True,
                   write_statistics=True, row_group_size=128 * 1024, version="2.6",
                   store_schema=True)


def _write_csv(table: pa.Table, path: Path) -> None:
    """CSV with a header (RFC 4180: CRLF line ends, so that a CR or LF inside a value is quoted);
    UTC times as ISO-8601 `Z`, lists as JSON arrays, booleans lowercase, formula-like text
    escaped (`csv_text`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.column_names)
    for batch in table.to_batches(max_chunksize=65536):
        columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        writer.writerows([_csv_value(v) for v in row] for row in zip(*columns, strict=True))
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return csv_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"), default=str)
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def csv_text(text: str) -> str:
    """`text` as a CSV cell no spreadsheet runs as a formula: a leading `'` when it starts with
    one of FORMULA_STARTS (undo: drop one leading `'` from any text cell that starts with it)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _iso(moment: datetime) -> str:
    """`2026-03-31T00:00:00.000000Z`: one spelling for every UTC time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value)
    return value


def _sql_with_parameters(text: str, bound: dict[str, Any]) -> str:
    lines = ["-- Run by `patchtrail evidence` with these bound parameters:"]
    for key, value in bound.items():
        shown = (f"{len(value)} ci_ids (listed in provenance.csv)" if key == "ci_ids"
                 else json.dumps(_json_value(value), default=str))
        lines.append(f"--   ${key} = {shown}")
    return "\n".join(lines) + "\n" + text


def _policy_json(policy: Policy) -> dict[str, Any]:
    return {"name": policy.name, "max_days": dict(sorted(policy.max_days.items())),
            "severity_source": policy.severity_source, "description": policy.description,
            "source": policy.source, "source_sha256": policy.source_sha256}


def _fingerprint(con: duckdb.DuckDBPyConnection, known: datetime | None,
                 warehouse: Path | str) -> dict[str, Any]:
    """What the pack was computed from: the items known, their hash, the loads, the register."""
    row = sql.query(con, "marts/evidence/fingerprint",
                    known_at=known if known is not None else "infinity").fetchall()[0]
    names = ("items", "items_sha256", "instances", "last_load_id", "last_ingested_at",
             "loads_succeeded", "source_objects", "lake_queries", "waivers_sha256")
    facts = dict(zip(names, row, strict=True))
    facts["last_ingested_at"] = _iso(facts["last_ingested_at"]) if facts["last_ingested_at"] else None
    facts["path"] = str(warehouse)
    return facts


def _readme(as_of: datetime, known: datetime | None, policy: Policy, rows: dict[str, int]) -> str:
    known_text = _iso(known) if known else "everything landed when the pack was made"
    lines = [
        "# Patch compliance evidence pack",
        "",
        f"- Valid time (status as of): {_iso(as_of)}",
        f"- Recording time (as known at): {known_text}",
        f"- SLA policy: {policy.name} ({policy.severity_source}; "
        + ", ".join(f"{s} {d} days" for s, d in sorted(policy.max_days.items())) + ")",
        "",
        "| file | rows | what |",
        "|---|---|---|",
    ]
    what = {
        "instance_status": "each managed instance live at the valid time: its compliance version, "
                           "and the latest item that confirms it",
        "patch_status": "every patch of every live instance, in any state",
        "missing_patches": "patches non-compliant at the valid time, first seen missing, days missing",
        "sla_status": "missing patches the policy covers: due date, breach, waivers",
        "sla_breaches": "missing patches past their due date and not waived",
        "waivers": "the waiver register, with whether each waiver was in force",
        "provenance": "for every item cited above: source object, its hash, Lake query, load",
    }
    for name, _ in DATASETS:
        lines.append(f"| {name}.csv / .parquet | {rows.get(name, 0)} | {what[name]} |")
    lines += [
        "",
        "Definitions: docs/analytics.md of patchtrail. The SQL that produced each file is in sql/, "
        "with its bound parameters. Check the files with `sha256sum -c SHA256SUMS`; manifest.json "
        "has the parameters, the warehouse fingerprint and the generation time.",
        "",
        "In the CSV files, a text cell that starts with =, +, -, @, a tab, a carriage return or ' "
        "has one ' put in front, so that no spreadsheet runs it as a formula. To get the value "
        "back, remove one leading ' from any text cell that starts with one. The Parquet files "
        "hold the values unchanged.",
        "",
    ]
    return "\n".join(lines)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
