"""A loopback site for the discovery-bounds tests: huge gzip sitemaps, off-domain entries.

`LoopbackSite` serves a fixed table of paths on one loopback address (127.0.0.1, or
127.0.0.2 as "another host": Linux routes all of 127/8 to loopback) and records every
request, so tests can check what was (not) fetched. Unknown paths get a tiny 404.
`big_sitemap` builds the row-6 attack: a gzip sitemap of 200,000 entries in about 1 MB.
"""

from __future__ import annotations

import gzip
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit


@dataclass
class Page:
    """What the server sends for one path."""

    body: bytes = b""
    content_type: str = "text/html"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def big_sitemap(base_url: str, count: int, prefix: str = "/a/") -> bytes:
    """A gzip-compressed <urlset> of `count` distinct article URLs under `base_url` + `prefix`."""
    lines = [b'<?xml version="1.0" encoding="UTF-8"?>\n'
             b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n']
    stem = f"<url><loc>{base_url}{prefix}".encode()
    lines.extend(stem + b"%d</loc></url>\n" % i for i in range(count))
    lines.append(b"</urlset>\n")
    return gzip.compress(b"".join(lines), compresslevel=9, mtime=0)


def serve_lazy_index(site: "LoopbackSite", children: int, per_child: int, path: str = "/index.xml") -> None:
    """Serve at `path` an index of `children` gzip sitemaps (/sitemaps/<n>.xml.gz) of `per_child` article
    URLs each (/a/<n>-<i>), each child built only when requested (1,000 x 50,000 URLs would take minutes)."""
    site.pages[path] = Page(sitemap_index([site.url(f"/sitemaps/{c}.xml.gz") for c in range(children)]),
                            "application/xml")
    for c in range(children):
        def child(_headers: Message, c: int = c) -> Page:
            """Child sitemap `c`."""
            return Page(big_sitemap(site.base_url, per_child, prefix=f"/a/{c}-"), "application/gzip")
        site.pages[f"/sitemaps/{c}.xml.gz"] = child


def sitemap_index(urls: list[str]) -> bytes:
    """A <sitemapindex> listing `urls`."""
    items = "".join(f"<sitemap><loc>{u}</loc></sitemap>\n" for u in urls)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{items}</sitemapindex>\n').encode()


class LoopbackSite:
    """Serve `pages` (path -> Page, or a callable of the request headers returning one, set after
    construction) on `host`, port 0, in a thread.

    A context manager. Paths are matched without the query string; every request
    target is recorded in `hits`.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.pages: dict[str, Page | Callable[[Message], Page]] = {}
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, 0), self._handler_class())
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.base_url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "LoopbackSite":
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def url(self, path: str) -> str:
        """Absolute URL of `path` on this site."""
        return self.base_url + path

    def hit_count(self, prefix: str = "/") -> int:
        """How many requests were made for targets starting with `prefix`."""
        with self._lock:
            return sum(n for target, n in self.hits.items() if target.startswith(prefix))

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # one request per connection, as simple as it gets

            def do_GET(self) -> None:
                with site._lock:
                    site.hits[self.path] += 1
                page = site.pages.get(urlsplit(self.path).path, Page(b"nf", status=404))
                if callable(page):  # made per request (a page that changes, a conditional answer)
                    page = page(self.headers)
                self.send_response(page.status)
                self.send_header("Content-Type", page.content_type)
                self.send_header("Content-Length", str(len(page.body)))
                for name, value in page.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    self.wfile.write(page.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the crawler may give up on a response; not this test's concern

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep pytest output clean; `site.hits` records everything

        return Handler
