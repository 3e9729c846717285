"""Which failures a flow task retries: transient AWS trouble yes, permanent mistakes never."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from patchtrail.errors import InvalidInput, TransientError, WarehouseBusy

#: Error codes worth another try (throttling, service trouble); cf. botocore's retry rules.
TRANSIENT_CODES = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
    "SlowDown", "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete",
    "InternalError", "InternalFailure", "ServiceUnavailable", "ServiceUnavailableException",
    "MaxConcurrentQueriesException",
}
_CONNECTION = (EndpointConnectionError, ConnectionClosedError, ConnectTimeoutError, ReadTimeoutError,
               ConnectionError, TimeoutError)
#: Backoff for task retries: seconds before the 1st, 2nd, 3rd retry (Prefect adds jitter).
RETRY_DELAYS = [30, 120, 480]
RETRY_JITTER = 0.5


def is_transient(exc: BaseException) -> bool:
    """True for throttling, 5xx, connection trouble, a busy warehouse or a TransientError."""
    if isinstance(exc, InvalidInput):
        return False
    if isinstance(exc, (TransientError, WarehouseBusy, *_CONNECTION)):
        return True
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error.get("Code") in TRANSIENT_CODES or status >= 500
    return False


def retry_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect `retry_condition_fn`: retry only when the task failed for a transient reason."""
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 (inspecting the failure is the point)
        return is_transient(exc)
    return False


def writer_task_options() -> dict[str, Any]:
    """Options for a task that writes the warehouse: transient retries, never cached."""
    from prefect.cache_policies import NO_CACHE

    return {"retries": len(RETRY_DELAYS), "retry_delay_seconds": RETRY_DELAYS,
            "retry_jitter_factor": RETRY_JITTER, "retry_condition_fn": retry_transient,
            "cache_policy": NO_CACHE}
