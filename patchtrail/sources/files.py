"""Local files as a source: list what is there (with SHA-256), then read it as raw items.

A folder is walked. Formats are detected from names (see `formats.format_of`): AWS Config
delivery files, NDJSON of CloudTrail Lake events, and saved Lake results, where one export
(a folder with `result_sign.json` and its `result_N.csv.gz` files) is one object.

Reads stay where the user pointed:
- a symbolic link met while walking is followed only when its target is inside the folder
  given (or with `follow_symlinks`); one that leaves it is noted and never opened;
- FIFOs, sockets and devices are noted and never opened (opening a FIFO would hang the run);
- every file is opened without following links and without blocking, and checked to be a
  regular file once open, so nothing swapped in after listing is read either.
File names that are not valid UTF-8 are shown and recorded with their bytes escaped (`\\xff`).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import io
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from patchtrail.sources import formats
from patchtrail.sources.base import Listing, ObjectError, ObjectUnreadable, SourceObject
from patchtrail.sources.formats import SIGN_FILE
from patchtrail.sources.sign_file import PublicKeys, verify_sign_file
from patchtrail.transforms.raw import RawItem

SOURCE = "file"
#: Bytes of a rejected file kept as its payload in landing.rejected_records.
HEAD_BYTES = 1 << 20
_CHUNK = 1 << 20
_SPECIAL = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
            (stat.S_ISBLK, "a block device"))


@dataclass(frozen=True)
class FileRef:
    """Where a listed object is on disk: the real path to open (bytes-safe) and, for an
    export folder, (member name, SHA-256) of its sign file and result files."""

    path: str
    members: tuple[tuple[str, str], ...] = field(default=())


class FileSource:
    """Files and folders on local disk (see the module docstring).

    Args:
        paths: files or folders; folders are walked.
        follow_symlinks: also follow links whose target is outside the folder given.
        public_keys: verify Lake exports' RSA signatures with these keys too (their SHA-256
            hashes are always checked).
    """

    name = SOURCE
    concurrency = 1
    readable_in_workers = True     # objects are paths: a worker process can read them too

    def __init__(self, paths: Iterable[Path | str], *, follow_symlinks: bool = False,
                 public_keys: PublicKeys | None = None) -> None:
        self.paths = [str(p) for p in paths]
        self.follow_symlinks = follow_symlinks
        self.public_keys = public_keys
        self.parameters: dict[str, Any] = {"paths": [display(p) for p in self.paths]}
        if follow_symlinks:
            self.parameters["follow_symlinks"] = True
        if public_keys is not None:
            self.parameters["verify_signature"] = True

    def list(self) -> Listing:
        """List the objects under the paths given, hashing each file (nothing is parsed)."""
        listing = Listing()
        export_dirs: dict[str, None] = {}
        for given in self.paths:
            path = os.path.abspath(given)
            if not os.path.lexists(path):
                listing.not_found.append(display(path))
                continue
            if os.path.isdir(path):  # a link given by name is followed: the user pointed at it
                for file, note in sorted(self._walk(path), key=lambda found: os.fsencode(found[0])):
                    if note:
                        listing.ignored.append(SourceObject(display(file), "unknown", error=note))
                    else:
                        self._classify(file, explicit=False, listing=listing, export_dirs=export_dirs)
            else:
                self._classify(os.path.realpath(path), explicit=True, listing=listing,
                               export_dirs=export_dirs)
        listing.objects.extend(_export_object(d) for d in sorted(export_dirs))
        return listing

    def read(self, obj: SourceObject) -> Iterator[RawItem]:
        """Yield the raw items of a listed object; `ObjectError` if the object as a whole is bad."""
        ref: FileRef = obj.ref
        if obj.format == "lake_export":
            yield from _read_export(obj, self.public_keys)
            return
        reader = formats.read_config_delivery if obj.format == "config_delivery" else formats.read_lake_events
        with _opened(ref.path, obj.uri) as raw:
            hashing = _Hashing(raw)
            try:
                yield from reader(hashing, source=SOURCE, ref=obj.uri)
                digest = hashing.drain()
            except OSError as exc:
                raise ObjectUnreadable(f"{obj.uri}: unreadable ({exc.strerror or exc}); it will be "
                                       "read again next run") from exc
        if obj.digest and digest != obj.digest:
            raise ObjectUnreadable(f"{obj.uri}: changed while it was being read (SHA-256 {digest}, "
                                   f"listed {obj.digest}); it will be read again next run")

    def head(self, obj: SourceObject) -> bytes | None:
        """The first bytes of a rejected file (of an export: its sign file), kept as its payload."""
        ref: FileRef | None = obj.ref
        if ref is None:
            return None
        path = os.path.join(ref.path, SIGN_FILE) if obj.format == "lake_export" else ref.path
        try:
            with _opened(path, obj.uri) as fh:
                return fh.read(HEAD_BYTES)
        except (OSError, ObjectError):
            return None

    def _walk(self, root: str) -> Iterator[tuple[str, str | None]]:
        """(path, None) for each regular file to consider under `root`, in name order, and
        (path, why) for what is not read."""
        real_root = os.path.realpath(root)
        visited = {real_root}
        stack = [root]
        while stack:
            folder = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError as exc:
                yield folder, f"folder unreadable ({exc.strerror or exc}); its files were not read"
                continue
            for entry in entries:
                path = entry.path
                try:
                    if entry.is_symlink():
                        target = os.path.realpath(path)
                        if not (self.follow_symlinks or _inside(target, real_root)):
                            yield path, (f"symbolic link to {display(target)}, outside "
                                         f"{display(root)}; not followed (--follow-symlinks reads it)")
                            continue
                        if os.path.isdir(target):
                            if target not in visited and not _inside(target, real_root):
                                visited.add(target)
                                stack.append(target)
                            continue  # a link to a folder inside the tree: read where it is
                        mode = os.stat(target).st_mode
                        path = target
                    elif entry.is_dir(follow_symlinks=False):
                        stack.append(path)
                        continue
                    else:
                        mode = entry.stat(follow_symlinks=False).st_mode
                except OSError as exc:
                    yield path, f"cannot be examined ({exc.strerror or exc})"
                    continue
                special = _special(mode)
                yield (path, f"{special}, not a regular file; never opened") if special else (path, None)

    def _classify(self, file: str, *, explicit: bool, listing: Listing,
                  export_dirs: dict[str, None]) -> None:
        try:
            special = _special(os.stat(file).st_mode)
        except OSError as exc:
            listing.objects.append(SourceObject(display(file), "unknown", error=f"unreadable "
                                                f"({exc.strerror or exc})", ref=FileRef(file)))
            return
        if special:
            listing.ignored.append(SourceObject(display(file), "unknown",
                                                error=f"{special}, not a regular file; never opened"))
            return
        kind = formats.format_of(display(file))
        if kind in ("lake_sign", "lake_result"):
            export_dirs[os.path.dirname(file)] = None
        elif kind in ("config_delivery", "lake_events"):
            listing.objects.append(_file_object(file, kind))
        elif explicit:
            listing.objects.append(SourceObject(
                display(file), "unknown", ref=FileRef(file),
                error="unknown file type (expected .json.gz, .json, .ndjson[.gz], result_N.csv.gz)"))
        else:
            listing.ignored.append(SourceObject(display(file), "unknown",
                                                error=formats.not_read_reason(display(file))))


def display(path: str | os.PathLike[str]) -> str:
    """A path as valid UTF-8 text: bytes that are not UTF-8 are escaped (`\\xff`)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def sha256_file(path: str, uri: str | None = None) -> str:
    """Hex SHA-256 of a regular file, opened safely (see `_opened`)."""
    digest = hashlib.sha256()
    with _opened(path, uri or display(path)) as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify_export(folder: str, hashes: dict[str, str], *, uri: str,
                  keys: PublicKeys | None = None) -> None:
    """Check every result file against `result_sign.json`; any mismatch rejects the whole export.

    Args:
        folder: the export folder (…/CloudTrail-Lake/Query/yyyy/mm/dd/<query-id>/).
        hashes: file name -> SHA-256 as listed (so a file changed after listing is caught too).
    """
    sign_path = os.path.join(folder, SIGN_FILE)
    try:
        with _opened(sign_path, f"{uri}/{SIGN_FILE}") as fh:
            sign = fh.read(formats.MAX_SIGN_FILE_BYTES + 1)
        actual = {n: sha256_file(os.path.join(folder, n), f"{uri}/{n}") for n in hashes if n != SIGN_FILE}
    except OSError as exc:
        raise ObjectUnreadable(f"{uri}: unreadable ({exc.strerror or exc}); it will be read "
                               "again next run") from None
    for name, digest in sorted(actual.items()):
        if digest != hashes[name]:
            raise ObjectUnreadable(f"{uri}/{name}: SHA-256 {digest} changed since it was listed "
                                   f"({hashes[name]}); it will be read again next run")
    verify_sign_file(sign, actual, ref=uri, keys=keys)


