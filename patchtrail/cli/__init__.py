"""The `patchtrail` command line: a thin shell over the library (parse, call, print).

Commands live in modules by what they do (ingest, query, publish, analytics); each registers
itself on the one `app` defined in `common`.
"""

from patchtrail.cli import analytics, check, ingest, publish, query, spark  # noqa: F401 (registers the commands)
from patchtrail.cli.common import app

analytics.register(app)
spark.register(app)

__all__ = ["app"]
