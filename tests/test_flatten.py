"""transforms.flatten: frames, state normalisation, summary, rejects."""

from __future__ import annotations

import copy
import itertools
from datetime import UTC, datetime

import orjson
import pandas as pd
import pyarrow as pa
import pytest
from factories import (
    config_api_ci,
    config_file_ci,
    configuration,
    every_dialect,
    lake_event,
    lake_row,
    patch,
    patch_map,
    third_party_patch,
)
from patchtrail.transforms.flatten import (
    INSTANCE_SCHEMA,
    ITEM_SCHEMA,
    PATCH_SCHEMA,
    PATCH_STATES,
    RawItem,
    _canonical_states,
    flatten,
)
from patchtrail.transforms.payload import clean_text


def normal_state(value):
    """The canonical spelling of a patch state, as flatten computes it (was flatten.normal_state)."""
    if not isinstance(value, str) or not clean_text(value) == value:
        return None
    return _canonical_states(pa.array([value])).to_pylist()[0]


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
    bad_shape = config_file_ci("2026-03-04T00:00:00.000Z", [patch("KB1")])
    bad_shape["configuration"]["AWS:ComplianceItem"]["Content"] = [{"Patch": {}}]
    bad_type = config_file_ci("2026-03-05T00:00:00.000Z", [patch("KB1"), patch("KB2", Title=42)])
    flat = flatten([raw(good[0], "item 0"), raw(bad_shape, "item 1"), raw(good[1], "item 2"),
                    raw(bad_type, "item 3"), raw(good[2], "item 4")])
    assert len(flat.items) == 3 and len(flat.instances) == 3 and len(flat.patches) == 6
    assert set(flat.patches["ci_id"]) == set(flat.items["ci_id"])
    reasons = dict(zip(flat.rejected["record_ref"], flat.rejected["reason"], strict=True))
    assert reasons["item 1"] == "AWS:ComplianceItem.Content is an array, expected an object"
    assert reasons["item 3"] == "patch 'KB2' field Title is a number, expected a string"
    assert list(flat.instances["missing_count"]) == [1, 1, 1]


def test_patch_id_falls_back_to_the_map_key():
    ci = config_file_ci("2026-03-01T00:00:00.000Z", [patch("KB1"), patch("KB2")])
    patch_map = ci["configuration"]["AWS:ComplianceItem"]["Content"]["Patch"]
    patch_map["KB1"]["Id"] = ""
    del patch_map["KB2"]["Id"]
    assert sorted(one(ci).patches["patch_id"]) == ["KB1", "KB2"]


def one_item(ci, **kw):
    flat = flatten([raw(ci)], **kw)
    assert flat.rejected.empty, flat.rejected.to_dict("records")
    return flat


def rejected_reason(payload, **kw):
    flat = flatten([raw(payload)], **kw)
    assert flat.items.empty and flat.instances.empty and flat.patches.empty
    assert len(flat.rejected) == 1
    return flat.rejected.iloc[0]["reason"]


# --- unknown and absent PatchState (#11) ------------------------------------------------------

def test_unknown_or_absent_patch_state_lands_as_unknown_with_its_raw_text():
    ci = config_file_ci("2026-03-31T00:00:00.000Z", [
        patch("KB1"), patch("KB2", "Superseded"), patch("KB3", "INSTALLED_OTHER"),
        third_party_patch("KB4"), patch("KB5", ""), patch("KB6", "installed pending reboot"),
    ])
    flat = one_item(ci)
    got = {p: (s, r) for p, s, r in flat.patches[["patch_id", "state", "raw_state"]].itertuples(index=False)}
    assert {p: (s, None if pd.isna(r) else r) for p, (s, r) in got.items()} == {
        "KB1": ("Installed", None), "KB2": ("Unknown", "Superseded"), "KB3": ("InstalledOther", None),
        "KB4": ("Unknown", ""), "KB5": ("Unknown", ""), "KB6": ("InstalledPendingReboot", None),
    }
    inst = flat.instances.iloc[0]
    assert inst["unknown_count"] == 3 and inst["patch_count"] == 6 and inst["installed_count"] == 1


def test_unknown_count_is_zero_with_a_patch_map_and_null_without():
    flat = flatten([raw(config_file_ci("2026-03-31T00:00:00.000Z", [patch("KB1")]), "item 0"),
                    raw(config_file_ci("2026-04-01T00:00:00.000Z", status="ResourceDeleted"), "item 1")])
    counts = flat.instances["unknown_count"]
    assert counts.iloc[0] == 0 and pd.isna(counts.iloc[1])


