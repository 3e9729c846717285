"""The shared real AWS samples through the readers and flatten: what each item becomes (#11).

Samples live in ../shared/reference/real-samples/ (see its SOURCES.md); they are read in place,
never copied. Every file of constructed/ has an expected outcome here, so a new sample without
one fails `test_every_constructed_sample_has_an_expected_outcome`.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pandas as pd
import pytest
from patchtrail.transforms.flatten import RawItem, flatten
from patchtrail.transforms.items import normalise

from patchtrail.sources.formats import (
    ObjectError,
    format_of,
    read_config_delivery,
    read_lake_events,
    read_lake_result_csv,
)

SAMPLES = Path(__file__).resolve().parents[1] / ".." / "shared" / "reference" / "real-samples"
CONSTRUCTED = SAMPLES / "constructed"
CONFIG = "config/AWSLogs/123456789012/Config"
HISTORY = (f"{CONFIG}/us-east-2/2021/11/2/ConfigHistory/123456789012_Config_us-east-2_ConfigHistory_"
           "AWS::SSM::PatchCompliance_20211102T000000Z_20211102T060000Z_1.json.gz")
EBS_HISTORY = (f"{CONFIG}/us-east-2/2014/3/7/ConfigHistory/123456789012_Config_us-east-2_ConfigHistory_"
               "AWS::EC2::Volume_20140307T180000Z_20140308T000000Z_1.json.gz")
SNAPSHOT = (f"{CONFIG}/us-east-2/2021/11/4/ConfigSnapshot/123456789012_Config_us-east-2_ConfigSnapshot_"
            "20211104T000000Z_16da64e4-cb65-4846-b061-e6c3ba43cb96.json.gz")
OVERSIZED = (f"{CONFIG}/us-east-2/2021/11/2/OversizedChangeNotification/AWS::SSM::PatchCompliance/"
             "AWS::SSM::ManagedInstanceInventory/i-0a1b2c3d4e5f67890/123456789012_Config_us-east-2_"
             "ChangeNotification_AWS::SSM::PatchCompliance_AWS::SSM::ManagedInstanceInventory_"
             "i-0a1b2c3d4e5f67890_20211102T042011Z_1635826811123.json.gz")
EXPORT = "lake-export/AWSLogs/123456789012/CloudTrail-Lake/Query/2022/08/08/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
READERS = {"config_delivery": read_config_delivery, "lake_events": read_lake_events,
           "lake_result": read_lake_result_csv}

#: The same configuration item (Linux, 2021-11-02) in the Config file, the Lake events and the
#: oversized-change notification; and the Windows item whose Lake event spells the state id
#: `configurationItemStateId`. Pinned: users keep ci_ids.
LINUX_CI = "c6d840a98f1a07007e879305ae6c150a"
WINDOWS_CI = "f3f14c8e69ee56e955fdd130e548d6d3"
DELETED_CI = "8aa8b931e00e5b3df299e5bafb585692"


def read(name: str) -> list[RawItem]:
    reader = READERS[format_of(name)]
    with (CONSTRUCTED / name).open("rb") as stream:
        return list(reader(stream, source="file", ref=name))


def outcome(name: str) -> tuple[dict, dict, dict]:
    """(items by record_ref, rejections by record_ref, skipped counts) of one sample file."""
    flat = flatten(read(name), now=datetime(2026, 4, 1, tzinfo=UTC))
    items = {r.record_ref: (r.ci_id, r.instance_id, r.captured_at.isoformat(), r.item_status, r.dialect)
             for r in flat.items.itertuples()}
    rejected = dict(zip(flat.rejected["record_ref"], flat.rejected["reason"], strict=True))
    return items, rejected, dict(flat.skipped)


def patches_of(name: str) -> dict[str, list[tuple]]:
    """ci_id -> sorted (patch_id, state, raw_state, installed_at, installed_time_raw)."""
    flat = flatten(read(name))
    found: dict[str, list[tuple]] = {}
    for p in flat.patches.itertuples():
        found.setdefault(p.ci_id, []).append((
            p.patch_id, p.state, None if pd.isna(p.raw_state) else p.raw_state,
            None if pd.isna(p.installed_at) else p.installed_at.isoformat(),
            None if pd.isna(p.installed_time_raw) else p.installed_time_raw))
    return {k: sorted(v) for k, v in found.items()}


def test_every_constructed_sample_has_an_expected_outcome():
    names = sorted(str(p.relative_to(CONSTRUCTED)) for p in CONSTRUCTED.rglob("*") if p.is_file())
    assert names == sorted([
        "api/get-resource-config-history-output.json", f"{CONFIG}/ConfigWritabilityCheckFile",
        EBS_HISTORY, HISTORY, OVERSIZED, SNAPSHOT, "lake/events.ndjson",
        f"{EXPORT}/result_1.csv.gz", f"{EXPORT}/result_sign.json",
    ])
    # Not item files: the sources do not read them as such.
    assert format_of(f"{CONFIG}/ConfigWritabilityCheckFile") is None
    assert format_of(OVERSIZED) is None
    assert format_of(f"{EXPORT}/result_sign.json") == "lake_sign"


def test_config_history_of_patch_compliance():
    items, rejected, skipped = outcome(HISTORY)
    assert rejected == {}
    assert skipped == {"AWS::SSM::AssociationCompliance": 1}
    assert items == {
        "item 0": (LINUX_CI, "i-0a1b2c3d4e5f67890", "2021-11-02T04:20:11.123000+00:00", "OK", "config_file"),
        "item 1": (WINDOWS_CI, "i-08ee91c0b17045407", "2019-02-18T16:00:00+00:00", "OK", "config_file"),
        "item 2": ("fbaf54ecc655c2274987adb66c819ca5", "i-1234567890abcdef0", "2019-02-18T17:00:00+00:00",
                   "OK", "config_file"),
        "item 3": ("1537070d15dc3ec786af3fb9563a1b97", "mi-0282f7c436abcdef1", "2021-11-03T04:20:11+00:00",
                   "OK", "config_file"),
        "item 4": ("54932850ac4441f2678c40c9bab25f83", "i-0b1b2c3d4e5f67890", "2021-11-03T05:00:00+00:00",
                   "OK", "config_file"),
        "item 5": (DELETED_CI, "i-0a1b2c3d4e5f67890", "2021-11-05T00:00:00+00:00", "ResourceDeleted",
                   "config_file"),
    }
    patches = patches_of(HISTORY)
    assert patches[LINUX_CI] == [
        ("glibc.x86_64", "InstalledPendingReboot", None, "2021-11-02T04:17:05+00:00", None),
        ("kernel.x86_64", "Installed", None, "2021-11-02T04:16:40+00:00", None),
        ("openssl-libs.x86_64", "Missing", None, None, None),
        ("vim-minimal.x86_64", "InstalledOther", None, "2021-10-20T11:02:09+00:00", None),
    ]
    assert patches[WINDOWS_CI] == [  # `+00:00` offsets; 1970-01-01 is "never installed"
        ("KB2305420", "NotApplicable", None, None, None),
        ("KB2977765", "Installed", None, "2014-10-15T12:00:00+00:00", None),
        ("KB4480979", "Installed", None, "2019-01-09T00:00:00+00:00", None),
        ("KB4481031", "InstalledOther", None, "2019-02-08T00:00:00+00:00", None),
        ("KB890830", "Missing", None, None, None),
    ]
    # PutComplianceItems --compliance-type Patch: no PatchState. The item lands (it was rejected).
    assert patches["fbaf54ecc655c2274987adb66c819ca5"] == [("KB12345", "Unknown", "", None, None)]
    # `.000Z`, a space for `T`, and epoch seconds as text all parse (they were silently null).
    assert patches["54932850ac4441f2678c40c9bab25f83"] == [
        (f"{name}.x86_64", "Installed", None, "2021-11-02T04:16:40+00:00", None)
        for name in ("bash", "curl", "zlib")]


def test_string_counts_and_unspecified_data_status():
    flat = flatten(read(HISTORY))
    inst = flat.instances.set_index("ci_id").loc["54932850ac4441f2678c40c9bab25f83"]
    assert inst["compliance_status"] == "UNSPECIFIED_DATA"
    assert inst["compliant_unspecified_count"] == 461 and inst["non_compliant_critical_count"] == 0
    unknown = flat.instances.set_index("ci_id").loc["fbaf54ecc655c2274987adb66c819ca5"]
    assert (unknown["unknown_count"], unknown["patch_count"]) == (1, 1)


def test_lake_events_are_the_same_items_as_the_config_file():
    items, rejected, skipped = outcome("lake/events.ndjson")
    assert rejected == {}
    assert skipped == {"AWS::SSM::AssociationCompliance": 1, "AWS::SSM::ManagedInstanceInventory": 1}
    # line 2 spells the state id configurationItemStateId: same state id, same ci_id as the file.
    assert {ref: item[0] for ref, item in items.items()} == {
        "line 1": LINUX_CI, "line 2": WINDOWS_CI, "line 3": DELETED_CI}
    lake = flatten(read("lake/events.ndjson")).items.set_index("ci_id")["content_sha256"]
    files = flatten(read(HISTORY)).items.set_index("ci_id")["content_sha256"]
    for ci_id in (LINUX_CI, WINDOWS_CI):
        assert lake[ci_id] == files[ci_id]  # same content from two sources: a duplicate, no conflict
    assert pd.isna(lake[DELETED_CI])


def test_config_api_output_epoch_float_time_and_string_configuration():
    items, rejected, skipped = outcome("api/get-resource-config-history-output.json")
    assert (rejected, skipped) == ({}, {})
    assert items == {"item 0": ("3b07553dfc2af5cc94a0ab495d3f032b", "i-0e1b2c3d4e5f67890",
                                "2021-11-02T04:20:11.123000+00:00", "OK", "config_api")}
    # Another instance with the Linux item's configuration: the same content fingerprint.
    api = flatten(read("api/get-resource-config-history-output.json")).items["content_sha256"].iloc[0]
    assert api == flatten(read(HISTORY)).items.set_index("ci_id")["content_sha256"][LINUX_CI]


def test_config_snapshot_keeps_patch_compliance_and_counts_the_other_types():
    items, rejected, skipped = outcome(SNAPSHOT)
    assert rejected == {}
    assert skipped == {"AWS::EC2::Volume": 1, "AWS::EC2::Instance": 1, "AWS::SSM::ManagedInstanceInventory": 1}
    assert items == {"item 3": ("8f61f2924f800e56aad85d412a4ac8a8", "i-0d1b2c3d4e5f67890",
                                "2021-11-04T00:00:00+00:00", "OK", "config_file")}


def test_history_of_another_type_is_all_skipped():
    assert outcome(EBS_HISTORY) == ({}, {}, {"AWS::EC2::Volume": 3})


def test_oversized_change_notification_holds_the_same_item():
    """The sources skip these files (format_of is None): the item also arrives in ConfigHistory.
    Its configurationItem flattens to the very same ci_id and content."""
    body = orjson.loads(gzip.decompress((CONSTRUCTED / OVERSIZED).read_bytes()))
    item = normalise(body["configurationItem"])
    assert item.ci_id == LINUX_CI
    assert item.content_sha256 == flatten(read(HISTORY)).items.set_index("ci_id")["content_sha256"][LINUX_CI]


def test_the_select_star_lake_export_is_not_an_item_file():
    with pytest.raises(ObjectError):
        read(f"{EXPORT}/result_1.csv.gz")


def test_the_old_snapshot_spelling_of_the_state_id_gives_the_same_ci_id():
    """config-files/doc-configsnapshot-example.json (2014 docs) spells `accountId` and
    `configurationStateID`; the same PatchCompliance item in those names has today's ci_id."""
    old = orjson.loads((SAMPLES / "config-files" / "doc-configsnapshot-example.json").read_bytes())
    assert {"configurationStateID", "accountId"} <= set(old["configurationItems"][0])
    with (SAMPLES / "config-files" / "doc-configsnapshot-example.json").open("rb") as stream:
        assert dict(flatten(read_config_delivery(stream, source="file", ref="doc")).skipped) == {
            "AWS::EC2::Volume": 1, "AWS::EC2::Instance": 1}
    today = flatten(read(HISTORY)).items
    linux = orjson.loads(gzip.decompress((CONSTRUCTED / HISTORY).read_bytes()))["configurationItems"][0]
    linux["accountId"] = linux.pop("awsAccountId")
    linux["configurationStateID"] = str(linux.pop("configurationStateId"))
    assert normalise(linux).ci_id == LINUX_CI == today.set_index("record_ref")["ci_id"]["item 0"]
