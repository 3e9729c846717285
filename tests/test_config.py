"""Settings: defaults < patchtrail.toml < environment < explicit options."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from patchtrail.config import Settings


def test_defaults_work_for_the_demo(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ("PATCHTRAIL_WAREHOUSE", "PATCHTRAIL_CONFIG", "PATCHTRAIL_DEMO_DIR"):
        monkeypatch.delenv(name, raising=False)
    cfg = Settings()
    assert cfg.warehouse == Path("patchtrail.duckdb") and cfg.demo_dir == Path("demo-data")
    assert cfg.lake_window == "1d" and cfg.lake_max_concurrency == 4


def test_toml_then_environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "patchtrail.toml").write_text('warehouse = "from-toml.duckdb"\nlake_window = "12h"\n')
    cfg = Settings()
    assert cfg.warehouse == Path("from-toml.duckdb") and cfg.lake_window == "12h"
    monkeypatch.setenv("PATCHTRAIL_WAREHOUSE", "from-env.duckdb")
    assert Settings().warehouse == Path("from-env.duckdb")


def test_unknown_or_invalid_settings_are_refused(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "patchtrail.toml").write_text("lake_max_concurrency = 50\n")
    with pytest.raises(ValidationError, match="lake_max_concurrency"):
        Settings()
    (tmp_path / "patchtrail.toml").write_text("warehose = 'typo.duckdb'\n")
    with pytest.raises(ValidationError, match="warehose"):
        Settings()


def test_the_cli_reads_the_config_file(tmp_path):
    (tmp_path / "patchtrail.toml").write_text('warehouse = "configured.duckdb"\n')
    done = subprocess.run([sys.executable, "-m", "patchtrail.cli", "status"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 1 and "configured.duckdb: no warehouse here" in done.stderr
