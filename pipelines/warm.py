"""Load now what the crawl process's stages would otherwise load at their first article.

The near-duplicate signature imports numpy and the record check builds its jsonschema validator on
first use (~0.3 s of CPU together), which a crawl that writes nothing never pays. A run that will
certainly write (a backfill) calls :func:`warm_stages` while it waits for its first file (the jittered
start), instead of paying it on the reactor thread while its WARC readers want the GIL.
"""
from __future__ import annotations

from pipelines.dedupe.neardup import prepare as prepare_signatures
from pipelines.record import prepare_validator


def warm_stages() -> None:
    """Import and build the stages' lazily loaded parts (numpy's permutations, the record validator)."""
    prepare_signatures()
    prepare_validator()
