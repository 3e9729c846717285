"""Wire-level pieces shared by the Lake emulator's operations: error responses and opaque paging."""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
from typing import Any

__all__ = ["ApiError", "Pager", "epoch_seconds", "max_results"]


class ApiError(Exception):
    """An error response: `code` becomes `__type` (e.g. QueryIdNotFoundException), HTTP 400."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


def max_results(body: dict[str, Any], name: str) -> int:
    """The page size `name` of a request (1..1000, default 1000) or InvalidMaxResultsException."""
    value = body.get(name, 1000)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1000:
        raise ApiError("InvalidMaxResultsException", f"{name} must be an integer from 1 to 1000.")
    return value


def epoch_seconds(body: dict[str, Any], name: str) -> float | None:
    """Timestamp member `name` (JSON 1.1 sends epoch seconds), None when absent;
    InvalidParameterException for anything that is not a finite number."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            value = None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ApiError("InvalidParameterException", f"{name} must be a timestamp (epoch seconds).")
    return float(value)


class Pager:
    """Opaque NextToken values: an HMAC-signed (scope, offset) pair, so a token only works for the
    query (or listing) it came from and cannot be forged or edited."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def token(self, scope: str, offset: int) -> str:
        payload = f"{scope}|{offset}"
        return base64.urlsafe_b64encode(f"{payload}|{self._mac(payload)}".encode()).decode()

    def offset(self, token: Any, scope: str) -> int:
        """Offset carried by `token` (0 when there is none); InvalidNextTokenException otherwise."""
        if not token:
            return 0
        try:
            text = base64.urlsafe_b64decode(str(token).encode()).decode()
            got_scope, offset, mac = text.rsplit("|", 2)
            if hmac.compare_digest(mac, self._mac(f"{got_scope}|{offset}")) and got_scope == scope:
                return int(offset)
        except (ValueError, UnicodeDecodeError):
            pass
        raise ApiError("InvalidNextTokenException", "The NextToken is not valid for this request.")

    def page(self, body: dict[str, Any], key: str, scope: str, items: list[Any]) -> dict[str, Any]:
        """A listing reply: `items` cut by MaxResults / NextToken, with the next token if any."""
        size = max_results(body, "MaxResults")
        start = self.offset(body.get("NextToken"), scope)
        reply: dict[str, Any] = {key: items[start : start + size]}
        if start + size < len(items):
            reply["NextToken"] = self.token(scope, start + size)
        return reply

    def _mac(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()[:32]
