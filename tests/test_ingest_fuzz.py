"""Property test: no mutation of valid items, in any of the three formats, fails a run (#11).

Random mutations (a field deleted, a type swapped, huge or negative numbers, odd times, odd
unicode, deep nesting) are applied to valid configuration items; the items are written as an
AWS Config delivery file, CloudTrail Lake event NDJSON and a Lake export, and ingested. The
run never raises, every object accounts for its items (read = landed + duplicate + skipped +
rejected), and every invariant of `patchtrail check` holds afterwards.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import tempfile
from pathlib import Path

from factories import config_file_ci, lake_event, lake_row, patch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from patchtrail.constants import LAKE_EXTRACT_COLUMNS
from patchtrail.ingest import ingest_files
from patchtrail.warehouse.check import check_warehouse

DEEP = "[" * 3000 + "1" + "]" * 3000
DEEP_MARK = "\u2063deep\u2063"
ODD_VALUES = [
    None, True, 0, -1, 2**31, -(2**63) - 1, 2**70, 1e308, -1e-308, 1.5, "", " ", "0", "-1",
    "1.7e12", 1_700_000_000_000, 1_700_000_000.5, "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00", "2026-03-01 06:00:00.000", "2026-03-01T06:00:00", "yesterday",
    "2999-01-01T00:00:00Z", "1999-01-01T00:00:00Z", "\ud800", "\u0000", "\u202e\u0645\u0631\u062d\u0628\u0627",
    "\U0001f4a5" * 50, "é" * 1000, [], {}, [1, {"a": None}], {"Patch": []}, DEEP_MARK,
]
BASE = [
    config_file_ci("2026-03-01T06:00:00.000Z", [patch("KB1", "Missing"), patch("KB2")]),
    config_file_ci("2026-03-02T06:00:00.000Z", [patch("KB1"), patch("KB2", "Failed")]),
    config_file_ci("2026-03-03T06:00:00.000Z", status="ResourceDeleted"),
    config_file_ci("2026-03-01T07:00:00.000Z", [patch("pkg.x86_64", "InstalledOther")],
                   instance="i-0fffffffffffffff1"),
]


def paths(value, prefix=()):
    """Every path into a JSON value (dict keys and list indexes), the root excluded."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*prefix, key)
            yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield (*prefix, index)
            yield from paths(child, (*prefix, index))


def mutate(value, path, action, odd):
    """Apply one mutation at `path` (in place): delete it, or set it to an odd value."""
    parent = value
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if action == "delete":
        del parent[last]
    else:
        parent[last] = odd


@st.composite
def mutated_items(draw):
    items = [json.loads(json.dumps(ci)) for ci in BASE]
    for _ in range(draw(st.integers(1, 6))):
        item = items[draw(st.integers(0, len(items) - 1))]
        options = sorted(paths(item), key=repr)
        if draw(st.booleans()):  # half the time, a field of the envelope or of the summary
            options = [p for p in options if len(p) == 1 or "ComplianceSummary" in p] or options
        path = options[draw(st.integers(0, len(options) - 1))]
        action = draw(st.sampled_from(["delete", "set", "set"]))
        mutate(item, path, action, draw(st.sampled_from(ODD_VALUES)))
    return items


def one_mutation(path, value):
    """BASE with one field of its first item set to `value` (the cases the issue lists)."""
    items = [json.loads(json.dumps(ci)) for ci in BASE]
    mutate(items[0], path, "set", value)
    return items


SUMMARY = ("configuration", "AWS:ComplianceItem", "Content", "Patch", "ComplianceSummary")
PATCH_KB1 = ("configuration", "AWS:ComplianceItem", "Content", "Patch", "KB1")
KNOWN_CASES = [
    one_mutation(("configurationItemCaptureTime",), 1_700_000_000_000),     # epoch milliseconds
    one_mutation(("configurationItemCaptureTime",), "0001-01-01T00:00:00+01:00"),
    one_mutation(("configurationItemCaptureTime",), "9999-12-31T23:59:59-01:00"),
    one_mutation((*SUMMARY, "NonCompliantCriticalCount"), 2**70),           # above int64
    one_mutation((*SUMMARY, "NonCompliantHighCount"), 2**40),               # above int32
    one_mutation((*PATCH_KB1, "PatchState"), "Superseded"),                 # unknown state
    one_mutation(("configuration", "AWS:ComplianceItem", "Content"), [1, 2]),  # Content a list
    one_mutation((*PATCH_KB1, "Title"), DEEP_MARK),                         # 3,000 deep
]


def example_cases(test):
    for case in KNOWN_CASES:
        test = example(items=case)(test)
    return test


def dumps(value) -> str:
    """JSON text (stdlib: it writes integers beyond 64 bits); the deep marker becomes deep nesting."""
    return json.dumps(value).replace(json.dumps(DEEP_MARK), DEEP)


def write_all(folder: Path, items: list) -> None:
    config = folder / "AWSLogs/111122223333/Config/us-east-1/2026/3/1/ConfigHistory/h.json.gz"
    config.parent.mkdir(parents=True)
    config.write_bytes(gzip.compress(('{"configurationItems": [' + ", ".join(dumps(i) for i in items)
                                      + "]}").encode("utf-8", "surrogatepass")))
    events = [_safely(lake_event, i) for i in items]
    (folder / "events.ndjson").write_bytes("\n".join(dumps(e) for e in events if e).encode(
        "utf-8", "surrogatepass"))
    rows = [_safely(lake_row, i) for i in items]
    text = io.StringIO()
    text.write("# Execution Time: 2026-04-01T00:00:00Z Query Statement: SELECT ...\r\n")
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(LAKE_EXTRACT_COLUMNS)
    for row in rows:
        if row:
            writer.writerow([row[c] if isinstance(row.get(c), str) else dumps(row.get(c, ""))
                             for c in LAKE_EXTRACT_COLUMNS])
    export = folder / "AWSLogs/111122223333/CloudTrail-Lake/Query/2026/04/01/q1"
    export.mkdir(parents=True)
    data = gzip.compress(text.getvalue().encode("utf-8", "surrogatepass"))
    (export / "result_1.csv.gz").write_bytes(data)
    (export / "result_sign.json").write_text(json.dumps({
        "files": [{"fileName": "result_1.csv.gz", "fileHashValue": hashlib.sha256(data).hexdigest()}],
        "hashAlgorithm": "SHA-256"}))


def _safely(convert, item):
    """The item in another dialect, or None when the mutation broke what the converter needs
    (the Config file still carries the item)."""
    try:
        return convert(json.loads(json.dumps(item)))
    except (KeyError, TypeError, AttributeError, ValueError, IndexError):
        return None


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(items=mutated_items())
@example_cases
def test_no_mutation_fails_a_run_and_every_item_is_accounted_for(items):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        write_all(folder, items)
        warehouse = Path(tmp) / "w.duckdb"
        summary = ingest_files([folder], warehouse=warehouse)
        for result in summary.objects:
            assert result.read == result.landed + result.duplicate + result.skipped + result.rejected, result
            # a bad record is rejected alone: an object is never lost to a reader or flatten failure
            assert "could not be read (" not in (result.error or ""), result.error
        assert summary.totals()["objects_seen"] == 3
        failed = [r for r in check_warehouse(warehouse, full=True) if not r.ok]
        assert not failed, failed
