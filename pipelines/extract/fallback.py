"""A gate on trafilatura's fallback comparison (readability, jusText), so it runs only where it can matter.

In a trafilatura pass, after its own extractor has found a text, ``compare_extraction`` runs readability
(and, for a short or unclean result, jusText) and keeps theirs when its own looks deficient. That
comparison is about half the cost of a precision pass, and on a page whose own text is long, made of
paragraphs and holds most of the page's paragraph words it keeps the own text anyway (on the 181-page
benchmark it changed no such page). trafilatura's ``fast`` option skips it, but also changes what the
extractor keeps (teaser blocks on its recovery path), so it is not the same text.

:func:`gated` installs a predicate for the passes run inside it: the comparison runs only when the
predicate says the own result may have missed text. The hook replaces ``trafilatura.core._extract_and_compare``
(the four-line step of the cascade that runs the own extractor, then the comparison on a copy of the page)
once, at import, with :mod:`pipelines.extract.stoplist` (jusText's stoplist held once); outside
:func:`gated` it does exactly what the library's does, and under a gate that says no it does not copy the
page either. trafilatura is pinned, and tests/test_extract_speed.py checks that the replaced function is
still the one this module reproduces.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from copy import copy
from typing import Any

import trafilatura.core
from lxml.etree import _Element
from lxml.html import HtmlElement
from trafilatura.external import SANITIZED_XPATH, compare_extraction
from trafilatura.main_extractor import extract_content

from pipelines.extract import prune, stoplist

#: Decides from the own extraction (its body element and text) whether the comparison must run.
Gate = Callable[[_Element, str], bool]

_GATE: ContextVar[Gate | None] = ContextVar("autonews_fallback_gate", default=None)
#: How often the comparison was skipped and run under a gate, in this process (for benchmarks and tests).
COUNTS = {"skipped": 0, "run": 0}


#: The library function replaced, kept for the seam test and to undo the hook.
LIBRARY_STEP = trafilatura.core._extract_and_compare


def _wanted(body: _Element, text: str) -> bool:
    """Whether the active gate (if any) lets the comparison run; counted."""
    gate = _GATE.get()
    if gate is None:
        return True
    wanted = gate(body, text)
    COUNTS["run" if wanted else "skipped"] += 1
    return wanted


def _extract_and_compare(cleaned_tree: HtmlElement, cleaned_tree_backup: HtmlElement, tree: HtmlElement,
                         options: Any) -> tuple[_Element, str]:
    """trafilatura's step (own extractor, then the comparison unless in fast mode), with the gate asked."""
    postbody, temp_text = extract_content(cleaned_tree, options)
    if not options.fast and _wanted(postbody, temp_text):
        postbody, temp_text = compare_extraction(cleaned_tree_backup, copy(tree), postbody, temp_text, options)
    return postbody, temp_text


def install() -> None:
    """Route trafilatura's cascade through the gate, its jusText run through one stoplist and its prunes past
    the expressions that cannot match (``pipelines.extract.prune``) (idempotent)."""
    trafilatura.core._extract_and_compare = _extract_and_compare  # type: ignore[attr-defined]
    stoplist.install()
    prune.install()


@contextmanager
def gated(gate: Gate | None) -> Iterator[None]:
    """Run the trafilatura passes inside the ``with`` block under ``gate``."""
    token = _GATE.set(gate)
    try:
        yield
    finally:
        _GATE.reset(token)


def structurally_sound(body: _Element) -> bool:
    """Whether an own extraction has none of the defects that make trafilatura prefer another extractor
    whatever the lengths: no paragraph text, more tables than paragraphs, or leftovers (asides, buttons,
    figures...) that its jusText check treats as unclean."""
    paragraphs = len(body.findall(".//p"))
    return (bool(body.xpath(".//p//text()")) and len(body.findall(".//table")) <= paragraphs
            and not body.xpath(SANITIZED_XPATH))


def _norm(text: str) -> str:
    return " ".join(text.split())


def container_chars(paragraphs: Sequence[tuple[HtmlElement, str]], body: _Element) -> int:
    """Characters of text in the smallest element holding every paragraph of an own extraction (``body``),
    given the page's <p> elements with their normalised texts: what a container-scoring extractor such as
    readability would return at least; 0 when no paragraph is found in the page."""
    own = {_norm(" ".join(p.itertext())) for p in body.iter("p")}
    own.discard("")
    found = [element for element, text in paragraphs if text in own]
    if not found:
        return 0
    last_ancestors = {found[-1], *found[-1].iterancestors()}
    common = next((el for el in (found[0], *found[0].iterancestors()) if el in last_ancestors), None)
    return len(_norm(common.text_content())) if common is not None else 0


install()
