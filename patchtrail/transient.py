"""Which failures are transient (retrying later can help) and which are permanent.

Used by the sources, to tell a window or an object that failed for now from one that is bad, and
by the flows' retry condition. Throttling, 5xx and connection trouble are transient; validation,
access denied and not found are not (cf. botocore's own retry rules).
"""

from __future__ import annotations

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from patchtrail.errors import InvalidInput, TransientError, WarehouseBusy

#: Error codes worth another try (throttling, service trouble).
TRANSIENT_CODES = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
    "SlowDown", "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete",
    "InternalError", "InternalFailure", "ServiceUnavailable", "ServiceUnavailableException",
    "MaxConcurrentQueriesException",
}
_CONNECTION = (EndpointConnectionError, ConnectionClosedError, ConnectTimeoutError, ReadTimeoutError,
               ConnectionError, TimeoutError)


def is_transient(exc: BaseException | None) -> bool:
    """True for throttling, 5xx, connection trouble, a busy warehouse or a TransientError."""
    if exc is None or isinstance(exc, InvalidInput):
        return False
    if isinstance(exc, (TransientError, WarehouseBusy, *_CONNECTION)):
        return True
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error.get("Code") in TRANSIENT_CODES or status >= 500
    return False
