"""Incremental, capped gunzip of untrusted bodies: the one inflate loop of the project.

Used by discovery (`safexml.read_body`: feeds and sitemaps, which must be whole) and by
the truncated-gzip downloader middleware (which only needs to know whether a body ends
mid-stream). Multi-member bodies (``cat a.gz b.gz``) are read to the end of their last
member; bytes after it that do not start another member are ignored, like gzip(1).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 1024 * 1024  # at most this many inflated bytes are held per step
_WBITS = 16 + zlib.MAX_WBITS  # gzip header and trailer, not raw deflate or zlib


class GzipError(ValueError):
    """A gzip body that cannot be inflated whole within the limit."""


class GzipTooLarge(GzipError):
    """The body inflates to more than the limit (a gzip bomb, or just too big)."""


class GzipTruncated(GzipError):
    """The body ends before its (last) gzip member does."""

    def __init__(self, compressed: int, inflated: int) -> None:
        super().__init__(f"truncated gzip body ({compressed} bytes compressed, {inflated} inflated)")
        self.compressed = compressed
        self.inflated = inflated


class GzipCorrupt(GzipError):
    """zlib rejects the stream (bad header, bad deflate data, bad CRC or length)."""


def inflate(body: bytes, limit: int | None = None) -> Iterator[bytes]:
    """Yield the inflated bytes of a (possibly multi-member) gzip `body`, chunk by chunk.

    Never inflates more than about `limit` + CHUNK bytes: GzipTooLarge is raised as
    soon as the total exceeds `limit` (None: no cap), so a bomb costs little memory
    or time. GzipTruncated is raised if the body ends mid-member, GzipCorrupt if zlib
    rejects it. Chunks are not kept: a caller that only checks the stream holds none.
    """
    inflater = zlib.decompressobj(_WBITS)
    data, produced = body, 0
    while True:
        try:
            chunk = inflater.decompress(data, CHUNK)
        except zlib.error as exc:
            raise GzipCorrupt(f"corrupt gzip body: {exc}") from exc
        produced += len(chunk)
        if limit is not None and produced > limit:
            raise GzipTooLarge(f"gzip body inflates beyond the {limit}-byte limit")
        if chunk:
            yield chunk
        data = inflater.unconsumed_tail
        if inflater.eof:
            rest = inflater.unused_data
            if rest[:2] != GZIP_MAGIC:
                return  # trailing garbage after the last member is ignored, like gzip(1)
            inflater, data = zlib.decompressobj(_WBITS), rest
        elif not data and not chunk:
            raise GzipTruncated(len(body), produced)
