"""A local CloudTrail Lake endpoint for the demo and tests (the query files are rendered by patchtrail.sources.lake_queries)."""
