"""The DuckDB warehouse: connect, apply the schema, land batches, merge history, summarise.

Only this package holds a DuckDB connection.
"""

from patchtrail.warehouse.connect import connect, scalar, transaction
from patchtrail.warehouse.schema import apply_schema, load_sql

__all__ = ["apply_schema", "connect", "load_sql", "scalar", "transaction"]
