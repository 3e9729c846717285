"""Lexical and statement-level side of the Trino -> DuckDB translation: tokens, shape checks, and the
resolution of FROM targets (event data store ids) to DuckDB tables."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

__all__ = [
    "InvalidStatement",
    "Token",
    "TranslationError",
    "UnsupportedSql",
    "check_statement",
    "match_brackets",
    "next_token",
    "resolve_tables",
    "tokenize",
]


class TranslationError(Exception):
    """The statement cannot be run by the emulator."""


class InvalidStatement(TranslationError):
    """Not a single Lake SELECT (syntax, several statements, CTE, table function...)."""


class UnsupportedSql(TranslationError):
    """Looks valid but uses Trino the translator does not handle; the query fails when run."""


class Token(NamedTuple):
    kind: str
    text: str
    start: int


_TOKEN = re.compile(
    r"(?P<ws>[ \t\r\n\f]+)|(?P<comment>--[^\n]*|/\*.*?\*/)|(?P<string>'(?:[^']|'')*')"
    r"|(?P<qident>\"(?:[^\"]|\"\")*\")"
    r"|(?P<number>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
    r"|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>->|=>|<=|>=|<>|!=|\|\||::|[-+*/%<>=:])"
    r"|(?P<punct>[(),.;\[\]])",
    re.S,
)
_STORE_REF = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/-]*")
_FROM_LIST_END = {
    "where",
    "group",
    "order",
    "limit",
    "having",
    "union",
    "except",
    "intersect",
    "window",
    "offset",
    "fetch",
    "select",
}


def tokenize(sql: str) -> list[Token]:
    """Split `sql` into tokens; raise InvalidStatement on text Trino could not read either."""
    tokens, pos = [], 0
    while pos < len(sql):
        match = _TOKEN.match(sql, pos)
        if not match or (match.lastgroup == "op" and sql.startswith("/*", pos)):
            what = {"'": "string literal", '"': "quoted identifier", "/": "comment"}.get(sql[pos])
            if what:
                raise InvalidStatement(f"unterminated {what} at position {pos}")
            raise InvalidStatement(f"unexpected character {sql[pos]!r} at position {pos}")
        tokens.append(Token(match.lastgroup or "", match.group(), pos))
        pos = match.end()
    return tokens


def check_statement(tokens: list[Token]) -> list[Token]:
    """Check the statement shape; return the tokens without comments and the final `;`."""
    tokens = [Token("ws", " ", t.start) if t.kind == "comment" else t for t in tokens]
    significant = [i for i, t in enumerate(tokens) if t.kind != "ws"]
    if not significant:
        raise InvalidStatement("the query statement is empty")
    if tokens[significant[-1]].text == ";":
        tokens = tokens[: significant.pop()]
    if any(tokens[i].text == ";" for i in significant):
        raise InvalidStatement("only one statement per query is allowed")
    first = tokens[significant[0]].text.lower()
    if first == "with" or any(
        tokens[a].text == "(" and tokens[b].text.lower() == "with"
        for a, b in zip(significant, significant[1:], strict=False)
    ):
        raise InvalidStatement("common table expressions (WITH) are not supported")
    if first not in ("select", "("):
        raise InvalidStatement(f"only SELECT statements are supported, not {first.upper()}")
    match_brackets(tokens)
    return tokens


def match_brackets(tokens: list[Token]) -> dict[int, int]:
    pairs, stack = {}, []
    for i, t in enumerate(tokens):
        if t.kind == "punct" and t.text in "([":
            stack.append(i)
        elif t.kind == "punct" and t.text in ")]":
            if not stack or tokens[stack[-1]].text != {")": "(", "]": "["}[t.text]:
                raise InvalidStatement(f"unbalanced {t.text!r} at position {t.start}")
            pairs[stack.pop()] = i
    if stack:
        raise InvalidStatement(
            f"unclosed {tokens[stack[-1]].text!r} at position {tokens[stack[-1]].start}"
        )
    return pairs


def next_token(tokens: list[Token], i: int, end: int | None = None) -> int:
    """Index of the first non-blank token at or after i (or `end`)."""
    end = len(tokens) if end is None else end
    while i < end and tokens[i].kind == "ws":
        i += 1
    return i


def resolve_tables(tokens: list[Token], sql: str, resolve: Callable[[str], str]) -> list[Token]:
    """Replace each FROM/JOIN item that names a store by a `table` token."""
    out: list[Token] = []
    frames = [{"query": True, "from": False}]  # one per open parenthesis
    expect_item = False
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.kind == "ws":
            out.append(t)
            i += 1
            continue
        if expect_item:
            expect_item = False
            j = _table_item(tokens, i, sql, resolve, out)
            if j != i:
                i = j
                continue
        low = t.text.lower() if t.kind == "ident" else t.text
        frame = frames[-1]
        if t.text == "(":
            nxt = next_token(tokens, i + 1)
            opens_query = nxt < len(tokens) and tokens[nxt].text.lower() in ("select", "values")
            frames.append({"query": opens_query, "from": False})
        elif t.text == ")":
            frames.pop()
        elif frame["query"] and low in ("from", "join"):
            frame["from"] = expect_item = True
        elif frame["query"] and frame["from"] and low == ",":
            expect_item = True
        elif low in _FROM_LIST_END:
            frame["from"] = False
        out.append(t)
        i += 1
    return out


def _table_item(tokens, i, sql, resolve, out) -> int:
    """Resolve the FROM item starting at token i; return the index after it (i if no table)."""
    t = tokens[i]
    low = t.text.lower()
    nxt = next_token(tokens, i + 1)
    followed_by_paren = nxt < len(tokens) and tokens[nxt].text == "("
    if t.text == "(" or low == "lateral" or (low == "unnest" and followed_by_paren):
        return i
    if t.kind == "ident" and followed_by_paren:
        raise InvalidStatement(
            f"table function {t.text} is not supported; FROM takes an event data store id"
        )
    if t.kind == "qident":
        out.append(Token("table", resolve(t.text[1:-1].replace('""', '"')), t.start))
        return i + 1
    match = _STORE_REF.match(sql, t.start)
    keyword = low in _FROM_LIST_END or low in ("join", "on", "using", "as", "from")
    if t.kind not in ("ident", "number") or not match or keyword:
        raise InvalidStatement(f"expected an event data store id after FROM at position {t.start}")
    end = match.end()
    for marker in ("--", "/*"):
        cut = sql.find(marker, t.start, end)
        end = cut if cut != -1 else end
    j = i
    while j < len(tokens) and tokens[j].start < end:
        j += 1
    if tokens[j - 1].start + len(tokens[j - 1].text) != end:
        raise InvalidStatement(f"malformed event data store id at position {t.start}")
    out.append(Token("table", resolve(sql[t.start : end]), t.start))
    return j
