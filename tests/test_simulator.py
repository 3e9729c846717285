"""Tests for the fleet simulator: formats, key layouts, determinism and the fleet's invariants."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from patchtrail.devkit.simulator import (
    SimulationSummary,
    iter_events,
    simulate_to_dir,
    synthetic_items,
)

SMALL = {"accounts": 2, "regions": 2, "instances": 5, "days": 40, "seed": 11}
PATCH_TYPE = "AWS::SSM::PatchCompliance"
# AWS sample regex (§5.1), anchored to the bucket root.
CONFIG_KEY = re.compile(
    r"^(?P<org_id>[\w-]+)?/?AWSLogs/(?P<account_id>\d+)/Config/(?P<region>[\w-]+)/(?P<year>\d+)/"
    r"(?P<month>\d+)/(?P<day>\d+)/(?P<type>ConfigSnapshot|ConfigHistory)/[^//]+$")
CONFIG_NAME = re.compile(
    r"^(?P<account>\d{12})_Config_(?P<region>[a-z0-9-]+)_ConfigHistory_"
    r"(?P<rtype>AWS::\w+::\w+)_(?P<start>\d{8}T\d{6}Z)_(?P<end>\d{8}T\d{6}Z)_(?P<n>\d+)\.json\.gz$")
LAKE_KEY = re.compile(
    r"^AWSLogs/(?P<account>\d{12})/CloudTrail-Lake/Query/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/"
    r"(?P<query>[0-9a-f-]{36})/(?P<file>result_\d+\.csv\.gz|result_sign\.json)$")
CSV_HEADER = ("eventId,eventTime,accountId,awsRegion,resourceId,ciStatus,ciCaptureTime,ciStateId,"
              "configurationJson")
PATCH_STATES = {"Installed", "InstalledOther", "InstalledPendingReboot", "InstalledRejected",
                "Missing", "Failed", "NotApplicable"}
LEVELS = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNSPECIFIED")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two same-seed runs, one other-seed run, and one with an organization id."""
    root = tmp_path_factory.mktemp("sim")
    ticks: list[int] = []
    first = simulate_to_dir(root / "a", lake_rows_per_file=60, progress=ticks.append, **SMALL)
    simulate_to_dir(root / "b", lake_rows_per_file=60, **SMALL)
    simulate_to_dir(root / "c", lake_rows_per_file=60, **{**SMALL, "seed": 12})
    simulate_to_dir(root / "org", org_id="o-a1b2c3d4e5", **{**SMALL, "accounts": 1, "days": 15})
    return {"root": root, "out": root / "a", "summary": first, "ticks": ticks}


@pytest.fixture(scope="module")
def events() -> list[Any]:
    return list(iter_events(**SMALL))


def _files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def _without_signature(body: bytes) -> dict[str, Any]:
    sign = json.loads(body)
    sign.pop("hashSignature")
    return sign


def _patch_content(configuration: dict[str, Any] | None) -> dict[str, Any] | None:
    """`Content.Patch` with the item decoded and the counts as numbers."""
    if configuration is None:
        return None
    item = configuration["AWS:ComplianceItem"]
    if isinstance(item, str):
        item = json.loads(item)
    patches = dict(item["Content"]["Patch"])
    summary = {k: int(v) if k.endswith("Count") else v
               for k, v in patches.pop("ComplianceSummary").items()}
    return {"summary": summary, "patches": patches}


def _config_items(out: Path) -> list[dict[str, Any]]:
    items = []
    for path in sorted((out / "config").rglob("*.json.gz")):
        items.extend(json.loads(gzip.decompress(path.read_bytes()))["configurationItems"])
    return items


def _csv_rows(out: Path) -> list[dict[str, str]]:
    rows = []
    for path in sorted((out / "lake-export").rglob("result_*.csv.gz"),
                       key=lambda p: int(p.name.split("_")[1].split(".")[0])):
        text = gzip.decompress(path.read_bytes()).decode()
        rows.extend(csv.DictReader(io.StringIO(text.split("\r\n", 1)[1], newline="")))
    return rows


