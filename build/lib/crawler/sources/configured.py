"""The registry a crawl uses, as its settings select it (one way, for the CLI, the spider and seeding)."""

from __future__ import annotations

from scrapy.settings import BaseSettings

from crawler.sources.registry import DEFAULT_SOURCES, Source, load_sources


def configured_sources(settings: BaseSettings) -> list[Source]:
    """Load ``AUTONEWS_SOURCES`` (default: the bundled registry), ``AUTONEWS_SOURCE_NAMES`` of it,
    with ``AUTONEWS_SUBSTITUTIONS`` applied; raises ``SourceError`` or ``OSError``."""
    return load_sources(settings.get("AUTONEWS_SOURCES") or DEFAULT_SOURCES,
                        names=settings.getlist("AUTONEWS_SOURCE_NAMES"),
                        substitutions=settings.getdict("AUTONEWS_SUBSTITUTIONS") or None)
