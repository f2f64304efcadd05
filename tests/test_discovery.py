"""Tests for feed / sitemap discovery, including hostile inputs."""

from __future__ import annotations

import gzip
import struct
import tracemalloc
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from crawler.discovery.sitemaps import (
    DiscoveryError,
    Entry,
    SitemapResult,
    is_recent,
    parse_feed,
    parse_sitemap,
)
from crawler.discovery.dates import normalize_feed_date
from crawler.discovery.gzipsafe import GzipCorrupt, GzipTooLarge, GzipTruncated, inflate
from crawler.discovery.safexml import MAX_SIZE, read_body
from crawler.middlewares.truncated_gzip import gzip_truncated

FIXTURES = Path(__file__).parent / "fixtures" / "discovery"
INDEX_URL = "https://www.example.com/sitemap_index.xml"


def fixture(name: str) -> bytes:
    """Bytes of a fixture file."""
    return (FIXTURES / name).read_bytes()


# --- feeds -----------------------------------------------------------------


def test_rss2_links_dates_titles_and_dedupe() -> None:
    entries = parse_feed(fixture("rss2.xml"), "https://news.example.com/feed/")
    assert entries == [
        Entry("https://news.example.com/2024/05/01/tesla-model-y-prices/", "2024-05-01T10:15:00+00:00",
              "Tesla cuts Model Y prices & more"),
        # relative link with surrounding whitespace, resolved against the feed URL; dc:date
        Entry("https://news.example.com/2024/05/02/relative-story/", "2024-05-02T08:00:00+02:00",
              "Relative link resolved against the feed URL"),
        # permalink guid when there is no <link>; named US zone
        Entry("https://news.example.com/2024/05/03/guid-story/", "2024-05-03T09:00:00-05:00", "Guid only"),
        # feedburner:origLink beats the proxy link; an unparseable date becomes None
        Entry("https://news.example.com/2024/05/04/origlink-story/", None, "Feedburner proxy"),
    ]  # javascript: link with a non-permalink guid and the duplicate are dropped


def test_atom_xml_base_alternate_link_and_published_over_updated() -> None:
    entries = parse_feed(fixture("atom.xml"), "https://blog.example.org/atom.xml")
    assert entries == [
        Entry("https://blog.example.org/auto/byd-hungary", "2024-06-01T09:30:00+02:00", "BYD opens Hungarian plant"),
        Entry("https://other.example.org/news/vw-id2", "2024-06-02T11:00:00+00:00", "Only updated, link without rel"),
        Entry("https://blog.example.org/auto/absolute", None, "Absolute link"),
    ]


def test_rss1_rdf_latin1_and_rdf_about_fallback() -> None:
    entries = parse_feed(fixture("rdf.xml"), "https://www.example.de/news/rss.rdf")
    assert entries == [
        Entry("https://www.example.de/news/elektroauto-förderung-123.html", "2024-05-10T07:45:00+02:00",
              "Elektroauto-Förderung kehrt zurück"),
        Entry("https://www.example.de/news/ohne-link-124.html", "2024-05-11", "Nur rdf:about"),
    ]


def test_relative_links_without_any_base_in_the_document() -> None:
    body = b"<rss><channel><item><link>story.html</link></item><item><link>//cdn.example.net/x</link></item>" \
           b"<item><link>../up</link></item></channel></rss>"
    urls = [e.url for e in parse_feed(body, "http://site.example.com/a/b/feed.xml")]
    assert urls == [
        "http://site.example.com/a/b/story.html",
        "http://cdn.example.net/x",
        "http://site.example.com/a/up",
    ]


def test_malformed_rss_is_salvaged_not_crashed() -> None:
    entries = parse_feed(fixture("malformed_rss.xml"), "https://broken.example.com/feed")
    urls = [e.url for e in entries]
    assert "https://broken.example.com/first?a=1&b=2" in urls  # bare & in a query string
    assert "https://broken.example.com/third" in urls  # item cut off by the end of the document
    first = entries[urls.index("https://broken.example.com/first?a=1&b=2")]
    assert first.published == "2024-05-06T07:00:00+00:00"
    assert first.title == "First story & an unescaped ampersand and\u2019s entities"


