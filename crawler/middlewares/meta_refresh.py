"""Downloader middleware: Scrapy's meta-refresh redirects, read from the head of the page only.

Scrapy's ``MetaRefreshMiddleware`` looks for ``<meta http-equiv=refresh>`` in the first 4,096
characters of ``response.text``, but ``response.text`` decodes the whole body and keeps the decoded
copy on the response for as long as the response lives (through extraction, in this crawl): for every
article page, a second copy of the page in memory and a decode of all of it in the reactor process.
This subclass hands it a copy of the response cut to its first :data:`HEAD_BYTES` bytes, decoded with
the encoding Scrapy finds for the whole response, which gives the same first 4,096 characters.
"""

from __future__ import annotations

from scrapy import Request, Spider
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.http import HtmlResponse, Response

HEAD_BYTES = 32 * 1024
"""Bytes of the body that hold at least 4,096 characters in any encoding (UTF-8 and UTF-16 take at most 4
bytes per character; the stateful ones a few more)."""


class HeadMetaRefreshMiddleware(MetaRefreshMiddleware):
    """``MetaRefreshMiddleware`` that never decodes more than the head of a page (replaces it at 580)."""

    def process_response(self, request: Request, response: Response, spider: Spider | None = None
                         ) -> Request | Response:
        """Follow a meta refresh as Scrapy does; the response passed on is the whole one."""
        if not isinstance(response, HtmlResponse) or len(response.body) <= HEAD_BYTES:
            return super().process_response(request, response)
        # response.encoding: the header's, the BOM's or <meta charset>'s (cheap), or inferred from the body
        head = response.replace(body=response.body[:HEAD_BYTES], encoding=response.encoding)
        result = super().process_response(request, head)
        return response if result is head else result
