"""Log lines of dropped items: one line with the reason, never the item.

Scrapy's ``LogFormatter.dropped`` appends the whole item to the WARNING ("Dropped: not an
article: URL" followed by ``PageItem(… body=b'…' …)``): pages of raw HTML in a log, and an
unreadable one-off scrape. The URL is added when the reason does not name it already
(``duplicate_text of <first copy>``).
"""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from scrapy import Spider
from scrapy.http import Response
from scrapy.logformatter import LogFormatter, LogFormatterResult
from twisted.python.failure import Failure


class OneLineLogFormatter(LogFormatter):
    """Scrapy's log formatter with a one-line ``dropped`` message (``LOG_FORMATTER`` in crawler/settings.py)."""

    def dropped(self, item: Any, exception: BaseException, response: Response | Failure | None,
                spider: Spider) -> LogFormatterResult:
        """``Dropped: <reason>`` at the level Scrapy chose, without the item (its URL added when missing)."""
        result = super().dropped(item, exception, response, spider)
        reason = str(exception)
        try:
            url = ItemAdapter(item).get("url")
        except TypeError:  # not an item type itemadapter knows
            url = None
        if isinstance(url, str) and url not in reason:
            reason = f"{reason} ({url})"
        return {**result, "msg": "Dropped: %(reason)s", "args": {"reason": reason}}
