"""The scan limit of the backfill benchmark: a bare WARC loop over the served WARC files.

``python -m tests.benchmarks.backfill_scan [--reader fastwarc|isal] URL...`` streams each file over
HTTP (``http.client``, 64 KiB reads, as ``autonews backfill`` does), one after the other, reads every
record's WARC headers and its target URI, and skips every body; it prints the records seen and the
loop's seconds as JSON. No filter, no HTTP-head parsing, no pipeline: nothing a WARC reader could do
less. ``fastwarc`` (default): FastWARC inflates and parses; ``isal``: autonews' own reader, ISA-L
inflates (``crawler.backfill.inflate``) and FastWARC parses the inflated records.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import time
from urllib.parse import urlsplit

from fastwarc.warc import ArchiveIterator

from crawler.backfill.inflate import MemberInflater

READ_SIZE = 64 * 1024
READERS = ("fastwarc", "isal")


class _Stream:
    """An HTTP response body as the file-like object FastWARC reads (``read`` and ``tell``)."""

    def __init__(self, response: http.client.HTTPResponse) -> None:
        self._response = response
        self._position = 0

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (at most 64 KiB a call)."""
        data = self._response.read(READ_SIZE if size < 0 else min(size, READ_SIZE))
        self._position += len(data)
        return data

    def tell(self) -> int:
        """Bytes read so far."""
        return self._position


def scan(url: str, reader: str = "fastwarc") -> int:
    """Records in the WARC file at ``url`` (every header read, every body skipped) with ``reader``."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request("GET", parts.path)
        response = connection.getresponse()
        if response.status != 200:
            raise SystemExit(f"{url}: HTTP {response.status}")
        records = 0
        stream = _Stream(response)
        source = MemberInflater(stream, 0) if reader == "isal" else stream
        for record in ArchiveIterator(source, parse_http=False):
            record.headers.get("WARC-Target-URI")
            records += 1
        return records
    finally:
        connection.close()


def main(argv: list[str]) -> int:
    """Scan every file in turn; print {"records", "seconds"}."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reader", choices=READERS, default="fastwarc",
                        help="fastwarc: FastWARC inflates and parses; isal: ISA-L inflates, FastWARC parses")
    parser.add_argument("urls", nargs="+", metavar="URL", help="http URLs of the WARC files")
    args = parser.parse_args(argv)
    began = time.monotonic()
    records = sum(scan(url, args.reader) for url in args.urls)
    print(json.dumps({"records": records, "seconds": time.monotonic() - began}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
