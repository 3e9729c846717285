"""Items' configuration JSON text, stored zstd-compressed (`landing.configuration_items.configuration_zstd`).

The text is compressed where items are flattened (in the worker processes of a bulk load), so
the run's own process, which does all of DuckDB's work, never copies, logs to its WAL or
compresses the ~64 KB of text each item carries; DuckDB stores the result as it is. Each value
is one standard zstd frame (RFC 8878) that records its own size: any zstd tool reads it, and
`text_of` here, which `patchtrail sql` offers as the SQL function `configuration_text(blob)`.
"""

from __future__ import annotations

from typing import Any

#: zstd level 1: about 12x smaller on PatchCompliance text, ~90 us per 64 KB item.
LEVEL = 1
_MAGIC = b"\x28\xb5\x2f\xfd"
_codec: Any = None


def _zstd() -> Any:
    global _codec
    if _codec is None:
        import pyarrow as pa

        _codec = pa.Codec("zstd", compression_level=LEVEL)
    return _codec


def compressed(texts: list[bytes | None]) -> Any:
    """The texts as an Arrow binary array of zstd frames (None stays null)."""
    import pyarrow as pa

    codec = _zstd()
    return pa.array([None if text is None else codec.compress(text, asbytes=True) for text in texts],
                    pa.binary())


def content_size(frame: bytes) -> int:
    """The decompressed size a zstd frame header records (RFC 8878 section 3.1.1.1).

    Raises ValueError when `frame` is not a zstd frame or does not record its size."""
    if len(frame) < 6 or frame[:4] != _MAGIC:
        raise ValueError("not a zstd frame")
    descriptor = frame[4]
    size_flag, single_segment, dictionary_flag = descriptor >> 6, (descriptor >> 5) & 1, descriptor & 3
    at = 5 + (0 if single_segment else 1) + (0, 1, 2, 4)[dictionary_flag]
    width = (1 if single_segment else 0, 2, 4, 8)[size_flag]
    if not width:
        raise ValueError("the zstd frame does not record its size")
    if len(frame) < at + width:
        raise ValueError("the zstd frame header is cut short")
    value = int.from_bytes(frame[at:at + width], "little")
    return value + 256 if width == 2 else value


def text_of(frame: bytes | None) -> bytes | None:
    """The text a zstd frame of `compressed` holds (None for None)."""
    if frame is None:
        return None
    size = content_size(frame)
    return _zstd().decompress(frame, size, asbytes=True) if size else b""


def texts_of(frames: Any) -> Any:
    """An Arrow array of zstd frames as an Arrow string array of their texts."""
    import pyarrow as pa

    return pa.array([text_of(frame) for frame in frames.to_pylist()], pa.binary()).cast(pa.string())
