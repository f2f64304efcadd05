"""Backfill building blocks in-process: the source matcher, CC-NEWS file selection, the guarded and
resuming HTTP client, the record reader (filter, offsets, corrupt members) and the safe resume offset."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest

from crawler.backfill.files import select_paths
from crawler.backfill.http import ArchiveClient, ArchiveError
from crawler.backfill.records import FileScan, RecordReader
from crawler.backfill.select import SourceMatcher, url_host
from crawler.middlewares.failures import BlockedAddressError
from crawler.security.addresses import AddressPolicy
from crawler.sources.registry import load_sources
from tests.warc_fixtures import ArchiveServer, build_warc, write_registry


@pytest.fixture
def matcher(tmp_path: Path) -> SourceMatcher:
    return SourceMatcher(load_sources(write_registry(tmp_path)))


@pytest.mark.parametrize("url, source", [
    ("https://www.carnews.example/news/a", "carnews"),
    ("https://carnews.example/news/a", "carnews"),            # www. ignored
    ("http://WWW.CarNews.example:8080/news/a", "carnews"),    # case and port
    ("https://m.carnews.example/news/a", "carnews"),          # a subdomain
    ("https://www.carnews.example/about/", None),             # not allowed
    ("https://www.carnews.example/news/sponsored/x", None),   # denied
    ("https://evil.example/?u=https://www.carnews.example/news/a", None),
    ("https://user@evil.example/www.carnews.example/news/", None),
    ("https://carnews.example.evil.example/news/a", None),
    ("https://news.evdaily-cdn.example/x", "evdaily"),        # a domains: host
    ("ftp://evdaily.example/x", None),
    ("evdaily.example/x", None),
])
def test_source_matcher(matcher: SourceMatcher, url: str, source: str | None) -> None:
    found = matcher.match(url)
    assert (found.name if found else None) == source


def test_url_host() -> None:
    assert url_host("https://u:p@Host.example:81/a?b#c") == "Host.example"
    assert url_host("http://[::1]:80/") == "::1"
    assert url_host("no-scheme") == ""


def test_cc_news_selection_by_name_oldest_first() -> None:
    paths = ["crawl-data/CC-NEWS/2024/01/CC-NEWS-20240131235959-00009.warc.gz",
             "crawl-data/CC-NEWS/2024/01/CC-NEWS-20240101000000-00001.warc.gz",
             "crawl-data/CC-NEWS/2024/02/CC-NEWS-20240201000000-00001.warc.gz",
             "crawl-data/CC-NEWS/2023/12/CC-NEWS-20231231235959-00001.warc.gz",
             "crawl-data/CC-NEWS/2024/01/../../x/CC-NEWS-20240102000000-00001.warc.gz",
             "crawl-data/CC-NEWS/2024/01/not-a-warc.txt"]
    assert select_paths(paths, date(2024, 1, 1), date(2024, 1, 31)) == [paths[1], paths[0]]


def test_client_retries_slowdown_resumes_a_cut_and_refuses_loopback() -> None:
    data = build_warc(1, 0, others=30).data
    path = "crawl-data/CC-NEWS/2024/01/CC-NEWS-20240110120000-00001.warc.gz"
    retries: list[str] = []
    with ArchiveServer({path: data}, slowdown=True, cut={path: len(data) // 3}) as server:
        client = ArchiveClient(AddressPolicy.parse("127.0.0.1"), backoff=0.01, on_retry=retries.append)
        with client.stream(server.base_url + path) as stream:
            got = b"".join(iter(lambda: stream.read(1000), b""))
        assert got == data and stream.resumed == 1
        assert retries[0] == "http_503" and "connection_lost" in retries
        assert server.file_gets(path)[2].startswith("bytes=")
        with pytest.raises(ArchiveError) as missing:
            client.open(server.base_url + "crawl-data/none.warc.gz")
        assert missing.value.label == "http_404"
        before = len(server.requests)
        with pytest.raises(BlockedAddressError):
            ArchiveClient(AddressPolicy.parse("")).open(server.base_url + path)
        with pytest.raises(BlockedAddressError):  # a name that resolves to loopback is refused too
            ArchiveClient(AddressPolicy.parse("")).open(server.base_url.replace("127.0.0.1", "localhost") + path)
        assert len(server.requests) == before


def test_reader_filters_from_headers_and_skips_a_truncated_member(matcher: SourceMatcher) -> None:
    built = build_warc(2, 20, others=25)
    scan = FileScan()
    reader = RecordReader(lambda offset: _at(built.data, offset), matcher, 1_000_000, scan)
    found = list(reader.records(0))
    kept = {c.url: c for c in found}
    assert set(kept) == set(built.expected)
    for url, info in built.expected.items():
        if url not in built.second_capture:
            assert (kept[url].offset, kept[url].record_id, kept[url].fetched_at) == \
                (info["offset"], info["record_id"], info["fetched_at"])
    assert len(found) == len(built.expected) + 1  # the duplicate capture is the dedupe stage's to drop
    assert scan.finished and scan.corrupt == 1 and scan.not_200 == 2 and scan.not_html == 1
    assert scan.other_host >= 25 and scan.scanned > len(found)
    # a payload over the cap is skipped, not read
    capped = FileScan()
    assert not list(RecordReader(lambda o: _at(built.data, o), matcher, 100, capped).records(0))
    assert capped.too_large == len(found)


def test_reader_resumes_at_an_offset(matcher: SourceMatcher) -> None:
    built = build_warc(3, 30, others=10, truncate=False)
    offsets = sorted(info["offset"] for info in built.expected.values())
    reader = RecordReader(lambda o: _at(built.data, o), matcher, 1_000_000, FileScan())
    assert [c.offset for c in reader.records(offsets[2])][:len(offsets) - 2] == offsets[2:]


def test_safe_offset_waits_for_records_in_the_pipelines() -> None:
    scan = FileScan(frontier=100)
    scan.hold(40)
    scan.hold(70)
    assert scan.safe_offset() == 40
    scan.release(40)
    assert scan.safe_offset() == 70
    scan.release(70)
    assert scan.safe_offset() == 100 and scan.in_flight() == 0


class _At(io.BytesIO):
    def __init__(self, data: bytes, offset: int) -> None:
        super().__init__(data)
        self.seek(offset)


def _at(data: bytes, offset: int) -> io.BytesIO:
    return _At(data, offset)


@pytest.mark.parametrize("gzipped", [True, False])
def test_a_record_cut_short_at_the_end_of_the_file_is_counted_not_kept(matcher: SourceMatcher, gzipped: bool) -> None:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    from tests.warc_fixtures import article_html

    out = io.BytesIO()
    writer = WARCWriter(out, gzip=gzipped, warc_version="1.1")
    for n in range(2):
        body = article_html(n)
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(f"https://evdaily.example/2024/{n}", "response",
                                                      payload=io.BytesIO(body), http_headers=http))
    data = out.getvalue()[:-300]  # the second record loses its end
    scan = FileScan()
    found = list(RecordReader(lambda o: _at(data, o), matcher, 1_000_000, scan, gzipped=gzipped).records(0))
    assert [c.url for c in found] == ["https://evdaily.example/2024/0"]
    assert scan.corrupt >= 1 and scan.finished
