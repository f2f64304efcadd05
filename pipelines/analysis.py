"""All the CPU work on one page in one pool task: extraction, then what the later stages need of its text.

The extraction stage sends a page to the process pool once; :func:`analyse_page` extracts it and, as
the crawl's :class:`AnalysisPlan` asks, also detects its languages and computes its dedupe
fingerprint and near-duplicate signature from the very text, title and declared languages that the
article will carry. The results travel on the article (:class:`pipelines.items.TextAnalysis`); the
language and dedupe stages use them and still compute them themselves when they are absent (an article
built elsewhere, a plan without them). One round trip instead of two, and the costly part of the
near-duplicate signature (shingling and hashing) out of the reactor process; its vectorised last step
(``neardup.signature_from_hashes``) stays there, so that numpy (~11 MB resident) is loaded in one process
rather than in every worker.

Pure and Scrapy-free like the functions it calls: pool workers import this module. The extraction code
(``pipelines.extract.article`` and all it imports) is imported on first use, so the crawl process, which
only names :func:`analyse_page` to the pool, never loads it unless it extracts inline
(``AUTONEWS_POOL_PROCESSES=0``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipelines.dedupe.neardup import signature_hashes, text_fingerprint
from pipelines.items import ExtractedPage, LanguageOptions, TextAnalysis
from pipelines.language.codes import parse_declared
from pipelines.language.detect import detect_languages
from pipelines.sanitize import clean_value

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

_PLAN_ATTR = "_autonews_analysis_plan"


@dataclass(slots=True)
class AnalysisPlan:
    """What the extraction stage's pool task computes besides extraction, for the stages of this crawl.

    Each later stage says what it wants when it is built (``from_crawler``), so a crawl without a
    language or dedupe stage does not pay for them.
    """

    language: LanguageOptions | None = None
    """Detect languages with these options (set by the language stage)."""
    dedupe_keys: bool = False
    """Compute the text fingerprint and the near-duplicate signature's shingle hashes (set by the dedupe stage)."""


@dataclass(slots=True)
class PageAnalysis:
    """What :func:`analyse_page` found in one page: the extracted fields and the analysis of their text."""

    fields: ExtractedPage
    analysis: TextAnalysis


def analysis_plan(crawler: Crawler) -> AnalysisPlan:
    """The crawl's plan (one per crawler, empty until a stage asks for something)."""
    plan = getattr(crawler, _PLAN_ATTR, None)
    if plan is None:
        plan = AnalysisPlan()
        setattr(crawler, _PLAN_ATTR, plan)
    return plan


def article_declared_languages(page_declared: Sequence[str], content_languages: Sequence[str]) -> tuple[str, ...]:
    """An article's declared languages: the page's own, then the Content-Language header's, normalised."""
    return parse_declared([*page_declared, *content_languages])


def analyse_text(text: str, title: str | None, declared: Sequence[str], plan: AnalysisPlan) -> TextAnalysis:
    """Language result and dedupe keys of an article's cleaned text, as far as ``plan`` asks for them."""
    analysis = TextAnalysis()
    if plan.language is not None:
        options = plan.language
        analysis.language = detect_languages(text, title, declared, min_paragraph_chars=options.min_paragraph_chars,
                                             char_budget=options.char_budget, mixed_share=options.mixed_share)
        analysis.language_options = options
    if plan.dedupe_keys:
        analysis.fingerprint = text_fingerprint(text)
        analysis.signature_hashes = signature_hashes(text)
    return analysis


def analyse_page(body: bytes, url: str, encoding: str | None = None, content_languages: Sequence[str] = (), *,
                 min_chars: int, plan: AnalysisPlan | None = None) -> PageAnalysis | None:
    """Extract a page (``extract_article``) and analyse the article's text; None when it is not an article.

    The text, title and declared languages analysed are those ``pipelines.extract.pipeline.to_article``
    gives the article: cleaned (``pipelines.sanitize``), with the page's declared languages before the
    ``content_languages`` of its Content-Language header.
    """
    from pipelines.extract.article import extract_article  # heavy (trafilatura, lxml): see the module docstring

    fields = extract_article(body, url, encoding, min_chars=min_chars)
    if fields is None:
        return None
    declared = article_declared_languages(fields.declared_languages, content_languages)
    analysis = analyse_text(clean_value(fields.text), clean_value(fields.title), declared, plan or AnalysisPlan())
    return PageAnalysis(fields, analysis)
