"""Local CloudTrail Lake endpoint: the JSON 1.1 API over loopback HTTP, so unmodified boto3 works."""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from patchtrail.devkit.lake_emulator.delivery import ResultSigner
from patchtrail.devkit.lake_emulator.engine import EventTables, read_events
from patchtrail.devkit.lake_emulator.faults import Faults
from patchtrail.devkit.lake_emulator.protocol import ApiError
from patchtrail.devkit.lake_emulator.service import LakeService
from patchtrail.devkit.lake_emulator.stores import Store
from patchtrail.errors import InvalidInput

__all__ = ["DEFAULT_ACCOUNT_ID", "DEFAULT_STORE_ID", "LakeEmulator", "serve"]

log = logging.getLogger(__name__)

DEFAULT_STORE_ID = "00000000-0000-4000-8000-000000000001"
DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
TARGET_PREFIX = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
CONTROL_PATH = "/_emulator/faults"
#: Largest request body read (bytes). StartQuery's statement is at most 10,000 characters;
#: a larger Content-Length is refused from the header, before any of the body is read.
MAX_BODY = 1 << 20
#: Seconds a connection may take to send the rest of a request (slow or truncated bodies).
READ_TIMEOUT = 30.0
API_CONTENT_TYPE = "application/x-amz-json-1.1"
_CONTROL_CONTENT_TYPES = (API_CONTENT_TYPE, "application/json")
_STORE_ID = r"[A-Za-z0-9][A-Za-z0-9._-]{2,127}"
Events = Path | str | Iterable[Mapping[str, Any] | str]


