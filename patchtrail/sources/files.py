"""Local files as a source: list what is there (with SHA-256), then read it as raw items.

A folder is walked. Formats are detected from names (see `formats.format_of`): AWS Config
delivery files, NDJSON of CloudTrail Lake events, and saved Lake results, where one export
(a folder with `result_sign.json` and its `result_N.csv.gz` files) is one object.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from patchtrail.sources import formats
from patchtrail.sources.formats import SIGN_FILE, ObjectError
from transforms.flatten import RawItem

SOURCE = "file"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class SourceObject:
    """One unit of reading: a file, or a whole Lake export folder.

    Args:
        uri: absolute path (of the file, or of the export folder).
        format: config_delivery | lake_events | lake_export | unknown.
        size: bytes (all members for an export).
        sha256: hex SHA-256 of the file; for an export, of its members' names and hashes.
        members: for an export, (file name, sha256) of result_sign.json and each result file.
        error: set when the object cannot even be listed (unreadable path, export without sign file).
    """

    uri: str
    format: str
    size: int = 0
    sha256: str | None = None
    members: tuple[tuple[str, str], ...] = field(default=())
    error: str | None = None


@dataclass
class Listing:
    """What `list_objects` found: objects to consider and files ignored while walking."""

    objects: list[SourceObject]
    ignored: list[str]


def list_objects(paths: Iterable[Path | str]) -> Listing:
    """List the readable objects under `paths` (files or folders), hashing each file.

    A path given explicitly that is unreadable or of an unknown format comes back as an object
    with `error` set, so the run can record it; unknown files met while walking are ignored.
    """
    objects: list[SourceObject] = []
    ignored: list[str] = []
    export_dirs: set[Path] = set()
    for given in paths:
        path = Path(given).absolute()
        if not path.exists():
            objects.append(SourceObject(str(path), "unknown", error="no such file or folder"))
            continue
        if path.is_dir():
            files = sorted(p for p in _walk(path))
            explicit = False
        else:
            files = [path]
            explicit = True
        for file in files:
            kind = formats.format_of(file.as_posix())
            if kind in ("lake_sign", "lake_result"):
                export_dirs.add(file.parent)
            elif kind in ("config_delivery", "lake_events"):
                objects.append(_file_object(file, kind))
            elif explicit:
                objects.append(SourceObject(str(file), "unknown",
                                            error="unknown file type (expected .json.gz, .ndjson, result_N.csv.gz)"))
            else:
                ignored.append(str(file))
    objects.extend(_export_object(d) for d in sorted(export_dirs))
    return Listing(objects, ignored)


def read_object(obj: SourceObject) -> Iterator[RawItem]:
    """Yield the raw items of a listed object; `ObjectError` if the object as a whole is bad."""
    if obj.error:
        raise ObjectError(f"{obj.uri}: {obj.error}")
    if obj.format == "lake_export":
        yield from _read_export(obj)
        return
    reader = formats.read_config_delivery if obj.format == "config_delivery" else formats.read_lake_events
    with _open(Path(obj.uri)) as stream:
        yield from reader(stream, source=SOURCE, ref=obj.uri)


def _read_export(obj: SourceObject) -> Iterator[RawItem]:
    folder = Path(obj.uri)
    verify_export(folder, dict(obj.members))
    for name, _ in obj.members:
        if name == SIGN_FILE:
            continue
        with _open(folder / name) as stream:
            yield from formats.read_lake_result_csv(stream, source=SOURCE, ref=str(folder / name))


def verify_export(folder: Path, hashes: dict[str, str]) -> None:
    """Check every result file against `result_sign.json`; any mismatch rejects the whole export.

    Args:
        folder: the export folder (…/CloudTrail-Lake/Query/yyyy/mm/dd/<query-id>/).
        hashes: file name -> SHA-256 as listed (so a file changed after listing is caught too).
    """
    sign_path = folder / SIGN_FILE
    try:
        sign = sign_path.read_bytes()
    except OSError as exc:
        raise ObjectError(f"{sign_path}: unreadable sign file ({type(exc).__name__}: {exc})") from None
    actual = {n: sha256_file(folder / n) for n in hashes if n != SIGN_FILE}
    for name, digest in sorted(actual.items()):
        if digest != hashes[name]:
            raise ObjectError(f"{folder / name}: SHA-256 {digest} changed since it was listed "
                              f"({hashes[name]}); export rejected")
    formats.verify_sign_file(sign, actual, ref=str(folder))


def looks_large(obj: SourceObject, threshold: int) -> bool:
    """Whether an object is bigger than `threshold` once decompressed (gzip records the size,
    modulo 4 GiB, in its last 4 bytes; a compressed size above threshold / 4 also counts)."""
    if obj.size > threshold:
        return True
    path = Path(obj.uri)
    if obj.format == "lake_export" or not path.is_file():
        return False
    try:
        with path.open("rb") as fh:
            if fh.read(2) != formats.GZIP_MAGIC:
                return False
            fh.seek(-4, 2)
            return int.from_bytes(fh.read(4), "little") > threshold or obj.size > threshold // 4
    except OSError:
        return False


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _file_object(path: Path, kind: str) -> SourceObject:
    try:
        return SourceObject(str(path), kind, size=path.stat().st_size, sha256=sha256_file(path))
    except OSError as exc:
        return SourceObject(str(path), kind, error=f"unreadable ({exc.strerror or exc})")


def _export_object(folder: Path) -> SourceObject:
    names = sorted(p.name for p in folder.iterdir()
                   if p.name == SIGN_FILE or formats.LAKE_RESULT_FILE.match(p.name))
    if SIGN_FILE not in names:
        return SourceObject(str(folder), "lake_export",
                            error=f"Lake result files without {SIGN_FILE}; export cannot be verified")
    try:
        members = tuple((n, sha256_file(folder / n)) for n in names)
        size = sum((folder / n).stat().st_size for n in names)
    except OSError as exc:
        return SourceObject(str(folder), "lake_export", error=f"unreadable ({exc.strerror or exc})")
    digest = hashlib.sha256("\n".join(f"{n}:{h}" for n, h in members).encode()).hexdigest()
    return SourceObject(str(folder), "lake_export", size=size, sha256=digest, members=members)


def _walk(root: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in files:
            yield Path(folder) / name


def _open(path: Path):
    try:
        return path.open("rb")
    except OSError as exc:
        raise ObjectError(f"{path}: unreadable ({exc.strerror or exc})") from None
