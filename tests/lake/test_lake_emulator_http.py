"""The Lake emulator answers every malformed request with a 4xx JSON error in the AWS JSON 1.1
shape, refuses oversized bodies from the header, and keeps serving afterwards (no hung thread).

Raw sockets and http.client, so that nothing between the test and the server fixes the request.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from patchtrail.devkit.lake_emulator.emulator import TARGET_PREFIX, LakeEmulator

pytestmark = pytest.mark.service("lake")

LIST = TARGET_PREFIX + "ListEventDataStores"
JSON_TYPE = "application/x-amz-json-1.1"
MAX_BODY = 4096


@pytest.fixture
def lake(events) -> Iterator[LakeEmulator]:
    with LakeEmulator(events, max_body=MAX_BODY, read_timeout=1.0) as emulator:
        yield emulator


def address(lake: LakeEmulator) -> tuple[str, int]:
    host, port = lake.endpoint_url.removeprefix("http://").split(":")
    return host, int(port)


def exchange(lake: LakeEmulator, data: bytes, *, wait: float = 10.0) -> tuple[int, dict[str, str], Any, float]:
    """Send raw bytes; return status, headers, JSON body and seconds until the reply came."""
    with socket.create_connection(address(lake), timeout=wait) as sock:
        started = time.monotonic()
        sock.sendall(data)
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
        elapsed = time.monotonic() - started
        return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(body), elapsed


def request(headers: dict[str, str], body: bytes = b"", *, line: str = "POST / HTTP/1.1") -> bytes:
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"{line}\r\nHost: 127.0.0.1\r\n{head}\r\n".encode() + body


def api(headers: dict[str, str] | None = None, body: bytes = b"{}", **kw: Any) -> bytes:
    base = {"X-Amz-Target": LIST, "Content-Type": JSON_TYPE, "Content-Length": str(len(body))}
    base.update(headers or {})
    return request({k: v for k, v in base.items() if v is not None}, body, **kw)


MALFORMED = {
    "Content-Length -1": (api({"Content-Length": "-1"}), 400, "InvalidContentLengthException"),
    "Content-Length abc": (api({"Content-Length": "abc"}), 400, "InvalidContentLengthException"),
    "Content-Length 1e11": (api({"Content-Length": "1e11"}), 400, "InvalidContentLengthException"),
    "Content-Length missing": (api({"Content-Length": None}), 411, "LengthRequiredException"),
    "two Content-Lengths": (request({"X-Amz-Target": LIST, "Content-Type": JSON_TYPE,
                                     "Content-Length": "2"}).replace(b"\r\n\r\n", b"\r\nContent-Length: 3\r\n\r\n")
                            + b"{}", 400, "InvalidContentLengthException"),
    "chunked": (api({"Content-Length": None, "Transfer-Encoding": "chunked"}, b"2\r\n{}\r\n0\r\n\r\n"),
                411, "LengthRequiredException"),
    "body over the limit": (api({"Content-Length": str(MAX_BODY + 1)}, b""), 413,
                            "RequestEntityTooLargeException"),
    "200 MB announced": (api({"Content-Length": str(200 * 1024 * 1024)}, b"{"), 413,
                         "RequestEntityTooLargeException"),
    "1e11 bytes as digits": (api({"Content-Length": "100000000000"}, b""), 413,
                             "RequestEntityTooLargeException"),
    "over the limit, Expect: 100-continue": (api({"Content-Length": str(MAX_BODY * 10),
                                                  "Expect": "100-continue"}, b""), 413,
                                             "RequestEntityTooLargeException"),
    "not JSON": (api(body=b"not json"), 400, "SerializationException"),
    "JSON but not an object": (api(body=b"[1, 2]"), 400, "SerializationException"),
    "not UTF-8": (api(body=b"\xff\xfe{}"), 400, "SerializationException"),
    "wrong content type": (api({"Content-Type": "text/plain"}), 415, "UnsupportedMediaTypeException"),
    "no content type": (api({"Content-Type": None}), 415, "UnsupportedMediaTypeException"),
    "unknown target": (api({"X-Amz-Target": TARGET_PREFIX + "DeleteEverything"}), 400,
                       "UnknownOperationException"),
    "foreign target": (api({"X-Amz-Target": "Nope.ListEventDataStores"}), 400, "UnknownOperationException"),
    "no target": (api({"X-Amz-Target": None}), 400, "UnknownOperationException"),
    "unknown path": (api(line="POST /admin HTTP/1.1"), 404, "NotFoundException"),
    "unknown method": (api(line="BREW / HTTP/1.1"), 405, "MethodNotAllowedException"),
    "PUT": (api(line="PUT / HTTP/1.1"), 405, "MethodNotAllowedException"),
    "bad request line": (b"this is not http\r\n\r\n", 400, None),
    "bad HTTP version": (api(line="POST / HTTP/9.9"), 400, None),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_request_gets_a_4xx_json_error_and_the_server_goes_on(lake, name):
    data, status, code = MALFORMED[name]
    got, headers, body, elapsed = exchange(lake, data)
    assert got == status, body
    assert headers["content-type"] == JSON_TYPE and set(body) == {"__type", "message"}
    assert body["__type"] == (code or body["__type"]) and body["__type"].endswith("Exception")
    assert headers["x-amzn-errortype"] == body["__type"]
    assert elapsed < 0.9  # answered from what arrived, not after waiting for more
    assert lake.client(retries={"total_max_attempts": 1}).list_event_data_stores()["EventDataStores"]


def test_a_body_that_never_arrives_gets_408_after_the_read_timeout(lake):
    status, _, body, elapsed = exchange(lake, api({"Content-Length": "100"}, b'{"a":'))
    assert (status, body["__type"]) == (408, "RequestTimeoutException")
    assert 0.9 <= elapsed < 5


def test_an_oversized_body_is_refused_before_it_is_sent(lake):
    """The reply comes while the client has sent the headers only; the server reads no body."""
    with socket.create_connection(address(lake), timeout=5) as sock:
        sock.sendall(api({"Content-Length": str(200 * 1024 * 1024)}, b""))
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert response.status == 413 and response.getheader("Connection") == "close"
        assert json.loads(response.read())["__type"] == "RequestEntityTooLargeException"


def test_the_error_shape_is_what_botocore_reads(lake):
    """botocore turns the reply of a refused request into a ClientError with the code."""
    from botocore.exceptions import ClientError

    client = lake.client(retries={"total_max_attempts": 1})
    with pytest.raises(ClientError) as caught:
        client.describe_query(QueryId="x" * 5000)  # a body over the emulator's 4 KiB limit
    assert caught.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_no_handler_thread_is_left_behind(lake):
    def handlers() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if "process_request_thread" in t.name]

    before = len(handlers())
    for data, _, _ in MALFORMED.values():
        exchange(lake, data)
    exchange(lake, api({"Content-Length": "50"}, b"{"))  # a truncated body: 408 after 1 s
    deadline = time.monotonic() + 5
    while len(handlers()) > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(handlers()) <= before


@pytest.mark.parametrize("value", [None, 1, -1, 1.5, "x", "9" * 300, [], {}, True, {"a": [1]}])
def test_wrong_parameter_types_are_4xx_never_5xx(lake, value):
    """Every operation, every member, a value of the wrong type: a 4xx, never a crash (5xx)."""
    members = ("QueryId", "QueryStatement", "EventDataStore", "NextToken", "MaxResults",
               "MaxQueryResults", "StartTime", "EndTime", "QueryStatus", "DeliveryS3Uri", "QueryAlias")
    operations = ("StartQuery", "DescribeQuery", "GetQueryResults", "CancelQuery", "ListEventDataStores",
                  "GetEventDataStore", "ListQueries", "ListPublicKeys")
    client = lake.client(retries={"total_max_attempts": 1})
    query_id = client.start_query(QueryStatement=f"SELECT eventID FROM {lake.store_id}")["QueryId"]  # noqa: S608 (the emulator's own store id)
    valid = {"EventDataStore": lake.store_id, "QueryId": query_id}
    for operation in operations:
        for member in members:
            for body in ({member: value}, {**valid, member: value},
                         {**valid, "StartTime": 0, "EndTime": 2e9, member: value}):
                data = json.dumps(body).encode()
                status, _, reply, _ = exchange(lake, api({"X-Amz-Target": TARGET_PREFIX + operation}, data))
                assert status < 500, (operation, body, reply)
