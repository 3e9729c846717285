"""Settings: defaults < patchtrail.toml < environment < explicit options."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from patchtrail.settings import Settings


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


@pytest.mark.parametrize("where,setting,value,expected", [
    ("env", "PATCHTRAIL_LAKE_MAX_WINDOWS", "0", "lake_max_windows"),
    ("env", "PATCHTRAIL_DUCKDB_MEMORY_LIMIT", "lots", "duckdb_memory_limit"),
    ("toml", "warehose", "'typo.duckdb'", "warehose"),
])
def test_a_bad_setting_is_one_line_naming_it_and_exit_1(tmp_path, where, setting, value, expected):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATCHTRAIL_")}
    if where == "env":
        env[setting] = value
    else:
        (tmp_path / "patchtrail.toml").write_text(f"{setting} = {value}\n")
    done = subprocess.run([sys.executable, "-m", "patchtrail.cli", "status"], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert "Traceback" not in done.stderr and lines[0].startswith("Error: setting "), done.stderr
    assert expected in lines[0] and len(lines) <= 2, done.stderr


@pytest.mark.parametrize("given,shown", [(None, "953.6 MiB"), ("2GB", "1.8 GiB")])
def test_the_memory_limit_reaches_every_connection(tmp_path, given, shown):
    """1GB unless set: a long ingest must not keep what it touched in DuckDB's cache (#12)."""
    path = tmp_path / "w.duckdb"
    limit = "select current_setting('memory_limit')"
    code = ("from patchtrail.warehouse.connect import connect, connect_reader\n"
            f"w = connect(r'{path}'); print(w.execute(\"{limit}\").fetchone()[0]); w.close()\n"
            f"r = connect_reader(r'{path}'); print(r.execute(\"{limit}\").fetchone()[0])\n")
    env = {k: v for k, v in os.environ.items() if k != "PATCHTRAIL_DUCKDB_MEMORY_LIMIT"}
    if given:
        env["PATCHTRAIL_DUCKDB_MEMORY_LIMIT"] = given
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == [shown, shown]
