"""A static file server on 127.0.0.1 for the backfill benchmark: HEAD, GET and ``Range: bytes=N-[M]``.

It serves a generated CC-NEWS tree (``crawl-data/CC-NEWS/YYYY/MM/...``) to every contender alike and
logs each WARC transfer (path, start, end, bytes), so a contender's scan window is measured the
same way whatever its internals: from its first WARC request to the last WARC byte it was sent.
Files go out with ``socket.sendfile`` so the server's own CPU stays small next to the readers'.
It stops by itself after ``lifetime`` seconds (a forgotten server cannot outlive the benchmark).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_RANGE = re.compile(r"bytes=(\d{1,15})-(\d{0,15})")


@dataclass(frozen=True, slots=True)
class Transfer:
    """One WARC response sent: path, when it was asked for and finished (``time.monotonic``), bytes sent."""

    path: str
    started: float
    ended: float
    sent: int


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        """Quiet: the benchmark prints its own table."""

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        """Headers of a file, as for GET."""
        self._serve(body=False)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        """A file, or the byte range asked for."""
        self._serve(body=True)

    def _serve(self, body: bool) -> None:
        started = time.monotonic()
        relative = self.path.split("?", 1)[0].lstrip("/")
        target = (self.server.root / relative).resolve()
        if self.server.root not in target.parents or not target.is_file():
            self.send_error(404)
            return
        size = target.stat().st_size
        first, last, status = 0, size - 1, 200
        wanted = self.headers.get("Range")
        if wanted:
            match = _RANGE.fullmatch(wanted.strip())
            if match is None or int(match[1]) >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            first = int(match[1])
            last = min(int(match[2]), size - 1) if match[2] else size - 1
            status = 206
        length = last - first + 1
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream" if relative.endswith(".gz") else "text/plain")
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.end_headers()
        if not body:
            return
        sent = 0
        try:
            with target.open("rb") as handle:
                sent = self.connection.sendfile(handle, first, length)
        except (BrokenPipeError, ConnectionResetError):  # a reader that stops early (fundus' pool at exit)
            self.close_connection = True
        if relative.endswith(".warc.gz"):
            self.server.record(Transfer(relative, started, time.monotonic(), sent))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root.resolve()
        self.transfers: list[Transfer] = []
        self._lock = threading.Lock()

    def record(self, transfer: Transfer) -> None:
        """Log a finished WARC transfer."""
        with self._lock:
            self.transfers.append(transfer)


class RangeServer:
    """``with RangeServer(root) as server:`` serves ``root`` at ``server.base_url`` (ends with ``/``)."""

    def __init__(self, root: Path, lifetime: float = 3600.0) -> None:
        self._server = _Server(root)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="bench-warc-server", daemon=True)
        self._timer = threading.Timer(lifetime, self._server.shutdown)
        self._timer.daemon = True
        host, port = self._server.server_address[:2]
        self.base_url = f"http://{host}:{port}/"

    def __enter__(self) -> RangeServer:
        self._thread.start()
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def take_transfers(self) -> list[Transfer]:
        """The WARC transfers logged since the last call (and forget them)."""
        with self._server._lock:  # noqa: SLF001 - the server is this class's own
            taken, self._server.transfers = self._server.transfers, []
        return taken