@pytest.mark.parametrize(
    "body",
    [b"", b"   \n", b"\x00\x01\x02 binary junk", b"just some text", b"<<<>>>&&&"],
)
def test_unparseable_feed_raises_discovery_error(body: bytes) -> None:
    with pytest.raises(DiscoveryError):
        parse_feed(body, "https://x.example.com/feed")


def test_html_page_instead_of_feed_is_an_error() -> None:
    body = b"<html><head><title>Oops</title></head><body><a href='/x'>x</a></body></html>"
    with pytest.raises(DiscoveryError, match="not a feed"):
        parse_feed(body, "https://x.example.com/feed")


def test_empty_feed_is_not_an_error() -> None:
    assert parse_feed(b"<rss version='2.0'><channel><title>t</title></channel></rss>", "https://x.example.com/f") == []


def test_billion_laughs_feed_is_not_expanded() -> None:
    entries = parse_feed(fixture("billion_laughs_feed.xml"), "https://laughs.example.com/feed")
    assert [e.url.startswith("https://laughs.example.com/") for e in entries] == [True, True]
    assert entries[1] == Entry("https://laughs.example.com/second", None, "Second item survives")
    assert entries[0].published == "2024-05-07T08:00:00+00:00"
    for entry in entries:
        assert "lollol" not in repr(entry)
        assert len(entry.url) < 100 and len(entry.title or "") < 100


def test_internal_entities_are_never_expanded() -> None:
    # Small enough to slip under libxml2's own amplification guard: only our
    # settings (no DTD, no entity resolution) keep it unexpanded.
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b"<rss><channel><item><title>x &c; y</title><link>https://e.example.com/&c;</link></item></channel></rss>"
    )
    (entry,) = parse_feed(body, "https://e.example.com/feed")
    assert "haha" not in repr(entry)
    assert entry.url.startswith("https://e.example.com/")


def test_gzipped_feed_is_detected_by_magic_bytes() -> None:
    plain = parse_feed(fixture("rss2.xml"), "https://news.example.com/feed/")
    assert parse_feed(gzip.compress(fixture("rss2.xml")), "https://news.example.com/feed/") == plain


# --- sitemaps --------------------------------------------------------------


def test_news_sitemap_keeps_publication_date_and_title() -> None:
    result = parse_sitemap(fixture("news_sitemap.xml"), "https://www.example.com/news-sitemap.xml")
    assert result == SitemapResult(
        children=[],
        entries=[
            # news:publication_date wins over lastmod; news:title, not image:title
            Entry("https://www.example.com/news/2024/05/20/hyundai-ioniq-9/", "2024-05-20T14:30:00-04:00",
                  "Hyundai Ioniq 9 revealed"),
            Entry("https://www.example.com/news/2024/05/19/lastmod-only/", "2024-05-19", None),
            Entry("https://www.example.com/news/2024/05/18/no-date/", None, None),
        ],
    )


def test_sitemap_index_lists_children_without_itself_or_duplicates() -> None:
    result = parse_sitemap(fixture("sitemap_index.xml"), INDEX_URL)
    assert result.entries == []
    assert result.children == [  # dated by <lastmod>, for the --since filter
        Entry("https://www.example.com/news-sitemap.xml", "2024-05-21T06:00:00+00:00"),
        Entry("https://www.example.com/post-sitemap-2024-05.xml.gz", "2024-05-20"),
        Entry("https://www.example.com/post-sitemap-2019-01.xml", "2019-01-31T23:00:00+00:00"),
    ]
    since = datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert [c for c in result.children if is_recent(c, since)] == result.children[:2]


