"""Publishing the warehouse for readers: a read-only DuckDB copy, a Parquet lake, a report."""
