"""trafilatura's pruning XPaths skipped where they cannot match (pipelines/extract/prune.py): never a different tree."""
from __future__ import annotations

import hashlib
import inspect
from pathlib import Path

import pytest
import trafilatura.core
import trafilatura.xpaths
from lxml import html as lxml_html
from lxml.etree import XPath

from pipelines.extract import prune
from pipelines.extract.html import decode_body, parse_html

FIXTURES = Path(__file__).parent / "fixtures"
PAGES = sorted((FIXTURES / "pages").glob("*.html")) + sorted((FIXTURES / "hostile").glob("*.html"))
# sha256 of trafilatura 2.3.1's ``htmlprocessing.prune_unwanted_nodes``: the guard calls it with fewer
# expressions, which is only the same when it evaluates each expression on its own (as it does)
LIBRARY_PRUNE_SHA256 = "4731f8e24ef86449c2714a6257d2ff892ff12a6a3d544d7ca87d6536fab29915"


def _expressions() -> list[XPath]:
    found = []
    for name in dir(trafilatura.xpaths):
        value = getattr(trafilatura.xpaths, name)
        if isinstance(value, list) and value and all(isinstance(x, XPath) for x in value):
            found.extend(value)
    return found


def _tree(path: Path):
    return parse_html(decode_body(path.read_bytes()))