def test_gzipped_sitemap_detected_by_content_not_name() -> None:
    plain = parse_sitemap(fixture("news_sitemap.xml"), "https://www.example.com/s")
    packed = gzip.compress(fixture("news_sitemap.xml"))
    assert parse_sitemap(packed, "https://www.example.com/sitemap.xml") == plain
    # an already-decompressed body named .gz is still parsed as plain XML
    assert parse_sitemap(fixture("news_sitemap.xml"), "https://www.example.com/sitemap.xml.gz") == plain


def test_multi_member_gzip_is_fully_read() -> None:
    data = fixture("news_sitemap.xml")
    half = len(data) // 2
    assert read_body(gzip.compress(data[:half]) + gzip.compress(data[half:])) == data


@pytest.mark.parametrize("cut", [5, 20, 200])
def test_truncated_gzip_raises_clear_error(cut: int) -> None:
    packed = gzip.compress(fixture("news_sitemap.xml"))
    with pytest.raises(DiscoveryError, match="truncated gzip"):
        parse_sitemap(packed[:-cut], "https://www.example.com/sitemap.xml.gz")


def test_corrupt_gzip_raises_discovery_error() -> None:
    packed = bytearray(gzip.compress(fixture("news_sitemap.xml")))
    packed[30:40] = b"\xff" * 10
    with pytest.raises(DiscoveryError, match="gzip"):
        parse_sitemap(bytes(packed), "https://www.example.com/sitemap.xml.gz")


def _gzip_of_zeros(mebibytes: int) -> bytes:
    """A valid gzip member inflating to `mebibytes` MiB of zeros, built without inflating it.

    Each 1 MiB block is compressed once with a full flush, which makes every block's
    deflate output identical, so it can simply be repeated (~1 KiB per MiB).
    """
    zeros = bytes(1 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mebibytes):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    final_empty_block = b"\x03\x00"
    trailer = struct.pack("<II", crc, (mebibytes << 20) & 0xFFFFFFFF)
    return header + block * mebibytes + final_empty_block + trailer


def test_gzip_bomb_is_capped_without_memory_blow_up() -> None:
    bomb = _gzip_of_zeros(1024)  # 1 GiB inflated, about 1 MiB compressed
    assert len(bomb) < 2 << 20
    tracemalloc.start()
    try:
        with pytest.raises(DiscoveryError, match="limit"):
            parse_sitemap(bomb, "https://www.example.com/sitemap.xml.gz")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * MAX_SIZE + (16 << 20), f"peak {peak / 2**20:.0f} MiB"


def test_gzip_bomb_sanity_check_small_bomb_is_valid_gzip() -> None:
    # The bomb builder must produce real gzip, or the test above proves nothing.
    assert gzip.decompress(_gzip_of_zeros(3)) == bytes(3 << 20)


# One inflate loop (crawler.discovery.gzipsafe) serves discovery, which raises on any
# unusable body, and the truncated-gzip middleware, which reports truncation only.


def test_inflate_yields_capped_chunks_across_members_and_ignores_trailing_garbage() -> None:
    data = fixture("news_sitemap.xml")
    two_members = gzip.compress(data[:100]) + gzip.compress(data[100:]) + b"\x00garbage"
    assert b"".join(inflate(two_members)) == data
    chunks = list(inflate(_gzip_of_zeros(3)))
    assert len(chunks) == 3 and all(len(c) == 1 << 20 for c in chunks)


