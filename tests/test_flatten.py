"""transforms.flatten: frames, state normalisation, summary, rejects."""

from __future__ import annotations

import pandas as pd
import pytest
from factories import config_file_ci, configuration, lake_event, lake_row, patch

from transforms.flatten import PATCH_STATES, RawItem, flatten, normal_state


def raw(payload, ref="item 0"):
    return RawItem(payload, "file", "test.json", ref)


def one(payload):
    flat = flatten([raw(payload)])
    assert flat.rejected.empty, flat.rejected.to_dict("records")
    return flat


@pytest.mark.parametrize("spelling,canonical", [
    ("Installed", "Installed"), ("INSTALLED", "Installed"), ("installed", "Installed"),
    ("InstalledOther", "InstalledOther"), ("INSTALLED_OTHER", "InstalledOther"),
    ("INSTALLED_PENDING_REBOOT", "InstalledPendingReboot"),
    ("InstalledRejected", "InstalledRejected"), ("INSTALLED_REJECTED", "InstalledRejected"),
    ("MISSING", "Missing"), ("Failed", "Failed"), ("NOT_APPLICABLE", "NotApplicable"),
    ("NotApplicable", "NotApplicable"), ("AVAILABLE_SECURITY_UPDATE", "AvailableSecurityUpdate"),
    ("AvailableSecurityUpdate", "AvailableSecurityUpdate"),
])
def test_state_spellings(spelling, canonical):
    assert normal_state(spelling) == canonical


def test_canonical_states_include_the_newer_ones():
    assert {"InstalledRejected", "NotApplicable", "AvailableSecurityUpdate"} <= set(PATCH_STATES)
    assert normal_state("Bogus") is None and normal_state(None) is None


def test_compliance_summary_is_not_a_patch_but_feeds_the_instance():
    flat = one(config_file_ci("2026-03-31T00:00:00.000Z", [patch("KB1", "Missing"), patch("KB2")]))
    assert sorted(flat.patches["patch_id"]) == ["KB1", "KB2"]
    inst = flat.instances.iloc[0]
    assert inst["compliance_status"] == "NON_COMPLIANT"
    assert inst["overall_severity"] == "CRITICAL"
    assert inst["baseline_id"] == "pb-0c5b2769ef7cbe587"
    assert inst["execution_type"] == "Command"
    assert inst["missing_count"] == 1 and inst["installed_count"] == 1 and inst["patch_count"] == 2
    assert inst["non_compliant_critical_count"] == 1


def test_frames_are_arrow_backed():
    flat = one(config_file_ci("2026-03-31T00:00:00.000Z", [patch("KB1")]))
    for frame in (flat.items, flat.instances, flat.patches):
        assert all(isinstance(t, pd.ArrowDtype) for t in frame.dtypes), frame.dtypes


def test_compliance_item_as_json_string():
    ci = config_file_ci("2026-03-31T00:00:00.000Z",
                        config=configuration([patch("KB1", "Missing")], as_string=True))
    flat = one(ci)
    assert list(flat.patches["patch_id"]) == ["KB1"]
    assert flat.instances.iloc[0]["has_patch_map"]


def test_windows_not_applicable_keeps_empty_status_and_nulls_empty_fields():
    na = patch("KB2305420", "NotApplicable", status="", severity="UNSPECIFIED", Title="",
               Classification="", PatchSeverity="", InstalledTime="")
    p = one(config_file_ci("2026-03-31T00:00:00.000Z", [na])).patches.iloc[0]
    assert p["compliance_status"] == ""
    assert pd.isna(p["title"]) and pd.isna(p["classification"]) and pd.isna(p["vendor_severity"])
    assert pd.isna(p["installed_at"])


def test_cves_split_and_absent_means_none():
    missing = patch("openssl-libs.x86_64", "Missing", CVEIds="CVE-2022-0778, CVE-2022-1292")
    flat = one(config_file_ci("2026-03-31T00:00:00.000Z", [missing, patch("kernel.x86_64")]))
    cves = dict(zip(flat.patches["patch_id"], flat.patches["cve_ids"], strict=True))
    assert list(cves["openssl-libs.x86_64"]) == ["CVE-2022-0778", "CVE-2022-1292"]
    assert list(cves["kernel.x86_64"]) == []


def test_installed_time_parsed_and_epoch_zero_is_null():
    flat = one(config_file_ci("2026-03-31T00:00:00.000Z", [
        patch("A", InstalledTime="2021-11-02T04:16:40Z"),
        patch("B", InstalledTime="1970-01-01T00:00:00Z"),
    ]))
    times = dict(zip(flat.patches["patch_id"], flat.patches["installed_at"], strict=True))
    assert str(times["A"]) == "2021-11-02 04:16:40+00:00"
    assert pd.isna(times["B"])


