"""`InstalledTime` text -> UTC timestamps, vectorised (Arrow kernels, no per-patch Python).

Every spelling seen in real data parses (aws-formats §2.2, the shared real samples):
`2021-11-02T04:16:40Z` (the Linux agent), `+hh:mm` / `-hh:mm` / `+hhmm` / `+hh` offsets (the
Windows API examples), fractions (`.000Z`), a space instead of `T`, zone-less (UTC), and epoch
seconds (or milliseconds above 1e11) as a numeric string. Any time at or before the epoch
(`0`, `0.0`, `1970-01-01T00:00:00Z`, `0001-01-01...`) means "never installed": NULL, as before.
A non-empty value that does not parse (or lies after the year 9999) is returned as raw text.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

TS = pa.timestamp("us", tz="UTC")
_US = pa.timestamp("us")
#: A calendar date: month 01-12, day 01-28 always, 29-30 but in February (29 February is checked
#: for leap years after parsing), 31 in the long months.
_DATE = (r"\d{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2\d)|(?:0[13-9]|1[0-2])-30"
         r"|(?:0[13578]|1[02])-31)")
_CLOCK = r"(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"
#: The Linux agent's format, the common case: one strict regex and one strptime.
_AGENT = rf"^{_DATE}T{_CLOCK}Z$"
_ISO = (rf"^(?P<date>{_DATE})[Tt ](?P<time>{_CLOCK})(?:[.,](?P<frac>\d{{1,9}}))?\s*"
        r"(?P<zone>[Zz]|UTC|[+-](?:[01]\d|2[0-3])(?::?[0-5]\d)?)?$")
_ZONE = r"^(?P<sign>[+-])(?P<hh>\d{2}):?(?P<mm>\d{2})?$"
_EPOCH = r"^(?P<whole>\d{1,13})(?:\.(?P<frac>\d{0,9}))?$"
_MS_ABOVE = 10**11
_MAX_US = 253_402_300_799_999_999  # 9999-12-31T23:59:59.999999Z
_NULL_US = pa.scalar(None, pa.int64())


def installed_times(text: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(installed_at as timestamp[us, UTC], installed_time_raw as string) for an array of text.

    installed_at is NULL for absent/blank values, for "never installed" (at or before the epoch)
    and for values that do not parse; installed_time_raw holds the text of the last kind only.
    """
    agent = pc.fill_null(pc.match_substring_regex(text, _AGENT), False)
    parsed = pc.strptime(text, format="%Y-%m-%dT%H:%M:%SZ", unit="us", error_is_null=True)
    micros = pc.if_else(agent, pc.cast(parsed, pa.int64()), _NULL_US)
    micros = _leap_days_only(micros, text)
    rest = pc.fill_null(pc.and_(pc.is_null(micros), pc.not_equal(text, "")), False)
    unparsed = pa.array(np.zeros(len(text), dtype=bool))
    if pc.any(rest).as_py():
        others = pc.utf8_trim_whitespace(pc.filter(text, rest))
        got = pc.coalesce(_iso_micros(others), _epoch_micros(others))
        micros = pc.replace_with_mask(micros, rest, got)
        bad = pc.and_(pc.not_equal(others, ""), pc.or_(pc.is_null(got), pc.greater(pc.fill_null(got, 0), _MAX_US)))
        unparsed = pc.replace_with_mask(unparsed, rest, bad)
    keep = pc.and_(pc.invert(unparsed), pc.fill_null(pc.greater(micros, 0), False))
    installed_at = pc.if_else(keep, micros, _NULL_US).cast(TS)
    raw = pc.if_else(unparsed, text, pa.scalar(None, pa.string()))
    return installed_at, raw


def _leap_days_only(micros: pa.Array, text: pa.Array) -> pa.Array:
    """Null where a 29 February is not a leap day (strptime rolls it over to 1 March)."""
    feb29 = pc.fill_null(pc.match_substring(text, "-02-29"), False)
    if not pc.any(feb29).as_py():
        return micros
    rolled = pc.and_(feb29, pc.fill_null(pc.equal(pc.month(micros.cast(_US)), 3), False))
    return pc.if_else(rolled, _NULL_US, micros)


def _iso_micros(text: pa.Array) -> pa.Array:
    """ISO-8601 with any fraction and zone (none = UTC) -> epoch microseconds; null otherwise."""
    parts = pc.extract_regex(text, pattern=_ISO)
    date, time = pc.struct_field(parts, "date"), pc.struct_field(parts, "time")
    wall = pc.binary_join_element_wise(date, time, "T")
    local = pc.cast(pc.strptime(wall, format="%Y-%m-%dT%H:%M:%S", unit="us", error_is_null=True),
                    pa.int64())
    local = _leap_days_only(local, wall)
    frac = pc.utf8_slice_codeunits(pc.utf8_rpad(pc.struct_field(parts, "frac"), 9, "0"), 0, 6)
    zone = pc.extract_regex(pc.struct_field(parts, "zone"), pattern=_ZONE)
    sign = pc.if_else(pc.equal(pc.struct_field(zone, "sign"), "-"), -1, 1)
    hours = pc.cast(pc.struct_field(zone, "hh"), pa.int64())
    minutes = pc.cast(pc.if_else(pc.equal(pc.struct_field(zone, "mm"), ""), "0",
                                 pc.struct_field(zone, "mm")), pa.int64())
    offset = pc.fill_null(pc.multiply(sign, pc.add(pc.multiply(hours, 60), minutes)), 0)
    micros = pc.add(local, pc.cast(frac, pa.int64()))
    return pc.subtract(micros, pc.multiply(offset, 60_000_000))


def _epoch_micros(text: pa.Array) -> pa.Array:
    """Epoch seconds (milliseconds above 1e11) as a numeric string -> epoch microseconds."""
    parts = pc.extract_regex(text, pattern=_EPOCH)
    whole = pc.cast(pc.struct_field(parts, "whole"), pa.int64())
    frac = pc.utf8_rpad(pc.struct_field(parts, "frac"), 9, "0")
    is_ms = pc.greater(whole, _MS_ABOVE)
    scale = pc.if_else(is_ms, 1_000, 1_000_000)
    frac_us = pc.cast(pc.if_else(is_ms, pc.utf8_slice_codeunits(frac, 0, 3),
                                 pc.utf8_slice_codeunits(frac, 0, 6)), pa.int64())
    return pc.add(pc.multiply(whole, scale), frac_us)
