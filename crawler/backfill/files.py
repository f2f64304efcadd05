"""Which WARC files a backfill reads: local paths, http(s) URLs, a list file, or CC-NEWS months.

CC-NEWS (``--cc-news --from --to``): Common Crawl lists each month's files in
``crawl-data/CC-NEWS/YYYY/MM/warc.paths.gz`` under ``AUTONEWS_CC_NEWS_URL``; a file's name carries
the time its crawl began (``CC-NEWS-YYYYMMDDHHMMSS-NNNNN.warc.gz``), which selects it, oldest first.
Only the months in the range are listed, and only the selected files are ever fetched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from crawler.backfill.http import ArchiveClient, ArchiveError
from crawler.discovery.gzipsafe import GzipError, inflate

CC_NEWS_URL = "https://data.commoncrawl.org/"
"""Where CC-NEWS lives (``AUTONEWS_CC_NEWS_URL``): its ``crawl-data/CC-NEWS/`` tree."""
MAX_LIST_BYTES = 4 * 1024 * 1024
"""A month's ``warc.paths.gz`` is ~20 KB; anything past this is not one."""
_CC_NEWS_NAME = re.compile(r"CC-NEWS-(\d{8})\d{6}-\d{1,10}\.warc(?:\.gz)?$")
WARC_SUFFIXES = (".warc.gz", ".warc")


@dataclass(frozen=True, slots=True)
class WarcFile:
    """One WARC file to read."""

    name: str
    """Its key in the state and in records' ``warc.file``: the CC-NEWS path, the URL, or the absolute path."""
    location: str
    """Where to read it: an http(s) URL or a local path."""

    @property
    def remote(self) -> bool:
        """Whether it is fetched over http(s)."""
        return urlsplit(self.location).scheme.lower() in ("http", "https")

    def to_json(self) -> dict[str, str]:
        """The file as a JSON object (a distributed backfill's unit of work)."""
        return {"name": self.name, "location": self.location}

    @classmethod
    def from_json(cls, data: object) -> WarcFile:
        """The file of :meth:`to_json`'s object; ValueError for anything else (the queue is untrusted)."""
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) and data.get(k) for k in ("name", "location")):
            raise ValueError("not a WARC file entry")
        return cls(data["name"], data["location"])


def local_files(target: str) -> list[WarcFile]:
    """The WARC files a local path names: the file, or every ``*.warc(.gz)`` under a directory, sorted.

    Raises ValueError when the path is neither.
    """
    path = Path(target[len("file://"):] if target.startswith("file://") else target).expanduser()
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(WARC_SUFFIXES))
        return [WarcFile(str(p.resolve()), str(p.resolve())) for p in found]
    if path.is_file():
        return [WarcFile(str(path.resolve()), str(path.resolve()))]
    raise ValueError(f"{target!r} is neither a URL nor an existing file or directory")


def named_files(targets: list[str]) -> list[WarcFile]:
    """The files ``--warc`` / ``--warc-list`` name, in the given order, each once."""
    files: dict[str, WarcFile] = {}
    for raw in targets:
        target = raw.strip()
        if not target or target.startswith("#"):
            continue
        scheme = urlsplit(target).scheme.lower()
        if scheme in ("http", "https"):
            found = [WarcFile(target, target)]
        elif "://" in target and scheme != "file":
            raise ValueError(f"{target!r}: only http(s) URLs and local paths can be read")
        else:
            found = local_files(target)
        for wfile in found:
            files.setdefault(wfile.name, wfile)
    return list(files.values())


def read_list(path: str) -> list[str]:
    """The lines of a ``--warc-list`` file."""
    return Path(path).read_text(encoding="utf-8").splitlines()


def months(start: date, end: date) -> list[tuple[int, int]]:
    """Every (year, month) from ``start``'s to ``end``'s, in order."""
    result = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        result.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return result


def file_day(path: str) -> date | None:
    """The day a CC-NEWS file's crawl began, from its name; None for another name."""
    match = _CC_NEWS_NAME.search(path)
    if match is None:
        return None
    stamp = match.group(1)
    try:
        return date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:8]))
    except ValueError:
        return None


def select_paths(paths: list[str], start: date, end: date) -> list[str]:
    """The CC-NEWS paths whose names date them within ``start``..``end`` (both inclusive), oldest first."""
    chosen = []
    for path in paths:
        day = file_day(path)
        if day is not None and start <= day <= end and path.startswith("crawl-data/CC-NEWS/") and ".." not in path:
            chosen.append(path)
    return sorted(set(chosen), key=lambda p: (Path(p).name, p))


def cc_news_files(client: ArchiveClient, base: str, start: date, end: date,
                  on_missing: object = None) -> list[WarcFile]:
    """The CC-NEWS files crawled from ``start`` to ``end``, oldest first.

    A month whose list is not there (404: not published yet) is skipped and reported to ``on_missing``
    (a callable taking the list's URL), if given; any other failure raises ArchiveError.
    """
    base = base if base.endswith("/") else base + "/"
    paths: list[str] = []
    for year, month in months(start, end):
        url = urljoin(base, f"crawl-data/CC-NEWS/{year:04d}/{month:02d}/warc.paths.gz")
        try:
            data = client.get_bytes(url, MAX_LIST_BYTES)
        except ArchiveError as exc:
            if exc.label == "http_404" and callable(on_missing):
                on_missing(url)
                continue
            raise
        try:  # inflated within a bound: the list comes from the network
            text = b"".join(inflate(data, 16 * MAX_LIST_BYTES)) if data[:2] == b"\x1f\x8b" else data
        except GzipError as exc:
            raise ArchiveError(f"{url}: not a usable gzip file ({exc})", "bad_list") from None
        paths += text.decode("utf-8", "replace").split()
    return [WarcFile(path, urljoin(base, path)) for path in select_paths(paths, start, end)]