def _lake_events(out: Path) -> list[dict[str, Any]]:
    lines = (out / "lake-events" / "events.ndjson").read_text().splitlines()
    return [json.loads(line) for line in lines]


def _ci_key(account: str, region: str, resource: str, capture: str, status: str, state: Any,
            configuration: Any) -> tuple[Any, ...]:
    return (account, region, resource, capture, status, str(state),
            json.dumps(configuration, sort_keys=True))


def test_same_seed_writes_identical_bytes(runs: dict[str, Any]) -> None:
    a, b = _files(runs["root"] / "a"), _files(runs["root"] / "b")
    assert a.keys() == b.keys()
    for name, body in a.items():
        if name.endswith("result_sign.json"):
            assert _without_signature(body) == _without_signature(b[name])
        else:
            assert body == b[name], name


def test_other_seed_writes_other_data(runs: dict[str, Any]) -> None:
    a, c = _files(runs["root"] / "a"), _files(runs["root"] / "c")
    assert a["lake-events/events.ndjson"] != c["lake-events/events.ndjson"]
    assert a.keys() != c.keys()


def test_config_keys_match_the_aws_layout(runs: dict[str, Any]) -> None:
    out = runs["out"] / "config"
    histories = [p for p in out.rglob("*") if p.is_file() and p.name.endswith(".json.gz")]
    assert histories
    for path in histories:
        key = path.relative_to(out).as_posix()
        match = CONFIG_KEY.match(key)
        assert match and match["org_id"] is None, key
        assert not match["month"].startswith("0") and not match["day"].startswith("0"), key
        name = CONFIG_NAME.match(path.name)
        assert name, path.name
        assert (name["account"], name["region"]) == (match["account_id"], match["region"])
        start = datetime.strptime(name["start"], "%Y%m%dT%H%M%SZ")
        end = datetime.strptime(name["end"], "%Y%m%dT%H%M%SZ")
        assert end - start == timedelta(hours=6) and start.hour % 6 == 0
        assert (int(match["year"]), int(match["month"]), int(match["day"])) == (
            start.year, start.month, start.day)
        body = json.loads(gzip.decompress(path.read_bytes()))
        assert body["fileVersion"] == "1.0" and body["configurationItems"]
        for ci in body["configurationItems"]:
            assert ci["resourceType"] == name["rtype"]
            assert (ci["awsAccountId"], ci["awsRegion"]) == (name["account"], name["region"])
            captured = datetime.strptime(ci["configurationItemCaptureTime"],
                                         "%Y-%m-%dT%H:%M:%S.%fZ")
            assert start <= captured < end
    for account in {p.relative_to(out).parts[1] for p in histories}:
        check = out / "AWSLogs" / account / "Config" / "ConfigWritabilityCheckFile"
        assert check.is_file() and check.read_bytes() == b""


def test_org_id_prefixes_config_keys(runs: dict[str, Any]) -> None:
    out = runs["root"] / "org" / "config"
    keys = [p.relative_to(out).as_posix() for p in out.rglob("*.json.gz")]
    assert keys
    for key in keys:
        match = CONFIG_KEY.match(key)
        assert match and match["org_id"] == "o-a1b2c3d4e5", key


def test_lake_export_layout_and_sign_file(runs: dict[str, Any]) -> None:
    out = runs["out"] / "lake-export"
    keys = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert "public_key.der" in keys
    matches = [LAKE_KEY.match(k) for k in keys if k != "public_key.der"]
    assert all(matches), keys
    assert len({(m["account"], m["query"]) for m in matches}) == 1
    results = sorted((m for m in matches if m["file"] != "result_sign.json"),
                     key=lambda m: int(m["file"].split("_")[1].split(".")[0]))
    assert [m["file"] for m in results] == [f"result_{n}.csv.gz" for n in
                                            range(1, len(results) + 1)]
    assert len(results) > 1  # 60 rows per file forces a split
    folder = out / keys[0].rsplit("/", 1)[0]
    sign = json.loads((folder / "result_sign.json").read_bytes())
    assert {k: sign[k] for k in ("version", "hashAlgorithm", "signatureAlgorithm")} == {
        "version": "1.0", "hashAlgorithm": "SHA-256", "signatureAlgorithm": "SHA256withRSA"}
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", sign["queryCompleteTime"])
    assert [f["fileName"] for f in sign["files"]] == [m["file"] for m in results]
    for entry in sign["files"]:
        digest = hashlib.sha256((folder / entry["fileName"]).read_bytes()).hexdigest()
        assert entry["fileHashValue"] == digest
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    der = (out / "public_key.der").read_bytes()
    assert sign["publicKeyFingerprint"] == hashlib.md5(der).hexdigest()
    data = " ".join(f["fileHashValue"] for f in sign["files"]).encode()
    load_der_public_key(der).verify(bytes.fromhex(sign["hashSignature"]), data,  # type: ignore
                                    padding.PKCS1v15(), hashes.SHA256())


