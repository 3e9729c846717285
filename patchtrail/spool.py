"""Raw items kept on local disk between fetching and landing (the flows' spool: the one word
for fetched data waiting to land; `staging` is the warehouse layer only).

A flow fetches in small retryable tasks (a Lake window, an account's S3 objects), keeps what it
fetched here, then lands it all in one warehouse transaction. The warehouse is untouched until
then, so a run that dies while fetching leaves it as it was. One gzip'd JSON line per item.
"""

from __future__ import annotations

import gzip
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson

from patchtrail.transforms.raw import RawItem

SPOOL_DIR = ".patchtrail-spool"
#: Where versions before 0.2 spooled; its run folders are removed like stale ones.
OLD_SPOOL_DIR = ".patchtrail-staging"
#: A run's spool folder older than this is left over from a killed run, and removed.
STALE_AFTER_SECONDS = 2 * 86400


def spool_dir(warehouse: Path | str, run_id: str) -> Path:
    """A fresh folder for one flow run's fetched data, beside the warehouse file (folders left
    by killed runs long ago are removed on the way)."""
    beside = Path(warehouse).resolve().parent
    root = beside / SPOOL_DIR
    for folder in (root, beside / OLD_SPOOL_DIR):
        if folder.is_dir():
            for old in folder.iterdir():
                if old.name != run_id and time.time() - old.stat().st_mtime > STALE_AFTER_SECONDS:
                    remove(old)
    path = root / run_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def remove(path: Path | str) -> None:
    """Delete a run's spool folder once its data has landed."""
    shutil.rmtree(path, ignore_errors=True)


@contextmanager
def spooled(warehouse: Path | str, run_id: str) -> Iterator[Path]:
    """`spool_dir` for the length of a run, removed when the run ends (landed or not)."""
    path = spool_dir(warehouse, run_id)
    try:
        yield path
    finally:
        remove(path)


def write_items(path: Path, items: Iterable[RawItem]) -> int:
    """Write items to `path` (replacing it); return how many. Partial files are never left."""
    partial = path.with_name(path.name + ".partial")
    count = 0
    with gzip.open(partial, "wb", compresslevel=1) as out:
        for item in items:
            out.write(orjson.dumps([item.payload, item.source, item.source_ref, item.record_ref,
                                    item.error]))
            out.write(b"\n")
            count += 1
    partial.replace(path)
    return count


def read_items(path: Path | str) -> Iterator[RawItem]:
    """The items written by `write_items`, in order."""
    with gzip.open(path, "rb") as lines:
        for line in lines:
            payload, source, source_ref, record_ref, error = orjson.loads(line)
            yield RawItem(payload, source, source_ref, record_ref, error)
