"""Tiny threaded HTTP server for the offline demo site.

Files are served from ``site/``; a directory maps to its ``index.html`` and the
query string is ignored, so tracking aliases (``?utm_source=...``) return the same
page as the plain URL, exactly like a real CMS would. ``{{BASE}}`` in text files
(and inside gzip sitemaps) is replaced with the server's own base URL so feeds and
sitemaps can carry absolute links although the port is only known at start-up.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import posixpath
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

from crawler.demo import BASE_PLACEHOLDER, SITE_DIR

CONTENT_TYPES: dict[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml",
    ".txt": "text/plain; charset=utf-8",
    ".gz": "application/gzip",
    ".json": "application/json",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".css": "text/css; charset=utf-8",
}
TEXT_SUFFIXES: frozenset[str] = frozenset({".html", ".xml", ".txt", ".json", ".css"})


def content_type_for(path: Path) -> str:
    """Return the Content-Type header value for a file in the demo site."""
    # RSS files are plain .xml on disk; the name tells them apart from sitemaps.
    if path.suffix == ".xml" and path.stem in {"feed", "rss"}:
        return "application/rss+xml; charset=utf-8"
    return CONTENT_TYPES.get(path.suffix, "application/octet-stream")


def resolve_path(root: Path, url_path: str) -> Path | None:
    """Map a request path (query ignored) to a file under ``root``, or None.

    Refuses anything that would escape ``root`` (``..``, encoded slashes).
    """
    clean = posixpath.normpath(unquote(urlsplit(url_path).path))
    parts = [p for p in clean.split("/") if p and p not in {".", ".."}]
    candidate = root.joinpath(*parts) if parts else root
    try:
        candidate.resolve().relative_to(root.resolve())
    except ValueError:
        return None
    if candidate.is_dir():
        candidate = candidate / "index.html"
    return candidate if candidate.is_file() else None


def render(path: Path, base_url: str) -> bytes:
    """Read a site file and substitute the ``{{BASE}}`` placeholder where it can occur."""
    data = path.read_bytes()
    if path.suffix in TEXT_SUFFIXES:
        return data.replace(BASE_PLACEHOLDER.encode(), base_url.encode())
    if path.suffix == ".gz":
        # Gzip sitemaps hold absolute URLs too; recompress with a fixed mtime so
        # the bytes are stable between requests.
        inner = gzip.decompress(data).replace(BASE_PLACEHOLDER.encode(), base_url.encode())
        return gzip.compress(inner, mtime=0)
    return data


class DemoRequestHandler(BaseHTTPRequestHandler):
    """Serves demo files; the owning server provides ``site_root`` and ``base_url``."""

    server: "_DemoHTTPServer"
    server_version = "AutonewsDemo/1.0"
    # Persistent connections, as a real site keeps them (every answer has a Content-Length or no body):
    # with HTTP/1.0 each page costs the crawler a new TCP connection.
    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes: with Nagle's algorithm on a kept-alive connection the body
    # would wait for the client's delayed ACK (~40 ms a page), which penalises a client that fetches with
    # few connections (trafilatura's CLI in tests.benchmarks.throughput) far more than a crawler with many.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        """Answer GET with the file, or 404."""
        self._respond(with_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        """Answer HEAD like GET without the body."""
        self._respond(with_body=False)

    def _respond(self, with_body: bool) -> None:
        path = resolve_path(self.server.site_root, self.path)
        if path is None:
            body = b"<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>"
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
        else:
            body = render(path, self.server.base_url)
            # Validators like a real CMS sends, so repeat crawls revalidate feeds with a 304.
            etag = '"%s"' % hashlib.sha1(body).hexdigest()[:16]
            if etag in (self.headers.get("If-None-Match") or ""):
                self.server.not_modified += 1
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", formatdate(path.stat().st_mtime, usegmt=True))
            self.send_header("Content-Type", content_type_for(path))
            lang = self.server.content_language.get(path.relative_to(self.server.site_root).parts[0])
            if lang and path.suffix == ".html":
                self.send_header("Content-Language", lang)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Stay quiet: the demo crawl and the tests own stdout."""


class _DemoHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    site_root: Path
    base_url: str
    content_language: dict[str, str]
    not_modified: int = 0  # 304 answers given, for tests of conditional GET


class DemoServer:
    """Serve the demo site on ``host:port`` (port 0 = pick a free one) in a daemon thread.

    Use as a context manager or call :meth:`start` / :meth:`stop`.
    """

    # Per-site Content-Language headers, as the real sites would send them.
    CONTENT_LANGUAGE: dict[str, str] = {"evxl": "nl-NL"}

    def __init__(self, root: Path = SITE_DIR, host: str = "127.0.0.1", port: int = 0) -> None:
        self.root = Path(root)
        self.host = host
        self.port = port
        self._httpd: _DemoHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server (no trailing slash)."""
        if self._httpd is None:
            raise RuntimeError("DemoServer is not running")
        return f"http://{self.host}:{self._httpd.server_address[1]}"

    def url(self, path: str) -> str:
        """Absolute URL for a site path such as ``/evxl/stellantis-leapmotor/``."""
        return self.base_url + path

    def start(self) -> "DemoServer":
        """Bind the socket and start serving; returns self."""
        if self._httpd is not None:
            return self
        httpd = _DemoHTTPServer((self.host, self.port), DemoRequestHandler)
        httpd.site_root = self.root
        httpd.content_language = dict(self.CONTENT_LANGUAGE)
        self._httpd = httpd
        httpd.base_url = self.base_url
        self._thread = threading.Thread(target=httpd.serve_forever, name="autonews-demo-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> "DemoServer":
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """Serve the demo site by hand: ``python -m crawler.demo.server [--port N]``."""
    parser = argparse.ArgumentParser(description="Serve the autonews offline demo site.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    server = DemoServer(host=args.host, port=args.port).start()
    print(f"Demo site at {server.base_url}/  (robots: {server.base_url}/robots.txt). Ctrl-C to stop.")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
