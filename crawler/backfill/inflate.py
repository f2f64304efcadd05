"""A gzipped WARC file's members inflated outside the GIL, for fastwarc to parse.

fastwarc inflates gzip in Rust but holds the GIL while it does, so the backfill's two reader threads
never ran at once, and every moment the reactor thread (pipelines, pool hand-off) held the GIL was
scanning lost: the readers scanned at 0.77x the bare fastwarc loop's records/s. ISA-L's inflate
(``isal``, python-isal: PyCompression's bindings, as used by xopen and cutadapt) releases the GIL
for each call and is as fast per CPU second (200 MB CC-NEWS month: ISA-L inflate alone 1.52 CPU s,
the bare fastwarc loop with its own inflate 1.62, ISA-L + fastwarc parsing the inflated records
1.54; two files in two threads 0.99 s wall for the inflate), so it runs beside the other reader
and the reactor. fastwarc still parses every record (from the inflated stream). The backfill benchmark's
scan went from 0.77x to 0.90-0.98x the faster of the two bare loops (medians of three rounds).

Record offsets stay the file's: a record's ``stream_pos`` in the inflated stream is mapped back to
the compressed offset of the gzip member it starts in (:meth:`MemberInflater.offset_of`), which is
what ``warc.offset`` reports and where a resumed read (a Range request) starts.

A member that does not inflate, or input that ends inside a member, raises :class:`CorruptMember`
when fastwarc asks for bytes past the last good member (the records before it are all delivered);
the reader counts it and resynchronises as before. Output is produced at most ``MAX_READ`` bytes a
call (``max_length``), so a decompression bomb costs time, never memory; the table of member starts
holds only the members read ahead of the last record (a run of empty members takes one entry, and a
record spread over more than ``MAX_MEMBERS_AHEAD`` members is corrupt).
"""

from __future__ import annotations

from collections import deque
from typing import BinaryIO

from isal import isal_zlib

GZIP_MAGIC = b"\x1f\x8b"
"""The first bytes of every gzip member."""
RAW_CHUNK = 1 << 18
"""Compressed bytes read from the file at a time."""
MAX_READ = 1 << 20
"""Inflated bytes returned by one :meth:`MemberInflater.read` at most (whatever size is asked)."""
MAX_MEMBERS_AHEAD = 1 << 16
"""Members read past the last record's start at most: a writer puts one record (or many) in a member, never one
record in thousands; a file that does (crafted: one byte a member) is corrupt, not a reason to grow a table."""
_GZIP_WBITS = 31  # zlib's "gzip wrapper" window bits: header and CRC32/ISIZE trailer checked


class CorruptMember(OSError):
    """A gzip member that does not inflate, or a file that ends inside one."""


class MemberInflater:
    """A binary stream of the inflated records of a multi-member gzip stream (``read``/``tell``).

    ``raw`` is the compressed file opened at ``start`` (an absolute offset, the start of a member).
    A stream that does not begin with the gzip magic is passed through as it is (a file named
    ``.warc.gz`` that is not compressed), with offsets counted from ``start``.
    """

    def __init__(self, raw: BinaryIO, start: int) -> None:
        self._raw = raw
        self._next_raw = start
        """Absolute offset of the next compressed byte to read from ``raw``."""
        self._input = b""
        """Compressed bytes read but not yet inflated (the next member's start when no member is open)."""
        self._member: object | None = None
        self._position = 0
        """Inflated bytes returned so far (what ``tell`` gives fastwarc)."""
        self._members: deque[tuple[int, int]] = deque()
        """(inflated start, compressed start) of the members not yet passed by :meth:`offset_of`."""
        self._passthrough: bool | None = None
        self._start = start

    def _fill(self) -> bytes:
        data = self._raw.read(RAW_CHUNK)
        self._next_raw += len(data)
        return data

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` inflated bytes (at most ``MAX_READ``); ``b""`` at the end of the last member."""
        want = MAX_READ if size is None or size <= 0 else min(size, MAX_READ)
        if self._passthrough is None:
            self._input = self._fill()
            self._passthrough = bool(self._input) and not self._input.startswith(GZIP_MAGIC[:len(self._input)])
        if self._passthrough:  # never more than asked: fastwarc's reader panics on a longer read
            if not self._input:
                self._input = self._fill()
            data, self._input = self._input[:want], self._input[want:]
            self._position += len(data)
            return data
        while True:
            member = self._member
            if member is None or member.eof:  # type: ignore[attr-defined]
                if not self._input:
                    self._input = self._fill()
                    if not self._input:
                        return b""  # the file ends between two members: a clean end
                self._member = member = isal_zlib.decompressobj(_GZIP_WBITS)
                self._enter((self._position, self._next_raw - len(self._input)))
            elif not self._input:
                self._input = self._fill()
                if not self._input:
                    raise CorruptMember(f"the file ends inside the gzip member at offset {self._members[-1][1]}")
            try:
                out = member.decompress(self._input, want)  # type: ignore[attr-defined]
            except isal_zlib.error as exc:
                raise CorruptMember(f"gzip member at offset {self._members[-1][1]} does not inflate: {exc}") from None
            # what the call left: the rest of this member's input (output limit), or the next member's start
            self._input = member.unused_data if member.eof else member.unconsumed_tail  # type: ignore[attr-defined]
            if out:
                self._position += len(out)
                return out

    def _enter(self, member: tuple[int, int]) -> None:
        """Note a member's start; one that begins where the last began replaces it (the last gave no byte:
        a run of empty members costs one entry, and a position maps to the latest member starting there)."""
        members = self._members
        if members and members[-1][0] == member[0]:
            members[-1] = member
            return
        if len(members) >= MAX_MEMBERS_AHEAD:
            raise CorruptMember(f"more than {MAX_MEMBERS_AHEAD} gzip members in one record (from offset "
                                f"{members[0][1]})")
        members.append(member)

    def tell(self) -> int:
        """Inflated bytes returned so far (fastwarc counts ``stream_pos`` from here)."""
        return self._position

    def offset_of(self, position: int) -> int:
        """The compressed offset of the member the inflated ``position`` lies in.

        Positions are asked in increasing order (records come in file order): members before the
        one found are forgotten, so the table holds only the members read ahead.
        """
        if self._passthrough:
            return self._start + position
        members = self._members
        while len(members) > 1 and members[1][0] <= position:
            members.popleft()
        return members[0][1] if members else self._start

    def close(self) -> None:
        """Close the compressed stream."""
        close = getattr(self._raw, "close", None)
        if close is not None:
            close()
