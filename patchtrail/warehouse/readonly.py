"""The read-only query surface: one analyst query, parsed by DuckDB, run on a locked reader.

What keeps analyst SQL from changing or reading anything but the warehouse is the connection
(`connect_reader`: read-only file, `enable_external_access = false`, no extension loading,
`lock_configuration = true`). This module adds what a user should hear before anything runs:
exactly one statement (DuckDB's parser splits the text; several are refused, none is run), and
only statement kinds that answer a question.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from patchtrail.errors import InvalidInput

#: Statement kinds `patchtrail sql` runs: SELECT covers WITH, FROM-first, VALUES, DESCRIBE,
#: SUMMARIZE and SHOW; PRAGMA and CALL cover pragma_table_info() and friends.
QUERY_TYPES = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN,
                         duckdb.StatementType.PRAGMA, duckdb.StatementType.CALL})
_KINDS = "SELECT/WITH/FROM, DESCRIBE, SUMMARIZE, SHOW, EXPLAIN, PRAGMA or CALL"


def analyst_statement(text: str) -> duckdb.Statement:
    """The one query in `text`, as DuckDB parsed it; InvalidInput (nothing run) otherwise.

    Args:
        text: what the user typed; a trailing `;` is fine, a second statement is not.
    """
    try:
        statements = duckdb.extract_statements(text)
    except duckdb.Error as exc:
        raise InvalidInput(f"the SQL does not parse: {first_line(exc)}") from None
    if not statements:
        raise InvalidInput("no SQL statement given")
    if len(statements) > 1:
        raise InvalidInput(f"{len(statements)} statements given; patchtrail sql runs exactly one, "
                           "so nothing was run (remove all but one)")
    statement = statements[0]
    if statement.type not in QUERY_TYPES:
        raise InvalidInput(f"{statement.type.name} statement refused: patchtrail sql is read-only "
                           f"and runs one query ({_KINDS}); nothing was run")
    return statement


def run_analyst_query(con: duckdb.DuckDBPyConnection,
                      statement: duckdb.Statement) -> tuple[list[str], list[tuple]]:
    """Run a checked statement on a reader; DuckDB's refusals become one-line InvalidInput."""
    with refused():
        cursor = con.execute(statement)
        if cursor.description is None:
            raise InvalidInput("the statement returned no rows to show")
        return [d[0] for d in cursor.description], cursor.fetchall()


@contextmanager
def refused() -> Iterator[None]:
    """DuckDB's errors inside the block as one-line InvalidInput; a refusal by the locked
    reader says what patchtrail sql may do."""
    try:
        yield
    except duckdb.PermissionException as exc:
        reason = first_line(exc).removeprefix("Permission Error: ")
        reason = reason.split(" - file system operations are disabled")[0]
        raise InvalidInput(f"refused: {reason} (patchtrail sql reads the warehouse only: no other "
                           "file, no network)") from None
    except duckdb.Error as exc:
        raise InvalidInput(f"{type(exc).__name__}: {first_line(exc)}") from None


def first_line(exc: BaseException) -> str:
    """DuckDB's message without the `LINE 1: ...` context below it."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