def test_csv_has_comment_header_and_crlf(runs: dict[str, Any]) -> None:
    paths = list((runs["out"] / "lake-export").rglob("result_*.csv.gz"))
    for path in paths:
        raw = gzip.decompress(path.read_bytes())
        assert raw.count(b"\n") == raw.count(b"\r\n") and raw.endswith(b"\r\n")
        lines = raw.decode().split("\r\n")
        assert re.fullmatch(r"# Execution Time: \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z "
                            r"Query Statement: SELECT .+ FROM [0-9a-f-]{36} WHERE .+", lines[0])
        assert lines[1] == CSV_HEADER
    rows = _csv_rows(runs["out"])
    assert rows
    for row in rows:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}", row["eventTime"])
        assert row["ciStateId"].isdigit()
        assert (row["configurationJson"] == "") == (row["ciStatus"] == "ResourceDeleted")
        if row["configurationJson"]:
            assert row["configurationJson"] == json.dumps(json.loads(row["configurationJson"]),
                                                          separators=(",", ":"))


def test_three_formats_carry_the_same_patch_items(runs: dict[str, Any]) -> None:
    out = runs["out"]
    config = {_ci_key(ci["awsAccountId"], ci["awsRegion"], ci["resourceId"],
                      ci["configurationItemCaptureTime"], ci["configurationItemStatus"],
                      ci["configurationStateId"], ci["configuration"])
              for ci in _config_items(out) if ci["resourceType"] == PATCH_TYPE}
    exported = {_ci_key(r["accountId"], r["awsRegion"], r["resourceId"], r["ciCaptureTime"],
                        r["ciStatus"], r["ciStateId"],
                        json.loads(r["configurationJson"]) if r["configurationJson"] else None)
                for r in _csv_rows(out)}
    lake = _lake_events(out)
    events = {_ci_key(e["eventData"]["accountId"], e["eventData"]["awsRegion"],
                      e["eventData"]["resourceId"], e["eventData"]["configurationItemCaptureTime"],
                      e["eventData"]["configurationItemStatus"],
                      e["eventData"]["configurationStateId"], e["eventData"]["configuration"])
              for e in lake if e["eventData"]["resourceType"] == PATCH_TYPE}
    assert config and config == exported == events
    assert len(config) == runs["summary"].patch_items
    others = {e["eventData"]["resourceType"] for e in lake} - {PATCH_TYPE}
    assert others == {"AWS::EC2::Instance", "AWS::SSM::ManagedInstanceInventory"}
    assert len(lake) == len(_config_items(out))


def test_dialects_of_file_and_lake_event(runs: dict[str, Any]) -> None:
    ci = _config_items(runs["out"])[0]
    assert isinstance(ci["configurationStateId"], int)
    assert {"awsAccountId", "ARN", "configurationStateMd5Hash"} <= ci.keys()
    event = _lake_events(runs["out"])[0]
    assert list(event)[:7] == ["eventVersion", "eventCategory", "eventType", "eventID",
                               "eventTime", "awsRegion", "recipientAccountId"]
    assert (event["eventCategory"], event["eventType"]) == ("ConfigurationItem",
                                                            "AwsConfigurationItem")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", event["eventTime"])
    data = event["eventData"]
    assert isinstance(data["configurationStateId"], str)
    assert {"accountId", "arn"} <= data.keys() and not {"awsAccountId", "ARN"} & data.keys()


