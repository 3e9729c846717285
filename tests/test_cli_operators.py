"""The CLI as an operator scripts it (#14): exit codes, errors a user can act on, output formats.

Each test runs a real `patchtrail` process on a small simulated warehouse built once.
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from patchtrail.exit_codes import ExitCode

SMALL = ["--accounts", "1", "--regions", "1", "--instances", "4", "--days", "30"]


def patchtrail(*args, cwd: Path, module: str = "patchtrail.cli", env: dict | None = None,
               stdin: str | None = None) -> subprocess.CompletedProcess:
    environ = dict(os.environ, COLUMNS="120", **(env or {}))
    environ.pop("PATCHTRAIL_WAREHOUSE", None)
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=300, input=stdin)


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def one_line_error(result: subprocess.CompletedProcess, code: int = ExitCode.ERROR) -> str:
    """The failure is one Error line (+ an optional Hint line) and no traceback."""
    assert result.returncode == code, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr and "╭─" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("Error: ") and len(lines) <= 2, result.stderr
    return result.stderr


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    cwd = tmp_path_factory.mktemp("operators")
    ok(patchtrail("demo", *SMALL, cwd=cwd))
    return cwd


# -- exit codes --------------------------------------------------------------------------------

def test_ingest_of_a_path_that_does_not_exist_exits_3(tmp_path):
    result = patchtrail("ingest", "files", str(tmp_path / "nonexistent"), cwd=tmp_path)
    assert result.returncode == ExitCode.INCOMPLETE, result.stderr
    assert "Traceback" not in result.stderr
    assert "nonexistent" in result.stderr.splitlines()[-1]
    assert not (tmp_path / "published").exists()  # nothing republished


def test_ingest_of_an_empty_folder_warns_no_files_found_and_exits_3(tmp_path):
    (tmp_path / "empty").mkdir()
    result = patchtrail("ingest", "files", "empty", cwd=tmp_path)
    assert result.returncode == ExitCode.INCOMPLETE
    assert "Warning: no files found under empty" in result.stderr


def test_ingest_where_everything_is_unreadable_exits_3_even_without_strict(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.json.gz").write_bytes(b"\x1f\x8b truncated")
    (tmp_path / "in" / "b.json.gz").write_bytes(b"not gzip at all")
    result = patchtrail("ingest", "files", "in", cwd=tmp_path)
    assert result.returncode == ExitCode.INCOMPLETE
    assert "nothing readable under in: all 2 objects rejected" in result.stderr


def test_a_rerun_that_finds_nothing_new_succeeds(demo):
    ok(patchtrail("ingest", "files", "demo-data", cwd=demo))


def test_usage_errors_keep_typer_exit_2(tmp_path):
    assert patchtrail("status", "--no-such-option", cwd=tmp_path).returncode == ExitCode.USAGE
    assert patchtrail("sql", "select 1", "--format", "xml", cwd=tmp_path).returncode == ExitCode.USAGE


def test_sla_fail_on_breach_exits_5_only_when_there_is_a_breach(demo):
    later = ["--as-of", "2026-06-01"]  # the small fleet's oldest missing patches are overdue then
    breached = patchtrail("sla", *later, "--fail-on-breach", "--format", "json", cwd=demo)
    assert breached.returncode == ExitCode.CHECK_FAILED
    assert [json.loads(line) for line in breached.stdout.splitlines()]  # still prints them
    ok(patchtrail("sla", *later, "--format", "json", cwd=demo))  # without the flag: exit 0
    ok(patchtrail("sla", "--fail-on-breach", "--as-of", "2026-01-01", cwd=demo))  # no breach yet


def test_status_fail_on_stale_exits_5_when_the_data_is_older(demo):
    stale = patchtrail("status", "--fail-on-stale", "1h", cwd=demo)  # demo data ends in 2026-01
    assert stale.returncode == ExitCode.CHECK_FAILED and "older than 1h" in stale.stderr
    ok(patchtrail("status", "--fail-on-stale", "999999h", cwd=demo))


def test_help_lists_the_exit_codes(tmp_path):
    out = ok(patchtrail("--help", cwd=tmp_path)).stdout
    for code in ExitCode:
        assert f"  {int(code)}  " in out, code


# -- errors a user can act on ------------------------------------------------------------------

def test_warehouse_that_is_not_duckdb_is_one_line(tmp_path):
    (tmp_path / "some.csv").write_text("a,b\n1,2\n")
    for command in (["status"], ["sql", "select 1"], ["ingest", "files", "."], ["report"]):
        err = one_line_error(patchtrail(*command, "--warehouse", "some.csv", cwd=tmp_path))
        assert "some.csv: not a DuckDB database file" in err, command


def test_warehouse_that_is_a_folder_is_one_line(tmp_path):
    (tmp_path / "demo-data").mkdir()
    err = one_line_error(patchtrail("status", "--warehouse", "demo-data", cwd=tmp_path))
    assert "is a folder" in err and "demo-data/patchtrail.duckdb" in err


def test_unreachable_postgres_is_one_line_without_the_password(demo):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dsn = f"postgresql://bi:s3cret@127.0.0.1:{port}/patch?connect_timeout=3"
    err = one_line_error(patchtrail("publish", "postgres", cwd=demo,
                                    env={"PATCHTRAIL_POSTGRES_DSN": dsn}))
    assert f"PostgreSQL at 127.0.0.1:{port}/patch is not reachable" in err
    assert "s3cret" not in err


def test_messages_print_literally_not_as_markup(monkeypatch):
    from patchtrail import console

    buffer = io.StringIO()
    monkeypatch.setattr(console, "stderr", console._console(file=buffer))
    console.error("pip install -e '.[test]' and [bold]x[/bold]", hint="does not match {0,63}")
    assert "'.[test]'" in buffer.getvalue() and "[bold]x[/bold]" in buffer.getvalue()
    assert "{0,63}" in buffer.getvalue()


def test_policy_name_error_shows_the_pattern_literally(demo, tmp_path):
    (tmp_path / "p.toml").write_text('name = "Bad Name"\n[max_days]\nHIGH = 3\n')
    err = one_line_error(patchtrail("policies", "load", str(tmp_path / "p.toml"), cwd=demo))
    assert "[a-z0-9][a-z0-9._-]{0,63}" in err


def test_unknown_policy_is_one_line_listing_the_known_names(demo):
    err = one_line_error(patchtrail("sla", "--policy", "pci-dss-4", cwd=demo))
    assert "unknown SLA policy 'pci-dss-4'" in err
    assert "fedramp, internal, pci-dss-4.0" in err


@pytest.mark.parametrize("value", ["junk", "2026-02-30", "2026-03-01T00:00:00+25:00", "1 day"])
def test_bad_times_are_one_line_without_python_internals(demo, value):
    err = one_line_error(patchtrail("sla", "--as-of", value, cwd=demo))
    assert "--as-of" in err and "%Y" not in err and "strptime" not in err and "time data" not in err


@pytest.mark.parametrize("value", ["2026-03-01T00:00:00", "2026-03-01T00:00:00Z",
                                   "2026-03-01T02:00:00+02:00", "2026-03-01", "7d", "yesterday"])
def test_times_in_every_documented_form_are_accepted(demo, value):
    ok(patchtrail("sla", "--as-of", value, "--format", "csv", cwd=demo))


def test_utc_forms_of_one_instant_give_one_answer(demo):
    answers = {patchtrail("sla", "--as-of", v, "--format", "csv", cwd=demo).stdout
               for v in ("2026-01-20T00:00:00", "2026-01-20T00:00:00Z", "2026-01-20T02:00:00+02:00",
                         "2026-01-20", "2026-01-19T19:00:00-05:00")}
    assert len(answers) == 1


# -- output ------------------------------------------------------------------------------------

def test_version_and_python_dash_m(tmp_path):
    from patchtrail import __version__

    assert ok(patchtrail("--version", cwd=tmp_path)).stdout.strip() == f"patchtrail {__version__}"
    assert ok(patchtrail("--version", cwd=tmp_path, module="patchtrail")).stdout.strip() == \
        f"patchtrail {__version__}"
    assert "Usage: patchtrail" in ok(patchtrail("--help", cwd=tmp_path, module="patchtrail")).stdout


def test_table_keeps_instance_ids_whole_and_is_one_line_per_row(demo):
    out = ok(patchtrail("query", "ssm-patch-compliance-distinct-ec2-instance-latest", cwd=demo)).stdout
    ids = [r["InstanceId"] for r in csv.DictReader(io.StringIO(ok(patchtrail(
        "query", "ssm-patch-compliance-distinct-ec2-instance-latest", "-f", "csv", cwd=demo)).stdout))]
    assert "…" not in out
    for instance_id in ids:
        assert instance_id in out
    body = out.splitlines()[2:-1]
    assert len(body) == len(ids), out  # list columns are compact: one line per row
    assert out.splitlines()[-1] == f"{len(ids)} rows"


def test_table_says_1_row_and_right_aligns_numbers(demo):
    out = ok(patchtrail("sql", "select 7 as n, 'x' as s union all select 12345, 'yy'",
                        cwd=demo)).stdout.splitlines()
    assert out[-1] == "2 rows"
    assert out[2].startswith("    7") and out[3].startswith("12345")
    one = ok(patchtrail("sql", "select 1 as n", cwd=demo)).stdout.splitlines()
    assert one[-1] == "1 row"


def test_table_has_a_default_limit_with_a_note(demo):
    total = int(ok(patchtrail("sql", "select count(*) from staging.patch_observations", "-f", "csv",
                              cwd=demo)).stdout.splitlines()[1])
    assert total > 100
    statement = "select ci_id, instance_id, patch_id, captured_at from staging.patch_observations"
    out = ok(patchtrail("sql", statement, cwd=demo)).stdout
    lines = out.splitlines()
    assert len(lines) == 2 + 100 + 1, lines[-1]
    assert lines[-1].startswith(f"100 of {total:,} rows shown ({total - 100:,} left out)")
    limited = ok(patchtrail("sql", statement, "--limit", "5", cwd=demo)).stdout.splitlines()
    assert len(limited) == 2 + 5 + 1
    everything = ok(patchtrail("sql", statement, "-f", "csv", cwd=demo)).stdout.splitlines()
    assert len(everything) == total + 1  # csv: no default limit
    shown = ok(patchtrail("sql", statement, "--all", cwd=demo)).stdout.splitlines()
    assert len(shown) == 2 + total + 1 and shown[-1] == f"{total:,} rows"


def test_csv_json_parquet_are_written_by_duckdb(demo):
    statement = "select instance_id, cve_ids, captured_at from staging.patch_observations"
    rows = list(csv.DictReader(io.StringIO(ok(patchtrail("sql", statement, "-f", "csv",
                                                         cwd=demo)).stdout)))
    lines = ok(patchtrail("sql", statement, "-f", "json", cwd=demo)).stdout.splitlines()
    assert len(rows) == len(lines) > 100
    first = json.loads(lines[0])
    assert set(first) == {"instance_id", "cve_ids", "captured_at"} and isinstance(first["cve_ids"], list)
    assert ok(patchtrail("sql", statement, "-f", "parquet", "--out", "p.parquet", cwd=demo))
    import pyarrow.parquet as pq

    assert pq.read_table(demo / "p.parquet").num_rows == len(rows)
    refused = patchtrail("sql", statement, "-f", "parquet", cwd=demo)
    one_line_error(refused)


def test_csv_to_stdout_appends_under_double_redirect(demo):
    target = demo / "append.csv"
    target.write_text("first line\n")
    with target.open("a") as fh:
        subprocess.run([sys.executable, "-m", "patchtrail.cli", "sql", "select 1 as n", "-f", "csv"],
                       cwd=demo, stdout=fh, check=True, timeout=120)
    assert target.read_text() == "first line\nn\n1\n"


def test_a_reader_that_stops_early_is_not_an_error(demo):
    statement = "'select * from staging.patch_observations'"
    shell = f"{sys.executable} -m patchtrail.cli sql {statement} -f csv | head -1"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", shell], cwd=demo, capture_output=True,
                          text=True, timeout=120)
    assert done.stdout.startswith("ci_id,") and "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("command", [
    ["status"], ["ingest", "files", "demo-data"], ["policies", "list"], ["waivers", "list"],
    ["sla", "--limit", "3"], ["query", "ssm-patch-compliance-all-ec2-instances", "--limit", "2"],
    ["publish", "duckdb", "--out", "copy/p.duckdb"],
])
def test_json_format_on_every_command_that_prints_results(demo, command):
    out = ok(patchtrail(*command, "--format", "json", cwd=demo)).stdout
    parsed = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert all(isinstance(p, dict) for p in parsed), out
    assert "{'" not in out  # no Python dict reprs


def test_simulate_and_publish_parquet_print_no_python_reprs(demo, tmp_path):
    sim = ok(patchtrail("simulate", "--out", str(tmp_path / "s"), "--days", "3", "--accounts", "1",
                        "--instances", "1", "--regions", "1", cwd=demo))
    lake = ok(patchtrail("publish", "parquet", "--out", str(tmp_path / "lake"), cwd=demo))
    for out in (sim.stdout, lake.stdout):
        assert "{'" not in out and "': " not in out, out
    record = json.loads(ok(patchtrail("simulate", "--out", str(tmp_path / "s2"), "--days", "3",
                                      "--accounts", "1", "--instances", "1", "--regions", "1",
                                      "-f", "json", cwd=demo)).stdout)
    assert record["patch_items"] > 0
    rows = list(csv.DictReader(io.StringIO(ok(patchtrail(
        "publish", "parquet", "--out", str(tmp_path / "lake"), "-f", "csv", cwd=demo)).stdout)))
    assert len(rows) == 1 and int(rows[0]["partitions_unchanged"]) > 0


def test_ingest_summary_formats(demo):
    rows = list(csv.DictReader(io.StringIO(ok(patchtrail("ingest", "files", "demo-data", "-f", "csv",
                                                         cwd=demo)).stdout)))
    assert rows[-1]["format"] == "total" and rows[-1]["objects"] == rows[-1]["unchanged"]
    summary = json.loads(ok(patchtrail("ingest", "files", "demo-data", "-f", "json", cwd=demo)).stdout)
    assert summary["totals"]["objects_seen"] == summary["totals"]["objects_unchanged"] > 0
    assert summary["fleet"]["instances"] > 0


def test_status_and_fleet_summary_and_report_agree_on_missing(demo):
    status = json.loads(ok(patchtrail("status", "-f", "json", cwd=demo)).stdout)
    fleet = json.loads(ok(patchtrail("sql", "select * from marts.fleet_summary", "-f", "json",
                                     cwd=demo)).stdout)
    direct = json.loads(ok(patchtrail(
        "sql", "select count(*) filter (where severity = 'HIGH') as high, count(*) filter "
               "(where severity = 'CRITICAL') as critical "
               "from marts.missing_patches_as_of(marts.data_as_of())", "-f", "json",
        cwd=demo)).stdout)
    assert status["missing_high_patches"] == fleet["missing_high_patches"] == direct["high"]
    assert status["missing_critical_patches"] == fleet["missing_critical_patches"] == direct["critical"]
    html = (demo / "report.html").read_text()
    assert f"<b>{direct['high']}</b>missing high patches" in html.replace("\n", "")
