"""A record as a source read it, before flattening (light: no pandas, no pyarrow)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class RawItem:
    """One record as a source read it.

    Args:
        payload: the parsed record (dict), or its raw text when it could not be parsed.
        source: lake | lake_export | config_delivery | file.
        source_ref: the file path, S3 key + ETag, or Lake query id it came from.
        record_ref: where in that source (e.g. `item 3`, `line 57`).
        error: set by the reader when the record could not even be parsed.
    """

    payload: dict[str, Any] | str
    source: str
    source_ref: str
    record_ref: str
    error: str | None = None
