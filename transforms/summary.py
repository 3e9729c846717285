"""The ComplianceSummary entry of an item's patch map: its text fields and counts, checked.

Pure and per item. A value that cannot be kept raises ItemError naming the field: counts must be
whole numbers from 0 to MAX_COUNT (the columns are 32-bit), as JSON numbers or numeric text.
"""

from __future__ import annotations

import re
from typing import Any

from patchtrail.transforms.items import ItemError, json_type

#: Compliance severities, worst first (the one definition; analytics.policy imports it).
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNSPECIFIED")
SUMMARY_COUNT_COLUMNS = {
    f"{kind}{sev.capitalize()}Count": f"{'compliant' if kind == 'Compliant' else 'non_compliant'}_{sev.lower()}_count"
    for kind in ("Compliant", "NonCompliant")
    for sev in SEVERITIES
}
#: The instance-level text fields read from ComplianceSummary, and the columns they fill.
SUMMARY_TEXT_COLUMNS = {
    "Status": "compliance_status", "OverallSeverity": "overall_severity",
    "PatchBaselineId": "baseline_id", "PatchGroup": "patch_group", "ExecutionType": "execution_type",
}
#: The largest count kept (the columns are 32-bit integers).
MAX_COUNT = 2**31 - 1
_COUNT_TEXT = re.compile(r"([+-]?)([0-9]+)(?:\.0*)?", re.ASCII)


def summary_texts(summary: dict | None) -> list[str | None]:
    """The summary's text fields (SUMMARY_TEXT_COLUMNS order); "" is null."""
    if summary is None:
        return [None] * len(SUMMARY_TEXT_COLUMNS)
    texts = []
    for key in SUMMARY_TEXT_COLUMNS:
        value = summary.get(key)
        if value is not None and not isinstance(value, str):
            raise ItemError(f"ComplianceSummary.{key} is {json_type(value)}, expected a string")
        texts.append(value or None)
    return texts


def summary_count(summary: dict | None, key: str) -> int | None:
    """A ComplianceSummary count: a whole number 0..MAX_COUNT, as a number or numeric text."""
    if summary is None:
        return None
    value = summary.get(key)
    if value is None or value == "":
        return None
    name = f"ComplianceSummary.{key}"
    count: int
    if isinstance(value, bool):
        raise ItemError(f"{name} is a boolean, expected a count")
    if isinstance(value, int):
        count = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise ItemError(f"{name} {value!r} is not a whole number")
        count = int(value)
    elif isinstance(value, str):
        match = _COUNT_TEXT.fullmatch(value.strip())
        if match is None:
            raise ItemError(f"{name} {_quoted(value)} is not a count")
        digits = match.group(2).lstrip("0") or "0"
        if len(digits) > 10:
            raise ItemError(f"{name} {_quoted(value)} is above {MAX_COUNT}, the largest count kept")
        count = int(digits) * (-1 if match.group(1) == "-" else 1)
    else:
        raise ItemError(f"{name} is {json_type(value)}, expected a count")
    if count < 0:
        raise ItemError(f"{name} {count} is negative")
    if count > MAX_COUNT:
        shown = f"<a {count.bit_length()}-bit integer>" if count.bit_length() > 64 else str(count)
        raise ItemError(f"{name} {shown} is above {MAX_COUNT}, the largest count kept")
    return count


def _quoted(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