def test_events_are_ordered_and_identified(events: list[Any]) -> None:
    captures = [e.ci["configurationStateId"] for e in events]
    assert captures == sorted(captures)
    assert len({e.event_id for e in events}) == len(events)
    for event in events:
        ci = event.ci
        captured = datetime.strptime(ci["configurationItemCaptureTime"],
                                     "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        assert ci["configurationStateId"] == int(captured.timestamp() * 1000 + 0.5)
        assert event.event_time == captured.replace(microsecond=0)
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                            event.event_id)
        start = datetime(2026, 1, 1, tzinfo=UTC)
        assert start <= captured < start + timedelta(days=SMALL["days"])
    others = sum(e.ci["resourceType"] != PATCH_TYPE for e in events)
    assert 0.01 < others / len(events) < 0.12


def _by_instance(events: list[Any]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        ci = event.ci
        key = f"{ci['awsAccountId']}/{ci['awsRegion']}/{ci['resourceType']}/{ci['resourceId']}"
        grouped[key].append(ci)
    return grouped


def test_deletion_ends_a_resource(events: list[Any]) -> None:
    deleted = 0
    for cis in _by_instance(events).values():
        statuses = [ci["configurationItemStatus"] for ci in cis]
        assert "ResourceDiscovered" not in statuses[1:]
        if "ResourceDeleted" in statuses:
            assert statuses.index("ResourceDeleted") == len(statuses) - 1
            assert cis[-1]["configuration"] is None
            deleted += cis[-1]["resourceType"] == PATCH_TYPE
        assert all(ci["configuration"] is not None for ci in cis if
                   ci["configurationItemStatus"] != "ResourceDeleted")
    assert deleted >= 1
    assert any(e.ci["configurationItemStatus"] == "ResourceDiscovered" and
               e.ci["resourceType"] == PATCH_TYPE for e in events)


def test_daily_recording_only_records_changes(events: list[Any]) -> None:
    for cis in _by_instance(events).values():
        if cis[0]["resourceType"] != PATCH_TYPE:
            continue
        contents = [_patch_content(ci["configuration"]) for ci in cis]
        for before, after in zip(contents, contents[1:], strict=False):
            assert before != after


def test_patch_fields_follow_the_agent(events: list[Any]) -> None:
    cves = string_items = string_counts = policy = 0
    for event in events:
        ci = event.ci
        if ci["resourceType"] != PATCH_TYPE or ci["configuration"] is None:
            continue
        assert re.fullmatch(r"AWS::SSM::ManagedInstanceInventory/(i|mi)-[0-9a-f]{17}",
                            ci["resourceId"])
        item = ci["configuration"]["AWS:ComplianceItem"]
        string_items += isinstance(item, str)
        raw_summary = (json.loads(item) if isinstance(item, str) else item)[
            "Content"]["Patch"]["ComplianceSummary"]
        string_counts += isinstance(raw_summary["CompliantCriticalCount"], str)
        content = _patch_content(ci["configuration"])
        assert content is not None
        policy += content["summary"]["ExecutionType"] == "PatchPolicy"
        for key, patch in content["patches"].items():
            assert key == patch["Id"] and patch["PatchState"] in PATCH_STATES
            assert re.fullmatch(r"KB\d+|[\w+.-]+\.(x86_64|aarch64|noarch)", key)
            assert ("CVEIds" in patch) <= (patch["PatchState"] in ("Missing", "Failed"))
            cves += "CVEIds" in patch
            installed = patch["PatchState"].startswith("Installed")
            assert bool(patch["InstalledTime"]) == installed
            if installed:
                datetime.strptime(patch["InstalledTime"], "%Y-%m-%dT%H:%M:%SZ")
            if patch["PatchState"] == "NotApplicable":
                assert (patch["Status"], patch["Severity"], patch["Title"]) == ("", "UNSPECIFIED",
                                                                               "")
            assert patch["PatchBaselineId"] == content["summary"]["PatchBaselineId"]
    assert cves and string_items and string_counts and policy


def test_compliance_summary_matches_patches(events: list[Any]) -> None:
    for event in events:
        if event.ci["resourceType"] != PATCH_TYPE or event.ci["configuration"] is None:
            continue
        content = _patch_content(event.ci["configuration"])
        assert content is not None
        summary, patches = content["summary"], content["patches"].values()
        for prefix, status in (("Compliant", "COMPLIANT"), ("NonCompliant", "NON_COMPLIANT")):
            for level in LEVELS:
                expected = sum(p["Status"] == status and p["Severity"] == level for p in patches)
                assert summary[f"{prefix}{level.capitalize()}Count"] == expected
        failing = [lv for lv in LEVELS if any(p["Status"] == "NON_COMPLIANT" and
                                              p["Severity"] == lv for p in patches)]
        assert summary["Status"] == ("NON_COMPLIANT" if failing else "COMPLIANT")
        assert summary["OverallSeverity"] == (failing[0] if failing else "UNSPECIFIED")


def test_default_scale_patch_counts() -> None:
    counts: dict[str, list[int]] = {"windows": [], "linux": []}
    for event in iter_events(accounts=1, regions=1, instances=12, days=120, seed=3):
        if event.ci["resourceType"] == PATCH_TYPE and event.ci["configuration"] is not None:
            content = _patch_content(event.ci["configuration"])
            assert content is not None
            windows = any(k.startswith("KB") for k in content["patches"])
            counts["windows" if windows else "linux"].append(len(content["patches"]))
    assert 35 <= min(counts["windows"]) and max(counts["windows"]) <= 85
    assert 45 <= min(counts["linux"]) and max(counts["linux"]) <= 100


def test_summary_and_progress(runs: dict[str, Any], events: list[Any]) -> None:
    summary: SimulationSummary = runs["summary"]
    as_dict = summary.as_dict()
    assert as_dict["items_by_type"][PATCH_TYPE] == summary.patch_items
    assert sum(as_dict["items_by_type"].values()) == len(events)
    assert summary.windows_instances + summary.linux_instances >= summary.instances > 0
    assert summary.deleted_instances >= 1 and summary.joined_instances >= 1
    assert summary.files_by_format["lake_events"] == 1
    assert summary.bytes_by_format["lake_events"] == (
        runs["out"] / "lake-events" / "events.ndjson").stat().st_size
    assert runs["ticks"] and runs["ticks"][-1] == len(events)
    json.dumps(as_dict)


def test_invalid_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="regions=99"):
        next(iter_events(regions=99))
    with pytest.raises(ValueError, match="org_id"):
        next(iter_events(org_id="not-an-org"))


