"""The CLI end to end, as a user runs it (a real `patchtrail` process)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SMALL = ["--accounts", "1", "--regions", "1", "--instances", "4", "--days", "30"]


def patchtrail(*args, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="200")
    env.pop("PATCHTRAIL_WAREHOUSE", None)
    result = subprocess.run([sys.executable, "-m", "patchtrail.cli", *args], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("cli")
    result = patchtrail("demo", *SMALL, cwd=cwd)
    return cwd, result


def test_demo_builds_the_default_warehouse_and_prints_a_summary(demo_dir):
    cwd, result = demo_dir
    assert (cwd / "patchtrail.duckdb").exists() and (cwd / "demo-data").is_dir()
    out = result.stdout
    for words in ("managed instances", "compliant %", "missing critical", "rejected records",
                  "demo finished"):
        assert words in out, out


def test_status_after_demo(demo_dir):
    cwd, _ = demo_dir
    out = patchtrail("status", cwd=cwd).stdout
    assert "configuration items" in out and "patch versions" in out


def test_query_formats(demo_dir):
    cwd, _ = demo_dir
    out = patchtrail("query", "ssm-patch-compliance-distinct-ec2-instance-latest", "--format", "csv",
                     cwd=cwd).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and set(rows[0]) == {"accountId", "awsRegion", "InstanceId", "eventTime", "Installed",
                                     "InstalledOther", "InstalledPendingReboot", "Missing", "Failed"}
    instance = rows[0]["InstanceId"]
    lines = patchtrail("query", "ssm-patch-compliance-selected-ec2-instance.sql", "--instance", instance,
                       "--format", "json", cwd=cwd).stdout.splitlines()
    assert lines and all(json.loads(line)["InstanceId"] == instance for line in lines)


def test_rerun_of_ingest_reads_nothing_new(demo_dir):
    cwd, _ = demo_dir
    out = patchtrail("ingest", "files", "demo-data", cwd=cwd).stdout
    assert "load " in out
    total = [line for line in out.splitlines() if line.startswith("│ total")][0]
    cells = [c.strip() for c in total.strip("│ ").split("│")]
    assert cells[1] == cells[2], total  # every object unchanged


def test_dry_run_writes_nothing(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d/x.json.gz").write_bytes(gzip.compress(b'{"configurationItems": []}'))
    out = patchtrail("ingest", "files", "d", "--dry-run", cwd=tmp_path).stdout
    assert "config_delivery" in out and "new" in out
    assert not (tmp_path / "patchtrail.duckdb").exists()


def test_strict_exits_4_when_something_was_rejected(demo_dir, tmp_path):
    cwd, _ = demo_dir
    good = sorted((cwd / "demo-data").rglob("*.json.gz"))[0]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / good.name).write_bytes(good.read_bytes())
    (tmp_path / "in" / "bad.json.gz").write_bytes(b"\x1f\x8b truncated")
    loose = patchtrail("ingest", "files", "in", cwd=tmp_path)
    assert loose.returncode == 0 and "corrupt or truncated gzip" in loose.stderr
    strict = patchtrail("ingest", "files", "in", "--strict", "-w", "other.duckdb", cwd=tmp_path,
                        check=False)
    assert strict.returncode == 4, strict.stderr
    assert "--strict: 1 object and 0 records rejected" in strict.stderr


def test_known_errors_are_one_line_with_exit_1(tmp_path):
    result = patchtrail("query", "ssm-patch-compliance-all-ec2-instances", cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert "no warehouse here" in result.stderr and "Traceback" not in result.stderr
    bad = patchtrail("query", "nope", "-w", "x.duckdb", cwd=tmp_path, check=False)
    assert bad.returncode == 1


def test_every_command_has_help_with_an_example():
    for command in (["simulate"], ["ingest", "files"], ["query"], ["status"], ["demo"]):
        out = patchtrail(*command, "--help", cwd=Path.cwd()).stdout
        assert "Example:" in out, command


def test_sql_is_read_only(demo_dir):
    cwd, _ = demo_dir
    out = patchtrail("sql", "select instances from marts.fleet_summary", "--format", "csv", cwd=cwd).stdout
    assert out.splitlines()[0] == "instances" and int(out.splitlines()[1]) > 0
    refused = patchtrail("sql", "delete from landing.configuration_items", cwd=cwd, check=False)
    assert refused.returncode == 1 and "read-only" in refused.stderr.lower()


def test_check_holds_on_the_default_demo_warehouse(tmp_path):
    patchtrail("demo", "--quiet", cwd=tmp_path)
    result = patchtrail("check", "--full", cwd=tmp_path)
    assert "rebuild_equal" in result.stdout and " NO " not in result.stdout
    lines = [line.split() for line in result.stdout.splitlines()[1:] if line.strip()]
    assert lines and all(words[1] == "yes" for words in lines), result.stdout