@pytest.mark.parametrize(
    ("body", "limit", "error", "truncated"),
    [
        (gzip.compress(b"x" * 5000)[:-20], None, GzipTruncated, True),
        (gzip.compress(b"x" * 5000) + gzip.compress(b"y" * 5000)[:12], None, GzipTruncated, True),
        (gzip.compress(b"x" * 5000) + b"\x1f\x8b", None, GzipTruncated, True),  # a second member's magic only
        (b"\x1f\x8b\x08\x00" + b"\xff" * 40, None, GzipCorrupt, False),
        (gzip.compress(b"x" * 5000), 4999, GzipTooLarge, False),
        (_gzip_of_zeros(64), 8 << 20, GzipTooLarge, False),
    ],
    ids=["cut", "cut-second-member", "magic-only", "corrupt", "one-byte-over", "bomb"],
)
def test_one_inflater_both_callers(body: bytes, limit: int | None, error: type, truncated: bool) -> None:
    with pytest.raises(error):
        b"".join(inflate(body, limit))
    with pytest.raises(DiscoveryError, match="truncated gzip" if truncated else "gzip"):
        read_body(body, MAX_SIZE if limit is None else limit)
    # The middleware's check says True for truncation only: a bomb or corrupt stream is
    # HttpCompressionMiddleware's to refuse. Its limit 0 means "no limit", like DOWNLOAD_MAXSIZE.
    assert gzip_truncated(body, limit or 0) is truncated


def test_one_inflater_whole_bodies_and_limits() -> None:
    whole = gzip.compress(b"x" * 5000)
    assert read_body(whole, 5000) == b"x" * 5000  # exactly at the limit is allowed
    assert not gzip_truncated(whole, 5000) and not gzip_truncated(whole, 0)
    assert not gzip_truncated(whole + whole + b"trailing", 0)
    assert b"".join(inflate(whole, 5000)) == b"x" * 5000
    assert gzip_truncated(_gzip_of_zeros(64)[:-100], 0)  # no limit: inflated to the cut


def test_body_size_cap_applies_to_plain_bodies_too() -> None:
    with pytest.raises(DiscoveryError, match="limit"):
        read_body(b"<urlset>" + b" " * 2000 + b"</urlset>", max_size=1000)


def test_billion_laughs_sitemap_is_not_expanded() -> None:
    result = parse_sitemap(fixture("billion_laughs_sitemap.xml"), "https://laughs.example.com/sitemap.xml")
    assert Entry("https://laughs.example.com/plain", "2024-05-07", None) in result.entries
    assert all(len(e.url) < 100 and "lollol" not in e.url for e in result.entries)


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE urlset [<!ENTITY xxe SYSTEM "file://{path}">]>',
        '<!DOCTYPE urlset [<!ENTITY % p SYSTEM "file://{path}"> %p;]>',
        '<!DOCTYPE urlset SYSTEM "file://{path}">',
        # a comment that looks like an element hides the DOCTYPE from the pre-filter:
        # the parser itself must still refuse to resolve the entity
        '<!-- <a> --><!DOCTYPE urlset [<!ENTITY xxe SYSTEM "file://{path}">]>',
    ],
)
def test_xxe_sitemap_never_reads_local_files(tmp_path: Path, doctype: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-7f3a9c", encoding="utf-8")
    body = (
        '<?xml version="1.0"?>\n' + doctype.format(path=secret) + "\n"
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        "<url><loc>https://x.example.com/a&xxe;</loc>"
        "<news:news><news:title>t &xxe;</news:title><news:publication_date>2024-05-01</news:publication_date>"
        "</news:news></url>"
        "<url><loc>https://x.example.com/b</loc></url></urlset>"
    ).encode()
    # The document is parsed with the entity left unexpanded (never resolved, never a file read), so the
    # sitemap's other entries are still used; a refusal here would lose them.
    result = parse_sitemap(body, "https://x.example.com/sitemap.xml")
    assert "TOP-SECRET" not in repr(result)
    assert Entry("https://x.example.com/b", None, None) in result.entries
    assert [e.url for e in result.entries] == ["https://x.example.com/a&xxe;", "https://x.example.com/b"]


def test_xxe_feed_never_reads_local_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-7f3a9c", encoding="utf-8")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        "<rss><channel><item><title>&xxe;</title><link>https://x.example.com/&xxe;</link></item></channel></rss>"
    ).encode()
    assert "TOP-SECRET" not in repr(parse_feed(body, "https://x.example.com/feed"))


