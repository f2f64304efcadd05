"""trafilatura's two ``OVERALL_DISCARD_XPATH`` expressions evaluated in Python: the same elements, in order.

Every extraction pass prunes its tree with these two expressions (navigation, share bars, cookie banners,
hidden blocks). Their tests are EXSLT regular expressions, which libxml2 runs by calling back into Python
for every element (the second has no tag test, so for every element of the page): after
:mod:`pipelines.extract.prune` they were the largest piece of trafilatura's cost left, ~12 % of extraction,
and unlike the comment prunes they match on nearly every page, so they cannot be skipped.

Here a plain XPath (no callback) picks the elements that could match at all (the first expression's tags
with any attribute; any element with an ``id``, ``class``, ``style`` or ``aria-hidden``), and Python runs
the expression's tests on their attributes, with the expression's own regular expressions (read from its
text). XPath semantics kept: a missing attribute is the empty string; ``@id|@class`` is the first of the
two in the element's attribute order (document order of attribute nodes); ``translate``,
``starts-with``, ``contains`` and ``=`` are the string operations they name. None of the regular
expressions matches the empty string, so an element without the attributes cannot match (checked at
import). Measured on the 787 pages of the three benchmark sets: the same elements on every page, in half
the time.

Only the exact expressions this was written for are replaced (their texts' sha256 below): a trafilatura
whose expressions differ is evaluated as it is. tests/test_extract_prune.py compares the results with
libxml2's on every fixture page.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from typing import Any

from lxml.etree import XPath
from lxml.html import HtmlElement
from trafilatura.xpaths import OVERALL_DISCARD_XPATH

Evaluator = Callable[[HtmlElement], list[Any]]

#: sha256 of trafilatura 2.3.1's two OVERALL_DISCARD_XPATH texts, which the evaluators below reproduce
EXPECTED_SHA256 = ("a837e58a1b1ea116ce1dada53d856dec093fe9f64b37dc503698e30f96a87dd3",
                   "c1d5b70b8cd03783545d6b715c69062ae6967c222b2d8f4e2399762362d426c0")
_NAVIGATION_CANDIDATES = XPath(
    ".//*[self::div or self::item or self::list or self::p or self::section or self::span][@*]")
_HIDDEN_CANDIDATES = XPath(".//*[@class or @id or @style or @aria-hidden]")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _regex(path: str, attribute: str) -> re.Pattern[str]:
    """The pattern of the expression's ``re:test(@<attribute>, '...')`` (as lxml compiles it: ``re.search``)."""
    found = re.search(rf"re:test\({re.escape(attribute)}, '([^']*)'\)", path)
    assert found is not None, attribute
    pattern = re.compile(found.group(1))
    assert pattern.search("") is None, pattern  # an absent attribute could otherwise match
    return pattern


def _first(attributes: Mapping[str, str], one: str, other: str) -> str:
    """XPath's string value of ``@one|@other``: the first of the two in attribute order, "" when neither."""
    for name in attributes:
        if name == one or name == other:
            return attributes[name]
    return ""


def _selector(candidates: XPath, test: Callable[[Mapping[str, str]], Any]) -> Evaluator:
    """The evaluation: the ``candidates`` whose attributes pass ``test``, in document order."""

    def evaluate(tree: HtmlElement) -> list[Any]:
        return [element for element in candidates(tree) if test(element.attrib)]

    return evaluate


def _navigation(path: str) -> Evaluator:
    """The first expression: navigation, share and cookie blocks among div/item/list/p/section/span."""
    by_id, by_class, cookie = _regex(path, "@id"), _regex(path, "@class"), _regex(path, "@id|@class")

    def test(attributes: Mapping[str, str]) -> Any:
        return ("data-lp-replacement-content" in attributes
                or "nav" in attributes.get("role", "").replace("N", "n")
                or "MostPopularStories" in attributes.get("data-component", "")
                or cookie.search(_first(attributes, "id", "class"))
                or by_id.search(attributes.get("id", ""))
                or by_class.search(attributes.get("class", "")))

    return _selector(_NAVIGATION_CANDIDATES, test)


def _hidden(path: str) -> Evaluator:
    """The second expression: hidden blocks, comment titles and reply forms, among all elements."""
    by_id, by_class, hidden = _regex(path, "@id"), _regex(path, "@class"), _regex(path, "@id|@style")

    def test(attributes: Mapping[str, str]) -> Any:
        css, style = attributes.get("class", ""), attributes.get("style", "")
        return (css == "comments-title"
                or _first(attributes, "id", "class").startswith("reply-")
                or hidden.search(_first(attributes, "id", "style"))
                or "display:none" in style or "display: none" in style
                or by_id.search(attributes.get("id", ""))
                or by_class.search(css)
                or attributes.get("aria-hidden") == "true")

    return _selector(_HIDDEN_CANDIDATES, test)


def _evaluators() -> dict[int, Evaluator]:
    """Python evaluators by ``id()`` of the library's expression objects, for those whose text is the one
    reproduced here."""
    builders = (_navigation, _hidden)
    evaluators: dict[int, Evaluator] = {}
    for expression, expected, build in zip(OVERALL_DISCARD_XPATH, EXPECTED_SHA256, builders):
        if _sha256(expression.path) == expected:
            evaluators[id(expression)] = build(expression.path)
    return evaluators


_EVALUATORS = _evaluators()


def python_equivalent(expression: XPath) -> Evaluator | None:
    """The Python evaluation of ``expression`` when it is one of the expressions reproduced here, else None."""
    return _EVALUATORS.get(id(expression))
