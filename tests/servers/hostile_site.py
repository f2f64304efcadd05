"""A hostile news site on 127.0.0.1 for the robustness tests: every bad case on one host.

Good articles, pages in legacy charsets, binary and empty bodies, huge pages, broken and
malicious gzip, redirect loops, a server that never answers, HTTP errors, broken and
malicious feeds and sitemaps, and a robots.txt that disallows part of the site. Every
request is recorded, so tests can check what was (not) fetched and how often.
"""

from __future__ import annotations

import gzip
import random
import re
import struct
import threading
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hostile"
HUGE_SIZE = 20 * 1024 * 1024  # above DOWNLOAD_MAXSIZE (8 MB)
BOMB_SIZE = 1024 * 1024 * 1024  # what the gzip bombs inflate to
_CHUNK = 64 * 1024


@dataclass
class Reply:
    """What the server sends for one path."""

    status: int = 200
    content_type: str = "text/html"
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    stream: int = 0  # send this many filler bytes instead of `body`
    length: int | None = None  # Content-Length to announce (default: what is sent)
    send: int | None = None  # stop after this many bytes of `body` (a cut transfer)
    hang: bool = False  # accept the request and never answer


@cache
def gzip_bomb(size: int = BOMB_SIZE) -> bytes:
    """A valid single-member gzip stream of `size` zero bytes, about size/1000 long.

    Built from one fully flushed deflate block repeated (identical after a full flush),
    so it takes milliseconds instead of compressing a gigabyte.
    """
    mib = bytes(1 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = deflate.compress(mib) + deflate.flush(zlib.Z_FULL_FLUSH)
    repeat = deflate.compress(mib) + deflate.flush(zlib.Z_FULL_FLUSH)
    count = size >> 20
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(mib, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, (count << 20) & 0xFFFFFFFF)
    return header + first + repeat * (count - 1) + deflate.flush() + trailer


class HostileSite:
    """Serve the hostile site on 127.0.0.1 (port 0) in a thread; a context manager.

    `secret_path` is the local file the XXE sitemap tries to read.
    """

    def __init__(self, secret_path: Path) -> None:
        self.secret_path = secret_path
        self.hits: Counter[str] = Counter()
        self.requests: list[str] = []
        self.statuses: Counter[int] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._routes = self._build_routes()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "HostileSite":
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()  # releases the handler that never answers
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def url(self, path: str) -> str:
        """Absolute URL of `path` on this site."""
        return self.base_url + path

    def hit_count(self, prefix: str) -> int:
        """How many requests were made for paths (with query) starting with `prefix`."""
        with self._lock:
            return sum(n for path, n in self.hits.items() if path.startswith(prefix))

    def status_count(self, status: int) -> int:
        """How many responses with HTTP `status` were sent."""
        with self._lock:
            return self.statuses[status]

    # --- content -----------------------------------------------------------

    def fixture(self, name: str, encoding: str = "utf-8") -> bytes:
        """A fixture file with {{BASE}} and {{SECRET}} filled in, encoded as asked."""
        text = (FIXTURES / name).read_text(encoding="utf-8")
        text = text.replace("{{BASE}}", self.base_url).replace("{{SECRET}}", str(self.secret_path))
        return text.encode(encoding)

    def _build_routes(self) -> dict[str, Reply]:
        html, xml, rss = "text/html", "application/xml", "application/rss+xml"

        def page(name: str, enc: str = "utf-8", ctype: str = html) -> Reply:
            return Reply(content_type=ctype, body=self.fixture(name, enc))

        def error(status: int) -> Reply:
            return Reply(status=status, body=f"<h1>HTTP {status}</h1>".encode())

        article_gz = gzip.compress(self.fixture("truncated.html"), mtime=0)
        sitemap_gz = gzip.compress(self.fixture("sitemap-posts.xml"), mtime=0)
        return {
            "/robots.txt": page("robots.txt", ctype="text/plain"),
            "/feed.xml": page("feed.xml", ctype=rss),
            "/feed-malformed.xml": page("feed-malformed.xml", ctype=rss),
            "/feed-broken.xml": page("feed-broken.xml", ctype=rss),
            "/feed-laughs.xml": page("feed-laughs.xml", ctype=rss),
            "/feed-empty.xml": Reply(content_type=rss),
            "/sitemap_index.xml": page("sitemap_index.xml", ctype=xml),
            "/sitemap-posts.xml": page("sitemap-posts.xml", ctype=xml),
            "/sitemap-laughs.xml": page("sitemap-laughs.xml", ctype=xml),
            "/sitemap-xxe.xml": page("sitemap-xxe.xml", ctype=xml),
            "/sitemap-bomb.xml.gz": Reply(content_type="application/gzip", body=gzip_bomb()),
            "/sitemap-truncated.xml.gz": Reply(content_type="application/gzip",
                                               body=sitemap_gz[: len(sitemap_gz) // 2]),
            "/news/": page("news.html"),
            "/articles/battery-recycling-plant/": page("battery-recycling.html"),
            "/articles/hydrogen-truck-pilot/": page("hydrogen-trucks.html"),
            "/articles/dealer-inventory-high/": page("dealer-inventory.html"),
            "/articles/seat-belt-recall/": page("malformed-recall.html"),
            "/articles/tire-plant-georgia/": page("tire-plant.html"),
            # Charset only in <meta>; the HTTP header names none.
            "/charset/gbk/": page("gbk.html", "gbk"),
            # Labelled gb2312 but using GBK-only characters, as many Chinese sites do.
            "/charset/gb2312-label/": page("gb2312.html", "gbk"),
            # Labelled Shift_JIS, with Windows (NEC/IBM) extension characters.
            "/charset/shift-jis/": page("shift-jis.html", "cp932"),
            "/charset/cp1252-as-utf8/": page("cp1252.html", "cp1252", "text/html; charset=utf-8"),
            "/charset/utf8-bom/": Reply(content_type="text/html; charset=iso-8859-1",
                                        body=b"\xef\xbb\xbf" + self.fixture("bom.html")),
            "/bad/binary/": Reply(body=random.Random(1).randbytes(64 * 1024)),
            "/bad/empty/": Reply(),
            "/bad/pdf/": Reply(content_type="application/pdf", body=b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" * 40),
            "/bad/huge/": Reply(stream=HUGE_SIZE, length=HUGE_SIZE),
            "/bad/huge-stream/": Reply(stream=HUGE_SIZE),
            "/bad/gzip-truncated/": Reply(headers={"Content-Encoding": "gzip"},
                                          body=article_gz[: len(article_gz) // 2]),
            "/bad/gzip-dataloss/": Reply(headers={"Content-Encoding": "gzip"}, body=article_gz,
                                         send=len(article_gz) // 2),
            "/bad/gzip-bomb/": Reply(headers={"Content-Encoding": "gzip"}, body=gzip_bomb()),
            "/bad/timeout/": Reply(hang=True),
            "/bad/404/": error(404),
            "/bad/410/": error(410),
            "/bad/500/": error(500),
            "/bad/503/": error(503),
            "/private/merger-talks/": page("private-merger.html"),
        }

    def reply_for(self, target: str) -> Reply:
        """The reply for a request target (path and query)."""
        path = urlsplit(target).path
        if path in self._routes:
            return self._routes[path]
        cycle = re.fullmatch(r"/bad/redirect-cycle/([ab])", path)
        if cycle:
            other = "b" if cycle.group(1) == "a" else "a"
            return Reply(status=302, headers={"Location": f"/bad/redirect-cycle/{other}"})
        chain = re.fullmatch(r"/bad/redirect-chain/(\d+)", path)
        if chain:
            return Reply(status=302, headers={"Location": f"/bad/redirect-chain/{int(chain.group(1)) + 1}"})
        return Reply(status=404, body=b"<h1>Not found</h1>")

    # --- HTTP --------------------------------------------------------------

    def _record(self, target: str, status: int) -> None:
        with self._lock:
            self.hits[target] += 1
            self.requests.append(target)
            self.statuses[status] += 1

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # one request per connection; close-delimited bodies

            def do_GET(self) -> None:
                reply = site.reply_for(self.path)
                site._record(self.path, reply.status)
                if reply.hang:
                    site._stop.wait(60)
                    return
                try:
                    self._send(reply)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the crawler gave up on a huge body, as it should

            def _send(self, reply: Reply) -> None:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                sent = reply.stream or len(reply.body)
                length = reply.length if reply.length is not None else None if reply.stream else sent
                if length is not None:
                    self.send_header("Content-Length", str(length))
                self.end_headers()
                for chunk in _chunks(reply):
                    self.wfile.write(chunk)

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep pytest output clean; `site.requests` records everything

        return Handler


def _chunks(reply: Reply) -> Iterator[bytes]:
    """The bytes of a reply in socket-sized pieces (filler pages are never held in memory)."""
    if reply.stream:
        filler = (b"<p>" + b"Filler paragraph of a page far too large to be an article. " * 100 + b"</p>\n")
        block = (filler * (_CHUNK // len(filler) + 1))[:_CHUNK]
        for offset in range(0, reply.stream, _CHUNK):
            yield block[: min(_CHUNK, reply.stream - offset)]
        return
    body = reply.body if reply.send is None else reply.body[: reply.send]
    for offset in range(0, len(body), _CHUNK):
        yield body[offset: offset + _CHUNK]

