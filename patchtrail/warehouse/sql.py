"""Read and run the warehouse's SQL files (sql/warehouse/): one loader, one splitter, one binder.

Every query the product runs on the warehouse lives in a file `sql/warehouse/<name>.sql`; Python
names the file and passes values, which are bound as `$name` parameters (never pasted in):

    sql.run(con, "history/merge_scope", from_load=7)          # each statement, in order
    sql.query(con, "report/top_missing", as_of=t).fetchall()  # one query, as a relation
    sql.rows(con, "report/top_missing", **params)             # ... as a list of dicts

Statements are split and parameters found by DuckDB's own parser (`duckdb.extract_statements`),
so a `;` or a `$word` inside a comment or a string literal is text, not syntax.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import duckdb

from patchtrail.constants import SQL_DIR


@cache
def load(name: str) -> str:
    """The text of `sql/warehouse/<name>.sql`.

    Args:
        name: the file's path under sql/warehouse/ without `.sql`, e.g. `history/merge_scope`;
            names are fixed in code, never user input (one that leaves sql/ is refused).
    """
    path = (SQL_DIR / "warehouse" / f"{name}.sql").resolve()
    if SQL_DIR.resolve() not in path.parents:
        raise ValueError(f"SQL name {name!r} escapes the sql/ folder")
    return path.read_text()


def statements(text: str) -> list[duckdb.Statement]:
    """The statements of a SQL text, in order, as DuckDB parses them (comments are not
    statements; a file of comments only has none)."""
    return duckdb.extract_statements(text)


def bound(statement: duckdb.Statement | str, params: Mapping[str, Any], *,
          name: str = "the SQL") -> dict[str, Any] | None:
    """The values of exactly the `$name` parameters `statement` uses (None when it uses none).

    Args:
        statement: one parsed statement, or the text of one.
        params: values by parameter name; names the statement does not use are left out.
        name: what to call the SQL in the error when a parameter it uses has no value.
    """
    if isinstance(statement, str):
        (statement,) = statements(statement)
    used = sorted(statement.named_parameters)
    missing = [p for p in used if p not in params]
    if missing:
        raise ValueError(f"{name} needs parameter{'s' if len(missing) > 1 else ''} "
                         + ", ".join(f"${p}" for p in missing))
    return {p: params[p] for p in used} or None


def run(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> duckdb.DuckDBPyConnection:
    """Run each statement of `sql/warehouse/<name>.sql` in order, binding the parameters each
    one uses; return the connection, holding the last statement's result (`.fetchall()`,
    `.description`).

    Args:
        con: the connection (or cursor) to run on.
        name: the file, as `load` takes it.
        params: values for the file's `$name` parameters; a statement that uses one not given
            raises ValueError before it runs (statements before it have run).
    """
    for statement in statements(load(name)):
        con.execute(statement.query, bound(statement, params, name=f"{name}.sql"))
    return con


def query(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> duckdb.DuckDBPyRelation:
    """The one query of `sql/warehouse/<name>.sql` as a relation (fetch it, stream it with
    `.to_arrow_reader()`, or read `.columns`), with the parameters it uses bound.

    Args:
        con: the connection (or cursor) to run on.
        name: the file, as `load` takes it; it must hold exactly one statement.
        params: values for its `$name` parameters (extra names are ignored).
    """
    found = statements(load(name))
    if len(found) != 1:
        raise ValueError(f"{name}.sql holds {len(found)} statements; a query is one")
    return con.sql(found[0].query, params=bound(found[0], params, name=f"{name}.sql"))


def rows(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> list[dict[str, Any]]:
    """The rows of `sql/warehouse/<name>.sql` (one query) as dicts by column name."""
    relation = query(con, name, **params)
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
