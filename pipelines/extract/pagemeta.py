"""trafilatura's metadata of a page, each part read on first use.

``trafilatura.metadata.extract_metadata`` reads everything at once: the visible-byline search (a
deep copy of the page, ~4 ms), htmldate (another copy), categories, tags and a licence. Extraction
needs the byline only when no structured author is usable and htmldate only when the page declares
no date or its declared dates disagree, so :class:`PageMetadata` gives the same values as
``extract_metadata`` field by field, computing each only when asked (the licence never).
"""
from __future__ import annotations

import logging
from functools import cached_property
from html import unescape
from typing import Any

from htmldate import find_date
from lxml.html import HtmlElement
from trafilatura.metadata import (
    META_URL,
    examine_meta,
    extract_author,
    extract_catstags,
    extract_meta_json,
    extract_sitename,
    extract_title,
    extract_url,
)
from trafilatura.settings import Document
from trafilatura.utils import line_processing

from pipelines.extract.jsonauthors import linear_json_authors

LOGGER = logging.getLogger(__name__)
# no date may be invented from a copyright line: htmldate's extensive search is what reads those
DATE_PARAMS: dict[str, Any] = {"extensive_search": False, "original_date": True}


MAX_CHARS = 10000  # extract_metadata's cap on any string field


def _trim(value: str | None) -> str | None:
    """A string field as ``Document.clean_and_trim`` leaves it: capped, entities decoded, spaces collapsed."""
    if not isinstance(value, str):
        return value
    if len(value) > MAX_CHARS:
        value = value[: MAX_CHARS - 1] + "…"
    return line_processing(unescape(value))


class PageMetadata:
    """The fields of ``extract_metadata(tree, url, DATE_PARAMS, False, set())``, each computed when first read.

    The tree must not change while this object is in use (extraction only reads it after comment
    sections are dropped).
    """

    def __init__(self, tree: HtmlElement, url: str | None) -> None:
        self.tree = tree
        self.default_url = url

    @cached_property
    def _declared(self) -> Document:
        """What <meta> and JSON-LD say (cheap: no search of the page body)."""
        metadata = examine_meta(self.tree)
        if metadata.author and " " not in metadata.author:
            metadata.author = None  # as extract_metadata: a one-word author is a handle or a site
        try:
            with linear_json_authors():  # trafilatura's own search is quadratic in a broken JSON-LD's length
                metadata = extract_meta_json(self.tree, metadata)
        except Exception as err:  # noqa: BLE001 - bugs in trafilatura's json_metadata, as extract_metadata
            LOGGER.warning("error in JSON metadata extraction: %s", err)
        return metadata

    @cached_property
    def title(self) -> str | None:
        """The declared title, else trafilatura's search (single <h1>, title XPaths, <title>)."""
        return _trim(self._declared.title or extract_title(self.tree))

    @cached_property
    def author(self) -> str | None:
        """Declared authors ("A; B"), else the visible byline trafilatura finds (the costly search)."""
        return _trim(self._declared.author) if self._declared.author else self.visible_author

    @cached_property
    def visible_author(self) -> str | None:
        """The byline trafilatura's author XPaths find in the visible page, whatever is declared."""
        return _trim(extract_author(self.tree))

    @cached_property
    def url(self) -> str | None:
        """The declared or canonical URL, else the fetched one."""
        return self._declared.url or extract_url(self.tree, self.default_url)

    @cached_property
    def date(self) -> str | None:
        """htmldate's publication date (no extensive search: it would read copyright years)."""
        return _trim(find_date(self.tree, **DATE_PARAMS, url=self.url))

    @cached_property
    def sitename(self) -> str | None:
        """The declared site name, else one from <title> or the URL's host (as extract_metadata)."""
        sitename = self._declared.sitename or extract_sitename(self.tree)
        if sitename:
            sitename = sitename.lstrip("@")
            if sitename and "." not in sitename and not sitename[0].isupper():
                sitename = sitename.title()
            return _trim(sitename)
        if self.url and (match := META_URL.match(self.url)):
            return _trim(str(match[1]))
        return None

    @property
    def description(self) -> str | None:
        """The declared description."""
        return _trim(self._declared.description)

    @property
    def image(self) -> str | None:
        """The declared image URL."""
        return _trim(self._declared.image)

    @cached_property
    def categories(self) -> list[str]:
        """Declared categories, else category links of the page."""
        return list(self._declared.categories or extract_catstags("category", self.tree))

    @cached_property
    def tags(self) -> list[str]:
        """Declared tags, else tag links of the page."""
        return list(self._declared.tags or extract_catstags("tag", self.tree))
