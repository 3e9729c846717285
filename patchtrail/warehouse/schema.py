"""Apply the warehouse schema from the SQL files under sql/warehouse/, in an order derived from them.

The warehouse's layers are the schemas `sql/warehouse/schemas.sql` creates (landing, staging,
history, marts). Each file directly in a layer's folder that creates a persistent object (a
table, view or macro) is one schema object, and it creates exactly one; the other files there
are steps and queries run by name (`patchtrail.warehouse.sql`). The build order is not kept by
hand: an object comes after every object its file references as `<layer>.<name>` (views bind
when they are created), ties broken by layer and then by file name, so it is the same on every
machine. A reference to an object no file creates, or a cycle, is an error.
"""

from __future__ import annotations

import hashlib
import heapq
import re
from functools import cache

import duckdb

from patchtrail.constants import SQL_DIR
from patchtrail.warehouse import sql

#: The file that creates the layers' schemas; every other object comes after it.
SCHEMAS = "schemas"
_CREATE = re.compile(
    r"^\s*create\s+(?:or\s+replace\s+)?(?P<temp>temp\s+|temporary\s+)?"
    r"(?P<kind>schema|table|view|macro|function|sequence|type)\s+(?:if\s+not\s+exists\s+)?"
    r"(?P<name>[\w.\"]+)", re.I)


class SchemaOrderError(ValueError):
    """The schema files do not give a build order (a cycle, an unknown object, two creators)."""


def apply_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every schema object that does not exist yet; replace views and macros.

    Done once per version of the SQL: the warehouse remembers the fingerprint of the files it
    was last given (`meta.schema_version`, a view of one constant), and a connection to a
    warehouse already at this version costs one query instead of every file."""
    fingerprint = schema_fingerprint()
    try:
        if con.execute("select fingerprint from meta.schema_version").fetchone() == (fingerprint,):
            return
    except duckdb.CatalogException:
        pass
    for name in schema_objects():
        sql.run(con, name)
    con.execute("create schema if not exists meta")
    # a view cannot take bound parameters; the fingerprint is a hex digest made here
    con.execute(f"create or replace view meta.schema_version as select '{fingerprint}' as fingerprint")


@cache
def schema_fingerprint() -> str:
    """Hex SHA-256 of the names and texts of every file under sql/warehouse/ (the schema files
    and the queries beside them), by name. The build order is a function of those texts, so it
    is not worked out (every file parsed) to tell whether a warehouse is at this version: a run
    that lands nothing stays cheap. A changed query re-applies the schema once, harmlessly."""
    digest = hashlib.sha256()
    root = SQL_DIR / "warehouse"
    for path in sorted(root.rglob("*.sql")):
        digest.update(f"{path.relative_to(root).as_posix()}\n".encode() + path.read_bytes() + b"\n")
    return digest.hexdigest()


@cache
def schema_objects() -> tuple[str, ...]:
    """Every schema object's file name (as `sql.load` takes it), in build order: `schemas`
    first, then each object after every object it references."""
    creates = created_objects()
    needs = {name: references(name, creates) for name in creates}
    return build_order(needs, rank={name: _rank(name) for name in creates})


@cache
def created_objects() -> dict[str, str]:
    """The schema object files and the object each creates: `{"history/patch_state":
    "history.patch_state", ...}`; `schemas` maps to "" (it creates the layers)."""
    files = {SCHEMAS: ""}
    for layer in layers():
        for path in sorted((SQL_DIR / "warehouse" / layer).glob("*.sql")):
            name = f"{layer}/{path.stem}"
            made = [o for o in map(_object, sql.statements(sql.load(name))) if o]
            if len(made) > 1:
                raise SchemaOrderError(f"{name}.sql creates {len(made)} objects ({', '.join(made)}); "
                                       "a schema file creates one")
            if made:
                files[name] = made[0]
    owners: dict[str, str] = {}
    for name, made in files.items():
        if made and made in owners:
            raise SchemaOrderError(f"{made} is created by both {owners[made]}.sql and {name}.sql")
        owners[made] = name
    return files


@cache
def layers() -> tuple[str, ...]:
    """The warehouse's layers: the schemas sql/warehouse/schemas.sql creates, in its order."""
    return tuple(_object(s) for s in sql.statements(sql.load(SCHEMAS)))