@pytest.mark.parametrize("prefix", [b"\xef\xbb\xbf", b"\n  ", b"\xef\xbb\xbf\r\n"])
def test_bom_and_leading_whitespace_before_xml_declaration(prefix: bytes) -> None:
    plain = parse_sitemap(fixture("news_sitemap.xml"), "https://www.example.com/s")
    assert parse_sitemap(prefix + fixture("news_sitemap.xml"), "https://www.example.com/s") == plain


def test_utf16_sitemap() -> None:
    text = fixture("news_sitemap.xml").decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
    plain = parse_sitemap(fixture("news_sitemap.xml"), "https://www.example.com/s")
    assert parse_sitemap(text.encode("utf-16"), "https://www.example.com/s") == plain


def test_text_sitemap_and_feed_as_sitemap() -> None:
    text = b"\xef\xbb\xbfhttps://t.example.com/a\n\nhttps://t.example.com/b\r\nnot a url\nhttps://t.example.com/a\n"
    assert [e.url for e in parse_sitemap(text, "https://t.example.com/sitemap.txt").entries] == [
        "https://t.example.com/a",
        "https://t.example.com/b",
    ]
    as_sitemap = parse_sitemap(fixture("rss2.xml"), "https://news.example.com/feed/")
    assert as_sitemap.entries == parse_feed(fixture("rss2.xml"), "https://news.example.com/feed/")


@pytest.mark.parametrize("body", [b"", b"<html><body>404</body></html>", b"nothing here"])
def test_non_sitemaps_raise_discovery_error(body: bytes) -> None:
    with pytest.raises(DiscoveryError):
        parse_sitemap(body, "https://x.example.com/sitemap.xml")


# --- dates and recency -----------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Wed, 01 May 2024 10:00:00 GMT", "2024-05-01T10:00:00+00:00"),
        ("01 May 2024 10:00 PDT", "2024-05-01T10:00:00-07:00"),
        ("Mi, 01 May 2024 10:00:00 +0200", "2024-05-01T10:00:00+02:00"),
        ("Wed, 01 May 2024 10:00:00 CEST", "2024-05-01T10:00:00+02:00"),
        ("Wed, 01 May 2024 10:00:00 -0000", "2024-05-01T10:00:00+00:00"),
        ("Wed, 01 May 2024 10:00:00", "2024-05-01T10:00:00"),
        ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00+00:00"),
        ("2024-05-01T10:00:00.123+0530", "2024-05-01T10:00:00+05:30"),
        ("2024-05-01", "2024-05-01"),
        ("2024-02-30", None),
        ("Wed, 01 May 2024 10:00:00 +9999", None),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_feed_date(raw: str | None, expected: str | None) -> None:
    assert normalize_feed_date(raw) == expected


def test_is_recent() -> None:
    since = datetime(2024, 5, 10, 12, 0, tzinfo=timezone.utc)
    assert is_recent(Entry("u", None), since)  # undated entries are kept
    assert is_recent(Entry("u", "garbage"), since)
    assert is_recent(Entry("u", "2024-05-01"), None)
    assert is_recent(Entry("u", "2024-05-10T13:00:00+00:00"), since)
    assert not is_recent(Entry("u", "2024-05-10T13:00:00+02:00"), since)  # 11:00 UTC
    assert is_recent(Entry("u", "2024-05-10"), since)  # same day: kept
    assert not is_recent(Entry("u", "2024-05-09"), since)
    assert is_recent(Entry("u", "2024-05-10T12:30:00"), since)  # naive taken as UTC
    assert not is_recent(Entry("u", "2024-05-10T11:30:00+00:00"), since.replace(tzinfo=None))
    assert is_recent(Entry("u", "2024-05-11T00:00:00+00:00"), since - timedelta(days=1))