class LakeEmulator:
    """A CloudTrail Lake endpoint on 127.0.0.1 backed by in-memory DuckDB.

    Example:
        with LakeEmulator(events, s3_endpoint_url=moto_url) as lake:
            client = boto3.client("cloudtrail", endpoint_url=lake.endpoint_url, ...)

    Args:
        events: NDJSON file of Lake events (one eventJson object per line), or event dicts.
        stores: event data stores, each a dict with `id`, and optionally `name`, `status`
            (default ENABLED; any other status refuses queries), `account_id`, `region` and
            `events` (the store's own events; by default a store holds all `events`).
            Default: one ENABLED store with id `store_id`.
        store_id: id of the default store (ignored when `stores` is given).
        host, port: where to listen; port 0 picks a free port.
        s3_endpoint_url: S3 endpoint (e.g. moto) for DeliveryS3Uri; without it such queries are refused.
        max_concurrent_queries: QUEUED + RUNNING queries allowed at once (Lake: 10).
        query_timeout: seconds after which a query ends TIMED_OUT (None: never).
        query_delay: seconds every query stays RUNNING before it ends (see also faults.slow_next).
        max_body: largest request body accepted, bytes (larger: 413 before reading it).
        read_timeout: seconds a client may take to send a request (then 408, connection closed).
    """

    def __init__(
        self,
        events: Events = (),
        *,
        stores: list[Mapping[str, Any]] | None = None,
        store_id: str = DEFAULT_STORE_ID,
        host: str = "127.0.0.1",
        port: int = 0,
        s3_endpoint_url: str | None = None,
        max_concurrent_queries: int = 10,
        query_timeout: float | None = None,
        query_delay: float = 0.0,
        max_body: int = MAX_BODY,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        self.faults = Faults()
        self._max_body, self._read_timeout = max_body, read_timeout
        self.signer = ResultSigner()
        self._host, self._port = host, port
        self._tables = EventTables()
        shared = read_events(events)
        self.stores = [
            self._add_store(n, dict(cfg), shared)
            for n, cfg in enumerate(stores if stores is not None else [{"id": store_id}])
        ]
        if len({s.id.lower() for s in self.stores}) != len(self.stores):
            raise InvalidInput.mismatch("stores", [s.id for s in self.stores], "distinct store ids")
        self._tables.seal()
        self._s3_url = s3_endpoint_url
        self._s3_client: Any = None
        self._s3_lock = threading.Lock()
        self.service = LakeService(
            tables=self._tables,
            stores=self.stores,
            faults=self.faults,
            signer=self.signer,
            s3_client=self._s3 if s3_endpoint_url else None,
            max_concurrent=max_concurrent_queries,
            query_timeout=query_timeout,
            query_delay=query_delay,
        )
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the Lake emulator is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def store_id(self) -> str:
        """Id of the first (by default the only) event data store."""
        return self.stores[0].id

    @property
    def public_key_der(self) -> bytes:
        """DER (PKCS#1) of the public key that verifies `result_sign.json` signatures."""
        return self.signer.public_key_der

    @property
    def public_key_fingerprint(self) -> str:
        return self.signer.fingerprint

    def start(self) -> LakeEmulator:
        handler = type("LakeHandler", (_Handler,), {
            "service": self.service, "faults": self.faults, "max_body": self._max_body,
            "timeout": self._read_timeout})
        self._server = ThreadingHTTPServer((self._host, self._port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            name="lake-emulator",
            kwargs={"poll_interval": 0.1},
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (idempotent); queries still running are cancelled."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self.service.cancel_all()

    def wait(self) -> None:
        """Block until the server stops (used by `serve`)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=0.5)

    def client(self, **config: Any) -> Any:
        """A boto3 CloudTrail client for this endpoint (dummy credentials); `config` goes to Config."""
        return boto3.session.Session().client(
            "cloudtrail",
            endpoint_url=self.endpoint_url,
            region_name=DEFAULT_REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(**config),
        )

    def __enter__(self) -> LakeEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _add_store(self, number: int, cfg: dict[str, Any], shared: list[str]) -> Store:
        store_id = cfg.get("id")
        if not isinstance(store_id, str) or not re.fullmatch(_STORE_ID, store_id):
            raise InvalidInput.mismatch("store id", store_id, _STORE_ID)
        lines = read_events(cfg["events"]) if cfg.get("events") is not None else shared
        stats = self._tables.add(f"lake_events_{number}", lines)
        return Store(
            id=store_id,
            name=str(cfg.get("name", f"patchtrail-lake-{number + 1}")),
            status=str(cfg.get("status", "ENABLED")),
            account_id=str(cfg.get("account_id", DEFAULT_ACCOUNT_ID)),
            region=str(cfg.get("region", DEFAULT_REGION)),
            table=f"lake_events_{number}",
            events=stats.events,
            bytes=stats.bytes,
            created=time.time(),
        )

    def _s3(self) -> Any:
        with self._s3_lock:
            if self._s3_client is None:
                self._s3_client = boto3.session.Session().client(
                    "s3",
                    endpoint_url=self._s3_url,
                    region_name=DEFAULT_REGION,
                    aws_access_key_id="testing",
                    aws_secret_access_key="testing",
                    config=Config(
                        retries={"total_max_attempts": 2}, s3={"addressing_style": "path"}
                    ),
                )
            return self._s3_client


def serve(events_path: Path | str, port: int, host: str = "127.0.0.1", **options: Any) -> None:
    """Run a Lake emulator in the foreground until interrupted (`patchtrail lake-emulator`).

    Args:
        events_path: NDJSON file of Lake events.
        port: TCP port (0 picks a free one; the URL is printed on stderr).
        host: interface; keep the loopback default.
        options: further LakeEmulator keyword arguments (stores, s3_endpoint_url, ...).
    """
    emulator = LakeEmulator(Path(events_path), host=host, port=port, **options).start()
    print(
        f"CloudTrail Lake emulator at {emulator.endpoint_url} "
        f"(event data store {emulator.store_id})",
        file=sys.stderr,
        flush=True,
    )
    try:
        emulator.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()


class _Handler(BaseHTTPRequestHandler):
    """POST / with X-Amz-Target: CloudTrail_20131101.<Operation>; SigV4 headers are ignored.

    Every request gets a JSON reply in the AWS JSON 1.1 error shape when it is refused
    (`{"__type": ..., "message": ...}`, HTTP 4xx, header x-amzn-ErrorType): a missing, negative,
    non-numeric or too large Content-Length, a chunked body, a body that does not arrive in
    time, a wrong Content-Type, a body that is not a JSON object, an unknown target or path, a
    malformed request line or an unsupported method. A request whose body was not read in full
    closes the connection after the reply, so the next request on it cannot be misread.
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = (
        1 << 16
    )  # one write per response: no Nagle / delayed-ACK stall between header and body
    service: LakeService
    faults: Faults
    max_body: int = MAX_BODY
    timeout = READ_TIMEOUT  # socket timeout (StreamRequestHandler): no thread waits for ever

    def do_POST(self) -> None:  # noqa: N802 (http.server naming)
        refused = self._check_length()
        if refused:
            return self._error(*refused, close=True)
        length = int(self.headers["Content-Length"].strip())
        allowed = _CONTROL_CONTENT_TYPES if self.path == CONTROL_PATH else (API_CONTENT_TYPE,)
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type not in allowed:
            return self._error(415, "UnsupportedMediaTypeException",
                               f"Content-Type must be {' or '.join(allowed)}, not "
                               f"{content_type[:100]!r}.", close=True)
        try:
            raw = self.rfile.read(length) if length else b""
        except (TimeoutError, OSError):
            return self._error(408, "RequestTimeoutException",
                               f"the body did not arrive within {self.timeout:g} s.", close=True)
        if len(raw) < length:  # the client stopped sending
            return self._error(400, "IncompleteBodyException",
                               f"{len(raw)} of {length} body bytes arrived.", close=True)
        if self.path not in ("/", CONTROL_PATH):
            return self._error(404, "NotFoundException", f"no such path {self.path[:200]!r}; "
                               "the API is POST /.")
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise ValueError("the request body is not a JSON object")
        except (ValueError, UnicodeDecodeError) as exc:
            return self._error(400, "SerializationException", str(exc)[:500])
        if self.path == CONTROL_PATH:
            try:
                self.faults.apply(str(body.get("action")), body.get("args"))
            except (TypeError, ValueError) as exc:
                return self._error(400, "InvalidParameterException", str(exc))
            return self._reply(200, {})
        target = self.headers.get("X-Amz-Target", "")
        if not target.startswith(TARGET_PREFIX):
            return self._error(400, "UnknownOperationException",
                               f"Unknown X-Amz-Target {target[:200]!r}.")
        try:
            reply = self.service.handle(target[len(TARGET_PREFIX) :], body)
        except ApiError as exc:
            return self._error(400, exc.code, exc.message)
        except Exception as exc:  # the client sees a 500 and may retry
            log.exception("Lake emulator failed on %s", target)
            return self._reply(500, {"__type": "InternalFailure", "message": str(exc)[:500]})
        return self._reply(200, reply)

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/_emulator/health":
            return self._reply(200, {"status": "ok"})
        return self._error(404, "NotFoundException", "use POST /", close=self._has_body())

    def do_PUT(self) -> None:  # noqa: N802
        self._error(405, "MethodNotAllowedException", f"{self.command} is not accepted; use POST /.",
                    close=True)

    do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = do_PUT  # noqa: N815

    def handle_expect_100(self) -> bool:
        """Refuse a bad or too large body before the client sends it (no 100 Continue)."""
        refused = self._check_length()
        if refused:
            self._error(*refused, close=True)
            return False
        return super().handle_expect_100()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (bad request line, headers too long, unknown method) as
        JSON 4xx replies instead of HTML pages (501 and 505 become 405 and 400)."""
        if self.request_version == "HTTP/0.9":  # unparsable request line: answer as HTTP/1.1
            self.request_version = "HTTP/1.1"
        code = 405 if code == 501 else (400 if code >= 500 else code)
        reason = self.responses.get(code, ("Error",))[0].replace(" ", "")
        self._error(code, f"{reason}Exception", (message or explain or reason)[:300], close=True)

    def _check_length(self) -> tuple[int, str, str] | None:
        if self.headers.get("Transfer-Encoding"):
            return 411, "LengthRequiredException", "chunked bodies are not accepted; send Content-Length."
        values = self.headers.get_all("Content-Length") or []
        if not values:
            return 411, "LengthRequiredException", "Content-Length is required."
        text = values[0].strip()
        if len(set(v.strip() for v in values)) > 1 or not re.fullmatch(r"[0-9]{1,15}", text):
            return 400, "InvalidContentLengthException", (
                f"Content-Length {', '.join(values)[:40]!r} is not a byte count.")
        if int(text) > self.max_body:
            return 413, "RequestEntityTooLargeException", (
                f"the body of {int(text)} bytes is larger than {self.max_body} bytes.")
        return None

    def _has_body(self) -> bool:
        return bool(self.headers.get("Content-Length", "0").strip() not in ("", "0")
                    or self.headers.get("Transfer-Encoding"))

    def _error(self, status: int, code: str, message: str, *, close: bool = False) -> None:
        self._reply(status, {"__type": code, "message": message}, close=close,
                    headers={"x-amzn-ErrorType": code})

    def _reply(self, status: int, payload: dict[str, Any], *, close: bool = False,
               headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        if close:
            self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", API_CONTENT_TYPE)
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("lake emulator: " + format, *args)
