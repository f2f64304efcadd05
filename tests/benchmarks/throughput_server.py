"""Serve a directory with ``crawler.demo.server.DemoServer`` in its own process.

    python -m tests.benchmarks.throughput_server ROOT

Prints the base URL on the first stdout line, then serves until stdin closes, so the
benchmark's crawl does not share a process (or its GIL) with the server.
"""
from __future__ import annotations

import sys
from pathlib import Path

from crawler.demo.server import DemoServer


def main(argv: list[str] | None = None) -> int:
    """Serve ``ROOT`` on 127.0.0.1 (a free port) until stdin is closed."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    with DemoServer(root=Path(args[0])) as server:
        print(server.base_url, flush=True)
        sys.stdin.read()
    return 0


if __name__ == "__main__":
    sys.exit(main())