def test_the_comment_and_raw_tree_prunes_are_understood_and_others_are_not() -> None:
    understood = [trafilatura.xpaths.REMOVE_COMMENTS_XPATH[0], trafilatura.xpaths.REMOVE_COMMENTS_AND_LISTS_XPATH[0],
                  *trafilatura.xpaths.RAW_TREE_PRUNE_XPATH]
    for expression in understood:
        assert prune.attribute_clauses(expression.path) is not None, expression.path
    for expression in trafilatura.xpaths.OVERALL_DISCARD_XPATH:  # @style, @role, @aria-hidden...: always evaluated
        assert prune.attribute_clauses(expression.path) is None
    clauses = prune.attribute_clauses(trafilatura.xpaths.REMOVE_COMMENTS_XPATH[0].path)
    assert [attr for attr, _ in clauses] == ["id", "class"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_an_expression_judged_unmatchable_matches_nothing(page: Path) -> None:
    tree = _tree(page)
    if tree is None:
        pytest.skip("not HTML")  # pragma: no cover - every fixture page parses
    values = {attr: prune._VALUES[attr](tree) for attr in ("id", "class")}
    skipped = 0
    for expression in _expressions():
        if not prune.may_match(expression, values.__getitem__):
            skipped += 1
            assert expression(tree) == [], expression.path
    assert skipped  # every page has some expression it cannot match


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_pruned_tree_is_the_librarys(page: Path) -> None:
    lists = [trafilatura.xpaths.RAW_TREE_PRUNE_XPATH, trafilatura.xpaths.REMOVE_COMMENTS_AND_LISTS_XPATH,
             trafilatura.xpaths.REMOVE_COMMENTS_XPATH, trafilatura.xpaths.DISCARD_IMAGE_ELEMENTS]
    for nodelist in lists:
        ours, theirs = _tree(page), _tree(page)
        prune.prune_unwanted_nodes(ours, nodelist)
        prune.LIBRARY_PRUNE(theirs, nodelist)
        assert lxml_html.tostring(ours) == lxml_html.tostring(theirs)


@pytest.mark.parametrize("markup, expected", [
    ('<div class="comments-area">x</div>', True),   # re:test(@class, '^[Cc]omment(?!ary)|...')
    ('<section id="Comments">x</section>', True),
    ('<div id="disqus_thread">x</div>', True),
    ('<div class="post-comments">x</div>', True),
    ('<div class="commentary">x</div>', False),     # (?!ary)
    ('<div data-x="comments">x</div>', False),      # other attributes do not count
    ('<div class="nav">x</div>', False),
])
def test_may_match_follows_the_expressions_tests(markup: str, expected: bool) -> None:
    tree = lxml_html.fromstring(f"<html><body>{markup}<p>text</p></body></html>")
    expression = trafilatura.xpaths.REMOVE_COMMENTS_XPATH[0]
    values = {attr: prune._VALUES[attr](tree) for attr in ("id", "class")}
    assert prune.may_match(expression, values.__getitem__) is expected
    assert bool(expression(tree)) is expected


@pytest.mark.parametrize("path", [
    ".//*[self::div][re:test(@id, 'x*')]",                 # passes on an absent id (""): elements without one match
    ".//*[self::div][contains(@class, '')]",
    ".//*[self::div][@role='nav' or re:test(@id, 'x')]",   # a clause on another attribute
    ".//*[self::div or @id][re:test(@id, 'x')]",           # a tag test that is not only tags
    ".//div[re:test(@id, 'x')]",
    ".//*[self::div][re:test(@id, 'x')]/p",
    ".//*[self::div]",
    ".//*[self::div][re:test(@id, 'x')]]",                  # unbalanced
    ".//*[self::div][re:test(@id, 'x)]",                    # an unclosed quote
    ".//*[self::div][re:test(@id, 'x')",
])
def test_other_shapes_are_always_evaluated(path: str) -> None:
    assert prune.attribute_clauses(path) is None


def test_contains_is_a_substring_test() -> None:
    ((attr, test),) = prune.attribute_clauses(".//*[self::div][contains(@class, 'share')]")
    assert attr == "class" and test("big share-bar") and not test("sha") and not test("")


def test_trafilatura_core_prunes_through_the_guard() -> None:
    from pipelines.extract import text  # installs the hooks (through pipelines.extract.fallback), as extraction does

    assert text.run_trafilatura and trafilatura.core.prune_unwanted_nodes is prune.prune_unwanted_nodes


def test_the_replaced_library_function_is_unchanged() -> None:
    source = inspect.getsource(prune.LIBRARY_PRUNE)
    assert hashlib.sha256(source.encode()).hexdigest() == LIBRARY_PRUNE_SHA256, (
        "trafilatura's prune_unwanted_nodes changed: check that it still evaluates each expression on its own, "
        "then update LIBRARY_PRUNE_SHA256\n" + source)


# --- OVERALL_DISCARD_XPATH in Python (pipelines/extract/discard.py) --------------------------------------------

_TRICKY = """<html><body>
<div class="cookie-x" id="main">a</div><div id="main" class="cookie-x">b</div><div id="cookie">c</div>
<span role="Navigation">d</span><span role="menu">e</span><p data-component="x MostPopularStories y">f</p>
<section data-lp-replacement-content="">g</section><div class="nav">h</div><div class="navigation">i</div>
<div class="x ad-slot">j</div><div class="bad-x">k</div><div id="ad-top">l</div><div id="xad-top">m</div>
<em class="nav">n (not a tag the first expression looks at)</em><list class="share-tools">o</list>
<item id="footer">p</item><div id="reply-1" class="x">q</div><div id="x" class="reply-2">r</div>
<div style="color: red" id="hidden-x">s</div><div id="hidden-y" style="color: red">t</div>
<b style="display:none">u</b><b style="display: none">v</b><i aria-hidden="true">w</i><i aria-hidden="false">x</i>
<h2 class="comments-title">y</h2><h2 class="comments-title big">z</h2><div class=" hidden">aa</div>
<div class="hide-me">bb</div><div id="reader-comments">cc</div><p>plain</p><p class="">empty</p>
</body></html>"""


def test_the_discard_expressions_of_this_trafilatura_are_evaluated_in_python() -> None:
    from pipelines.extract.discard import python_equivalent

    assert all(python_equivalent(expression) is not None for expression in trafilatura.xpaths.OVERALL_DISCARD_XPATH)
    assert python_equivalent(XPath(trafilatura.xpaths.OVERALL_DISCARD_XPATH[0].path)) is None  # another object
    assert python_equivalent(trafilatura.xpaths.TEASER_DISCARD_XPATH[0]) is None


@pytest.mark.parametrize("page", [None, *PAGES], ids=lambda p: p.name if p else "tricky")
def test_the_discard_expressions_find_the_same_elements_in_python(page: Path | None) -> None:
    from pipelines.extract.discard import python_equivalent

    tree = lxml_html.fromstring(_TRICKY) if page is None else _tree(page)
    cleaned = trafilatura.htmlprocessing.convert_tags(trafilatura.htmlprocessing.tree_cleaning(
        lxml_html.fromstring(lxml_html.tostring(tree)), trafilatura.settings.Extractor()),
        trafilatura.settings.Extractor())  # item/list/head tags, as the passes see them
    for subject in (tree, cleaned):
        for expression in trafilatura.xpaths.OVERALL_DISCARD_XPATH:
            found = python_equivalent(expression)(subject)
            assert found == expression(subject)
            if page is None and subject is tree:
                assert found  # the tricky page exercises both


def test_tricky_attribute_order_cases_are_xpaths() -> None:
    from pipelines.extract.discard import python_equivalent

    tree = lxml_html.fromstring(_TRICKY)
    texts = {(el.text or "").split(" ")[0] for e in trafilatura.xpaths.OVERALL_DISCARD_XPATH
             for el in python_equivalent(e)(tree)}
    # @id|@class is the first of the two in attribute order: "a" (class first) and "c" match "cookie", "b" not
    assert {"a", "c"} <= texts and "b" not in texts
    assert {"q", "t"} <= texts and not {"r", "s"} & texts  # reply-/hidden on the first of id|class, id|style
    assert {"d", "f", "g", "j", "l", "o", "p", "u", "v", "w", "y", "z", "aa", "bb", "cc"} <= texts
    assert not {"e", "k", "m", "n", "x", "plain", "empty"} & texts
