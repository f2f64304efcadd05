"""WARC files for the backfill tests, built with warcio: registry articles among other hosts' records,
request records, non-HTML and non-200 responses, a revisit, a duplicate capture and a truncated member.

Also a CC-NEWS-layout HTTP server on 127.0.0.1 (``crawl-data/CC-NEWS/YYYY/MM/warc.paths.gz``) that
supports Range, logs every request, and can answer a file's first request with 503 SlowDown or cut
a file's connection midway.
"""

from __future__ import annotations

import gzip
import io
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

WORDS = ("battery electric vehicle charging network plant factory supplier recall model sedan truck "
         "engine hybrid range mile price market share quarter sales growth dealer brand launch design "
         "safety test driver software update platform partner deal investment billion million worker "
         "union contract steel aluminium lithium cell module pack motor inverter grid station highway "
         "city country state government rule tax credit subsidy import export tariff demand supply chain "
         "delivery order customer review rating speed torque weight cost profit loss revenue forecast "
         "analyst report week month year morning evening company chief executive officer plan target").split()

REGISTRY = """sources:
  - name: carnews
    feeds: ['https://www.carnews.example/feed.xml']
    allow: ['/news/']
    deny: ['/news/sponsored/']
    language: en
  - name: evdaily
    sitemaps: ['https://evdaily.example/sitemap.xml']
    domains: ['evdaily-cdn.example']
    language: en
"""
"""Two sources: ``carnews`` (www. in its feed URL, allow/deny rules) and ``evdaily`` (a ``domains:`` host)."""


def article_html(index: int, title: str | None = None) -> bytes:
    """A distinct English news article page (six paragraphs of seeded words)."""
    rng = random.Random(index)
    title = title or f"Story {index}: " + " ".join(rng.choice(WORDS) for _ in range(6)).capitalize()
    paragraphs = []
    for _ in range(6):
        words = [rng.choice(WORDS) for _ in range(45)]
        paragraphs.append(f"<p>The {' '.join(words)} said on Tuesday.</p>")
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>"
            f"<meta property=\"og:title\" content=\"{title}\">"
            f"<meta property=\"article:published_time\" content=\"2024-01-0{1 + index % 9}T08:00:00Z\"></head>"
            f"<body><header><nav><a href=\"/\">Home</a></nav></header><article><h1>{title}</h1>"
            f"{''.join(paragraphs)}</article><footer>All rights reserved</footer></body></html>").encode()


@dataclass
class BuiltWarc:
    """A WARC file built by :func:`build_warc` and what a backfill must make of it."""

    data: bytes
    expected: dict[str, dict[str, Any]] = field(default_factory=dict)
    """URL -> {"source", "fetched_at", "record_id", "offset", "title"} of each article it must write."""
    other_urls: list[str] = field(default_factory=list)
    """URLs that must never appear in the output."""
    second_capture: dict[str, dict[str, Any]] = field(default_factory=dict)
    """URL -> the duplicate capture's fields: the record may come from either capture (not both)."""


def _response(writer: WARCWriter, url: str, body: bytes, *, status: str = "200 OK",
              ctype: str = "text/html; charset=utf-8", date: str = "2024-01-05T10:00:00Z",
              record_type: str = "response") -> Any:
    http = StatusAndHeaders(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))],
                            protocol="HTTP/1.1")
    return writer.create_warc_record(url, record_type, payload=io.BytesIO(body), http_headers=http,
                                     warc_headers_dict={"WARC-Date": date})