def _read_export(obj: SourceObject, keys: PublicKeys | None) -> Iterator[RawItem]:
    ref: FileRef = obj.ref
    verify_export(ref.path, dict(ref.members), uri=obj.uri, keys=keys)
    for name, _ in ref.members:
        if name == SIGN_FILE:
            continue
        try:
            with _opened(os.path.join(ref.path, name), f"{obj.uri}/{name}") as stream:
                yield from formats.read_lake_result_csv(stream, source=SOURCE, ref=f"{obj.uri}/{name}")
        except OSError as exc:
            raise ObjectUnreadable(f"{obj.uri}/{name}: unreadable ({exc.strerror or exc}); it will "
                                   "be read again next run") from exc


def _file_object(path: str, kind: str) -> SourceObject:
    uri = display(path)
    try:
        size = os.stat(path).st_size
        return SourceObject(uri, kind, size=size, digest=sha256_file(path, uri), ref=FileRef(path))
    except (OSError, ObjectError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        return SourceObject(uri, kind, ref=FileRef(path), error=f"unreadable ({reason or exc})")


def _export_object(folder: str) -> SourceObject:
    uri = display(folder)
    try:
        names = sorted(e.name for e in os.scandir(folder)
                       if e.name == SIGN_FILE or formats.LAKE_RESULT_FILE.match(e.name))
    except OSError as exc:
        return SourceObject(uri, "lake_export", error=f"unreadable ({exc.strerror or exc})")
    if SIGN_FILE not in names:
        return SourceObject(uri, "lake_export", ref=FileRef(folder),
                            error=f"Lake result files without {SIGN_FILE}; export cannot be verified")
    try:
        members = tuple((n, sha256_file(os.path.join(folder, n), f"{uri}/{n}")) for n in names)
        size = sum(os.stat(os.path.join(folder, n)).st_size for n in names)
    except (OSError, ObjectError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        return SourceObject(uri, "lake_export", ref=FileRef(folder), error=f"unreadable ({reason or exc})")
    digest = hashlib.sha256("\n".join(f"{n}:{h}" for n, h in members).encode()).hexdigest()
    return SourceObject(uri, "lake_export", size=size, digest=digest, ref=FileRef(folder, members))


def _opened(path: str, uri: str) -> IO[bytes]:
    """Open a regular file for reading without following a link and without blocking (a FIFO
    swapped in after listing is refused, never waited on)."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ObjectError(f"{uri}: became a symbolic link after it was listed; not read") from None
        raise ObjectUnreadable(f"{uri}: unreadable ({exc.strerror or exc}); it will be read again "
                               "next run") from None
    try:
        mode = os.fstat(fd).st_mode
        special = _special(mode)
        if special or not stat.S_ISREG(mode):
            raise ObjectError(f"{uri}: {special or 'not a regular file'}; never read")
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _special(mode: int) -> str | None:
    for test, name in _SPECIAL:
        if test(mode):
            return name
    return None


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class _Hashing(io.RawIOBase):
    """A binary stream that hashes what is read through it; `drain` hashes the rest."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._digest = hashlib.sha256()

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        if n:
            self._digest.update(memoryview(buffer)[:n])
        return n or 0

    def readable(self) -> bool:
        return True

    def drain(self) -> str:
        while chunk := self._raw.read(_CHUNK):
            self._digest.update(chunk)
        return self._digest.hexdigest()
