"""Filesystem HTTP cache storage that never unpickles, never stores credentials, and keeps its files private.

Scrapy's ``FilesystemCacheStorage`` reads each entry's metadata with ``pickle.load`` (file
``pickled_meta``, plus ``response_data``): anyone able to write into the cache directory runs
code in the next crawl. It also stores the response's ``Set-Cookie`` and the request's
``Authorization`` headers, in files other users can read. :class:`JsonFilesystemCacheStorage`
keeps Scrapy's layout (``<dir>/<spider>/<fp[:2]>/<fp>/``, raw header files, body files) with
these differences:

- the metadata is JSON in ``meta.json``; ``pickled_meta``, ``response_data`` and ``meta`` are
  never read, never written, and removed when an entry is rewritten: an entry without
  ``meta.json`` (one written by plain Scrapy, or a planted one) is a cache miss;
- :data:`PRIVATE_HEADERS` are left out of every file, request and response alike;
- directories are created 0700 and files 0600, the cache root is closed to other users
  when a crawl opens it (it may hold entries an older version wrote 0644), and files are opened
  without following symbolic links;
- ``meta.json`` is removed first and written last (through a rename), so an entry cut short by a
  crash is a miss rather than a body paired with other headers.

The response class is guessed from the headers, URL and body (as for entries that predate
``Response.to_dict``) instead of being imported from a name stored on disk.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from time import time
from typing import IO, Any

from scrapy import Request, Spider
from scrapy.extensions.httpcache import FilesystemCacheStorage
from scrapy.http import Response
from scrapy.utils.response import response_from_dict
from w3lib.http import headers_dict_to_raw, headers_raw_to_dict

PRIVATE_HEADERS: frozenset[bytes] = frozenset(
    {b"set-cookie", b"set-cookie2", b"cookie", b"authorization", b"proxy-authorization"})
"""Headers (lower case) never written to the cache: sessions and credentials."""

META_FILE = "meta.json"
LEGACY_FILES = ("pickled_meta", "response_data", "meta")
"""What Scrapy's own storage writes beside the bodies: pickles (and a ``repr``), never read here."""
DIR_MODE = 0o700
FILE_MODE = 0o600


class JsonFilesystemCacheStorage(FilesystemCacheStorage):
    """``HTTPCACHE_STORAGE`` of autonews: Scrapy's filesystem layout with JSON metadata (module docstring)."""

    def open_spider(self, spider: Spider) -> None:
        """Create the cache root (0700) and close an existing one of ours to other users."""
        super().open_spider(spider)
        os.makedirs(self.cachedir, mode=DIR_MODE, exist_ok=True)
        info = os.lstat(self.cachedir)
        # Only our own real directory: never chmod through a symlink or someone else's directory.
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and info.st_mode & 0o077:
            os.chmod(self.cachedir, DIR_MODE)

    def retrieve_response(self, spider: Spider, request: Request) -> Response | None:
        """Return the cached response, or None when there is no (unexpired) entry with ``meta.json``."""
        metadata = self._read_meta(spider, request)
        if metadata is None:
            return None
        rpath = Path(self._get_request_path(spider, request))
        headers = _public(headers_raw_to_dict(self._read(rpath / "response_headers")))
        response = response_from_dict({
            "url": metadata["response_url"],
            "status": metadata["status"],
            "headers": headers,
            "body": self._read(rpath / "response_body"),
        })
        request.meta["cache_timestamp"] = metadata["timestamp"]
        return response

    def store_response(self, spider: Spider, request: Request, response: Response) -> None:
        """Write the entry: headers without :data:`PRIVATE_HEADERS`, bodies, then ``meta.json``."""
        rpath = Path(self._get_request_path(spider, request))
        self._make_dirs(rpath)
        # Invalidate first: until meta.json is back, a half-rewritten entry reads as a miss.
        for name in (META_FILE, *LEGACY_FILES):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(rpath / name)
        self._write(rpath / "response_headers", headers_dict_to_raw(_public(response.headers)))
        self._write(rpath / "response_body", response.body)
        self._write(rpath / "request_headers", headers_dict_to_raw(_public(request.headers)))
        self._write(rpath / "request_body", request.body)
        metadata = {
            "url": request.url,
            "method": request.method,
            "status": response.status,
            "response_url": response.url,
            "timestamp": time(),
        }
        temporary = rpath / f"{META_FILE}.tmp"
        self._write(temporary, json.dumps(metadata, sort_keys=True).encode("utf-8"))
        os.replace(temporary, rpath / META_FILE)

    def _read_meta(self, spider: Spider, request: Request) -> dict[str, Any] | None:
        """The entry's ``meta.json``, checked; None when missing or expired (never ``pickled_meta``)."""
        metapath = Path(self._get_request_path(spider, request)) / META_FILE
        try:
            with self._open_private(metapath) as (handle, mtime):
                raw = handle.read()
        except FileNotFoundError:
            return None
        if 0 < self.expiration_secs < time() - mtime:
            return None
        metadata = json.loads(raw.decode("utf-8"))
        # A malformed entry raises: HttpCacheMiddleware counts httpcache/retrieve_error and treats it as a miss.
        if not (isinstance(metadata, dict) and isinstance(metadata.get("response_url"), str)
                and type(metadata.get("status")) is int  # noqa: E721 (not a bool)
                and isinstance(metadata.get("timestamp"), (int, float))):
            raise ValueError(f"malformed cache metadata in {metapath}")
        return metadata

    def _make_dirs(self, rpath: Path) -> None:
        """Create ``<spider>/<fp[:2]>/<fp>`` under the root, each level 0700 (``mkdir -p`` would use the umask)."""
        os.makedirs(self.cachedir, mode=DIR_MODE, exist_ok=True)
        path = Path(self.cachedir)
        for part in rpath.relative_to(self.cachedir).parts:
            path = path / part
            with contextlib.suppress(FileExistsError):
                os.mkdir(path, DIR_MODE)

    @contextlib.contextmanager
    def _open_private(self, path: Path) -> Iterator[tuple[IO[bytes], float]]:
        """Open a cache file for reading without following a symlink; yield it (gunzipped if set) and its mtime."""
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with open(fd, "rb") as raw:
            mtime = os.fstat(raw.fileno()).st_mtime
            if self.use_gzip:
                with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                    yield unzipped, mtime
            else:
                yield raw, mtime

    def _read(self, path: Path) -> bytes:
        with self._open_private(path) as (handle, _):
            return handle.read()

    def _write(self, path: Path, data: bytes) -> None:
        """Write a new file at ``path``, mode 0600: whatever was there (a file, a symlink) is replaced, not followed."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
        with open(fd, "wb") as raw:
            if self.use_gzip:
                with gzip.GzipFile(fileobj=raw, mode="wb") as zipped:
                    zipped.write(data)
            else:
                raw.write(data)


def _public(headers: Any) -> dict[bytes, list[bytes]]:
    """The headers without :data:`PRIVATE_HEADERS` (a Scrapy ``Headers`` or a plain dict of bytes)."""
    public: dict[bytes, list[bytes]] = {}
    for name, values in headers.items():
        key = name if isinstance(name, bytes) else str(name).encode("latin-1")
        if key.lower() not in PRIVATE_HEADERS:
            public[key] = list(values) if isinstance(values, (list, tuple)) else [values]
    return public
