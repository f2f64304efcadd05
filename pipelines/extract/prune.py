"""trafilatura's pruning XPaths, skipped on a tree where they cannot match.

trafilatura prunes every pass's tree with XPath expressions whose tests are EXSLT regular expressions
(``re:test``): libxml2 calls back into Python's ``re`` for each candidate element, so one expression costs
about as much as a pass over the page in Python, and the four that remove comment sections, "infinite
scroll" blocks and share bars were ~10 % of extraction's CPU on the fundus-publishers pages, almost always
to remove nothing.

Each of those four has the shape ``.//*[<tag test>][C1 or C2 ...][...]`` where every ``C`` is
``re:test(@id, 'P')``, ``re:test(@class, 'P')``, ``contains(@id, 'S')`` or ``contains(@class, 'S')``: an
element matches only if one of its
own ``id``/``class`` values passes one of the ``C``. So when no ``id`` or ``class`` value anywhere in the
tree passes any ``C`` (read once, in C, by ``.//@id``/``.//@class``), the expression matches nothing and
is not evaluated. That is a necessary condition, read off the expression itself by
:func:`attribute_clauses`; an expression of any other shape (an unknown clause, a changed trafilatura)
is always evaluated. Nothing a pass removes changes.

:func:`install` routes ``trafilatura.core``'s calls (the raw-tree and comment prunes) through
:func:`prune_unwanted_nodes`; tests/test_extract_prune.py checks the result against the library's on every
page of the benchmarks' kinds and that the replaced function is still the library's.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache

import trafilatura.core
import trafilatura.external
import trafilatura.main_extractor
from lxml.etree import XPath
from lxml.html import HtmlElement
from trafilatura.htmlprocessing import prune_unwanted_nodes as LIBRARY_PRUNE

from pipelines.extract.discard import python_equivalent

Clause = tuple[str, Callable[[str], bool]]
"""An attribute name and a test of one of its values."""

_CLAUSE = re.compile(r"(?P<kind>re:test|contains)\(@(?P<attr>id|class), '(?P<arg>[^']*)'\)")
_OR = re.compile(r"\s+or\s+")
_VALUES = {"id": XPath(".//@id", smart_strings=False), "class": XPath(".//@class", smart_strings=False)}


def _unquoted(text: str, start: int, opening: str, closing: str) -> Iterator[tuple[int, str, int]]:
    """Each character of ``text`` from ``start`` that is outside quotes, with its index and the nesting depth of
    ``opening``/``closing`` brackets before it."""
    depth, quote = 0, ""
    for index in range(start, len(text)):
        char = text[index]
        if quote:
            quote = "" if char == quote else quote
            continue
        if char in "'\"":
            quote = char
            continue
        yield index, char, depth
        depth += (char == opening) - (char == closing)


def _predicates(expression: str) -> list[str] | None:
    """The top-level ``[...]`` predicates of ``.//*[...][...]...``; None for another shape."""
    text = expression.strip()
    if not text.startswith(".//*["):
        return None
    predicates: list[str] = []
    start = 0
    for index, char, depth in _unquoted(text, len(".//*"), "[", "]"):
        if char == "[" and depth == 0:
            start = index + 1
        elif char == "]" and depth == 1:
            predicates.append(text[start:index])
        elif depth == 0 and not char.isspace():
            return None  # a step after the predicates (".//*[...]/x") or an unbalanced "]": not this shape
    return predicates if text.endswith("]") else None


def _disjuncts(predicate: str) -> list[str]:
    """``predicate`` split at its top-level ``or`` (outside quotes and parentheses)."""
    parts: list[str] = []
    start = 0
    for index, _, depth in _unquoted(predicate, 0, "(", ")"):
        if depth == 0 and index >= start and (found := _OR.match(predicate, index)) is not None:
            parts.append(predicate[start:index])
            start = found.end()
    parts.append(predicate[start:])
    return [part.strip() for part in parts]


@lru_cache(maxsize=64)
def attribute_clauses(expression: str) -> tuple[Clause, ...] | None:
    """The ``id``/``class`` tests one of which an element must pass to match ``expression``; None when the
    expression is not of the shape this module understands (it is then always evaluated).

    The shape: ``.//*[self::a or self::b ...][C1 or C2 ...]`` and any further predicates (they only narrow
    the match), each ``C`` a ``re:test`` or ``contains`` of ``@id`` or ``@class``.
    """
    predicates = _predicates(expression)
    if not predicates or len(predicates) < 2:
        return None
    if not all(re.fullmatch(r"self::\w+", tag) for tag in _disjuncts(predicates[0])):
        return None
    clauses: list[Clause] = []
    for part in _disjuncts(predicates[1]):
        clause = _CLAUSE.fullmatch(part)
        if clause is None:
            return None
        arg = clause["arg"]
        if clause["kind"] == "re:test":
            clauses.append((clause["attr"], re.compile(arg).search))  # lxml's re:test is Python's re.search
        else:
            clauses.append((clause["attr"], lambda value, part=arg: part in value))  # XPath contains()
        if clauses[-1][1](""):
            return None  # a test an absent attribute ("") passes: elements without any value can match
    return tuple(clauses)


def may_match(expression: XPath, values: Callable[[str], Sequence[str]]) -> bool:
    """False only when no element of the tree can match ``expression`` (``values(attr)``: the tree's values
    of an attribute)."""
    clauses = attribute_clauses(expression.path)
    if clauses is None:
        return True
    return any(test(value) for attr, test in clauses for value in values(attr))


def prune_unwanted_nodes(tree: HtmlElement, nodelist: list[XPath], with_backup: bool = False) -> HtmlElement:
    """trafilatura's ``prune_unwanted_nodes`` without the expressions that cannot match ``tree``, and with the
    ``OVERALL_DISCARD_XPATH`` ones evaluated in Python (``pipelines.extract.discard``)."""
    read: dict[str, Sequence[str]] = {}

    def values(attr: str) -> Sequence[str]:
        if attr not in read:
            read[attr] = frozenset(_VALUES[attr](tree))  # class values repeat ("item" hundreds of times)
        return read[attr]

    # the library only calls each expression on the tree: a Python evaluation of the same elements stands in
    kept = [python_equivalent(expression) or expression for expression in nodelist if may_match(expression, values)]
    return LIBRARY_PRUNE(tree, kept, with_backup)  # type: ignore[arg-type]


def install() -> None:
    """Route trafilatura's prunes (the raw-tree and comment prunes of ``core``, the section prune of
    ``main_extractor``, the fallback comparison's of ``external``) through :func:`prune_unwanted_nodes`
    (idempotent)."""
    for module in (trafilatura.core, trafilatura.main_extractor, trafilatura.external):
        module.prune_unwanted_nodes = prune_unwanted_nodes  # type: ignore[attr-defined]
