"""CloudTrail Lake: the query files' renderer, and a local Lake endpoint for tests."""