def test_a_third_party_item_without_summary_or_states_lands():
    ci = config_file_ci("2026-03-31T00:00:00.000Z", config=configuration(
        [third_party_patch("KB1"), third_party_patch("KB2", Status="COMPLIANT", Severity="LOW")],
        summary=False))
    flat = one_item(ci)
    assert set(flat.patches["state"]) == {"Unknown"}
    inst = flat.instances.iloc[0]
    assert (inst["compliance_status"], inst["overall_severity"]) == ("NON_COMPLIANT", "HIGH")
    assert inst["unknown_count"] == 2


# --- InstalledTime (#11) ------------------------------------------------------------------------

@pytest.mark.parametrize("text,installed_at,raw_text", [
    ("2021-11-02T04:16:40Z", "2021-11-02 04:16:40+00:00", None),
    ("2021-11-02T04:16:40+00:00", "2021-11-02 04:16:40+00:00", None),
    ("2019-02-08T00:00:00-07:00", "2019-02-08 07:00:00+00:00", None),
    ("2021-11-02T04:16:40.000Z", "2021-11-02 04:16:40+00:00", None),
    ("2021-11-02T04:16:40.25Z", "2021-11-02 04:16:40.250000+00:00", None),
    ("2021-11-02 04:16:40", "2021-11-02 04:16:40+00:00", None),
    ("2021-11-02T04:16:40", "2021-11-02 04:16:40+00:00", None),
    ("2021-11-02T09:46:40+0530", "2021-11-02 04:16:40+00:00", None),
    ("1635826600", "2021-11-02 04:16:40+00:00", None),
    ("1635826600000", "2021-11-02 04:16:40+00:00", None),
    ("0.0", None, None), ("0", None, None), ("1970-01-01T00:00:00Z", None, None),
    ("1970-01-01T00:00:00+00:00", None, None), ("", None, None),
    ("last Tuesday", None, "last Tuesday"), ("2021-02-30T00:00:00Z", None, "2021-02-30T00:00:00Z"),
    ("2021-11-02T25:00:00Z", None, "2021-11-02T25:00:00Z"),
])
def test_installed_time_spellings(text, installed_at, raw_text):
    p = one_item(config_file_ci("2026-03-31T00:00:00.000Z", [patch("A", InstalledTime=text)])).patches.iloc[0]
    assert (None if pd.isna(p["installed_at"]) else str(p["installed_at"])) == installed_at
    assert (None if pd.isna(p["installed_time_raw"]) else p["installed_time_raw"]) == raw_text


def test_installed_time_absent_is_null_without_raw_text():
    body = patch("A")
    del body["InstalledTime"]
    p = one_item(config_file_ci("2026-03-31T00:00:00.000Z", [body])).patches.iloc[0]
    assert pd.isna(p["installed_at"]) and pd.isna(p["installed_time_raw"])


# --- ComplianceSummary counts (#11) -------------------------------------------------------------

@pytest.mark.parametrize("value,reason", [
    (2**31, "NonCompliantHighCount 2147483648 is above 2147483647"),
    (2**63, "is above 2147483647"),
    (2**70, "NonCompliantHighCount is <a 71-bit integer>, beyond 64 bits"),
    (-1, "NonCompliantHighCount -1 is negative"),
    ("-3", "is negative"),
    (1.5, "NonCompliantHighCount 1.5 is not a whole number"),
    (float("inf"), "is not a whole number"),
    ("3000000000", "NonCompliantHighCount 3000000000 is above 2147483647"),
    ("9" * 5000, "is above 2147483647"),
    ("²", "is not a count"),
    ("1e3", "is not a count"),
    (True, "is a boolean"),
    ([3], "is an array, expected a count"),
])
def test_bad_summary_counts_reject_the_item_with_the_field_named(value, reason):
    summary = {"Status": "NON_COMPLIANT", "NonCompliantHighCount": value}
    ci = config_file_ci("2026-03-31T00:00:00.000Z", config=configuration([patch("A")], summary=summary))
    assert reason in rejected_reason(ci)
    assert "ComplianceSummary.NonCompliantHighCount" in rejected_reason(ci)


@pytest.mark.parametrize("value,count", [("461", 461), (" 7 ", 7), ("3.0", 3), (3.0, 3), (0, 0),
                                         (2**31 - 1, 2**31 - 1), ("", None), (None, None)])
def test_good_summary_counts(value, count):
    summary = {"Status": "UNSPECIFIED_DATA", "CompliantUnspecifiedCount": value}
    ci = config_file_ci("2026-03-31T00:00:00.000Z", config=configuration([patch("A")], summary=summary))
    inst = one_item(ci).instances.iloc[0]
    assert inst["compliance_status"] == "UNSPECIFIED_DATA"
    got = inst["compliant_unspecified_count"]
    assert (None if pd.isna(got) else got) == count


