"""Outputs replaced in one step: a hidden temporary beside the target, a folder lock, fsync.

Every output patchtrail writes for readers (published copy, CSV/XLSX export, evidence pack) is
first written under a temporary name of its own beside the target,
`.<target name>.<32 hex>.<suffix>`, and then renamed over the target. The writer holds an flock
on the folder for the whole time (the kernel frees it if the process dies), so while it holds
the lock no other temporary of that target is live: any found is a leftover of a killed run,
and the writer removes it before writing.
"""

from __future__ import annotations

import fcntl
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def temporary_path(target: Path, suffix: str = "tmp") -> Path:
    """A fresh hidden name beside `target`: `.<name>.<32 hex>.<suffix>`."""
    return target.with_name(f".{target.name}.{uuid.uuid4().hex}.{suffix}")


def leftovers(target: Path, suffixes: tuple[str, ...] = ("tmp",)) -> list[Path]:
    """Paths beside `target` named as `temporary_path` names them, for any of `suffixes`."""
    pattern = re.compile(rf"\.{re.escape(target.name)}\.[0-9a-f]{{32}}\.(?:"
                         + "|".join(re.escape(s) for s in suffixes) + ")")
    if not target.parent.is_dir():
        return []
    return sorted(p for p in target.parent.iterdir() if pattern.fullmatch(p.name) and not p.is_symlink())


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive flock on `folder` (writers of one folder take turns)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def fsync_file(path: Path) -> None:
    with path.open("rb") as fh:
        os.fsync(fh.fileno())


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
