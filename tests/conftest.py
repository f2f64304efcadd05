"""Shared test helpers: the demo server, the CLI in a subprocess, record checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawler.demo.server import DemoServer
from pipelines.record import validation_errors

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "crawler" / "demo"


def autonews_cmd() -> list[str]:
    """The installed ``autonews`` console script next to this interpreter."""
    script = Path(sys.executable).parent / "autonews"
    assert script.exists(), f"console script missing: {script} (run pip install -e .)"
    return [str(script)]


def run_cli(*args: str, cwd: Path, timeout: float = 240, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run ``autonews ARGS`` in ``cwd`` and return the finished process (text mode)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    return subprocess.run([*autonews_cmd(), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, **kwargs)


def sealed_records(output: Path) -> list[dict[str, Any]]:
    """Every record in the sealed ``*.jsonl`` files under ``output`` (schema-checked)."""
    records = []
    for path in sorted(output.glob("articles*/*/*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            assert not validation_errors(record), (path, validation_errors(record))
            records.append(record)
    return records


def demo_manifest() -> list[dict[str, Any]]:
    """The demo site's expected.json entries."""
    return json.loads((DEMO / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture
def demo_server() -> Iterator[DemoServer]:
    """The bundled demo site served on 127.0.0.1 for one test."""
    with DemoServer() as server:
        yield server
