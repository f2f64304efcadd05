"""Settings whose values become parts of file names, checked before a crawl starts (exit status 2)."""

from __future__ import annotations

from scrapy.settings import BaseSettings

from pipelines.storage.naming import check_name

#: Settings that name output files (``pipelines.storage.naming``) and the run report.
PATH_NAME_SETTINGS = ("AUTONEWS_WORKER_ID", "AUTONEWS_REDIS_INSTANCE")


def check_path_names(settings: BaseSettings) -> None:
    """Raise ValueError when a setting that becomes part of a path holds anything but ``[A-Za-z0-9._-]``."""
    for key in PATH_NAME_SETTINGS:
        value = settings.get(key) or ""
        if value:
            check_name(key, value)