@pytest.mark.parametrize("key", ["Status", "OverallSeverity", "PatchBaselineId", "PatchGroup", "ExecutionType"])
def test_summary_text_fields_must_be_text(key):
    summary = {"Status": "COMPLIANT", key: {"not": "text"}}
    ci = config_file_ci("2026-03-31T00:00:00.000Z", config=configuration([patch("A")], summary=summary))
    assert rejected_reason(ci) == f"ComplianceSummary.{key} is an object, expected a string"


# --- duplicate patch ids (#11) ------------------------------------------------------------------

def test_duplicate_patch_ids_keep_the_smallest_map_key_whatever_the_order():
    entries = {"KB1": patch("KB1", "Missing"), "KB1-copy": patch("KB1", "Installed"),
               "A-first": patch("KB1", "Failed"), "KB2": patch("KB2")}
    results = set()
    for order in itertools.permutations(entries):
        ci = config_file_ci("2026-03-31T00:00:00.000Z", [])
        patch_map(ci).update({k: entries[k] for k in order})
        flat = one_item(ci)
        results.add(tuple(sorted(flat.patches[["patch_id", "state"]].itertuples(index=False, name=None))))
        assert flat.instances.iloc[0]["patch_count"] == 2
    assert results == {(("KB1", "Failed"), ("KB2", "Installed"))}


def test_duplicate_ids_in_one_item_leave_other_items_alone():
    dup = config_file_ci("2026-03-31T00:00:00.000Z", [patch("KB1")])
    patch_map(dup)["zz"] = patch("KB1", "Missing")
    other = config_file_ci("2026-04-01T00:00:00.000Z", [patch("KB1", "Missing")])
    flat = flatten([raw(dup, "item 0"), raw(other, "item 1")])
    assert flat.patches[["patch_id", "state"]].values.tolist() == [["KB1", "Installed"], ["KB1", "Missing"]]


# --- ResourceNotRecorded (#11) ------------------------------------------------------------------

def test_not_recorded_is_an_unknown_snapshot_not_a_deletion():
    flat = one_item(config_file_ci("2026-04-01T00:00:00.000Z", status="ResourceNotRecorded"))
    inst = flat.instances.iloc[0]
    assert not inst["is_deleted"] and not inst["is_recorded"] and not inst["has_patch_map"]
    assert all(pd.isna(inst[c]) for c in ("compliance_status", "baseline_id", "patch_count",
                                          "missing_count", "unknown_count", "non_compliant_high_count"))
    assert flat.patches.empty
    assert pd.isna(flat.items.iloc[0]["content_sha256"])


def test_is_recorded_is_true_for_every_other_status():
    flat = flatten([raw(config_file_ci(f"2026-04-0{d}T00:00:00.000Z", [patch("A")], status=s), f"item {d}")
                    for d, s in enumerate(("OK", "ResourceDiscovered", "ResourceDeleted",
                                           "ResourceDeletedNotRecorded"), start=1)])
    assert flat.instances["is_recorded"].tolist() == [True] * 4
    assert flat.instances["is_deleted"].tolist() == [False, False, True, True]


# --- content fingerprint (#11) ------------------------------------------------------------------

def test_items_frame_carries_the_content_sha256_equal_across_dialects():
    ci = config_file_ci("2026-03-31T00:00:00.000Z",
                        config=configuration([patch("KB1", "Missing")], as_string=True))
    flat = flatten([raw(p, name) for name, p in every_dialect(ci).items()])
    assert flat.rejected.empty
    assert flat.items["content_sha256"].nunique() == 1 and flat.items["ci_id"].nunique() == 1
    assert len(flat.items["content_sha256"].iloc[0]) == 64


# --- flatten never raises (#11) -----------------------------------------------------------------

def _deep(depth):
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def test_rejected_payloads_that_orjson_cannot_write_are_kept_as_text():
    ci = config_file_ci("2026-03-31T00:00:00.000Z", [patch("KB1")])
    payloads = {
        "deep": dict(ci, configuration=_deep(3000)),
        "bigint": dict(ci, configurationItemCaptureTime=2**80),
        "surrogate": dict(ci, awsRegion="\ud800"),
        "key": dict(ci, configuration={1: "x"}),
        "object": dict(ci, configuration=object()),
    }
    flat = flatten([raw(p, name) for name, p in payloads.items()])
    assert flat.items.empty and len(flat.rejected) == len(payloads)
    rows = {r["record_ref"]: r for r in flat.rejected.to_dict("records")}
    assert rows["deep"]["payload"].count("[") >= 3000 and len(rows["deep"]["payload"]) < 2**20 + 100
    assert str(2**80) in rows["bigint"]["payload"]
    assert "\\ud800" in rows["surrogate"]["payload"] and "awsRegion is not valid Unicode" in rows["surrogate"]["reason"]
    for row in rows.values():
        row["payload"].encode("utf-8")
        row["reason"].encode("utf-8")