def references(name: str, creates: dict[str, str]) -> set[str]:
    """The schema object files whose objects file `name` references (`<layer>.<object>` outside
    comments and string literals), and `schemas` for every file but itself.

    Args:
        name: a schema object file.
        creates: `created_objects()`: which file creates which object.
    """
    if name == SCHEMAS:
        return set()
    owners = {made: file for file, made in creates.items() if made}
    layers = {made.split(".")[0] for made in owners}
    needs = {SCHEMAS}
    for ref in _qualified_names(sql.load(name)):
        if ref.split(".")[0] not in layers or ref == creates[name]:
            continue
        if ref not in owners:
            raise SchemaOrderError(f"{name}.sql references {ref}, which no schema file creates")
        needs.add(owners[ref])
    return needs


def build_order(needs: dict[str, set[str]], *, rank: dict[str, tuple]) -> tuple[str, ...]:
    """A topological order of `needs` (each name after everything it needs); among the names
    ready at a step, the lowest `rank` comes first, so the order is deterministic.

    Raises SchemaOrderError naming the objects of a cycle."""
    waiting = {name: set(deps) for name, deps in needs.items()}
    users: dict[str, list[str]] = {name: [] for name in needs}
    for name, deps in needs.items():
        for dep in deps:
            users[dep].append(name)
    ready = [(rank[n], n) for n, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, name = heapq.heappop(ready)
        order.append(name)
        for user in users[name]:
            waiting[user].discard(name)
            if not waiting[user]:
                heapq.heappush(ready, (rank[user], user))
    if len(order) < len(needs):
        stuck = sorted(n for n in needs if n not in order)
        raise SchemaOrderError("the schema files reference each other in a cycle: " + ", ".join(stuck))
    return tuple(order)


def _object(statement: duckdb.Statement) -> str:
    """The persistent object a CREATE statement makes, lowercased (`history.patch_state`;
    `main.<name>` when unqualified); "" for a temporary object or any other statement."""
    if statement.type != duckdb.StatementType.CREATE:
        return ""
    found = _CREATE.match(_code(statement.query))
    if not found or found["temp"]:
        return ""
    made = found["name"].replace('"', "").lower()
    return made if "." in made or found["kind"].lower() == "schema" else f"main.{made}"


def _qualified_names(text: str) -> set[str]:
    """Every `a.b` of identifiers in `text`, outside comments and string literals (lowercased)."""
    words = [piece.strip() for kind, piece in _pieces(text)
             if kind not in (duckdb.token_type.comment, duckdb.token_type.string_const)]
    return {f"{a}.{c}".replace('"', "").lower()
            for a, b, c in zip(words, words[1:], words[2:], strict=False) if b == "." and a and c}


def _code(text: str) -> str:
    """`text` without its comments (string literals kept)."""
    return "".join(" " if kind == duckdb.token_type.comment else piece for kind, piece in _pieces(text))


def _pieces(text: str) -> list[tuple[duckdb.token_type, str]]:
    """`text` cut at DuckDB's tokens: each token's kind and its text up to the next token."""
    tokens = duckdb.tokenize(text)
    ends = [start for start, _ in tokens[1:]] + [len(text)]
    return [(kind, text[start:end]) for (start, kind), end in zip(tokens, ends, strict=True)]


def _rank(name: str) -> tuple[int, str]:
    """Tie-break: `schemas`, then the layers in the order schemas.sql creates them, then name."""
    return (0, "") if name == SCHEMAS else (1 + layers().index(name.split("/")[0]), name)
