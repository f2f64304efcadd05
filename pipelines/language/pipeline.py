"""Item pipeline: language fields and flags, and what to do with non-English articles.

The detection itself is pure and lives in pipelines.language.detect; this module reads settings,
merges the result into the item, counts stats and applies AUTONEWS_NON_ENGLISH_POLICY. The detection
normally runs with the extraction, in the same pool task (``pipelines.analysis``: this stage asks for it
when built); an article without that result is detected here, in the pool.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from pipelines.analysis import analysis_plan
from pipelines.items import Article, LanguageOptions
from pipelines.language.codes import normalize_code
from pipelines.pool import TaskFailed, cpu_pool
from pipelines.stats import count_error
from pipelines.language.detect import (CHAR_BUDGET, FLAG_MIXED, FLAG_NON_ENGLISH, FLAG_UNKNOWN, MIN_PARAGRAPH_CHARS,
                                       MIXED_SHARE, LanguageResult, detect_languages)

__all__ = ["LanguagePipeline", "LanguageResult", "detect_languages", "POLICIES", "ROUTE_NON_ENGLISH"]

POLICIES = ("flag", "route", "drop")
ROUTE_NON_ENGLISH = "non-english"
POLICY_SETTING = "AUTONEWS_NON_ENGLISH_POLICY"


def check_policy(value: Any) -> str:
    """The policy named by the setting, lower-cased; ValueError naming the setting when invalid."""
    policy = str(value or "flag").strip().lower()
    if policy not in POLICIES:
        raise ValueError(f"{POLICY_SETTING} must be one of {', '.join(POLICIES)}; got {value!r}")
    return policy


class LanguagePipeline:
    """Sets ``language``, ``languages`` and language flags; flags, routes or drops non-English articles."""

    def __init__(self, crawler: Crawler, policy: str = "flag", *, min_paragraph_chars: int = MIN_PARAGRAPH_CHARS,
                 char_budget: int = CHAR_BUDGET, mixed_share: float = MIXED_SHARE) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.policy = check_policy(policy)
        self.min_paragraph_chars = min_paragraph_chars
        self.char_budget = char_budget
        self.mixed_share = mixed_share
        self.options = LanguageOptions(min_paragraph_chars, char_budget, mixed_share)
        # the extraction stage's pool task detects with these options (one pool round trip per page)
        analysis_plan(crawler).language = self.options

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "LanguagePipeline":
        """Build from AUTONEWS_NON_ENGLISH_POLICY, AUTONEWS_MIXED_LANGUAGE_SHARE,
        AUTONEWS_LANGUAGE_CHAR_BUDGET and AUTONEWS_LANGUAGE_MIN_PARAGRAPH_CHARS."""
        settings = crawler.settings
        share = settings.getfloat("AUTONEWS_MIXED_LANGUAGE_SHARE", MIXED_SHARE)
        if not 0 < share <= 1:
            raise ValueError(f"AUTONEWS_MIXED_LANGUAGE_SHARE must be in (0, 1]; got {share!r}")
        return cls(crawler, settings.get(POLICY_SETTING, "flag"),
                   min_paragraph_chars=settings.getint("AUTONEWS_LANGUAGE_MIN_PARAGRAPH_CHARS", MIN_PARAGRAPH_CHARS),
                   char_budget=settings.getint("AUTONEWS_LANGUAGE_CHAR_BUDGET", CHAR_BUDGET),
                   mixed_share=share)

    async def process_item(self, item: Article) -> Article:
        """Apply the language result found with the extraction; without one, detect in the crawl's process pool
        (inline with ``AUTONEWS_POOL_PROCESSES=0``) first."""
        found = item.analysis
        if found is not None and found.language is not None and found.language_options == self.options:
            return self.apply(item, found.language)
        detect = partial(detect_languages, min_paragraph_chars=self.min_paragraph_chars,
                         char_budget=self.char_budget, mixed_share=self.mixed_share)
        try:
            result = await cpu_pool(self.crawler).run(detect, item.text, item.title, item.declared_languages)
        except TaskFailed as exc:  # over AUTONEWS_PAGE_TIMEOUT, or its worker died twice: an error of this page
            count_error(self.stats, exc.label, item.source)
            raise DropItem(f"{exc}: {item.url}") from None
        return self.apply(item, result)

    def apply(self, item: Article, result: LanguageResult) -> Article:
        """Merge language fields into the article, count them, and apply the non-English policy."""
        item.language = result.language
        item.languages = dict(result.languages)
        item.flags.extend(flag for flag in result.flags if flag not in item.flags)
        for flag, key in ((FLAG_NON_ENGLISH, "autonews/non_english"), (FLAG_MIXED, "autonews/mixed_language"),
                          (FLAG_UNKNOWN, "autonews/language_unknown")):
            if flag in result.flags:
                self.stats.inc_value(key)
        expected = normalize_code(item.expected_language)
        if expected and result.language and expected != result.language:
            # The registry's language is a hint about the source, not about this page: report only.
            self.stats.inc_value("autonews/language_mismatch")
        if FLAG_NON_ENGLISH in result.flags:
            return self._apply_policy(item, result)
        return item

    def _apply_policy(self, item: Article, result: LanguageResult) -> Article:
        """Keep, route or drop a non-English item according to the policy."""
        if self.policy == "route":
            item.route = ROUTE_NON_ENGLISH
            self.stats.inc_value("autonews/routed/non_english")
        elif self.policy == "drop":
            self.stats.inc_value("autonews/dropped/non_english")
            raise DropItem(f"non-English ({result.language or 'unknown'}): {item.url}")
        return item
