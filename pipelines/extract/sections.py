"""Second pass for articles split into several sibling blocks (body, ad slot, body, ...).

trafilatura keeps the single best container; when the page repeats that container's tag and class
further down, those repeats hold the rest of the story. They are merged into one synthetic page
and extracted again; the result is kept only if it adds text and keeps what the first pass found.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from copy import deepcopy

from lxml.html import HtmlElement, fromstring

MIN_PARAGRAPH_CHARS = 40
MIN_GAIN = 1.2      # the merged text must be at least this much longer (in words)
MIN_KEPT = 0.8      # and keep this share of the first pass's paragraphs


def _norm(text: str) -> str:
    return " ".join(text.split())


def main_container(paragraphs: Sequence[tuple[HtmlElement, str]], lines: set[str]) -> HtmlElement | None:
    """The element (with a class) whose direct <p> children hold most of the extracted paragraphs, given
    the page's <p> elements with their normalised texts."""
    votes: Counter[HtmlElement] = Counter()
    for para, text in paragraphs:
        parent = para.getparent()
        if len(text) >= MIN_PARAGRAPH_CHARS and text in lines and parent is not None and parent.get("class"):
            votes[parent] += 1
    return votes.most_common(1)[0][0] if votes else None


def repeated_containers(tree: HtmlElement, container: HtmlElement) -> list[HtmlElement]:
    """All elements sharing ``container``'s tag and exact class attribute, in document order."""
    return tree.xpath(f"//{container.tag}[@class=$cls]", cls=container.get("class"))


def merge_sections(tree: HtmlElement, text: str, extract: Callable[[HtmlElement], str],
                   paragraphs: Sequence[tuple[HtmlElement, str]] | None = None) -> str | None:
    """Re-extract from all repeats of the main container; the merged text, or None when not better.

    ``paragraphs``: the page's <p> elements with their normalised texts, when already read.
    """
    lines = {_norm(line) for line in text.split("\n")}
    if paragraphs is None:
        paragraphs = [(para, _norm(para.text_content())) for para in tree.iter("p")]
    container = main_container(paragraphs, lines)
    if container is None:
        return None
    blocks = repeated_containers(tree, container)
    if len(blocks) < 2 or any(a in b.iterancestors() for a in blocks for b in blocks):
        return None
    extra = sum(len(_norm(p.text_content()).split()) for b in blocks if b is not container for p in b.iter("p")
                if _norm(p.text_content()) not in lines)
    words = len(text.split())
    if extra < (MIN_GAIN - 1) * words:
        return None
    page = fromstring("<html><head></head><body><article></article></body></html>")
    article = page.find(".//article")
    for block in blocks:
        article.append(deepcopy(block))
    merged = extract(page)
    merged_lines = {_norm(line) for line in merged.split("\n")}
    kept = sum(1 for line in lines if line and line in merged_lines) / max(1, sum(1 for line in lines if line))
    if len(merged.split()) >= MIN_GAIN * words and kept >= MIN_KEPT:
        return merged
    return None


