"""The shortcuts that make extraction cheaper give the same results as the long way (issue 12).

- ``pipelines.extract.fallback``: trafilatura's fallback comparison behind a gate, through a hook in
  ``trafilatura.core`` whose library original must still be the function the hook reproduces;
- ``pipelines.extract.pagemeta.PageMetadata``: trafilatura's ``extract_metadata`` read field by field;
- the listing check's teaser blocks found from their headlines, and the comment-thread candidates.
"""
from __future__ import annotations

import hashlib
import inspect
from pathlib import Path
from typing import Any

import pytest
import trafilatura
import trafilatura.core
from trafilatura.metadata import extract_author, extract_metadata

from pipelines.extract import fallback
from pipelines.extract.comments import drop_comment_sections
from pipelines.extract.html import decode_body, parse_html
from pipelines.extract.listing import MAX_TEASER_CHARS, is_listing, teaser_line_share
from pipelines.extract.pagemeta import DATE_PARAMS, PageMetadata, _trim
from pipelines.extract.text import Paragraphs, best_text, run_trafilatura, split_lines

PAGES = Path(__file__).parent / "fixtures" / "pages"
HTML_FIXTURES = sorted(PAGES.glob("*.html"))
# sha256 of trafilatura 2.3.1's ``core._extract_and_compare`` source: the hook reproduces that function, so a
# trafilatura that changes it must be looked at before the hook is trusted again
LIBRARY_STEP_SHA256 = "f7d056c2118222e8ffb17e32d4796ccbddc452936d7177e27c53fb6d39b8f6e6"


def tree_of(path: Path) -> Any:
    """The parsed fixture page."""
    tree = parse_html(decode_body(path.read_bytes()) or "")
    assert tree is not None
    return tree


def test_hook_is_installed_and_reproduces_the_library_step() -> None:
    assert trafilatura.core._extract_and_compare is fallback._extract_and_compare
    source = inspect.getsource(fallback.LIBRARY_STEP)
    assert hashlib.sha256(source.encode()).hexdigest() == LIBRARY_STEP_SHA256, (
        "trafilatura's _extract_and_compare changed: compare it with pipelines/extract/fallback.py, "
        "then update LIBRARY_STEP_SHA256\n" + source)
    # the calls the reproduction makes, in the library's order
    assert source.index("extract_content(") < source.index("if not options.fast") < source.index("compare_extraction(")