def test_synthetic_items_are_fast_consistent_and_deterministic() -> None:
    items = list(synthetic_items(200, 30, seed=5))
    assert len(items) == 200
    assert items == list(synthetic_items(200, 30, seed=5))
    assert items != list(synthetic_items(200, 30, seed=6))
    for ci in items:
        content = _patch_content(ci["configuration"])
        assert content is not None and len(content["patches"]) == 30
        for prefix, status in (("Compliant", "COMPLIANT"), ("NonCompliant", "NON_COMPLIANT")):
            for level in LEVELS:
                expected = sum(p["Status"] == status and p["Severity"] == level
                               for p in content["patches"].values())
                assert content["summary"][f"{prefix}{level.capitalize()}Count"] == expected
        for patch in content["patches"].values():
            assert ("CVEIds" in patch) <= (patch["PatchState"] in ("Missing", "Failed"))
    captures = [ci["configurationStateId"] for ci in items]
    assert captures == sorted(captures)
    started = datetime.now()
    assert sum(1 for _ in synthetic_items(1000, 200)) == 1000
    assert datetime.now() - started < timedelta(seconds=5)


def test_start_date_moves_the_history() -> None:
    first = next(iter_events(accounts=1, regions=1, instances=2, days=3, start=date(2025, 6, 1)))
    assert first.ci["configurationItemCaptureTime"].startswith("2025-06-01")
