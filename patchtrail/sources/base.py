"""The source protocol: every source lists its objects, then reads one object as raw items.

Sources are local files, S3, CloudTrail Lake windows, or what a flow spooled on disk. Each
offers the same two things, and `patchtrail.ingest.pipeline` does the rest, once for all:

    listing = source.list()            # objects: uri, format, digest, size (nothing read yet)
    for obj in listing.objects:        # minus those already recorded with the same digest
        items = source.read(obj)       # raw items, streamed; the object's problems are errors

How reading fails decides what is recorded:
- `ObjectError`: the object's *content* is bad (not gzip, not JSON, a bad signature). It is
  rejected and recorded with its digest, so it is read again only once it changes.
- `ObjectUnreadable` (and any OSError): the object could not be read this time (it vanished,
  access denied, a network error). It is rejected and recorded *without* its digest, so the next
  run tries it again. Nothing that could not be read is ever reported "unchanged".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from patchtrail.errors import PatchtrailError

if TYPE_CHECKING:
    from patchtrail.transforms.raw import RawItem


class ObjectError(PatchtrailError):
    """A whole file or object is bad (not gzip, not JSON, wrong header, bad signature).

    The message names the object (path, s3:// URI, Lake query) and says what is wrong."""


class ObjectUnreadable(ObjectError):
    """An object could not be read this time (vanished, access denied, I/O or network error);
    it is recorded without its digest and read again by the next run."""


@dataclass(frozen=True)
class SourceObject:
    """One unit of reading, as a source lists it.

    Args:
        uri: what is recorded and shown: an absolute path, `s3://bucket/key`, an export folder or
            prefix, or `lake://<store>/<start>/<end>` for a Lake window. Always valid UTF-8.
        format: config_delivery | lake_events | lake_export | lake_window | unsupported.
        size: bytes as listed (0 when unknown).
        digest: what makes the object "the same" next time: SHA-256 (files), ETag (S3), None
            (Lake windows: read whenever planned).
        error: the object is known to be unusable at listing time (say why); it is rejected
            without being read, and recorded with its digest.
        ref: the source's own handle (a path, an S3Object, a Lake window).
    """

    uri: str
    format: str
    size: int = 0
    digest: str | None = None
    error: str | None = None
    ref: Any = field(default=None, compare=False)


@dataclass
class Listing:
    """What a source found.

    Args:
        objects: to read (those already recorded with the same digest are skipped by the pipeline).
        ignored: objects deliberately not read, each with its reason in `error`. Those with a
            digest are recorded once (status 'ignored'); the others are only noted in the summary.
        not_found: paths or prefixes the user named that do not exist.
    """

    objects: list[SourceObject] = field(default_factory=list)
    ignored: list[SourceObject] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)


class Source(Protocol):
    """What the pipeline needs from a source (see the module docstring)."""

    #: landing.source_objects.source and landing.loads.source: file | s3 | lake
    name: str
    #: what the run was asked to read, as landing.loads.parameters records it
    parameters: dict[str, Any]
    #: objects read at once (1: one after the other in the landing thread)
    concurrency: int

    def list(self) -> Listing: ...

    def read(self, obj: SourceObject) -> Iterator[RawItem]: ...

    # Optional, looked up by the pipeline:
    #   head(obj) -> bytes | None: the start of a rejected object, kept as its payload;
    #   record(con, summary, results): the source's own rows (Lake queries, watermarks),
    #       written in the run's transaction after every object.


def failing(error: ObjectError) -> Iterator[RawItem]:
    """The items of an object that cannot be read: raises `error` when first asked."""
    raise error
    yield  # pragma: no cover - makes this a generator
