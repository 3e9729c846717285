"""Data side of the Lake emulator: CloudTrail Lake events in in-memory DuckDB, query rows as strings."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pandas as pd

from patchtrail.devkit.lake_emulator.trino import DUCKDB_MACROS
from patchtrail.errors import InvalidInput

__all__ = ["EventTables", "QueryOutput", "TableStats", "read_events", "render_cell", "run_query"]

# Columns of a Config-item event data store (Lake schema, camelCase as in eventJson), plus the
# hidden eventJson column holding the original line. Unlike Lake, SELECT * also shows eventJson.
_EVENT_DATA_FIELDS = (
    "configurationItemVersion",
    "configurationItemCaptureTime",
    "configurationItemStatus",
    "configurationStateId",
    "accountId",
    "resourceType",
    "resourceId",
    "resourceName",
    "arn",
    "awsRegion",
    "availabilityZone",
    "resourceCreationTime",
)
_MAP_FIELDS = ("configuration", "supplementaryConfiguration", "tags")
_TEXT_FIELDS = ("relatedEvents", "relationships")


def _load_sql(table: str) -> str:
    """CREATE TABLE text; each eventJson is parsed once (multi-path json_extract)."""
    scalars = [
        "eventVersion",
        "eventCategory",
        "eventType",
        "eventID",
        "eventTime",
        "awsRegion",
        "recipientAccountId",
        *(f"eventData.{n}" for n in _EVENT_DATA_FIELDS),
    ]
    nested = ["addendum", *(f"eventData.{n}" for n in (*_MAP_FIELDS, *_TEXT_FIELDS))]

    def paths(names: list[str]) -> str:
        return "[" + ", ".join(f"'$.{n}'" for n in names) + "]"

    def s(name: str) -> str:
        return f"s[{scalars.index(name) + 1}]"

    def j(name: str) -> str:
        return f"j[{nested.index(name) + 1}]"

    fields = [f"{n} := {s('eventData.' + n)}" for n in _EVENT_DATA_FIELDS]
    fields.append(f"configurationItemStateId := {s('eventData.configurationStateId')}")
    fields += [f"{n} := lake_string_map({j('eventData.' + n)})" for n in _MAP_FIELDS]
    fields += [f"{n} := CAST({j('eventData.' + n)} AS VARCHAR)" for n in _TEXT_FIELDS]
    envelope = [f"{s(n)} AS {n}" for n in scalars[:7] if n != "eventTime"]
    # Only internal names (lake_events_<n>) and fixed JSON paths are put into this text.
    return f"""
        CREATE TABLE {table} AS
        SELECT
            {", ".join(envelope[:4])},
            CAST(CAST({s("eventTime")} AS TIMESTAMPTZ) AS TIMESTAMP) AS eventTime,
            {", ".join(envelope[4:])},
            lake_string_map({j("addendum")}) AS addendum,
            struct_pack({", ".join(fields)}) AS eventData,
            eventJson
        FROM (
            SELECT
                eventJson,
                json_extract_string(eventJson, {paths(scalars)}) AS s,
                json_extract(eventJson, {paths(nested)}) AS j
            FROM _lake_raw
        )
    """  # noqa: S608


_STRING_MAP_MACRO = (
    "CREATE MACRO lake_string_map(j) AS map_from_entries(list_transform("
    "map_entries(TRY_CAST(j AS MAP(VARCHAR, JSON))), "
    "lambda e: struct_pack(key := e.key, value := json_extract_string(e.value, '$'))))"
)


@dataclass(frozen=True)
class TableStats:
    events: int
    bytes: int


@dataclass
class QueryOutput:
    columns: list[str]
    rows: list[list[str | None]]


class EventTables:
    """One in-memory DuckDB database holding one events table per event data store."""

    def __init__(self) -> None:
        self._con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False})
        self._lock = threading.Lock()
        self._con.execute("SET GLOBAL TimeZone = 'UTC'")
        for macro in (*DUCKDB_MACROS, _STRING_MAP_MACRO):
            self._con.execute(macro)

    def add(self, table: str, lines: Sequence[str]) -> TableStats:
        """Create `table` from eventJson lines (already checked to be JSON objects)."""
        frame = pd.DataFrame({"eventJson": pd.Series(list(lines), dtype=object)})
        with self._lock:
            self._con.register("_lake_raw", frame)
            try:
                self._con.execute(_load_sql(table))
            except duckdb.Error as exc:
                raise InvalidInput.mismatch(
                    "events",
                    table,
                    "CloudTrail Lake events (eventTime ISO-8601)",
                    reason=str(exc).splitlines()[0],
                ) from None
            finally:
                self._con.unregister("_lake_raw")
        return TableStats(len(lines), sum(len(line.encode()) for line in lines))

    def seal(self) -> None:
        """Forbid file and network access and further settings: queries only read the tables."""
        with self._lock:
            self._con.execute("SET enable_external_access = false")
            self._con.execute("SET lock_configuration = true")

    def cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            return self._con.cursor()

    def check_syntax(self, sql: str) -> None:
        """Raise duckdb.ParserException when DuckDB cannot parse `sql`."""
        with self._lock:
            self._con.extract_statements(sql)

    def close(self) -> None:
        with self._lock:
            self._con.close()


def read_events(events: Path | str | Iterable[Mapping[str, Any] | str]) -> list[str]:
    """The eventJson lines of `events`: an NDJSON file (path), or event dicts / JSON strings."""
    if isinstance(events, (str, Path)):
        path = Path(events)
        items: Iterable[Mapping[str, Any] | str] = path.read_text(encoding="utf-8").splitlines()
        where = str(path)
    else:
        items, where = events, "events"
    lines = []
    for number, item in enumerate(items, start=1):
        if isinstance(item, Mapping):
            lines.append(orjson.dumps(item).decode())
            continue
        if not item.strip():
            continue
        try:
            parsed = orjson.loads(item)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput.mismatch(
                "event", f"{where}:{number}", "one JSON object per line", reason=str(exc)
            ) from None
        if not isinstance(parsed, dict):
            raise InvalidInput.mismatch("event", f"{where}:{number}", "one JSON object per line")
        lines.append(item.strip())
    return lines


def run_query(cursor: duckdb.DuckDBPyConnection, sql: str) -> QueryOutput:
    """Run DuckDB `sql` and render every cell as the Lake API would (strings, NULL as None)."""
    relation = cursor.sql(sql)
    if relation is None:
        raise duckdb.InvalidInputException("the statement returns no rows")
    types = relation.types
    rows = [
        [render_cell(v, t) for v, t in zip(row, types, strict=True)] for row in relation.fetchall()
    ]
    return QueryOutput(list(relation.columns), rows)


def render_cell(value: Any, duck_type: Any) -> str | None:
    """One cell as text: JSON as JSON text, timestamps `yyyy-MM-dd HH:mm:ss.SSS`, lists as a JSON
    array, structs and maps Java-style `{key=value, ...}` (what Lake prints for them).

    The Lake rendering of arrays is not documented (aws-formats.md §3.4): JSON array text is this
    emulator's choice, so `array(json)` columns of the seed queries parse with `json.loads`.
    """
    if value is None:
        return None
    kind = duck_type.id
    if kind in ("list", "array"):
        return _json_text(value, duck_type)
    if kind in ("struct", "map"):
        return _java_text(value, duck_type)
    return _scalar(value, kind)


def _scalar(value: Any, kind: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _children(duck_type: Any) -> dict[str, Any]:
    return dict(duck_type.children)


def _json_text(value: Any, duck_type: Any) -> str:
    if value is None:
        return "null"
    kind = duck_type.id
    if str(duck_type) == "JSON":
        return value
    if kind in ("list", "array"):
        child = _children(duck_type)["child"]
        return "[" + ",".join(_json_text(v, child) for v in value) + "]"
    if kind == "struct":
        fields = _children(duck_type)
        return (
            "{"
            + ",".join(f"{json.dumps(k)}:{_json_text(v, fields[k])}" for k, v in value.items())
            + "}"
        )
    if kind == "map":
        child = _children(duck_type)["value"]
        return (
            "{"
            + ",".join(f"{json.dumps(str(k))}:{_json_text(v, child)}" for k, v in value.items())
            + "}"
        )
    if isinstance(value, (bool, int, float)):
        return json.dumps(value)
    return json.dumps(_scalar(value, kind))


def _java_text(value: Any, duck_type: Any) -> str:
    if value is None:
        return "null"
    kind = duck_type.id
    if kind in ("list", "array"):
        child = _children(duck_type)["child"]
        return "[" + ", ".join(_java_text(v, child) for v in value) + "]"
    if kind == "struct":
        fields = _children(duck_type)
        return (
            "{"
            + ", ".join(f"{k.lower()}={_java_text(v, fields[k])}" for k, v in value.items())
            + "}"
        )
    if kind == "map":
        child = _children(duck_type)["value"]
        return "{" + ", ".join(f"{k}={_java_text(v, child)}" for k, v in value.items()) + "}"
    return _scalar(value, kind)
