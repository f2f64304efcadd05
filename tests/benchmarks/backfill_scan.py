"""The scan limit of the backfill benchmark: a bare FastWARC loop over the served WARC files.

``python -m tests.benchmarks.backfill_scan URL...`` streams each file over HTTP (``http.client``,
64 KiB reads, as ``autonews backfill`` does), reads every record's WARC headers and its target URI,
and skips every body; it prints the records seen and the loop's seconds as JSON. No filter, no
HTTP-head parsing, no pipeline: nothing a WARC reader could do less.
"""

from __future__ import annotations

import http.client
import json
import sys
import time
from urllib.parse import urlsplit

from fastwarc.warc import ArchiveIterator

READ_SIZE = 64 * 1024


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


def scan(url: str) -> int:
    """Records in the WARC file at ``url`` (every header read, every body skipped)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request("GET", parts.path)
        response = connection.getresponse()
        if response.status != 200:
            raise SystemExit(f"{url}: HTTP {response.status}")
        records = 0
        for record in ArchiveIterator(_Stream(response), parse_http=False):
            record.headers.get("WARC-Target-URI")
            records += 1
        return records
    finally:
        connection.close()


def main(urls: list[str]) -> int:
    """Scan every file in turn; print {"records", "seconds"}."""
    began = time.monotonic()
    records = sum(scan(url) for url in urls)
    print(json.dumps({"records": records, "seconds": time.monotonic() - began}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
