"""Ingest: every source through one pipeline (see `pipeline`), one entry point per source.

    ingest_files(paths, warehouse=...)        local files and folders (patchtrail/ingest/files.py)
    ingest_s3(uri, warehouse=...)             an S3 prefix tree (patchtrail/ingest/s3.py)
    ingest_lake(stores, warehouse=...)        CloudTrail Lake windows (patchtrail/ingest/lake.py)

Imports are lazy: `import patchtrail.ingest` costs nothing until an entry point is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "ingest_files": "patchtrail.ingest.files",
    "ingest_s3": "patchtrail.ingest.s3",
    "ingest_lake": "patchtrail.ingest.lake",
    "ingest": "patchtrail.ingest.pipeline",
    "fleet_summary": "patchtrail.ingest.pipeline",
    "summarise_fleet": "patchtrail.ingest.pipeline",
    "ObjectResult": "patchtrail.run",
    "RunSummary": "patchtrail.run",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
