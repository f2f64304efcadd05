"""Bounded work per page (issue 21): no regex or loop of extraction, language detection or dedupe keys is
worse than about n log n in the page's size, and deep pages are parsed or counted ``too_deep``."""
from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pipelines.extract.bounds import flatten_inline_floods
from pipelines.extract.html import parse_html
from pipelines.extract.text import _is_teaser_tag, clean_text
from pipelines.language.sample import _URL, pool_paragraphs, strip_links
from tests.benchmarks.adversarial_pages import _page, _repeat, deep_nesting, inline_tags
from tests.conftest import run_cli

_OLD_TEASER_TAG = re.compile(r"\w.{20,}\[[A-Z ]{3,}\]\s*\|?$")  # what _is_teaser_tag replaces


def best_of_three(fn: Callable[[], object]) -> float:
    """The shortest of three timings of ``fn()`` (a busy machine only ever adds time)."""
    times = []
    for _ in range(3):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def grows_linearly(make: Callable[[int], object], run: Callable[[object], object], n: int) -> tuple[bool, float]:
    """Whether ``run`` on an input 8 times larger takes less than 24 times as long (linear: 8, quadratic: 64);
    and the ratio measured."""
    small, large = make(n), make(8 * n)
    ratio = best_of_three(lambda: run(large)) / max(best_of_three(lambda: run(small)), 1e-4)
    return ratio < 24, ratio


def test_teaser_tag_check_agrees_with_the_regex_it_replaces() -> None:
    lines = ["Watch the new electric pickup's first drive [VIDEO]", "Short one [VIDEO]",
             "A headline long enough to count here [PHOTOS] |", "A headline long enough to count here [Photos]",
             "A headline long enough to count [AB]", "[VIDEO] at the start of a long line of text here",
             "x" * 25 + "[ A B ]  ", "a" * 19 + " [VIDEO]", "a" * 20 + " [VIDEO]", "—" * 30 + " [VIDEO]",
             "A headline long enough to count here [VIDEO] more", "x" * 30 + "[ABC][DEF]", "x" * 30 + "[ABC] [DEF]"]
    for line in lines:
        assert _is_teaser_tag(line) == bool(_OLD_TEASER_TAG.search(line)), line


def test_clean_text_is_linear_on_a_long_line_almost_ending_in_a_tag() -> None:
    # every position starts a match attempt of the old regex that runs to the line's end: 40k chars took 0.5 s
    ok, ratio = grows_linearly(lambda n: _repeat("word [AB] ", n), clean_text, 10_000)
    assert ok, f"8x the line took {ratio:.0f}x the time"


def test_url_stripping_agrees_with_the_regex_and_is_linear_on_a_long_token() -> None:
    for line in ("see https://x.example/a?b=c and mail jane@x.example.", "a@b@c.d e", "www.x.y z@q", "plain words"):
        assert strip_links(line) == _URL.sub(" ", line)
    ok, ratio = grows_linearly(lambda n: "word " + "a" * n + "@b", lambda t: pool_paragraphs(t, 60), 5_000)
    assert ok, f"8x the token took {ratio:.0f}x the time"


def test_an_inline_tag_flood_is_flattened_into_one_text_node() -> None:
    tree = parse_html(inline_tags(50_000))
    assert tree is not None
    before = " ".join(tree.find(".//article").text_content().split())
    assert flatten_inline_floods(tree) == 1
    assert " ".join(tree.find(".//article").text_content().split()) == before  # the text is kept
    flooded = max(tree.iter("p"), key=lambda p: len(p.text_content()))
    assert len(flooded) == 0 and len(flooded.xpath("text()")) == 1  # libxml2's XPath is cubic in adjacent text nodes


def test_a_normal_paragraph_is_not_flattened() -> None:
    tree = parse_html(_page("<p>" + "<a href='/x'>link</a> and <b>bold</b> text " * 50 + "</p>"))
    assert tree is not None and flatten_inline_floods(tree) == 0


