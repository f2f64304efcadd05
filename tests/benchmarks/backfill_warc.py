"""Generated CC-NEWS month for the backfill benchmark: WARC files, ``warc.paths.gz`` and a registry.

Like a CC-NEWS file: one gzip member per record, WARC/1.0, a ``request`` record before each
``response``, block and payload digests (fundus reads with ``verify_digests=True``). About 1 % of
the records are registry articles: the fundus-publishers pages (real publisher URLs that fundus'
own publisher table recognises, each used once). The rest is filler of other hosts: real news and
blog pages of the two other sets of ``../shared/bench`` (varied sizes, ~180 KB on average), plus
non-HTML payloads, non-200 responses and a revisit record. Written once into a cache directory
outside the repository and reused while the parameters are the same.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import random
import re
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

FORMAT_VERSION = 1
"""Raised when the generated data changes, so an old cache is not reused."""
MONTH = (2024, 5)
"""The CC-NEWS month the files are dated in (fundus refuses dates before 2016-08 and in the future)."""
ARTICLE_SHARE = 0.01
"""Share of all records that are registry articles (while fundus-publishers pages last)."""
FILLER_SETS = ("article-extraction-benchmark", "trafilatura-eval")


@dataclass(frozen=True, slots=True)
class Article:
    """A registry page to place in the WARC: its key, URL, fundus publisher path and page."""

    key: str
    url: str
    publisher: str
    """``country.Name`` in ``fundus.PublisherCollection``."""
    html: bytes


def _sha1(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def _member(headers: list[tuple[str, str]], block: bytes, level: int = 6) -> bytes:
    """One WARC record as its own gzip member."""
    head = "WARC/1.0\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers)
    head += f"Content-Length: {len(block)}\r\n\r\n"
    packer = zlib.compressobj(level, zlib.DEFLATED, 31)
    return packer.compress(head.encode()) + packer.compress(block) + packer.compress(b"\r\n\r\n") + packer.flush()


def _warc_headers(kind: str, url: str, when: datetime, content_type: str) -> list[tuple[str, str]]:
    return [("WARC-Type", kind), ("WARC-Date", when.strftime("%Y-%m-%dT%H:%M:%SZ")),
            ("WARC-Record-ID", f"<urn:uuid:{uuid.uuid4()}>"), ("WARC-Target-URI", url),
            ("Content-Type", content_type)]


def request_record(url: str, when: datetime) -> bytes:
    """A ``request`` record (CC-NEWS keeps the GET that fetched each page)."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    block = (f"GET {path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\nUser-Agent: CCBot/2.0\r\n"
             "Accept: text/html,application/xhtml+xml\r\nAccept-Encoding: gzip\r\n\r\n").encode()
    headers = _warc_headers("request", url, when, "application/http; msgtype=request")
    return _member([*headers, ("WARC-Block-Digest", _sha1(block))], block)


def response_record(url: str, when: datetime, status: str, content_type: str, payload: bytes,
                    extra: str = "") -> bytes:
    """A ``response`` record with an HTTP head and ``payload``."""
    head = (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(payload)}\r\n"
            f"Server: nginx\r\n{extra}\r\n").encode()
    block = head + payload
    headers = _warc_headers("response", url, when, "application/http; msgtype=response")
    return _member([*headers, ("WARC-Payload-Digest", _sha1(payload)), ("WARC-Block-Digest", _sha1(block)),
                    ("WARC-IP-Address", "192.0.2.1")], block)


def revisit_record(url: str, when: datetime, payload_of: bytes) -> bytes:
    """A ``revisit`` record (identical payload): headers only."""
    block = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    headers = _warc_headers("revisit", url, when, "application/http; msgtype=response")
    return _member([*headers, ("WARC-Profile", "http://netpreserve.org/warc/1.0/revisit/identical-payload-digest"),
                    ("WARC-Refers-To-Target-URI", url), ("WARC-Payload-Digest", _sha1(payload_of)),
                    ("WARC-Block-Digest", _sha1(block))], block)


def host_of(url: str) -> str:
    """Lower-case host without ``www.``."""
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def _filler_pages(bench: Path, registry_hosts: set[str]) -> list[tuple[str, bytes]]:
    """(host, page) of the other sets' pages whose hosts are no registry source's."""
    pages: list[tuple[str, bytes]] = []
    for name in FILLER_SETS:
        truth = json.loads((bench / name / "ground-truth.json").read_text(encoding="utf-8"))
        for key, entry in sorted(truth.items()):
            file = bench / name / "html" / f"{key}.html.gz"
            host = host_of(entry.get("url") or "")
            if not file.is_file() or not host or host in registry_hosts or "." not in host:
                continue
            if any(host.endswith("." + known) for known in registry_hosts):
                continue
            pages.append((host, gzip.decompress(file.read_bytes())))
    return pages


def _article_day(key: str) -> datetime:
    """The fixture's year and month (``cc_Publisher_YYYY_MM_NN``) as the capture time: fundus picks the
    parser version valid at a record's date."""
    match = re.search(r"_(\d{4})_(\d{2})_\d+$", key)
    year, month = (int(match[1]), int(match[2])) if match else MONTH
    return datetime(year, month, 15, 12, tzinfo=timezone.utc)


def registry_yaml(urls: list[str]) -> str:
    """A registry with one source per host of the articles' ``urls`` (the WARC's other hosts are no source's)."""
    lines = ["# Generated by tests/benchmarks/backfill_warc.py: the fundus publishers' hosts in the WARC.",
             "sources:"]
    for host in sorted({host_of(url) for url in urls}):
        name = re.sub(r"[^a-z0-9]+", "-", host).strip("-")
        lines += [f"  - name: {name}", f"    start_urls: ['https://{host}/']"]
    return "\n".join(lines) + "\n"


