"""CloudTrail Lake operations of the emulator: request dict in, reply dict out, ApiError on failure."""

from __future__ import annotations

import base64
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import duckdb

from patchtrail.devkit.lake_emulator import delivery
from patchtrail.devkit.lake_emulator.engine import EventTables
from patchtrail.devkit.lake_emulator.faults import Faults, QueryFault
from patchtrail.devkit.lake_emulator.protocol import ApiError, Pager, epoch_seconds, max_results
from patchtrail.devkit.lake_emulator.runs import QueryRun, error_message, execute
from patchtrail.devkit.lake_emulator.stores import Store, StoreCatalog
from patchtrail.devkit.lake_emulator.trino import InvalidStatement, UnsupportedSql, translate

__all__ = ["LakeService"]

log = logging.getLogger(__name__)

_STATUSES = ("QUEUED", "RUNNING", "FINISHED", "FAILED", "CANCELLED", "TIMED_OUT")
_NO_ALIAS = "QueryAlias (dashboard queries) is not emulated."


class LakeService:
    """All state of one emulator: stores, queries, faults; safe to call from many threads.

    Args:
        tables: the DuckDB tables of the stores (sealed).
        stores: the event data stores.
        faults: armed failures, consumed by the operations.
        signer: key that signs delivered result files.
        s3_client: returns the S3 client used for DeliveryS3Uri; None refuses such queries.
        max_concurrent: QUEUED + RUNNING queries allowed at once.
        query_timeout: seconds before a query ends TIMED_OUT (None: never).
        query_delay: seconds each query stays RUNNING before it ends.
    """

    def __init__(
        self,
        *,
        tables: EventTables,
        stores: list[Store],
        faults: Faults,
        signer: delivery.ResultSigner,
        s3_client: Callable[[], Any] | None,
        max_concurrent: int = 10,
        query_timeout: float | None = None,
        query_delay: float = 0.0,
    ) -> None:
        self._tables, self._faults, self._signer, self._s3 = tables, faults, signer, s3_client
        self.stores = StoreCatalog(stores)
        self._max_concurrent = max_concurrent
        self._timeout, self._delay = query_timeout, query_delay
        self._runs: dict[str, QueryRun] = {}
        self._lock = threading.Lock()
        self._pager = Pager()
        self.operations: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "StartQuery": self.start_query,
            "DescribeQuery": self.describe_query,
            "GetQueryResults": self.get_query_results,
            "CancelQuery": self.cancel_query,
            "ListEventDataStores": self.list_event_data_stores,
            "GetEventDataStore": self.get_event_data_store,
            "ListQueries": self.list_queries,
            "ListPublicKeys": self.list_public_keys,
        }

    def handle(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        """Run `operation` (its name, e.g. StartQuery) with request `body`."""
        handler = self.operations.get(operation)
        if handler is None:
            raise ApiError("UnknownOperationException", f"Unknown operation {operation[:100]!r}.")
        if self._faults.take_throttle(operation):
            raise ApiError("ThrottlingException", "Rate exceeded")
        return handler(body)

    def start_query(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("QueryAlias"):
            raise ApiError("UnsupportedOperationException", _NO_ALIAS)
        statement = body.get("QueryStatement")
        if not isinstance(statement, str) or not 1 <= len(statement) <= 10000:
            raise ApiError(
                "InvalidParameterException", "QueryStatement must be 1..10000 characters."
            )
        uri = body.get("DeliveryS3Uri")
        if uri is not None:
            if not isinstance(uri, str) or not re.fullmatch(delivery.DELIVERY_URI_PATTERN, uri):
                raise ApiError(
                    "InvalidS3BucketNameException",
                    f"DeliveryS3Uri {str(uri)[:200]!r} is not valid.",
                )
            if self._s3 is None:
                raise ApiError(
                    "UnsupportedOperationException", "this emulator has no s3_endpoint_url."
                )
        used: list[Store] = []
        sql, failure = self._translate(statement, used)
        stores = list({s.id: s for s in used}.values())
        run = QueryRun(
            query_id=str(uuid.uuid4()),
            statement=statement,
            sql=sql,
            store_ids=tuple(s.id for s in stores),
            account_id=stores[0].account_id,
            region=stores[0].region,
            events_in_stores=sum(s.events for s in stores),
            bytes_in_stores=sum(s.bytes for s in stores),
            delivery_uri=uri,
            delivery_status="PENDING" if uri else None,
        )
        with self._lock:
            active = sum(1 for r in self._runs.values() if not r.terminal)
            if self._faults.take_busy() or active >= self._max_concurrent:
                raise ApiError(
                    "MaxConcurrentQueriesException",
                    f"The maximum number of concurrent queries is {self._max_concurrent}. "
                    "Wait a minute for some queries to finish, and then run the query again.",
                )
            self._runs[run.query_id] = run
        fault = self._faults.take_query_fault()
        status, message = ("FAILED", failure) if failure else (fault.status, fault.message)
        fault = QueryFault(status, message, fault.delay or self._delay)
        threading.Thread(
            target=execute,
            args=(run, self._tables),
            kwargs={"fault": fault, "timeout": self._timeout, "after": self._after},
            name=f"lake-query-{run.query_id[:8]}",
            daemon=True,
        ).start()
        return {"QueryId": run.query_id, "EventDataStoreOwnerAccountId": run.account_id}

    def describe_query(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("QueryAlias") and not body.get("QueryId"):
            raise ApiError("UnsupportedOperationException", _NO_ALIAS)
        run = self._run(body)
        reply = {
            "QueryId": run.query_id,
            "QueryString": run.statement,
            "QueryStatus": run.status,
            "QueryStatistics": run.statistics(),
            "EventDataStoreOwnerAccountId": run.account_id,
        }
        if run.error:
            reply["ErrorMessage"] = run.error
        if run.delivery_uri:
            reply.update(DeliveryS3Uri=run.delivery_uri, DeliveryStatus=run.delivery_status)
        return reply

    def get_query_results(self, body: dict[str, Any]) -> dict[str, Any]:
        run = self._run(body)
        size = max_results(body, "MaxQueryResults")
        offset = self._pager.offset(body.get("NextToken"), run.query_id)
        rows = run.output.rows if run.status == "FINISHED" and run.output else []
        if offset > len(rows):
            raise ApiError(
                "InvalidNextTokenException", "The NextToken is not valid for this query."
            )
        page = rows[offset : offset + size]
        columns = run.output.columns if run.output else []
        reply: dict[str, Any] = {
            "QueryStatus": run.status,
            "QueryStatistics": {
                "ResultsCount": len(page),
                "TotalResultsCount": len(rows),
                "BytesScanned": run.bytes_scanned,
            },
            # One single-key map per non-NULL cell, in SELECT order; NULL cells are left out.
            "QueryResultRows": [
                [{c: v} for c, v in zip(columns, row, strict=True) if v is not None] for row in page
            ],
        }
        if offset + size < len(rows):
            reply["NextToken"] = self._pager.token(run.query_id, offset + size)
        if run.error:
            reply["ErrorMessage"] = run.error
        return reply

    def cancel_query(self, body: dict[str, Any]) -> dict[str, Any]:
        run = self._run(body)
        if not run.finish("CANCELLED"):
            raise ApiError(
                "InactiveQueryException",
                f"The query {run.query_id} is {run.status} and cannot be cancelled.",
            )
        run.request_stop("cancel")
        return {
            "QueryId": run.query_id,
            "QueryStatus": "CANCELLED",
            "EventDataStoreOwnerAccountId": run.account_id,
        }

    def list_event_data_stores(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._pager.page(body, "EventDataStores", "list-stores", self.stores.summaries())

    def get_event_data_store(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.stores.get(body.get("EventDataStore")).description()

    def list_queries(self, body: dict[str, Any]) -> dict[str, Any]:
        store = self.stores.get(body.get("EventDataStore"))
        start, end = epoch_seconds(body, "StartTime"), epoch_seconds(body, "EndTime")
        status = body.get("QueryStatus")
        if start is not None and end is not None and start > end:
            raise ApiError("InvalidDateRangeException", "StartTime is later than EndTime.")
        if status is not None and status not in _STATUSES:
            raise ApiError(
                "InvalidQueryStatusException", f"QueryStatus {str(status)[:50]!r} is not valid."
            )
        with self._lock:
            runs = [r for r in self._runs.values() if store.id in r.store_ids]
        items = [
            {"QueryId": r.query_id, "QueryStatus": r.status, "CreationTime": r.created}
            for r in sorted(runs, key=lambda r: r.created, reverse=True)
            if not self._faults.is_expired(r.query_id)
            and (start is None or r.created >= start)
            and (end is None or r.created <= end)
            and (status is None or r.status == status)
        ]
        return self._pager.page(body, "Queries", f"list-queries:{store.id}", items)

    def list_public_keys(self, body: dict[str, Any]) -> dict[str, Any]:
        """The key that signs delivered result files (result_sign.json), when its validity
        overlaps [StartTime, EndTime] (both default to now), with the fingerprint those files
        carry. There is one key, so NextToken (reserved by AWS) is never issued or accepted."""
        if body.get("NextToken"):
            raise ApiError("InvalidTokenException", "The NextToken is not valid.")
        now = time.time()
        start = epoch_seconds(body, "StartTime")
        end = epoch_seconds(body, "EndTime")
        start, end = (now if start is None else start), (now if end is None else end)
        if start > end:
            raise ApiError("InvalidTimeRangeException", "StartTime is later than EndTime.")
        signer = self._signer
        keys = []
        if start <= signer.valid_until and end >= signer.valid_from:
            keys.append({
                "Value": base64.b64encode(signer.public_key_der).decode(),
                "ValidityStartTime": signer.valid_from,
                "ValidityEndTime": signer.valid_until,
                "Fingerprint": signer.fingerprint,
            })
        return {"PublicKeyList": keys}

    def cancel_all(self) -> None:
        """Cancel every query not yet terminal (emulator shutdown)."""
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            if run.finish("CANCELLED"):
                run.request_stop("cancel")

    def _translate(self, statement: str, used: list[Store]) -> tuple[str, str | None]:
        """DuckDB SQL and a failure message (set when the query must end FAILED when run)."""
        try:
            sql = translate(statement, resolve=lambda ref: _note(self.stores.queryable(ref), used))
            self._tables.check_syntax(sql)
        except InvalidStatement as exc:
            raise ApiError("InvalidQueryStatementException", str(exc)) from None
        except duckdb.ParserException as exc:
            raise ApiError("InvalidQueryStatementException", error_message(exc)) from None
        except UnsupportedSql as exc:
            sql, failure = "", error_message(exc)
        else:
            failure = None
        if not used:
            raise ApiError(
                "InvalidQueryStatementException", "the query names no event data store in FROM."
            )
        return sql, failure

    def _after(self, run: QueryRun) -> None:
        """Called by the worker once the query is terminal: deliver its results if asked."""
        if not run.delivery_uri:
            return
        try:
            status = delivery.deliver_query(run, s3_client=self._s3, signer=self._signer)
        except Exception:  # a delivery bug must not leave the status PENDING forever
            log.exception("Lake emulator: delivery of query %s failed", run.query_id)
            status = "FAILED"
        run.delivery_status = status

    def _run(self, body: dict[str, Any]) -> QueryRun:
        query_id = body.get("QueryId")
        if not isinstance(query_id, str) or not query_id:
            raise ApiError("InvalidParameterException", "QueryId is required.")
        with self._lock:
            run = self._runs.get(query_id)
        if run is None or self._faults.is_expired(query_id):
            raise ApiError(
                "QueryIdNotFoundException",
                f"The query ID {query_id[:100]!r} does not exist or has expired.",
            )
        return run


def _note(store: Store, used: list[Store]) -> str:
    used.append(store)
    return store.table