def test_counts_as_strings_are_numbers():
    summary = {"Status": "NON_COMPLIANT", "OverallSeverity": "HIGH", "NonCompliantHighCount": "3",
               "CompliantUnspecifiedCount": 2}
    ci = config_file_ci("2026-03-31T00:00:00.000Z",
                        config=configuration([patch("A")], summary=summary))
    inst = one(ci).instances.iloc[0]
    assert inst["non_compliant_high_count"] == 3 and inst["compliant_unspecified_count"] == 2


def test_deletion_is_a_tombstone_without_patches():
    flat = one(config_file_ci("2026-04-01T00:00:00.000Z", status="ResourceDeleted"))
    assert flat.patches.empty
    inst = flat.instances.iloc[0]
    assert inst["is_deleted"] and not inst["has_patch_map"]


def test_summary_missing_derives_instance_status_from_patches():
    ci = config_file_ci("2026-03-31T00:00:00.000Z",
                        config=configuration([patch("A", "Failed", severity="HIGH")], summary=False))
    inst = one(ci).instances.iloc[0]
    assert inst["compliance_status"] == "NON_COMPLIANT" and inst["overall_severity"] == "HIGH"


def test_other_resource_types_are_counted_not_landed():
    other = config_file_ci("2026-03-31T00:00:00.000Z", resource_type="AWS::EC2::Instance")
    flat = flatten([raw(other), raw(lake_event(other))])
    assert flat.items.empty and flat.rejected.empty
    assert flat.skipped == {"AWS::EC2::Instance": 2}


@pytest.mark.parametrize("mutate,reason", [
    (lambda ci: ci["configuration"]["AWS:ComplianceItem"]["Content"]["Patch"]["KB1"].update(
        PatchState="Superseded"), "unknown PatchState 'Superseded'"),
    (lambda ci: ci.update(awsAccountId=None), "awsAccountId is missing"),
    (lambda ci: ci["configuration"]["AWS:ComplianceItem"]["Content"].update(Patch=[1]),
     "Content.Patch is not an object"),
    (lambda ci: ci["configuration"]["AWS:ComplianceItem"]["Content"]["Patch"]["ComplianceSummary"]
     .update(NonCompliantHighCount="many"), "is not a count"),
])
def test_unusable_items_become_rejected_rows(mutate, reason):
    ci = config_file_ci("2026-03-31T00:00:00.000Z", [patch("KB1")])
    mutate(ci)
    flat = flatten([raw(ci, "item 7")])
    assert flat.items.empty and flat.patches.empty
    rejected = flat.rejected.iloc[0]
    assert reason in rejected["reason"]
    assert rejected["record_ref"] == "item 7" and rejected["source_ref"] == "test.json"
    assert '"awsRegion":"us-east-1"' in rejected["payload"]


def test_reader_errors_pass_through_as_rejects():
    flat = flatten([RawItem("{oops", "file", "x.ndjson", "line 3", error="invalid JSON")])
    assert flat.rejected.iloc[0]["reason"] == "invalid JSON"
    assert flat.rejected.iloc[0]["payload"] == "{oops"


def test_same_item_in_three_dialects_flattens_identically():
    ci = config_file_ci("2026-03-31T00:00:00.000Z", [patch("KB1", "Missing"), patch("KB2")])
    frames = [one(p) for p in (ci, lake_event(ci), lake_row(ci))]
    for flat in frames[1:]:
        pd.testing.assert_frame_equal(flat.patches, frames[0].patches)
        pd.testing.assert_frame_equal(flat.instances, frames[0].instances)


def test_one_bad_item_in_a_batch_rejects_only_that_item():
    good = [config_file_ci(f"2026-03-0{d}T00:00:00.000Z", [patch("KB1"), patch("KB2", "Missing")])
            for d in (1, 2, 3)]
    bad_state = config_file_ci("2026-03-04T00:00:00.000Z", [patch("KB1"), patch("KB9", "Exploded")])
    bad_type = config_file_ci("2026-03-05T00:00:00.000Z", [patch("KB1", Title=42)])
    flat = flatten([raw(good[0], "item 0"), raw(bad_state, "item 1"), raw(good[1], "item 2"),
                    raw(bad_type, "item 3"), raw(good[2], "item 4")])
    assert len(flat.items) == 3 and len(flat.instances) == 3 and len(flat.patches) == 6
    assert set(flat.patches["ci_id"]) == set(flat.items["ci_id"])
    reasons = dict(zip(flat.rejected["record_ref"], flat.rejected["reason"], strict=True))
    assert reasons["item 1"] == "patch 'KB9' has unknown PatchState 'Exploded'"
    assert reasons["item 3"].startswith("a patch field is not a string")
    assert list(flat.instances["missing_count"]) == [1, 1, 1]


def test_patch_id_falls_back_to_the_map_key():
    ci = config_file_ci("2026-03-01T00:00:00.000Z", [patch("KB1"), patch("KB2")])
    patch_map = ci["configuration"]["AWS:ComplianceItem"]["Content"]["Patch"]
    patch_map["KB1"]["Id"] = ""
    del patch_map["KB2"]["Id"]
    assert sorted(one(ci).patches["patch_id"]) == ["KB1", "KB2"]
