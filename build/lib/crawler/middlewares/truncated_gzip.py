"""Downloader middleware: a gzip body cut short is a failed request, not half an article."""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response

from crawler.discovery.gzipsafe import GzipError, GzipTruncated, inflate
from crawler.middlewares.failures import TruncatedBodyError


def gzip_truncated(body: bytes, limit: int) -> bool:
    """True if a gzip body stops before the end of its (last) member.

    Inflates at most about `limit` bytes (0 or less: no limit), keeping none of them:
    past the limit the answer is False, as a bomb is HttpCompressionMiddleware's to
    refuse. A corrupt stream is left to that middleware too (it raises on it): False.
    """
    try:
        for _ in inflate(body, limit if limit > 0 else None):
            pass
    except GzipTruncated:
        return True
    except GzipError:  # too large or corrupt: not ours to report
        return False
    return False


class TruncatedGzipMiddleware:
    """Fail responses whose gzip body is cut short instead of keeping the part that inflates.

    Scrapy's gunzip is deliberately lenient and returns a truncated page as if it were
    whole: a half article would be stored as the article. Must sit after (above)
    HttpCompressionMiddleware (590) so it sees the compressed body.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "TruncatedGzipMiddleware":
        """Build with the DOWNLOAD_MAXSIZE limit."""
        return cls(crawler.settings.getint("DOWNLOAD_MAXSIZE"))

    def process_response(self, request: Request, response: Response) -> Response:
        """Raise TruncatedBodyError for a gzip-encoded body that ends mid-stream."""
        encodings = b",".join(response.headers.getlist("Content-Encoding")).lower().split(b",")
        if request.method == "HEAD" or encodings[-1].strip() not in (b"gzip", b"x-gzip"):
            return response
        if gzip_truncated(response.body, self.limit):
            raise TruncatedBodyError(f"gzip body of {response.url} is truncated ({len(response.body)} bytes)")
        return response
