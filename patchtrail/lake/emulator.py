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

from patchtrail.errors import InvalidInput
from patchtrail.lake.delivery import ResultSigner
from patchtrail.lake.engine import EventTables, read_events
from patchtrail.lake.faults import Faults
from patchtrail.lake.protocol import ApiError
from patchtrail.lake.service import LakeService
from patchtrail.lake.stores import Store

__all__ = ["DEFAULT_ACCOUNT_ID", "DEFAULT_STORE_ID", "LakeEmulator", "serve"]

log = logging.getLogger(__name__)

DEFAULT_STORE_ID = "00000000-0000-4000-8000-000000000001"
DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
TARGET_PREFIX = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
CONTROL_PATH = "/_emulator/faults"
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
    ) -> None:
        self.faults = Faults()
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
        handler = type("LakeHandler", (_Handler,), {"service": self.service, "faults": self.faults})
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
    """POST / with X-Amz-Target: CloudTrail_20131101.<Operation>; SigV4 headers are ignored."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = (
        1 << 16
    )  # one write per response: no Nagle / delayed-ACK stall between header and body
    service: LakeService
    faults: Faults

    def do_POST(self) -> None:  # noqa: N802 (http.server naming)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise ValueError("the request body is not a JSON object")
        except ValueError as exc:
            return self._reply(400, {"__type": "SerializationException", "message": str(exc)[:500]})
        if self.path == CONTROL_PATH:
            try:
                self.faults.apply(str(body.get("action")), body.get("args"))
            except (TypeError, ValueError) as exc:
                return self._reply(
                    400, {"__type": "InvalidParameterException", "message": str(exc)}
                )
            return self._reply(200, {})
        target = self.headers.get("X-Amz-Target", "")
        if not target.startswith(TARGET_PREFIX):
            return self._reply(
                400,
                {
                    "__type": "UnknownOperationException",
                    "message": f"Unknown X-Amz-Target {target[:200]!r}.",
                },
            )
        try:
            reply = self.service.handle(target[len(TARGET_PREFIX) :], body)
        except ApiError as exc:
            return self._reply(400, {"__type": exc.code, "message": exc.message})
        except Exception as exc:  # the client sees a 500 and may retry
            log.exception("Lake emulator failed on %s", target)
            return self._reply(500, {"__type": "InternalFailure", "message": str(exc)[:500]})
        return self._reply(200, reply)

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/_emulator/health":
            return self._reply(200, {"status": "ok"})
        return self._reply(404, {"__type": "NotFoundException", "message": "use POST /"})

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("lake emulator: " + format, *args)
