"""The shared Config reader's streaming path (large files): same items, same errors, as whole."""

from __future__ import annotations

import gzip
import io

import orjson
import pytest
from s3kit import cis_for

from patchtrail.sources.formats import ObjectError, read_config_delivery


def read(data: bytes, *, whole_json_bytes: int) -> list:
    return list(read_config_delivery(io.BytesIO(data), source="s3", ref="s3://b/k",
                                     whole_json_bytes=whole_json_bytes))


def test_streaming_yields_exactly_what_parsing_whole_yields(fleet):
    files = sorted((fleet / "config").rglob("*.json.gz"))
    assert files
    for path in files:
        data = path.read_bytes()
        assert read(data, whole_json_bytes=64) == read(data, whole_json_bytes=1 << 30), path


def test_items_that_are_not_objects_are_rejected_one_by_one_when_streaming():
    body = orjson.dumps({"configurationItems": [cis_for((2026, 3, 1), count=1)[0], 42, "x"]})
    items = read(gzip.compress(body), whole_json_bytes=16)
    not_object = "configuration item is not a JSON object"
    assert [i.error for i in items] == [None, not_object, not_object]
    assert [i.record_ref for i in items] == ["item 0", "item 1", "item 2"]


@pytest.mark.parametrize("data,reason", [
    (gzip.compress(orjson.dumps({"configurationItems": cis_for((2026, 3, 1), count=3)}))[:-40],
     "corrupt or truncated gzip data"),
    (gzip.compress(b'{"configurationItems": [{"a": 1}, {"b": 2}, <html>'), "not JSON"),
    (gzip.compress(orjson.dumps({"something": ["x" * 200]})), "no configurationItems list"),
    (gzip.compress(orjson.dumps({"configurationItems": {"x": "y" * 200}})), "no configurationItems list"),
], ids=["truncated-gzip", "not-json", "no-items-key", "items-not-a-list"])
def test_a_bad_large_file_is_an_object_error_when_streaming(data, reason):
    with pytest.raises(ObjectError, match=f"^s3://b/k: {reason}"):
        read(data, whole_json_bytes=16)
