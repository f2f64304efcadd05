"""Downloader middleware: a redirect back into its own chain is counted as a redirect loop."""

from __future__ import annotations

from urllib.parse import urldefrag, urljoin

from scrapy import Request
from scrapy.http import Response
from w3lib.url import safe_url_string

from crawler.middlewares.failures import RedirectLoopError


class RedirectLoopMiddleware:
    """Fail a redirect back to a URL already in its own chain (A -> B -> A) as a redirect loop.

    Left alone, the duplicate filter drops the repeated request silently: no errback, no
    error counted. Must sit after (above) RedirectMiddleware (600) to see the 3xx first.
    """

    _REDIRECTS = frozenset((301, 302, 303, 307, 308))

    def process_response(self, request: Request, response: Response) -> Response:
        """Raise RedirectLoopError when the Location target was already visited in this chain."""
        location = response.headers.get("Location")
        if response.status not in self._REDIRECTS or not location or request.meta.get("dont_redirect"):
            return response
        target = urldefrag(urljoin(request.url, safe_url_string(location)))[0]
        visited = {urldefrag(u)[0] for u in (*request.meta.get("redirect_urls", ()), request.url)}
        if target in visited:
            raise RedirectLoopError(f"redirect loop: {request.url} -> {target}")
        return response
