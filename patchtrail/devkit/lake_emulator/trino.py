"""Translate the Trino SQL that CloudTrail Lake runs into DuckDB SQL, for the local Lake emulator.

The rewrite works on tokens, never on raw text: string literals and quoted identifiers pass through
untouched (the only literal ever rewritten is a JSONPath argument of json_extract*, on purpose).
Rules, each with the Trino semantics it keeps:

- `FROM <store id>` / `JOIN <store id>` (also in comma lists) -> the table `resolve()` returns; any
  other table name, or a table function other than UNNEST, never reaches DuckDB.
- `x -> e`, `(x, y) -> e` -> `lambda x: e`, `lambda x, y: e`.
- `transform` -> `list_transform`; two-argument `replace(s, x)` -> `replace(s, x, '')`.
- `cast(e as varchar)` -> `trino_cast_varchar(e)`: a JSON string comes back unquoted (Trino), other
  values as CAST does. `cast(e as json)` -> `to_json(e)` (Trino casts a varchar to a JSON string).
- Trino types (`array(t)`, `map(k, v)`, `row(n t)`, `varchar(n)`, `timestamp(p)`, ...) -> DuckDB's.
- `json_parse` -> `json`; `json_format(j)` -> `CAST(j AS VARCHAR)`; `json_extract_scalar` ->
  `trino_json_extract_scalar` (NULL for objects and arrays); JSONPath `["key"]` / `[key]` -> `."key"`.
- `element_at(c, k)` -> `(c)[k]` (a scalar for maps and arrays, like Trino).
- a few renamed functions (`cardinality`, `arbitrary`, `contains`, ...), see `_RENAMES`.

Known limits: no CTEs (Lake rejects them too), no `try(...)`, no `AT TIME ZONE`; timestamps cast
to varchar lose Trino's `.SSS`; a JSONPath with `*` or `"` in a key is passed as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from patchtrail.devkit.lake_emulator.trino_syntax import (
    InvalidStatement,
    Token,
    TranslationError,
    UnsupportedSql,
    check_statement,
    match_brackets,
    next_token,
    resolve_tables,
    tokenize,
)

__all__ = [
    "DUCKDB_MACROS",
    "InvalidStatement",
    "TranslationError",
    "UnsupportedSql",
    "tokenize",
    "translate",
]

DUCKDB_MACROS = (
    "CREATE MACRO trino_cast_varchar(x) AS CASE WHEN typeof(x) = 'JSON' "
    "THEN json_extract_string(CAST(x AS VARCHAR), '$') ELSE CAST(x AS VARCHAR) END",
    "CREATE MACRO trino_json_extract_scalar(j, p) AS CASE WHEN json_type(j, p) IN "
    "('OBJECT', 'ARRAY') THEN NULL ELSE json_extract_string(j, p) END",
    "CREATE MACRO trino_from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)",
)
_RENAMES = {
    "transform": "list_transform",
    "cardinality": "len",
    "arbitrary": "any_value",
    "approx_distinct": "approx_count_distinct",
    "array_join": "array_to_string",
    "contains": "list_contains",
    "regexp_like": "regexp_matches",
    "json_parse": "json",
    "json_extract_scalar": "trino_json_extract_scalar",
    "from_iso8601_timestamp": "trino_from_iso8601_timestamp",
}
_SIMPLE_TYPES = {
    "json": "JSON",
    "bigint": "BIGINT",
    "integer": "INTEGER",
    "int": "INTEGER",
    "smallint": "SMALLINT",
    "tinyint": "TINYINT",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "real": "FLOAT",
    "double": "DOUBLE",
    "varbinary": "BLOB",
    "uuid": "UUID",
}
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_]+")


def translate(sql: str, *, resolve: Callable[[str], str]) -> str:
    """Return DuckDB SQL for one CloudTrail Lake (Trino) SELECT statement.

    Args:
        sql: the statement as given to StartQuery.
        resolve: maps a FROM target (store id or ARN, as written) to a DuckDB table name; it
            raises whatever error suits an unknown or unusable store.

    Raises:
        InvalidStatement: not a single SELECT the emulator can parse.
        UnsupportedSql: a Trino construct the translator does not handle.
    """
    tokens = check_statement(tokenize(sql))
    tokens = resolve_tables(tokens, sql, resolve)
    return _Emitter(tokens).emit(0, len(tokens)).strip()


class _Emitter:
    """Writes DuckDB text for a token range, rewriting calls, casts and lambdas on the way."""

    def __init__(self, tokens: list[Token]) -> None:
        self.t = tokens
        self.pairs = match_brackets(tokens)

    def emit(self, i: int, end: int) -> str:
        out: list[str] = []
        while i < end:
            tok = self.t[i]
            nxt = next_token(self.t, i + 1, end)
            after = self.t[nxt].text if nxt < end else ""
            if tok.kind == "ident" and after == "->":
                out.append(f"lambda {tok.text}:")
                i = nxt + 1
            elif tok.kind == "ident" and after == "(":
                gap = "".join(t.text for t in self.t[i + 1 : nxt])
                out.append(self._call(tok.text, nxt, self.pairs[nxt], gap))
                i = self.pairs[nxt] + 1
            elif tok.text in ("(", "[") and tok.kind == "punct":
                close = self.pairs[i]
                arrow = next_token(self.t, close + 1, end)
                params = self._params(i, close) if tok.text == "(" else None
                if params and arrow < end and self.t[arrow].text == "->":
                    out.append(f"lambda {', '.join(params)}:")
                    i = arrow + 1
                else:
                    out.append(tok.text + self.emit(i + 1, close) + self.t[close].text)
                    i = close + 1
            else:
                out.append(tok.text)
                i += 1
        return "".join(out)

    def _params(self, open_: int, close: int) -> list[str] | None:
        inner = [t for t in self.t[open_ + 1 : close] if t.kind != "ws"]
        names = inner[::2]
        if (
            not names
            or any(t.kind != "ident" for t in names)
            or any(t.text != "," for t in inner[1::2])
        ):
            return None
        return [t.text for t in names] if len(inner) % 2 else None

    def _args(self, open_: int, close: int) -> list[tuple[int, int]]:
        """Top-level argument ranges of the call whose parentheses are at open_/close."""
        args, start, i = [], open_ + 1, open_ + 1
        while i < close:
            if self.t[i].text in ("(", "[") and self.t[i].kind == "punct":
                i = self.pairs[i]
            elif self.t[i].text == ",":
                args.append((start, i))
                start = i + 1
            i += 1
        if next_token(self.t, start, close) < close or args:
            args.append((start, close))
        return args

    def _call(self, name: str, open_: int, close: int, gap: str) -> str:
        low = name.lower()
        if low in ("cast", "try_cast"):
            return self._cast(low, open_, close)
        if low == "try":
            raise UnsupportedSql("try(...) is not supported by the Lake emulator")
        args = self._args(open_, close)
        texts = [self.emit(a, b) for a, b in args]
        if low in ("json_extract", "json_extract_scalar") and len(args) == 2:
            texts[1] = self._jsonpath(*args[1]) or texts[1]
        if low == "replace" and len(args) == 2:
            texts.append(" ''")
        if low == "json_format" and len(args) == 1:
            return f"CAST({texts[0]} AS VARCHAR)"
        if low == "element_at" and len(args) == 2:
            return f"({texts[0]})[{texts[1]}]"
        return f"{_RENAMES.get(low, name)}{gap}({','.join(texts)})"

    def _cast(self, low: str, open_: int, close: int) -> str:
        as_at = None
        i = open_ + 1
        while i < close:
            if self.t[i].text in ("(", "[") and self.t[i].kind == "punct":
                i = self.pairs[i]
            elif self.t[i].kind == "ident" and self.t[i].text.lower() == "as":
                as_at = i
            i += 1
        if as_at is None:
            raise InvalidStatement(f"CAST without AS at position {self.t[open_].start}")
        expr = self.emit(open_ + 1, as_at).strip()
        target = _duckdb_type([t for t in self.t[as_at + 1 : close] if t.kind != "ws"])
        if target == "VARCHAR" and low == "cast":
            return f"trino_cast_varchar({expr})"
        if target == "JSON" and low == "cast":
            return f"to_json({expr})"
        return f"{low.upper()}({expr} AS {target})"

    def _jsonpath(self, start: int, end: int) -> str | None:
        inner = [t for t in self.t[start:end] if t.kind != "ws"]
        if len(inner) != 1 or inner[0].kind != "string":
            return None
        path = _duckdb_path(inner[0].text[1:-1].replace("''", "'"))
        return None if path is None else " '" + path.replace("'", "''") + "'"


def _duckdb_type(tokens: list[Token]) -> str:
    text, pos = _type_at(tokens, 0)
    if pos != len(tokens):
        raise UnsupportedSql("unsupported type " + " ".join(t.text for t in tokens))
    return text


def _type_at(tokens: list[Token], pos: int) -> tuple[str, int]:
    def expect(p: int, text: str) -> int:
        if p >= len(tokens) or tokens[p].text.lower() != text:
            raise UnsupportedSql("unsupported type " + " ".join(t.text for t in tokens))
        return p + 1

    def numbers(p: int) -> tuple[list[str], int]:
        found = []
        if p < len(tokens) and tokens[p].text == "(":
            p += 1
            while p < len(tokens) and tokens[p].kind == "number":
                found.append(tokens[p].text)
                p += 2 if p + 1 < len(tokens) and tokens[p + 1].text == "," else 1
            p = expect(p, ")")
        return found, p

    name = tokens[pos].text.lower() if pos < len(tokens) else ""
    pos += 1
    if name == "array":
        inner, pos = _type_at(tokens, expect(pos, "("))
        return inner + "[]", expect(pos, ")")
    if name == "map":
        key, pos = _type_at(tokens, expect(pos, "("))
        value, pos = _type_at(tokens, expect(pos, ","))
        return f"MAP({key}, {value})", expect(pos, ")")
    if name == "row":
        fields, pos = [], expect(pos, "(")
        while True:
            field = tokens[pos].text if pos < len(tokens) else ""
            kind, pos = _type_at(tokens, pos + 1)
            fields.append(f"{field} {kind}")
            if pos < len(tokens) and tokens[pos].text == ",":
                pos += 1
                continue
            return f"STRUCT({', '.join(fields)})", expect(pos, ")")
    if name in ("varchar", "char"):
        return "VARCHAR", numbers(pos)[1]
    if name == "decimal":
        digits, pos = numbers(pos)
        return (f"DECIMAL({','.join(digits)})" if digits else "DECIMAL"), pos
    if name == "timestamp":
        pos = numbers(pos)[1]
        if pos < len(tokens) and tokens[pos].text.lower() == "with":
            return "TIMESTAMPTZ", expect(expect(expect(pos, "with"), "time"), "zone")
        return "TIMESTAMP", pos
    if name == "double" and pos < len(tokens) and tokens[pos].text.lower() == "precision":
        pos += 1
    if name in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[name], pos
    raise UnsupportedSql(f"unsupported type {name or '(none)'}")


def _duckdb_path(path: str) -> str | None:
    """Trino JSONPath -> DuckDB JSONPath; None when the path is left as written."""
    if not path.startswith("$"):
        return None
    out, i = ["$"], 1
    while i < len(path):
        if path[i] == ".":
            match = re.compile(r"[^.\[]+").match(path, i + 1)
            if not match:
                return None
            key, i = match.group(), match.end()
        elif path.startswith('["', i) and path.find('"]', i + 2) != -1:
            end = path.find('"]', i + 2)
            key, i = path[i + 2 : end], end + 2
        elif path[i] == "[" and path.find("]", i) != -1:
            end = path.find("]", i)
            key, i = path[i + 1 : end], end + 1
            if key.isascii() and key.isdigit():
                out.append(f"[{key}]")
                continue
            if not _PLAIN_KEY.fullmatch(key):
                return None
        else:
            return None
        if '"' in key or "\\" in key or "*" in key:
            return None
        out.append("." + (key if _PLAIN_KEY.fullmatch(key) else f'"{key}"'))
    return "".join(out)
