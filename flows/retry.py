"""Which failures a flow task retries: transient AWS trouble yes, permanent mistakes never."""

from __future__ import annotations

from typing import Any

from patchtrail.transient import TRANSIENT_CODES, is_transient  # noqa: F401 (re-exported)

#: Backoff for task retries: seconds before the 1st, 2nd, 3rd retry (Prefect adds jitter).
RETRY_DELAYS = [30, 120, 480]
RETRY_JITTER = 0.5


def retry_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect `retry_condition_fn`: retry only when the task failed for a transient reason."""
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 (inspecting the failure is the point)
        return is_transient(exc)
    return False


def retry_options() -> dict[str, Any]:
    """Task options: retry transient failures with backoff and jitter; never cache.

    For tasks that call AWS (a Lake window, an account's S3 objects) and tasks that write the
    warehouse (a busy warehouse is transient too)."""
    from prefect.cache_policies import NO_CACHE

    return {"retries": len(RETRY_DELAYS), "retry_delay_seconds": RETRY_DELAYS,
            "retry_jitter_factor": RETRY_JITTER, "retry_condition_fn": retry_transient,
            "cache_policy": NO_CACHE}
