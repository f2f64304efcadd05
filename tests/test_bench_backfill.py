"""The backfill benchmark's own parts: the Range server the contenders read from, and the WARC members
the generator writes (one gzip member per record, right lengths and digests). Stdlib only, no benchmark data."""

from __future__ import annotations

import base64
import hashlib
import http.client
import zlib
from datetime import datetime, timezone
from pathlib import Path

from tests.benchmarks.backfill_server import RangeServer
from tests.benchmarks.backfill_warc import registry_yaml, request_record, response_record, revisit_record

WHEN = datetime(2024, 5, 1, 6, tzinfo=timezone.utc)


def _get(base: str, path: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, dict, bytes]:
    host, port = base.removeprefix("http://").rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_range_server_serves_files_and_ranges(tmp_path: Path) -> None:
    data = bytes(range(256)) * 1000
    root = tmp_path / "root"
    (root / "crawl-data").mkdir(parents=True)
    (root / "crawl-data" / "a.warc.gz").write_bytes(data)
    (tmp_path / "outside.txt").write_bytes(b"secret")
    with RangeServer(root) as server:
        status, headers, body = _get(server.base_url, "/crawl-data/a.warc.gz")
        assert (status, body) == (200, data)
        status, headers, body = _get(server.base_url, "/crawl-data/a.warc.gz", {"Range": "bytes=1000-"})
        assert (status, body, headers["Content-Range"]) == (206, data[1000:], f"bytes 1000-{len(data) - 1}/{len(data)}")
        status, _, body = _get(server.base_url, "/crawl-data/a.warc.gz", {"Range": "bytes=10-19"})
        assert (status, body) == (206, data[10:20])
        status, headers, _ = _get(server.base_url, "/crawl-data/a.warc.gz", {"Range": f"bytes={len(data)}-"})
        assert status == 416 and headers["Content-Range"] == f"bytes */{len(data)}"
        status, headers, body = _get(server.base_url, "/crawl-data/a.warc.gz", method="HEAD")
        assert (status, headers["Content-Length"], body) == (200, str(len(data)), b"")
        assert _get(server.base_url, "/../outside.txt")[0] == 404
        assert _get(server.base_url, "/crawl-data/missing.warc.gz")[0] == 404
        transfers = server.take_transfers()
    # the three WARC bodies sent are logged (HEAD, 416 and 404 are not), with the bytes each carried
    assert sorted(t.sent for t in transfers) == sorted([len(data), len(data) - 1000, 10])
    assert all(t.ended >= t.started for t in transfers)


def _records(blob: bytes) -> list[tuple[dict[str, str], bytes]]:
    """Split concatenated gzip members (one per record) into (WARC headers, block)."""
    found = []
    while blob:
        unpacker = zlib.decompressobj(31)
        record = unpacker.decompress(blob)
        assert unpacker.eof, "a member must end where the next begins"
        blob = unpacker.unused_data
        head, _, rest = record.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        assert lines[0] == "WARC/1.0"
        headers = dict(line.split(": ", 1) for line in lines[1:])
        length = int(headers["Content-Length"])
        assert rest[length:] == b"\r\n\r\n"
        found.append((headers, rest[:length]))
    return found


def _sha1(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def test_generated_members_are_whole_records_with_their_digests() -> None:
    page = b"<html><body><p>" + b"news " * 500 + b"</p></body></html>"
    url = "https://www.example.com/news/1.html"
    blob = request_record(url, WHEN) + response_record(url, WHEN, "200 OK", "text/html; charset=utf-8", page) \
        + revisit_record(url, WHEN, page)
    records = _records(blob)
    assert [h["WARC-Type"] for h, _ in records] == ["request", "response", "revisit"]
    for headers, block in records:
        assert headers["WARC-Target-URI"] == url and headers["WARC-Date"] == "2024-05-01T06:00:00Z"
        assert headers["WARC-Block-Digest"] == _sha1(block)
    response_headers, response_block = records[1]
    assert response_block.startswith(b"HTTP/1.1 200 OK\r\n") and response_block.endswith(page)
    assert response_headers["WARC-Payload-Digest"] == _sha1(page)
    assert records[2][0]["WARC-Payload-Digest"] == _sha1(page)


def test_registry_has_one_source_per_article_host() -> None:
    text = registry_yaml(["https://www.example.com/a", "https://example.com/b", "https://news.example.org/c"])
    assert text.count("- name:") == 2
    assert "start_urls: ['https://example.com/']" in text and "start_urls: ['https://news.example.org/']" in text


def _row(name: str, seconds: float, articles: int, window: float, rss_mb: float = 100.0, returncode: int = 0):
    from tests.benchmarks.backfill import Row
    from tests.benchmarks.rss import RssSampler
    from tests.benchmarks.throughput_measure import Measured

    sampler = RssSampler(0)
    sampler.peak = int(rss_mb * 1e6)
    return Row(name, Measured(returncode, "", "", seconds, sampler, 0.0, 0.0, 0.0, 0.0), articles, window, 1000)


def test_the_verdict_takes_the_median_of_the_rounds_ratios_and_the_largest_rss() -> None:
    from tests.benchmarks.backfill import verdict

    rounds = []
    for ours_s, fundus_s, window, rss in ((10.0, 9.0, 2.0, 380), (8.0, 10.0, 3.0, 390), (9.0, 10.0, 2.5, 410)):
        rounds.append((_row("scan", 2.0, 0, 2.0), _row("autonews", ours_s, 100, window, rss),
                       _row("fundus", fundus_s, 100, 5.0)))
    lines = dict(verdict(rounds))
    (articles,) = [line for line in lines if line.startswith("articles/s")]
    assert articles.startswith("articles/s: 1.11x") and lines[articles]  # rounds: 0.90, 1.25, 1.11 -> 1.11
    (scanning,) = [line for line in lines if line.startswith("scanning")]
    assert scanning.startswith("scanning: 0.80x") and lines[scanning]  # rounds: 1.00, 0.67, 0.80 -> 0.80
    (rss,) = [line for line in lines if line.startswith("peak RSS")]
    assert "410 MB" in rss and not lines[rss]  # the largest round's, over the target


def test_a_failed_round_fails_the_verdict() -> None:
    from tests.benchmarks.backfill import verdict

    rounds = [(None, _row("autonews", 9.0, 100, 2.0), None), (None, _row("autonews", 9.0, 100, 2.0, returncode=1), None)]
    assert ("autonews exit status 1 (0 expected)", False) in verdict(rounds)


def test_the_scan_limit_is_the_faster_bare_loop_that_read_everything() -> None:
    from tests.benchmarks.backfill import scan_limit

    fastwarc, isal = _row("scan limit (FastWARC loop)", 2.0, 0, 2.0), _row("scan limit (ISA-L)", 2.0, 0, 1.6)
    assert scan_limit([fastwarc, isal]) is isal  # 1.6 s window: more records/s, the stricter target
    assert scan_limit([_row("fast", 2.0, 0, 1.6), _row("failed", 2.0, 0, 1.0, returncode=1)]).window == 1.6
    assert scan_limit([]) is None
