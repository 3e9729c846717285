"""A read-only copy of the warehouse for BI tools, replaced atomically.

DuckDB allows one writing process or many reading ones, never both. Readers (dashboards,
notebooks) open the published copy instead of the live warehouse, so they never block a run and
a run never blocks them. The copy is written beside the target under a temporary name, checked,
and renamed over it (an atomic replace on POSIX): a reader sees the old copy or the new one,
never a partial file, and one that still has the old copy open keeps reading it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from patchtrail.warehouse import connect, scalar


@dataclass(frozen=True)
class PublishedCopy:
    path: Path
    size_bytes: int
    last_load_id: int | None


def publish_copy(warehouse: Path | str, target: Path | str) -> PublishedCopy:
    """Checkpoint the warehouse and atomically replace `target` with a copy of it.

    The warehouse stays open (and so locked against other writers) while it is copied.
    """
    source, target = Path(warehouse), Path(target)
    if source.resolve() == target.resolve():
        raise ValueError("the published copy must not be the warehouse itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    con = connect(source)
    try:
        con.execute("checkpoint")  # everything in the main file, nothing left in the WAL
        with source.open("rb") as src, temporary.open("wb") as dst:
            shutil.copyfileobj(src, dst, length=1 << 22)
            dst.flush()
            os.fsync(dst.fileno())
    finally:
        con.close()
    try:
        check = connect(temporary, read_only=True)
        try:
            last = scalar(check, "select max(load_id) from landing.loads")
        finally:
            check.close()
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)
    return PublishedCopy(target, target.stat().st_size, last)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
