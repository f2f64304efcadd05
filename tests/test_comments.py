"""The project's own comment stripping (pipelines.extract.comments), at its edges.

The page fixtures show that the two steps work on real threads; these pin each rule the mutation run
(``python -m tests.benchmarks.mutations``) found unchecked: which markers count on their own, where the
second half of a text begins, which class names are not threads, the share a thread may hold, and what
``drop_comment_sections`` reports.
"""

from __future__ import annotations

import pytest
from lxml.html import HtmlElement, document_fromstring

from pipelines.extract.comments import cut_comments, drop_comment_sections, is_comment_marker


@pytest.mark.parametrize("line", ["12 Kommentare",  # a thread header alone
                                  "Comment by Jane Roe",  # an attributed comment alone
                                  "jane_doe says: May 3, 2021 at 9:12 pm"])  # a user and a time stamp alone
def test_each_kind_of_marker_counts_on_its_own(line: str) -> None:
    assert is_comment_marker(line)


@pytest.mark.parametrize("line", ["The council approved the plan on Tuesday.", "Comments were closed by 2021."])
def test_prose_is_no_marker(line: str) -> None:
    assert not is_comment_marker(line)


def test_a_marker_exactly_halfway_cuts() -> None:
    lines = ["a" * 20, "Comments (2)", "b" * 8]  # 20 of 40 characters come before the marker
    assert cut_comments(lines) == ["a" * 20]


def test_a_marker_one_character_before_halfway_does_not_cut() -> None:
    lines = ["a" * 19, "Comments (2)", "b" * 9]  # 19 of 40: still the first half
    assert cut_comments(lines) == lines


def test_an_early_marker_in_a_long_text_does_not_cut() -> None:
    lines = ["a" * 10, "Comments (2)", "b" * 100]
    assert cut_comments(lines) == lines


def page(body: str) -> HtmlElement:
    """A parsed page with ``body`` as its body."""
    return document_fromstring(f"<html><head><title>t</title></head><body>{body}</body></html>")


ARTICLE = "<article><p>" + "The plan was approved after a long debate in the council. " * 6 + "</p></article>"
THREAD = '<div class="comments"><p>Great plan, thank you.</p></div>'


def texts(tree: HtmlElement) -> str:
    """The page's remaining text."""
    return tree.text_content()


def test_no_body_and_no_thread_report_nothing_removed() -> None:
    assert drop_comment_sections(document_fromstring("<html><head><title>t</title></head></html>")) == 0
    tree = page(ARTICLE)
    assert drop_comment_sections(tree) == 0 and "approved" in texts(tree)


def test_every_separate_thread_is_removed_and_counted_once() -> None:
    # an outer thread, a thread inside it (gone with it), then another thread: two removals
    tree = page(ARTICLE + '<section id="comments"><div class="comment-list"><p>first reader</p></div></section>'
                + '<div class="user-comments"><p>second reader</p></div>')
    assert drop_comment_sections(tree) == 2
    assert "first reader" not in texts(tree) and "second reader" not in texts(tree)
    assert "approved" in texts(tree)


@pytest.mark.parametrize("name", ["comment-count", "comments-link", "comment-toggle"])
def test_a_counter_link_or_switch_about_comments_is_not_a_thread(name: str) -> None:
    tree = page(ARTICLE + f'<div class="{name}"><span>12 replies so far</span></div>')
    assert drop_comment_sections(tree) == 0 and "12 replies so far" in texts(tree)


def test_a_thread_named_by_id_alone_is_removed() -> None:
    tree = page(ARTICLE + '<div id="disqus_thread"><p>a reader wrote this</p></div>')
    assert drop_comment_sections(tree) == 1 and "a reader wrote this" not in texts(tree)


def test_main_is_never_removed_whatever_its_name() -> None:
    # <main> named after comments holds less than half the text, so only its tag keeps it
    tree = page("<header><p>" + "Site navigation and a long header text. " * 8 + "</p></header>"
                + '<main class="has-comments"><p>The article itself.</p></main>')
    assert drop_comment_sections(tree) == 0 and "The article itself." in texts(tree)


def test_a_thread_holding_exactly_half_the_text_is_removed_and_more_is_not() -> None:
    half = page("<p>" + "a" * 40 + '</p><div class="comments"><p>' + "b" * 40 + "</p></div>")
    assert drop_comment_sections(half) == 1 and "b" * 40 not in texts(half)
    most = page("<p>" + "a" * 39 + '</p><div class="comments"><p>' + "b" * 41 + "</p></div>")
    assert drop_comment_sections(most) == 0 and "b" * 41 in texts(most)


def test_a_too_large_thread_does_not_stop_the_others() -> None:
    tree = page('<div class="comments"><p>' + "b" * 100 + '</p></div><p>short</p>'
                + '<div class="comment-list"><p>small thread</p></div>')
    assert drop_comment_sections(tree) == 1
    assert "small thread" not in texts(tree) and "b" * 100 in texts(tree)
