"""Text of rejected records and reasons that can always be stored, whatever the record holds.

`payload_text` writes a record as JSON with orjson when it can; otherwise (nesting deeper than
orjson's 255 levels, integers beyond 64 bits, lone surrogates, keys that are not strings, values
that are not JSON) it falls back to a JSON-like writer that never recurses and never raises,
capped at `MAX_TEXT` characters. `clean_text` makes any string storable as UTF-8.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

#: Longest payload text produced, in characters (landing keeps at most 1 MiB too).
MAX_TEXT = 1 << 20
_TRUNCATED = " ...[truncated]"
_END = object()


def payload_text(payload: Any, *, limit: int = MAX_TEXT) -> str:
    """`payload` as JSON text (at most `limit` characters); never raises."""
    try:
        text = orjson.dumps(payload, default=str).decode()
    except Exception:  # noqa: BLE001 - any failure falls back to the writer below
        text = _fallback(payload, limit)
    return text if len(text) <= limit else text[:limit] + _TRUNCATED


def clean_text(value: Any, *, limit: int | None = None) -> str | None:
    """`value` as text storable as UTF-8: lone surrogates become `\\udcxx` escapes."""
    if value is None:
        return None
    if not isinstance(value, str):
        value = _scalar(value, limit or MAX_TEXT)
    if limit is not None and len(value) > limit:
        value = value[:limit] + _TRUNCATED
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def _fallback(value: Any, limit: int) -> str:
    """JSON-like text of any value, iteratively (no recursion), stopping past `limit`."""
    out: list[str] = []
    size = 0
    stack: list[list[Any]] = []  # [iterator, closing bracket, is first, is a dict]

    def emit(text: str) -> None:
        nonlocal size
        out.append(text)
        size += len(text)

    def open_value(item: Any) -> None:
        if isinstance(item, dict):
            emit("{")
            stack.append([iter(item.items()), "}", True, True])
        elif isinstance(item, list | tuple):
            emit("[")
            stack.append([iter(item), "]", True, False])
        else:
            emit(_scalar(item, limit))

    try:
        open_value(value)
        while stack and size <= limit:
            frame = stack[-1]
            nxt = next(frame[0], _END)
            if nxt is _END:
                stack.pop()
                emit(frame[1])
                continue
            if not frame[2]:
                emit(",")
            frame[2] = False
            if frame[3]:
                key, nxt = nxt
                emit(_string(key if isinstance(key, str) else _scalar(key, limit), limit) + ":")
            open_value(nxt)
    except Exception as exc:  # noqa: BLE001 - keep what was written, say why it stopped
        emit(f" ...[unserialisable: {type(exc).__name__}]")
    return "".join(out)


def _scalar(value: Any, limit: int) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if value.bit_length() < 10_000 else f'"<a {value.bit_length()}-bit integer>"'
    if isinstance(value, float):
        return json.dumps(value)
    if isinstance(value, str):
        return _string(value, limit)
    try:
        return _string(str(value), limit)
    except Exception:  # noqa: BLE001
        return _string(f"<{type(value).__name__}>", limit)


def _string(value: str, limit: int) -> str:
    """A JSON string literal (ASCII, so lone surrogates are escaped), of at most ~`limit` chars."""
    return json.dumps(value[:limit])
