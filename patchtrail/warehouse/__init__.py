"""The DuckDB warehouse: connect, apply the schema, land batches, merge history, summarise.

Only this package holds a DuckDB connection. Its SQL is in sql/warehouse/, read and run by
`patchtrail.warehouse.sql` (`sql.run`, `sql.query`, `sql.rows`).
"""

from patchtrail.warehouse import sql
from patchtrail.warehouse.connect import connect, scalar, transaction
from patchtrail.warehouse.schema import apply_schema

__all__ = ["apply_schema", "connect", "scalar", "sql", "transaction"]
