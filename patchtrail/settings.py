"""One settings model for the CLI and the flows: defaults < patchtrail.toml < environment.

    # patchtrail.toml (in the working directory, or the file named by PATCHTRAIL_CONFIG)
    warehouse = "/data/patchtrail.duckdb"
    aws_region = "eu-west-1"
    lake_price_per_gb = 0.005

Every setting also reads `PATCHTRAIL_<NAME>` from the environment (e.g.
`PATCHTRAIL_WAREHOUSE=/data/w.duckdb`). Explicit CLI options and flow parameters win over both.
Every default works for the demo. Credentials are never settings: AWS access comes from the
standard AWS credential chain (role, profile, environment).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from patchtrail.errors import InvalidInput


class Settings(BaseSettings):
    """patchtrail's settings (see the module docstring for where they come from)."""

    model_config = SettingsConfigDict(env_prefix="PATCHTRAIL_", extra="forbid")

    warehouse: Path = Field(Path("patchtrail.duckdb"), description="The DuckDB warehouse file.")
    demo_dir: Path = Field(Path("demo-data"), description="Where `patchtrail demo` simulates to.")
    published_copy: Path | None = Field(None, description="Read-only copy for BI tools, replaced "
                                        "after each run (default: beside the warehouse, "
                                        "<warehouse dir>/published/<warehouse stem>.duckdb).")
    publish_after_run: bool = Field(True, description="Refresh the published copy after every "
                                    "successful ingest (CLI and flows).")
    aws_region: str | None = Field(None, description="AWS region for Lake and S3 clients "
                                   "(default: the AWS SDK's own resolution).")
    lake_endpoint_url: str | None = Field(None, description="CloudTrail endpoint override "
                                          "(e.g. a local Lake endpoint).")
    lake_window: str = Field("1d", description="eventTime span of one Lake query.")
    lake_overlap: str = Field("6h", description="How far before the watermark a run re-reads.")
    lake_max_windows: int = Field(2000, ge=1, description="Most Lake queries (windows) one run "
                                  "may plan per event data store; a longer range is refused.")
    lake_max_concurrency: int = Field(4, ge=1, le=9, description="Lake queries at once (limit 10).")
    lake_timeout_seconds: float | None = Field(None, description="Cancel Lake queries after this.")
    lake_price_per_gb: float = Field(0.005, ge=0, description="USD per GB scanned, for estimates.")
    s3_endpoint_url: str | None = Field(None, description="S3 endpoint override (e.g. moto).")
    duckdb_memory_limit: str = Field(
        "1GB", pattern=r"^\d+(\.\d+)? ?(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="DuckDB's memory_limit for every warehouse connection (e.g. '4GB'): DuckDB "
                    "spills to temporary files past it. Without a limit DuckDB caches up to 80% "
                    "of RAM, and a long ingest keeps what it touched (100,000 items: 5.5 GB).")
    aws_max_attempts: int = Field(8, ge=1, le=20, description="Attempts per AWS request (botocore's "
                                  "standard retry mode); flow tasks then retry transient failures "
                                  "again, with longer backoff.")

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings],
                                   init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file())
        return init_settings, env_settings, toml


def config_file() -> Path:
    """The TOML file read: $PATCHTRAIL_CONFIG, or ./patchtrail.toml (absent is fine)."""
    return Path(os.environ.get("PATCHTRAIL_CONFIG", "patchtrail.toml"))


@cache
def settings() -> Settings:
    """The settings of this process (read once). A bad value is an InvalidInput naming the
    setting and where it can come from, in one line (not pydantic's report)."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "?"
        where = f"PATCHTRAIL_{name.upper()} or {config_file()}"
        shown = "" if "url" in name else f"; got {str(first.get('input'))[:40]!r}"
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise InvalidInput(f"setting {name} ({where}): {first['msg']}{shown}{more}") from None
