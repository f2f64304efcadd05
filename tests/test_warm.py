"""The stages' lazily loaded parts can be loaded ahead (pipelines/warm.py): what a backfill does while its
readers wait for their jittered start, instead of on the reactor thread while they read."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_PROBE = """
import sys
import crawler.spiders.backfill  # the spider that calls warm_stages: importing it loads neither
import pipelines.record as record
assert "numpy" not in sys.modules and "jsonschema" not in sys.modules, "loaded before warm_stages"
assert record._validator.cache_info().currsize == 0
from pipelines.warm import warm_stages
warm_stages()
from pipelines.dedupe import neardup
assert "numpy" in sys.modules and "jsonschema" in sys.modules
assert record._validator.cache_info().currsize == 1 and neardup._permutations.cache_info().currsize == 1
print("ok")
"""


def test_warm_stages_loads_numpy_and_the_validator_and_importing_the_spider_does_not() -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