def test_extraction_of_an_inline_flood_is_linear() -> None:
    from pipelines.extract.article import extract_article

    ok, ratio = grows_linearly(inline_tags, lambda page: extract_article(page, "https://x.example/a"), 15_000)
    assert ok, f"8x the flood took {ratio:.0f}x the time"


def test_a_long_one_line_page_gives_its_article_through_the_cli(tmp_path: Path) -> None:
    # 400 kB on one line ending in near-tags: hours with the quadratic teaser regex, seconds now
    page = tmp_path / "long.html"
    page.write_text(_page("<p>" + _repeat("word [AB] ", 400_000) + "</p>"), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run_cli("scrape", str(page), "-o", str(out), "-s", "AUTONEWS_POOL_PROCESSES=1", cwd=tmp_path,
                     timeout=180)
    assert result.returncode == 0, result.stderr
    assert len(out.read_text(encoding="utf-8")) > 400_000


def test_deep_pages_are_parsed_or_counted_too_deep_through_the_cli(tmp_path: Path) -> None:
    deep = tmp_path / "deep.html"  # 300 levels: past libxml2's default 256, within the bound
    deep.write_text(_page("<div>" * 300 + "<p>" + _repeat("Deep text in the bottom paragraph of the article. ", 40)
                          + "</p>" + "</div>" * 300), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run_cli("scrape", str(deep), "-o", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Deep text in the bottom paragraph" in out.read_text(encoding="utf-8")

    deeper = tmp_path / "deeper.html"  # 100k levels: refused, and counted as an error, not "not an article"
    deeper.write_text(deep_nesting(1_000_000), encoding="utf-8")
    log = tmp_path / "scrape.log"
    result = run_cli("scrape", str(deeper), "-o", str(out), "--log-file", str(log), cwd=tmp_path)
    assert result.returncode == 1
    assert "errors: 1 (too_deep ×1)" in result.stderr and "not articles" not in result.stderr
    assert "'autonews/errors/too_deep': 1" in log.read_text(encoding="utf-8")


def test_dropping_a_flood_of_comment_threads_is_linear() -> None:
    from pipelines.extract.comments import drop_comment_sections

    def page(n: int) -> str:
        return _page("<p>" + "Article text. " * 5000 + "</p>" + _repeat('<div class="comment">Nice car.</div>', n))

    ok, ratio = grows_linearly(page, lambda html: drop_comment_sections(parse_html(html)), 20_000)
    assert ok, f"8x the comments took {ratio:.0f}x the time"


def test_a_page_of_too_many_paragraphs_is_refused_with_its_reason() -> None:
    from pipelines.extract.article import extract_article
    from pipelines.extract.bounds import MAX_PARAGRAPHS, PageRefused

    paragraph = "<p>Sales rose by a tenth in the quarter, led by the compact model line.</p>"
    with pytest.raises(PageRefused) as refused:
        extract_article(_page(paragraph * (MAX_PARAGRAPHS + 1)), "https://x.example/a")
    assert refused.value.label == "too_many_paragraphs"


def test_a_link_farm_of_too_many_elements_is_refused_with_its_reason() -> None:
    from pipelines.extract.article import extract_article
    from pipelines.extract.bounds import MAX_ELEMENTS, PageRefused

    with pytest.raises(PageRefused) as refused:
        extract_article(_page("<ul>" + '<li><a href="/a">Related</a></li>' * (MAX_ELEMENTS // 2) + "</ul>"),
                        "https://x.example/a")
    assert refused.value.label == "too_many_elements"


def test_furniture_patterns_only_judge_short_lines() -> None:
    """A line of thousands of characters is text, never a footer, tail or teaser line (issue 21: the
    furniture patterns try dozens of alternatives at every character, seconds on a one-line 8 MB page)."""
    from pipelines.extract.text import clean_text

    body = "The plant will build the estate from 2027. " * 70  # ~3,000 characters
    long_tail = body + "Copyright 2024, all rights reserved."
    text = clean_text("\n".join(["First paragraph of the story, long enough to count as text here.", long_tail]))
    assert text.endswith("all rights reserved.")
    short = clean_text("\n".join(["First paragraph of the story, long enough to count as text here.", body,
                                  "Copyright 2024, all rights reserved."]))
    assert not short.endswith("all rights reserved.")  # the short line still goes
    assert clean_text("A line that ends with a prompt. Click To Tweet") == "A line that ends with a prompt."


def test_elements_are_counted_before_a_tree_is_built() -> None:
    from pipelines.extract.bounds import PageRefused, check_element_count

    text = " 1 < 2 " * 5  # five "<" that open nothing: past the quick bound, so libxml2 counts
    check_element_count("<p>" * 8 + text, limit=10)  # html, body and 8 p: 10 elements, at the limit
    with pytest.raises(PageRefused) as refused:
        check_element_count("<p>" * 9 + text, limit=10)
    assert refused.value.label == "too_many_elements" and "11 elements" in str(refused.value)
    # "<" in a script, a comment or text opens no element: counted by the parser, not by the character
    check_element_count("<p>a<b</p><script>" + "if (a<b) x();" * 50 + "</script><!--" + "<i>" * 50 + "-->",
                        limit=10)


def test_an_inline_flood_past_the_parse_bound_is_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    import pipelines.extract.article as article
    from pipelines.extract.bounds import MAX_ELEMENTS, MAX_PARSED_ELEMENTS, PageRefused

    parsed: list[int] = []
    real_parse = article.parse_html
    monkeypatch.setattr(article, "parse_html", lambda text: parsed.append(1) or real_parse(text))
    unit = "<b>motor</b> <i>car</i> <a href=\"#x\">link</a> "
    with pytest.raises(PageRefused) as refused:
        article.extract_article(_page("<p>" + unit * (MAX_PARSED_ELEMENTS // 3 + 1) + "</p>"), "https://x.example/a")
    assert refused.value.label == "too_many_elements" and not parsed  # no tree of 250,000 elements built
    # within the parse bound, a flood far past MAX_ELEMENTS is flattened and gives its article
    page = article.extract_article(_page("<p>" + unit * (2 * MAX_ELEMENTS // 3) + "</p>"), "https://x.example/a")
    assert page is not None and "inline_flood" in page.bounded and parsed


def test_text_weight_counts_wide_scripts_three_times() -> None:
    from pipelines.extract.article import text_weight

    assert text_weight("abc 电动汽车 한국어 ひらがな カタカナ") == 22 + 2 * 15
    assert text_weight("Ünïcödé, Ελληνικά, кириллица") == len("Ünïcödé, Ελληνικά, кириллица")


def test_a_line_is_judged_prose_by_its_opening() -> None:
    from pipelines.language.sample import PROSE_JUDGE_CHARS, is_prose

    names = "Ford Toyota Honda Nissan BMW Audi Kia " * 10
    prose = "the car was sold in the spring and it did well " * 10
    assert is_prose(prose) and not is_prose(names)
    assert is_prose(prose * (PROSE_JUDGE_CHARS // len(prose) + 1) + names * 1000)
    assert not is_prose(names * (PROSE_JUDGE_CHARS // len(names) + 1) + prose * 1000)


def test_near_duplicate_signature_reads_a_bounded_opening() -> None:
    from pipelines.dedupe.neardup import NEAR_MAX_CHARS, near_signature, shingles

    opening = " ".join(f"word{i}" for i in range(NEAR_MAX_CHARS // 6))[:NEAR_MAX_CHARS]
    assert shingles(opening + " tail words here" * 1000) == shingles(opening)
    assert near_signature(opening + " and more" * 10_000) == near_signature(opening)
    assert shingles(opening[:1000]) != shingles(opening[:2000])


def _broken_live_blog(posts: int) -> str:
    """A live blog whose JSON-LD does not parse (cut off) and names an author in every post: trafilatura's
    regex fallback reads it."""
    names = ["Jane Doe", "John Smith", "Ada Lovelace"]
    updates = "".join(f'{{"@type":"BlogPosting","headline":"Update {n}","articleBody":"{"text " * 12}",'
                      f'"author":{{"@type":"Person","name":"{names[n % 3]}"}}}},' for n in range(posts))
    return ('<html><head><script type="application/ld+json">{"@context":"https://schema.org",'
            f'"@type":"LiveBlogPosting","liveBlogUpdate":[{updates}</script></head><body><p>x</p></body></html>')


def test_broken_jsonld_author_search_agrees_with_trafilatura() -> None:
    from trafilatura.json_metadata import JSON_AUTHOR_1, JSON_AUTHOR_2, extract_json_author

    from pipelines.extract.jsonauthors import linear_json_author

    texts = [_broken_live_blog(7), '"author": {"name": "Jane Doe"}, "author": {"name": "Bob"}, "author":{"name":"X Y"}',
             '{"@type":"Person","name":"Mary Major","x":1} {"@type":"Person","names":["Rick Roe"]}', "no authors",
             '"author":"https://example.com/jane", "author": {"name": "Kim Lee"}', '"author":[{"name":"A B"}]']
    for text in texts:
        for pattern in (JSON_AUTHOR_1, JSON_AUTHOR_2):
            assert linear_json_author(text, pattern) == extract_json_author(text, pattern), text[:60]


def test_broken_jsonld_authors_are_read_in_linear_time() -> None:
    # trafilatura's own loop rescans the whole text after each author: 805 KB of a real live blog took 1.2 s
    from pipelines.extract.pagemeta import PageMetadata

    page = PageMetadata(parse_html(_broken_live_blog(9)), "https://example.com/live")
    assert page.author == "Jane Doe; John Smith; Ada Lovelace"
    ok, ratio = grows_linearly(lambda n: parse_html(_broken_live_blog(n)),
                               lambda tree: PageMetadata(tree, "https://example.com/live").author, 300)
    assert ok, f"8x the posts took {ratio:.0f}x the time"


def test_elements_are_plain_html_elements_looked_up_in_c() -> None:
    # lxml.html's own lookup calls Python for every element proxy (~7 % of extraction's CPU)
    from lxml.html import HtmlElement

    tree = parse_html("<html><body><form><label>q</label><input name=q><select></select></form>"
                      "<p>text</p></body></html>")
    assert {type(el) for el in tree.iter()} == {HtmlElement}


def test_broken_jsonld_without_closing_braces_is_read_in_linear_time() -> None:
    # every "author" key's attempt ran to the end of a brace-free run: 120 KB took 23 s
    from pipelines.extract.pagemeta import PageMetadata

    def page(n: int):
        blob = '{"@type":"NewsArticle",' + '"author":"x y",' * n + '"author": {"name": "Jane Doe"'
        return parse_html(f'<html><head><script type="application/ld+json">{blob}</script></head><body><p>x</p>'
                          '</body></html>')

    assert PageMetadata(page(50), "https://example.com/a").author == "Jane Doe"
    ok, ratio = grows_linearly(page, lambda tree: PageMetadata(tree, "https://example.com/a").author, 300)
    assert ok, f"8x the keys took {ratio:.0f}x the time"


def test_the_author_search_gives_up_on_a_long_run_without_braces() -> None:
    """Failed attempts are charged the text they could scan (no closing brace: the whole bound); past
    four times the text's length the search stops, so a hostile block costs linear time with a small factor."""
    from trafilatura.json_metadata import JSON_AUTHOR_1

    from pipelines.extract.jsonauthors import linear_json_author

    real = '"author": {"@type": "Person", "name": "Jane Doe"}'
    assert linear_json_author('"author":"x y", ' * 20 + real, JSON_AUTHOR_1) == "Jane Doe"  # braces end attempts
    assert linear_json_author('"author":"x y",' * 20_000 + real, JSON_AUTHOR_1) is None  # budget spent first
