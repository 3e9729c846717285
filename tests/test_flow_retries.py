"""Flow tasks retry transient failures and never permanent ones (real Prefect server)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from patchtrail.flows.retry import is_transient

from patchtrail.errors import InvalidInput, TransientError, WarehouseBusy

pytestmark = pytest.mark.service("prefect")


def client_error(code: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "x"},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "StartQuery")


@pytest.mark.parametrize("exc,transient", [
    (client_error("ThrottlingException"), True),
    (client_error("MaxConcurrentQueriesException"), True),
    (client_error("InternalError", 500), True),
    (client_error("SlowDown", 503), True),
    (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), True),
    (TransientError("query timed out"), True),
    (WarehouseBusy("locked"), True),
    (client_error("AccessDeniedException", 403), False),
    (client_error("EventDataStoreNotFoundException"), False),
    (client_error("NoSuchBucket", 404), False),
    (InvalidInput("bad instance id"), False),
    (ValueError("bug"), False),
])
def test_transient_or_permanent(exc, transient):
    assert is_transient(exc) is transient


def test_a_transient_failure_is_retried_and_a_permanent_one_is_not(prefect_server, tmp_path):
    from patchtrail.flows.retry import retry_options
    from prefect import flow, task

    calls = {"transient": 0, "permanent": 0}

    options = retry_options() | {"retry_delay_seconds": [0, 0, 0], "retry_jitter_factor": None}

    @task(**options)
    def flaky() -> str:
        calls["transient"] += 1
        if calls["transient"] < 3:
            raise TransientError("Lake queries did not finish in time")
        return "ok"

    @task(**options)
    def broken() -> str:
        calls["permanent"] += 1
        raise InvalidInput("event_data_store 'x' does not match ...")

    @flow
    def both() -> str:
        result = flaky()
        try:
            broken()
        except InvalidInput:
            return result
        return "not reached"

    assert both() == "ok"
    assert calls == {"transient": 3, "permanent": 1}
