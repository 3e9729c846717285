"""Load the Spark SQL text of sql/spark/<name>.sql (a checkout, an installed wheel or a job zip)."""

from __future__ import annotations

import re
from pathlib import Path

_NAME = re.compile(r"^[a-z_]+(/[a-z0-9_-]+)?$")


def load_sql(name: str) -> str:
    """The text of sql/spark/<name>.sql; names are fixed in code, never user input."""
    if not _NAME.match(name):
        raise ValueError(f"Spark SQL name {name!r} is not a plain name")
    here = Path(__file__).resolve()
    for root in (here.parents[1], here.parents[2]):  # a wheel's patchtrail/sql/, a checkout's sql/
        path = root / "sql" / "spark" / f"{name}.sql"
        if path.exists():
            return path.read_text()
    loader = globals().get("__loader__")
    archive = getattr(loader, "archive", None)  # zipimport: the job's zip (spark-submit --py-files)
    if archive:
        return loader.get_data(f"{archive}/sql/spark/{name}.sql").decode()
    raise FileNotFoundError(f"sql/spark/{name}.sql is not beside {here}")