@pytest.mark.parametrize("path", HTML_FIXTURES, ids=lambda p: p.stem)
def test_without_a_gate_the_hook_gives_the_library_result(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hooked = run_trafilatura(tree_of(path), "https://example.com/a", precision=True)
    monkeypatch.setattr(trafilatura.core, "_extract_and_compare", fallback.LIBRARY_STEP)
    plain = run_trafilatura(tree_of(path), "https://example.com/a", precision=True)
    assert (hooked.text if hooked else None) == (plain.text if plain else None)


def test_the_gate_decides_whether_the_comparison_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = fallback.compare_extraction

    def spy(*args: Any) -> Any:
        calls.append("compare")
        return real(*args)

    monkeypatch.setattr(fallback, "compare_extraction", spy)
    tree = tree_of(PAGES / "evxl_door.html")
    seen: list[int] = []

    def extract() -> Any:
        return trafilatura.bare_extraction(tree, include_comments=False, favor_precision=True)

    def never(body: Any, text: str) -> bool:
        seen.append(len(text))
        return False

    with fallback.gated(never):
        extract()
    assert seen and not calls  # asked, and the comparison skipped
    with fallback.gated(lambda body, text: True):
        extract()
    assert calls == ["compare"]
    extract()  # no gate outside the block: the library's behaviour
    assert calls == ["compare", "compare"]


def test_a_long_sound_text_with_most_paragraph_words_skips_the_comparison() -> None:
    tree = tree_of(PAGES / "evxl_door.html")
    before = dict(fallback.COUNTS)
    doc = run_trafilatura(tree, None, precision=True)
    assert len(doc.text) >= 1000
    assert fallback.COUNTS["skipped"] == before["skipped"] + 1 and fallback.COUNTS["run"] == before["run"]
    short = parse_html("<html><body><article><p>" + "A short story told in a few words. " * 5 + "</p></article></body></html>")
    run_trafilatura(short, None, precision=True)
    assert fallback.COUNTS["run"] == before["run"] + 1


def test_the_gate_is_reset_after_an_error() -> None:
    with pytest.raises(RuntimeError), fallback.gated(lambda body, text: False):
        raise RuntimeError("boom")
    assert fallback._GATE.get() is None


@pytest.mark.parametrize("path", HTML_FIXTURES, ids=lambda p: p.stem)
def test_best_text_is_the_same_with_the_comparison_everywhere(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gated = best_text(tree_of(path), "https://example.com/a")
    monkeypatch.setattr(fallback, "_wanted", lambda body, text: True)
    assert best_text(tree_of(path), "https://example.com/a") == gated


def test_container_chars_counts_the_element_holding_the_paragraphs() -> None:
    para = "A paragraph of the article that is long enough to count as one. "
    html = (f"<html><body><nav><p>menu</p></nav><div id='story'><h2>Heading</h2><p>{para}1</p><ul><li>a list item"
            f"</li></ul><p>{para}2</p></div></body></html>")
    tree = parse_html(html)
    doc = run_trafilatura(tree, None, precision=True)
    own = fallback.container_chars(Paragraphs(tree).items, doc.body)
    story = " ".join(tree.get_element_by_id("story").text_content().split())
    assert own == len(story)
    other = parse_html("<html><body><p>nothing here</p></body></html>")
    assert fallback.container_chars(Paragraphs(other).items, doc.body) == 0


@pytest.mark.parametrize("path", HTML_FIXTURES, ids=lambda p: p.stem)
def test_page_metadata_matches_extract_metadata(path: Path) -> None:
    url = "https://www.example.com/news/2024/05/01/a-story.html"
    expected = extract_metadata(tree_of(path), url, dict(DATE_PARAMS), False, set())
    lazy = PageMetadata(tree_of(path), url)
    for name in ("title", "author", "date", "sitename", "description", "image"):
        assert getattr(lazy, name) == getattr(expected, name), name
    assert lazy.categories == list(expected.categories or [])
    assert lazy.tags == list(expected.tags or [])
    assert lazy.visible_author == _trim(extract_author(tree_of(path)))


def reference_teaser_share(tree: Any, lines: list[str]) -> float:
    """The teaser share as first written: every p/li/span/div of the page in document order, the first
    element holding a line decides (its parent or grandparent a small block with a linked headline)."""

    def norm(text: str) -> str:
        return " ".join(text.split())

    def linked(block: Any) -> bool:
        return any(any(len(norm(a.text_content())) >= 15 for a in h.iter("a"))
                   or (h.getparent() is not None and h.getparent().tag == "a") for h in block.iter("h2", "h3", "h4"))

    wanted, teasers = set(lines), 0
    for element in tree.iter("p", "li", "span", "div"):
        text = norm(element.text_content())
        if text not in wanted:
            continue
        wanted.discard(text)
        parent = element.getparent()
        blocks = [parent, parent.getparent() if parent is not None else None]
        teasers += any(b is not None and len(norm(b.text_content())) <= MAX_TEASER_CHARS and linked(b) for b in blocks)
    return teasers / max(1, len(lines))


LISTING = ("<html><body><h1>Latest news</h1>" + "".join(
    f"<div class='card'><h3><a href='/n/{i}'>Headline number {i} about the car industry</a></h3>"
    f"<p>Summary {i}: a carmaker said something about electric vehicles and batteries today.</p></div>"
    for i in range(8)) + "</body></html>")


@pytest.mark.parametrize("html", [p.read_text(encoding="utf-8", errors="replace") for p in HTML_FIXTURES] + [LISTING])
def test_teaser_share_from_headlines_matches_the_full_scan(html: str) -> None:
    tree = parse_html(html)
    assert tree is not None
    doc = run_trafilatura(tree, None)
    lines = split_lines(doc.text if doc is not None and doc.text else "")
    assert teaser_line_share(tree, lines) == pytest.approx(reference_teaser_share(tree, lines))


def test_teaser_cards_make_a_listing() -> None:
    tree = parse_html(LISTING)
    lines = [f"Summary {i}: a carmaker said something about electric vehicles and batteries today." for i in range(8)]
    assert teaser_line_share(tree, lines) == 1.0
    assert is_listing(tree, lines)


def test_comment_threads_are_found_whatever_the_case() -> None:
    body = "".join(f"<p>Article paragraph number {i} with enough words to be the article.</p>" for i in range(20))
    html = (f"<html><body><article>{body}</article><section class='UserComments'><p>first!</p></section>"
            f"<div id='KOMMENTARE'><p>zweiter</p></div><div class='comentarios-lista'><p>tercero</p></div>"
            f"<div class='comment-count'>3 comments</div></body></html>")
    tree = parse_html(html)
    assert drop_comment_sections(tree) == 3
    text = tree.text_content()
    assert "first!" not in text and "zweiter" not in text and "tercero" not in text
    assert "3 comments" in text  # a counter, not a thread
