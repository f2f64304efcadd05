"""The head-only meta-refresh middleware (crawler/middlewares/meta_refresh.py) against Scrapy's own."""
from __future__ import annotations

import codecs

import pytest
from scrapy import Request
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.http import HtmlResponse, Response
from scrapy.utils.test import get_crawler

from crawler.middlewares.meta_refresh import HEAD_BYTES, HeadMetaRefreshMiddleware

FILLER = "<p>" + "Ünïcode filler text, " * 40 + "</p>\n"
REFRESH = '<meta http-equiv="refresh" content="0; url=/moved/ärticle">'


def page(head: str, charset: str | None = "utf-8", encoding: str = "utf-8", bom: bytes = b"") -> HtmlResponse:
    """A page well over HEAD_BYTES whose <head> holds ``head``."""
    html = f"<html><head>{head}</head><body>{FILLER * 200}</body></html>"
    headers = {"Content-Type": f"text/html; charset={charset}" if charset else "text/html"}
    return HtmlResponse("https://example.com/a", body=bom + html.encode(encoding), headers=headers)


def both(response: HtmlResponse) -> tuple[Response | Request, Response | Request]:
    """What Scrapy's middleware and ours make of the same response."""
    crawler = get_crawler()
    request = Request(response.url)
    stock = MetaRefreshMiddleware.from_crawler(crawler).process_response(request, response.copy())
    ours = HeadMetaRefreshMiddleware.from_crawler(crawler).process_response(request, response)
    return stock, ours


@pytest.mark.parametrize("response", [page(REFRESH), page(REFRESH, charset=None),
                                      page(REFRESH, charset="windows-1252", encoding="cp1252"),
                                      page(REFRESH, charset=None, encoding="utf-16-le", bom=codecs.BOM_UTF16_LE),
                                      page(REFRESH, charset="shift_jis")],
                         ids=["utf-8", "undeclared", "cp1252", "utf-16-bom", "lying-header"])
def test_a_meta_refresh_in_the_head_redirects_as_with_scrapy(response: HtmlResponse) -> None:
    assert len(response.body) > HEAD_BYTES
    stock, ours = both(response)
    assert isinstance(stock, Request) and isinstance(ours, Request)
    assert ours.url == stock.url and ours.meta.get("redirect_reasons") == stock.meta.get("redirect_reasons")


def test_a_page_without_refresh_is_passed_on_whole_and_not_decoded() -> None:
    response = page("<title>No refresh</title>")
    stock, ours = both(response)
    assert stock.__class__ is ours.__class__ and ours is response
    assert response._cached_ubody is None  # the whole page was never decoded


def test_a_refresh_past_the_first_4096_characters_is_ignored_as_with_scrapy() -> None:
    response = page("<title>x</title>" + " " * 5000 + REFRESH)
    stock, ours = both(response)
    assert isinstance(stock, HtmlResponse) and ours is response