def test_refs_that_are_not_valid_unicode_are_escaped_not_fatal():
    ci = config_file_ci("2026-03-31T00:00:00.000Z", [patch("KB1")])
    name = b"/in/\xff.json".decode("utf-8", "surrogateescape")
    flat = flatten([RawItem(ci, "file", name, "item 0"), RawItem({"x": 1}, "file", name, "item 1"),
                    RawItem(dict(ci, resourceType="AWS::EC2::Instance"), "file", name, "item 2")])
    assert flat.items["source_ref"].tolist() == ["/in/\\udcff.json"]
    assert flat.rejected["source_ref"].tolist() == ["/in/\\udcff.json"]
    assert flat.skipped_by_ref == {("/in/\\udcff.json", "AWS::EC2::Instance"): 1}


def test_capture_times_after_now_are_rejected_by_flatten():
    ci = config_file_ci("2026-03-31T00:00:00.000Z", [patch("KB1")])
    assert len(flatten([raw(ci)]).items) == 1
    reason = rejected_reason(ci, now=datetime(2026, 3, 29, tzinfo=UTC))
    assert reason.startswith("configurationItemCaptureTime 2026-03-31T00:00:00.000Z is more than a day")


def test_an_unexpected_failure_in_the_batch_rejects_only_its_item(monkeypatch):
    import patchtrail.transforms.flatten as module

    good = config_file_ci("2026-03-31T00:00:00.000Z", [patch("KB1")])
    bad = config_file_ci("2026-04-01T00:00:00.000Z", [patch("KB1", Title="boom")])
    real = module._patch_table

    def explode(fields, item_of_row, instances):
        if "boom" in fields["Title"].to_pylist():
            raise OverflowError("simulated")
        return real(fields, item_of_row, instances)

    monkeypatch.setattr(module, "_patch_table", explode)
    flat = flatten([raw(good, "item 0"), raw(bad, "item 1")])
    assert flat.items["record_ref"].tolist() == ["item 0"] and len(flat.patches) == 1
    assert flat.rejected["record_ref"].tolist() == ["item 1"]
    assert flat.rejected["reason"].iloc[0] == "the item could not be flattened (OverflowError: simulated)"


def test_unexpected_errors_while_reading_an_item_are_rejections(monkeypatch):
    import patchtrail.transforms.flatten as module

    def recurse(*args, **kw):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(module, "normalise", recurse)
    reason = rejected_reason(config_file_ci("2026-03-31T00:00:00.000Z", [patch("KB1")]))
    assert reason == "the item: unexpected RecursionError (maximum recursion depth exceeded)"


# --- frames and tables ----------------------------------------------------------------------------

def test_frames_have_the_columns_of_their_tables_in_order(con):
    def columns(table):
        schema, name = table.split(".")
        return [r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and "
            "table_name = ? order by ordinal_position", [schema, name]).fetchall()]

    # rebuild inserts the frames by position: their order must be the tables' order
    assert INSTANCE_SCHEMA.names == columns("staging.instance_snapshots")
    assert PATCH_SCHEMA.names == columns("staging.patch_observations")
    landing = columns("landing.configuration_items")
    assert [c for c in ITEM_SCHEMA.names if c in landing] == [c for c in landing if c in ITEM_SCHEMA.names]


def test_api_dialect_flattens_like_the_file():
    ci = config_file_ci("2026-03-31T00:00:00.000Z", [patch("KB1", "Missing"), patch("KB2")])
    frames = [one(p) for p in (ci, config_api_ci(ci))]
    pd.testing.assert_frame_equal(frames[1].patches, frames[0].patches)
    pd.testing.assert_frame_equal(frames[1].instances, frames[0].instances)
    assert frames[1].items["content_sha256"].tolist() == frames[0].items["content_sha256"].tolist()


def test_items_of_other_types_are_skipped_even_when_malformed():
    other = config_file_ci("2026-03-31T00:00:00.000Z", resource_type="AWS::SSM::AssociationCompliance")
    other["configuration"] = {"AWS:ComplianceItem": {"Content": {"Association": {}}}}
    weird = copy.deepcopy(other)
    weird["resourceType"] = {"not": "text"}
    flat = flatten([raw(other, "item 0"), raw(weird, "item 1")])
    assert flat.skipped == {"AWS::SSM::AssociationCompliance": 1}
    assert flat.rejected["reason"].tolist() == ["resourceType is an object, expected a string"]
    assert orjson.loads(flat.rejected["payload"].iloc[0])["resourceType"] == {"not": "text"}