def build_warc(month: int, first: int, articles: int = 6, others: int = 40, truncate: bool = True,
               seed: int = 0) -> BuiltWarc:
    """One gzipped WARC/1.1 file: ``articles`` registry articles (numbered from ``first``) among ``others``
    other hosts' pages, request records, a PDF, a 404 and a 301 of a registry host, a revisit, a denied URL,
    a duplicate capture of the first article, and (``truncate``) a truncated gzip member."""
    rng = random.Random(seed or month * 1000 + first)
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True, warc_version="1.1")
    built = BuiltWarc(b"")
    day = f"2024-{month:02d}-1{first % 10}T"
    plan: list[tuple[str, Any]] = []
    for n in range(articles):
        plan.append(("article", first + n))
    for n in range(others):
        plan.append(("other", n))
    plan += [("pdf", 0), ("404", 0), ("redirect", 0), ("revisit", 0), ("denied", 0), ("duplicate", 0)]
    if truncate:
        plan.append(("truncated", 0))
    rng.shuffle(plan)
    # the duplicate capture comes after the article it copies
    plan.sort(key=lambda step: step[0] == "duplicate")
    plan.insert(len(plan) // 2, ("request", 0))
    first_article: tuple[str, bytes] | None = None
    for step, n in plan:
        offset = out.tell()
        if step == "article":
            host, source = (("www.carnews.example", "carnews") if n % 3 == 0 else
                            ("evdaily.example", "evdaily") if n % 3 == 1 else ("news.evdaily-cdn.example", "evdaily"))
            path = f"/news/2024/{n}/story-{n}" if source == "carnews" else f"/2024/{n}/story-{n}"
            url = f"https://{host}{path}"
            date = f"{day}{10 + n % 10:02d}:00:00Z"
            body = article_html(n)
            record = _response(writer, url, body, date=date)
            writer.write_record(record)
            built.expected[url] = {"source": source, "fetched_at": date.replace("Z", "+00:00"),
                                   "record_id": record.rec_headers.get_header("WARC-Record-ID"), "offset": offset}
            first_article = first_article or (url, body)
        elif step == "other":
            url = f"https://site{n}.other.example/news/{month}-{n}"
            writer.write_record(_response(writer, url, article_html(10_000 + month * 100 + n)))
            built.other_urls.append(url)
        elif step == "pdf":
            url = f"https://www.carnews.example/news/report-{month}.pdf"
            writer.write_record(_response(writer, url, b"%PDF-1.4 " + b"x" * 500, ctype="application/pdf"))
            built.other_urls.append(url)
        elif step == "404":
            url = f"https://evdaily.example/2024/missing-{month}"
            writer.write_record(_response(writer, url, article_html(20_000 + month), status="404 Not Found"))
            built.other_urls.append(url)
        elif step == "redirect":
            url = f"https://evdaily.example/2024/moved-{month}"
            writer.write_record(_response(writer, url, article_html(21_000 + month), status="301 Moved Permanently"))
            built.other_urls.append(url)
        elif step == "revisit":
            url = f"https://evdaily.example/2024/revisited-{month}"
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            writer.write_record(writer.create_revisit_record(url, "sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", url,
                                                             "2024-01-01T00:00:00Z",
                                                             http_headers=http))
            built.other_urls.append(url)
        elif step == "denied":
            url = f"https://www.carnews.example/news/sponsored/ad-{month}"
            writer.write_record(_response(writer, url, article_html(22_000 + month)))
            built.other_urls.append(url)
        elif step == "duplicate" and first_article is not None:
            url, body = first_article
            record = _response(writer, url, body, date="2024-12-31T23:00:00Z")
            writer.write_record(record)
            built.second_capture[url] = {"fetched_at": "2024-12-31T23:00:00+00:00", "offset": offset,
                                         "record_id": record.rec_headers.get_header("WARC-Record-ID")}
        elif step == "request":
            writer.write_record(writer.create_warc_record("https://www.carnews.example/news/2024/req", "request",
                                                          payload=io.BytesIO(b"GET /news/2024/req HTTP/1.1\r\n\r\n")))
        elif step == "truncated":
            url = f"https://evdaily.example/2024/truncated-{month}"
            member = io.BytesIO()
            WARCWriter(member, gzip=True, warc_version="1.1").write_record(
                _response(WARCWriter(io.BytesIO(), gzip=True), url, article_html(23_000 + month)))
            out.write(member.getvalue()[: len(member.getvalue()) // 2])
            built.other_urls.append(url)
    built.data = out.getvalue()
    return built


def cc_news_name(month: int, n: int) -> str:
    """The CC-NEWS path of the ``n``-th file of 2024-``month``."""
    return f"crawl-data/CC-NEWS/2024/{month:02d}/CC-NEWS-2024{month:02d}{10 + n:02d}120000-{n:05d}.warc.gz"


class _QuietServer(ThreadingHTTPServer):
    """No traceback on stderr when a client hangs up (the backfill closes connections it is done with)."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class ArchiveServer:
    """CC-NEWS layout on 127.0.0.1: ``files`` (path -> bytes) and each month's ``warc.paths.gz``.

    ``slowdown``: each file's first GET gets 503 with an S3 SlowDown XML body. ``cut``: path -> byte
    count after which that file's first full GET is cut. ``requests`` logs (method, path, Range).
    ``hold``: while above 0, every file GET stops for that many seconds at ``hold_at`` (a fraction) of its
    body and sets ``holding`` meanwhile, so a test can act while the client is certainly mid-file,
    whatever the machine's speed. ``delay``: seconds between 4 KiB chunks.
    """

    def __init__(self, files: dict[str, bytes], slowdown: bool = False, cut: dict[str, int] | None = None,
                 extra_paths: dict[str, list[str]] | None = None, delay: float = 0.0,
                 hold: float = 0.0, hold_at: float = 0.5) -> None:
        self.files = dict(files)
        self.hold = hold
        self.hold_at = hold_at
        self.holding = threading.Event()
        self.slowdown = slowdown
        self.cut = dict(cut or {})
        self.delay = delay
        self.requests: list[tuple[str, str, str | None]] = []
        self.lock = threading.Lock()
        self.seen: set[str] = set()
        months: dict[str, list[str]] = {}
        for path in files:
            months.setdefault(path.rsplit("/", 1)[0], []).append(path)
        for month, paths in (extra_paths or {}).items():
            months.setdefault(month, []).extend(paths)
        self.lists = {f"{month}/warc.paths.gz": gzip.compress(("\n".join(sorted(paths)) + "\n").encode())
                      for month, paths in months.items()}
        self.server = _QuietServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/``."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def file_gets(self, path: str) -> list[str | None]:
        """The Range header of every GET of ``path`` (None: from the start)."""
        return [r for m, p, r in self.requests if m == "GET" and p == "/" + path]

    def __enter__(self) -> ArchiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        archive = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_HEAD(self) -> None:  # noqa: N802
                self._serve(head=True)

            def do_GET(self) -> None:  # noqa: N802
                self._serve(head=False)

            def _serve(self, head: bool) -> None:
                path = self.path.lstrip("/")
                rng = self.headers.get("Range")
                with archive.lock:
                    archive.requests.append(("HEAD" if head else "GET", self.path, rng))
                    first = path not in archive.seen and not head
                    if first:
                        archive.seen.add(path)
                if path in archive.lists:
                    return self._send(200, archive.lists[path], "application/octet-stream", head)
                data = archive.files.get(path)
                if data is None:
                    return self._send(404, b"<?xml version='1.0'?><Error><Code>NoSuchKey</Code></Error>",
                                      "application/xml", head)
                if archive.slowdown and first:
                    return self._send(503, b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>SlowDown</Code>"
                                      b"<Message>Please reduce your request rate.</Message></Error>",
                                      "application/xml", head)
                start = 0
                status = 200
                if rng and rng.startswith("bytes="):
                    start = int(rng[6:].split("-")[0])
                    status = 206
                body = data[start:]
                self.send_response(status)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Accept-Ranges", "bytes")
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                if head:
                    return
                cut = archive.cut.pop(path, None) if start == 0 else None
                if cut is not None:
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                hold, half = archive.hold, int(len(body) * archive.hold_at)
                for index in range(0, len(body), 4096):
                    if hold > 0 and index <= half < index + 4096:
                        self.wfile.write(body[index:half])
                        self.wfile.flush()
                        archive.holding.set()
                        time.sleep(hold)
                        archive.holding.clear()
                        self.wfile.write(body[half:index + 4096])
                    else:
                        self.wfile.write(body[index:index + 4096])
                    if archive.delay:
                        time.sleep(archive.delay)

            def _send(self, status: int, body: bytes, ctype: str, head: bool) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

        return Handler


def write_registry(directory: Path) -> Path:
    """The test registry as a file in ``directory``."""
    path = directory / "sources.yaml"
    path.write_text(REGISTRY, encoding="utf-8")
    return path