def _stream(articles: list[Article], filler: list[tuple[str, bytes]], target: int,
            rng: random.Random) -> Iterator[tuple[bytes, bool, int]]:
    """Members until about ``target`` bytes: (member, is_article, records in it)."""
    written = 0
    serial = 0
    spacing = round(1 / ARTICLE_SHARE)  # records between two articles
    next_article = rng.randrange(spacing // 2, spacing)
    records = 0
    start = datetime(*MONTH, 1, tzinfo=timezone.utc)
    queue = list(articles)
    revisit_at = target // 2
    revisited = False
    while written < target:
        serial += 1
        when = start + timedelta(seconds=serial * 7)
        if queue and records >= next_article:
            article = queue.pop(0)
            member = request_record(article.url, _article_day(article.key)) + response_record(
                article.url, _article_day(article.key), "200 OK", "text/html; charset=utf-8", article.html)
            next_article += spacing
            yield member, True, 2
            written += len(member)
            records += 2
            continue
        host, page = filler[rng.randrange(len(filler))]
        url = f"https://www.{host}/news/{when:%Y/%m/%d}/story-{serial}.html"
        roll = rng.random()
        if not revisited and written >= revisit_at:
            member, count = revisit_record(url, when, page), 1
            revisited = True
        elif roll < 0.04:  # an image or a JSON feed: not HTML
            kind = rng.choice(("image/jpeg", "application/json"))
            payload = rng.randbytes(rng.randrange(5_000, 60_000)) if kind == "image/jpeg" else \
                json.dumps({"items": [f"story-{serial}-{n}" for n in range(rng.randrange(50, 800))]}).encode()
            member = request_record(url, when) + response_record(url, when, "200 OK", kind, payload)
            count = 2
        elif roll < 0.08:  # a redirect or a missing page
            status = rng.choice(("301 Moved Permanently", "404 Not Found"))
            extra = f"Location: https://www.{host}/news/\r\n" if status.startswith("301") else ""
            payload = b"" if extra else b"<html><body><h1>Not found</h1></body></html>"
            member = request_record(url, when) + response_record(url, when, status, "text/html", payload, extra)
            count = 2
        else:  # a news page of another host (a marker keeps each record's digest its own)
            payload = page.replace(b"</body>", f"<!-- capture {serial} --></body>".encode(), 1)
            member = request_record(url, when) + response_record(url, when, "200 OK", "text/html; charset=utf-8",
                                                                 payload)
            count = 2
        yield member, False, count
        written += len(member)
        records += count


def generate(bench: Path, articles: list[Article], root: Path, size_mb: int, files: int,
             seed: int = 22) -> dict[str, object]:
    """Write the month under ``root`` (``crawl-data/CC-NEWS/YYYY/MM/``) and ``registry.yaml``; the facts as a dict."""
    rng = random.Random(seed)
    registry_hosts = {host_of(article.url) for article in articles}
    filler = _filler_pages(bench, registry_hosts)
    month_dir = root / "crawl-data" / "CC-NEWS" / f"{MONTH[0]:04d}" / f"{MONTH[1]:02d}"
    month_dir.mkdir(parents=True, exist_ok=True)
    target = size_mb * 1_000_000
    per_file = -(-target // files)
    names: list[str] = []
    records = kept = 0
    handle = None
    file_bytes = 0
    for member, is_article, count in _stream(articles, filler, target, rng):
        if handle is None or file_bytes >= per_file:
            if handle is not None:
                handle.close()
            stamp = datetime(*MONTH, 1, tzinfo=timezone.utc) + timedelta(hours=6 * len(names))
            name = f"CC-NEWS-{stamp:%Y%m%d%H%M%S}-{len(names):05d}.warc.gz"
            names.append(name)
            handle = (month_dir / name).open("wb")
            file_bytes = 0
        handle.write(member)
        file_bytes += len(member)
        records += count
        kept += is_article
    if handle is not None:
        handle.close()
    paths = "".join(f"crawl-data/CC-NEWS/{MONTH[0]:04d}/{MONTH[1]:02d}/{name}\n" for name in names)
    (month_dir / "warc.paths.gz").write_bytes(gzip.compress(paths.encode()))
    facts: dict[str, object] = {
        "version": FORMAT_VERSION, "files": [f"crawl-data/CC-NEWS/{MONTH[0]:04d}/{MONTH[1]:02d}/{name}" for name in names],
        "bytes": sum((month_dir / name).stat().st_size for name in names), "records": records,
        "articles": kept, "article_urls": [article.url for article in articles[:kept]],
        "publishers": sorted({article.publisher for article in articles[:kept]}),
        "filler_pages": len(filler), "month": f"{MONTH[0]:04d}-{MONTH[1]:02d}",
    }
    (root / "facts.json").write_text(json.dumps(facts, indent=1), encoding="utf-8")
    return facts


def load_articles(bench: Path, fundus_matches: dict[str, str]) -> list[Article]:
    """The fundus-publishers pages that fundus itself maps to a publisher (``fundus_matches``: key -> publisher path)."""
    folder = bench / "fundus-publishers"
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    return [Article(key, truth[key]["url"], fundus_matches[key], gzip.decompress((folder / "html" / f"{key}.html.gz")
                                                                                  .read_bytes()))
            for key in sorted(truth) if key in fundus_matches]
