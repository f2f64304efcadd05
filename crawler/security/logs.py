"""Every log record of the process goes through ``pipelines.redact`` before any handler sees it.

A record factory rather than a handler filter: Scrapy replaces its root handler when a crawler
applies its settings, and libraries log through their own loggers; the factory sees them all,
Scrapy's "Overridden settings" line (which lists ``REDIS_URL``) included.
"""

from __future__ import annotations

import logging
from typing import Any

from pipelines.redact import redact

_installed = False


def install_log_redaction() -> None:
    """Install the redacting log record factory once per process (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    make_record = logging.getLogRecordFactory()

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string is the logging module's to report
            return record
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return record

    logging.setLogRecordFactory(redacting_factory)
