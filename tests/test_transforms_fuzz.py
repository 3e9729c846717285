"""Fuzz: flatten never raises, and every record is an item, a rejection or a skip (#11).

Valid items of every dialect are mutated at random places: a field deleted, a type swapped, huge
and negative numbers (beyond int64 too), odd times, odd unicode (lone surrogates, NUL, RTL
marks), nesting ~3000 deep, JSON text cut short. Whatever happens, `flatten` returns, and
items + rejected + skipped = the records read; the good items of the batch still land.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from factories import config_api_ci, config_file_ci, configuration, lake_event, lake_row, patch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from patchtrail.transforms.configuration_text import text_of
from patchtrail.transforms.flatten import RawItem, flatten

SWAPS: list[Any] = [None, "", "x", 0, -1, 1.5, True, [], {}, [1, "a"], {"a": {"b": None}},
                    2**63, 2**64, 2**70, -(2**70), 10**400, float("nan"), float("inf"), -1e308]
TIMES: list[Any] = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", 1635826811123,
                    "1635826811123", 1635826811.123, 53807 * 31_556_952, "2021-02-30T00:00:00Z",
                    "2021-11-02 04:20:11", "2021-11-02T04:20:11+05:30", " ", "T", "1999-01-01",
                    "2999-01-01T00:00:00Z", -1, 1e20, "0", "0.0", "1970-01-01T00:00:00Z"]
TEXTS: list[Any] = ["\ud800", "\udcff", "a\x00b", "\u202eevil", "e\u0301", "😀", "Ω" * 1000,
                    "\ufeff", "INSTALLED_OTHER", "Superseded", "ComplianceSummary"]
TIME_FIELDS = {"configurationItemCaptureTime", "ciCaptureTime", "eventTime", "InstalledTime"}


def _deep(depth: int, as_dict: bool) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"n": value} if as_dict else [value]
    return value


def _slots(payload: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) of a payload, depth first (iteratively: payloads can be deep)."""
    slots, stack = [], [payload]
    while stack:
        node = stack.pop()
        pairs = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in pairs:
            slots.append((node, key))
            if len(slots) > 5000:
                return slots
            stack.append(child)
    return slots


@st.composite
def mutated(draw) -> dict[str, Any]:
    as_string = draw(st.booleans())
    status = draw(st.sampled_from(["OK", "OK", "OK", "ResourceDeleted", "ResourceNotRecorded"]))
    patches = [patch("KB1"), patch("KB2", "Missing", CVEIds="CVE-1, CVE-2"), patch("k.x86_64", "INSTALLED_OTHER")]
    ci = config_file_ci("2026-03-31T10:15:32.123Z", status=status,
                        config=configuration(patches, as_string=as_string))
    for _ in range(draw(st.integers(0, 3))):  # mutations inside the item, before its dialect
        _mutate(draw, ci)
    dialect = draw(st.sampled_from(["config_file", "lake_event", "lake_row", "config_api"]))
    payload: dict[str, Any] = ci
    if dialect != "config_file":
        convert = {"lake_event": lake_event, "lake_row": lake_row, "config_api": config_api_ci}[dialect]
        try:
            payload = convert(ci)
        except Exception:  # noqa: BLE001 - a mutation the factory cannot write: keep the file form
            payload = ci
    for _ in range(draw(st.integers(0, 2))):  # mutations of the dialect's own envelope
        _mutate(draw, payload)
    if draw(st.integers(0, 9)) == 0:  # JSON text cut short
        for key in ("configurationJson", "configuration"):
            if isinstance(payload.get(key), str):
                payload[key] = payload[key][: draw(st.integers(0, len(payload[key])))]
    return payload


def _mutate(draw, payload: dict[str, Any]) -> None:
    slots = _slots(payload)
    if not slots:
        return
    node, key = slots[draw(st.integers(0, len(slots) - 1))]
    kind = draw(st.sampled_from(["delete", "swap", "time", "text", "deep", "key"]))
    if kind == "delete":
        if isinstance(node, dict):
            del node[key]
        else:
            node[key] = None
    elif kind == "swap":
        node[key] = copy.deepcopy(draw(st.sampled_from(SWAPS)))
    elif kind == "time" or (key in TIME_FIELDS and kind == "text"):
        node[key] = draw(st.sampled_from(TIMES))
    elif kind == "text":
        node[key] = draw(st.sampled_from(TEXTS))
    elif kind == "deep":
        node[key] = _deep(draw(st.sampled_from([300, 3000])), draw(st.booleans()))
    elif isinstance(node, dict):  # an odd key beside the others
        node[draw(st.sampled_from(["\ud800", "", "ComplianceSummary", 7]))] = node[key]


GOOD = [config_file_ci("2026-03-01T00:00:00.000Z", [patch("KB1"), patch("KB2", "Missing")]),
        lake_row(config_file_ci("2026-03-02T00:00:00.000Z", [patch("KB1")])),
        config_file_ci("2026-03-03T00:00:00.000Z", resource_type="AWS::EC2::Instance")]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(records=st.lists(mutated(), min_size=1, max_size=4), with_now=st.booleans(),
       junk=st.sampled_from([None, "{not json", "\ud800"]))
def test_flatten_never_raises_and_accounts_for_every_record(records, with_now, junk):
    raws = [RawItem(p, "file", f"fuzz/{i}.json", f"item {i}") for i, p in enumerate(records)]
    raws += [RawItem(copy.deepcopy(g), "file", "good.json", f"good {i}") for i, g in enumerate(GOOD)]
    if junk is not None:
        raws.append(RawItem(junk, "file", "junk.ndjson", "line 1", error="invalid JSON"))
    now = datetime(2026, 4, 1, tzinfo=UTC) if with_now else None

    flat = flatten(raws, now=now)

    assert len(flat.items) + len(flat.rejected) + sum(flat.skipped.values()) == len(raws)
    assert len(flat.instances) == len(flat.items)
    assert set(flat.patches["ci_id"]) <= set(flat.items["ci_id"])
    landed = set(flat.items["record_ref"])
    assert {"good 0", "good 1"} <= landed and flat.skipped["AWS::EC2::Instance"] >= 1
    for row in flat.rejected.to_dict("records"):
        assert row["reason"] and row["reason"].encode("utf-8")
        assert row["payload"] is None or row["payload"].encode("utf-8") is not None
    for column in ("ci_id", "source_ref"):
        for value in flat.items[column].dropna():
            value.encode("utf-8")  # every text is storable
    for frame in flat.items["configuration_zstd"].dropna():
        text_of(frame).decode("utf-8")  # every configuration is readable back as text


def test_the_fuzzer_reaches_rejections_and_landings():
    """Guard against a fuzzer that only ever produces one outcome (the property would be vacuous)."""
    seen: set[str] = set()

    @settings(max_examples=60, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(record=mutated())
    def sample(record):
        flat = flatten([RawItem(record, "file", "f", "item 0")])
        seen.add("landed" if len(flat.items) else "rejected" if len(flat.rejected) else "skipped")

    sample()
    assert {"landed", "rejected"} <= seen
