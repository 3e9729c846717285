"""Ingest local files: AWS Config delivery files, Lake exports and Lake event NDJSON on disk."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from patchtrail.constants import CHUNK_ITEMS
from patchtrail.ingest.pipeline import ingest
from patchtrail.run import ObjectResult, RunSummary
from patchtrail.sources.files import FileSource
from patchtrail.sources.sign_file import PublicKeys


def ingest_files(paths: Iterable[Path | str], *, warehouse: Path | str, follow_symlinks: bool = False,
                 keys: PublicKeys | None = None,
                 on_object: Callable[[ObjectResult], None] | None = None,
                 on_listed: Callable[[int, int], None] | None = None,
                 chunk_items: int = CHUNK_ITEMS) -> RunSummary:
    """Land AWS Config / CloudTrail Lake files from local disk into the warehouse.

    Args:
        paths: files or folders; folders are walked and formats detected by name.
        warehouse: the DuckDB file (created if missing).
        follow_symlinks: also follow symbolic links that leave the folders given.
        keys: verify Lake exports' RSA signatures with these keys (hashes are always checked).
        on_object: called after each object (for progress bars).
        on_listed: called once with (objects found, bytes to read).
        chunk_items: items per committed chunk (see patchtrail.run).
    Files already recorded with the same path and SHA-256 are skipped. Raises InvalidInput, and
    records nothing, when none of the paths exists.
    """
    source = FileSource(paths, follow_symlinks=follow_symlinks, public_keys=keys)
    return ingest(source, warehouse=warehouse, on_object=on_object, on_listed=on_listed,
                  chunk_items=chunk_items)
