"""Metadata downstream can trust (issue 13): titles, authors, dates with provenance, comments, page types.

Whole pages are fixtures (tests/fixtures/pages/title_*, authors_*, date_*, comments_*, paywalled, live_blog,
amp_canonical); these tests pin the rules one by one and the pipeline's share (feed/sitemap dates, future
dates, AMP URLs).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pipelines.extract.article import extract_article
from pipelines.extract.authors import clean_authors, page_authors
from pipelines.extract.comments import cut_comments, is_comment_marker
from pipelines.extract.dates import after, url_date
from pipelines.extract.pipeline import to_article
from pipelines.extract.title import SiteMatcher, choose_title, strip_site
from pipelines.items import ExtractedPage
from pipelines.record import build_record, validation_errors
from tests.conftest import make_page

PAGES = Path(__file__).parent / "fixtures" / "pages"
SITE = SiteMatcher(["Riverside Herald", "DW"], "https://www.riverside-herald.example/a")


@pytest.mark.parametrize(("raw", "expected"), [
    ("Steigende US-Zinsen setzen Dax zu | Riverside Herald", "Steigende US-Zinsen setzen Dax zu"),
    ("Post-Vac-Syndrom: Was wissen wir? – DW – 13.06.2023", "Post-Vac-Syndrom: Was wissen wir?"),
    ("Riverside Herald - Council approves plan", "Council approves plan"),
    ("Council approves plan | Riverside-Herald.example | Your daily paper", "Council approves plan"),
    ("Council approves plan | by Jane Roe", "Council approves plan"),
    ("Climate change: the year ahead", "Climate change: the year ahead"),
    ("Biden - Trump: the debate", "Biden - Trump: the debate"),
    ("Riverside Herald", "Riverside Herald"),
])
def test_strip_site(raw: str, expected: str) -> None:
    assert strip_site(raw, SITE) == expected


def test_title_sources_vote_and_og_title_leads() -> None:
    candidates = {"og": "Council approves plan", "ld": "Council approves plan", "h1": "Council approves the plan",
                  "twitter": None, "title": "Council approves plan - National | Riverside Herald"}
    assert choose_title(candidates, SITE) == "Council approves plan"
    # without og:title, agreement decides; a title that is only the site's name is no candidate
    assert choose_title({"h1": "Council approves plan", "title": "Riverside Herald"}, SITE) == "Council approves plan"


@pytest.mark.parametrize(("raw", "expected"), [
    (["By Jane Roe and John Doe"], ["Jane Roe", "John Doe"]),
    (["Autor Monika Bolliger"], ["Monika Bolliger"]),
    (["Par Stefan Häne, Sylvain Besson"], ["Stefan Häne", "Sylvain Besson"]),
    (["Przez Anna Nowak i Piotr Kowalski"], ["Anna Nowak", "Piotr Kowalski"]),
    (["Juan Pérez y María López"], ["Juan Pérez", "María López"]),
    (["Trine Juncher Jørgensen og Tôrtia Reimer-Johansen"], ["Trine Juncher Jørgensen", "Tôrtia Reimer-Johansen"]),
    (["Elena Oberholzer (obe"], ["Elena Oberholzer"]),
    (["Jane Roe (AFP)", "jane.roe@news.example", "@janeroe"], ["Jane Roe"]),
    (["Capital Von Jemima Kelly"], ["Jemima Kelly"]),
    (["Laura Zhou, Staff Reporter"], ["Laura Zhou"]),
    (["Ursula von der Leyen"], ["Ursula von der Leyen"]),
    (["emma-mackenzie", "wpadmin", "Unknown"], []),
    (["Jane Roe", "jane roe", "John Doe"], ["Jane Roe", "John Doe"]),
    (["Perry Bacon Jr.", "Juan Carlos Muñoz C."], ["Perry Bacon Jr.", "Juan Carlos Muñoz C."]),
    (["Vom Krimiblogger", "Zum Profil von jesusfreak jesusfreak", "Recipe by Ann Lee"], ["Krimiblogger", "jesusfreak", "Ann Lee"]),
    (["ZooRoyal Petcare GmbH", "Haufe-Lexware GmbH & Co. KG", "Hanns-Seidel-Stiftung e.V.", "Wegewerk Gmbh"], []),
    (["Bund der Energieverbraucher e V", "Nordex SE", "Copyright Example Media"], []),
    (["신현주 기자"], ["신현주"]),
    (["Redacci", "Oacute", "N Diario Pagina Siete"], []),
])
def test_clean_authors_rules(raw: list[str], expected: list[str]) -> None:
    assert clean_authors(raw) == expected


def test_publisher_is_not_an_author_unless_nobody_else_is_named() -> None:
    assert clean_authors(["Riverside Herald", "Jane Roe"], SITE.names_site) == ["Jane Roe"]
    assert page_authors([["Riverside Herald"], ["Jane Roe"]], SITE.names_site) == ["Jane Roe"]
    # a desk story the publisher signs itself, as its structured data says: kept rather than nothing
    assert page_authors([["Riverside Herald"], []], SITE.names_site) == ["Riverside Herald"]
    # a domain name spelled out ("Riverside-Herald de") is never an author
    assert page_authors([[], [], ["Riverside-Herald de"]], SITE.names_site) == []
    # the visible byline is read before falling back to the site's own name
    assert page_authors([["Riverside Herald"]], SITE.names_site, lambda: ["By Mara Lind"]) == ["Mara Lind"]


def test_site_named_by_its_domain_or_as_a_tail() -> None:
    site = SiteMatcher(["DW.COM"], "https://www.dw.com/de/a-1")
    assert clean_authors(["Deutsche Welle (www.dw.com)"], site.names_site) == []
    assert clean_authors(["Jane Roe (www.other.example)"], site.names_site) == ["Jane Roe"]
    # the domain as a piece of its own next to a person: the person stays, in every later source too
    cleveland = SiteMatcher(["cleveland.com"], "https://www.cleveland.com/a")
    assert page_authors([["Troy L. Smith, Cleveland.com"], ["Troy Smith"]], cleveland.names_site) == ["Troy L. Smith"]
    nj = SiteMatcher(["NJ.com"], "https://www.nj.com/a")
    assert page_authors([["Amy Kuperinsky | NJ Advance Media for NJ.com"], ["Amy Kuperinsky"]], nj.names_site) == [
        "Amy Kuperinsky"]
    # named by its domain once, the same name is the site's in a later source too, before the visible byline
    assert page_authors([["Deutsche Welle (www.dw.com)"], ["Deutsche Welle"]], site.names_site,
                        lambda: ["Roman Goncharenko"]) == ["Roman Goncharenko"]
    philly = SiteMatcher(["PhillyVoice"], "https://www.phillyvoice.com/a")
    assert clean_authors(["Adam Aaronson PhillyVoice Staff"], philly.names_site) == ["Adam Aaronson"]
    assert clean_authors(["Jörg Staff"], philly.names_site) == ["Jörg Staff"]  # a surname, not a role after a site
    assert clean_authors(["Alles über Lautsprecher"], SiteMatcher(["Das Lautsprecher Blog"], None).names_site) == [
        "Alles über Lautsprecher"]  # no role after it: the word is not the site's signature


def test_slug_given_back_capitalised_is_still_a_slug() -> None:
    assert page_authors([["gabor_munier"], ["Gabor Munier"]], SITE.names_site, lambda: ["Autor Gàbor Muniér"]) == [
        "Gàbor Muniér"]


def test_comment_markers_and_cut() -> None:
    for line in ("12 Kommentare", "Kritiker2010 06.11.2023, 13.47 Uhr", "#1 Kommentar von Naru-chan", "Comments (3)",
                 "jane says: May 3, 2021 at 9:12 pm"):
        assert is_comment_marker(line), line
    for line in ("The council said on 06.11.2023 that it would decide.", "Climate change is real."):
        assert not is_comment_marker(line), line
    text = ["A long paragraph of the article " * 5, "Another one " * 10, "3 Kommentare", "Reader: nice"]
    assert cut_comments(text) == text[:2]
    early = ["Comments", "A long paragraph of the article " * 10]  # a marker in the first half is not a thread
    assert cut_comments(early) == early


def test_url_date_and_after() -> None:
    assert url_date("https://x.example/2023/11/08/story/") == "2023-11-08"
    assert url_date("https://x.example/news/20231108/story") == "2023-11-08"
    assert url_date("https://x.example/2023/13/08/story/") is None
    assert after("2024-01-02T10:00:00+00:00", "2024-01-01T10:00:00+00:00")
    assert not after("2024-01-01T09:00:00+00:00", "2024-01-01T10:00:00+00:00")
    assert after("2024-01-02", "2024-01-01T23:00:00+00:00") and not after("2024-01-01", "2024-01-01T00:00:00+00:00")


def _fields(**changes: object) -> ExtractedPage:
    page = extract_article((PAGES / "date_meta_not_modified.html").read_bytes(), "https://herald.example/a/4")
    assert page is not None
    return replace(page, **changes)


def test_future_date_is_dropped_and_feed_or_sitemap_date_used() -> None:
    page = make_page(b"", "https://herald.example/a/4", fetched_at="2024-03-06T00:00:00+00:00",
                     feed_published="2024-03-04T08:00:00+00:00", feed_published_from="sitemap")
    article = to_article(page, _fields())
    assert (article.published, article.published_from) == ("2024-03-05T09:00:00+00:00", "meta")
    article = to_article(page, _fields(published="2024-03-09T09:00:00+00:00"))
    assert (article.published, article.published_from) == ("2024-03-04T08:00:00+00:00", "sitemap")
    article = to_article(replace(page, feed_published="2030-01-01"), _fields(published=None, published_from=None))
    assert (article.published, article.published_from) == (None, None) and "no_date" in article.flags
    article = to_article(replace(page, feed_published_from="feed"), _fields(published=None, published_from=None))
    assert article.published_from == "feed"


def test_amp_page_is_recorded_under_its_canonical_on_the_same_site() -> None:
    body = (PAGES / "amp_canonical.html").read_bytes()
    fields = extract_article(body, "https://herald.example/amp/a/9")
    assert fields is not None and fields.amp_canonical == "https://herald.example/a/9"
    article = to_article(make_page(b"", "https://herald.example/amp/a/9"), fields)
    assert article.url == "https://herald.example/a/9"
    elsewhere = replace(fields, amp_canonical="https://other.example/a/9")
    assert to_article(make_page(b"", "https://herald.example/amp/a/9"), elsewhere).url == "https://herald.example/amp/a/9"


def test_record_carries_published_from_and_page_type_flags() -> None:
    fields = extract_article((PAGES / "paywalled.html").read_bytes(), "https://herald.example/a/8")
    assert fields is not None
    article = to_article(make_page(b"", "https://herald.example/a/8"), fields)
    article.language, article.fingerprint, article.canonical_url = "en", "0" * 16, article.url
    record = build_record(article)
    assert list(record).index("published_from") == list(record).index("published") + 1
    assert "paywalled" in record["flags"] and record["schema_version"] == 4
    assert validation_errors(record) == []


@pytest.mark.parametrize(("raw", "expected"), [
    (["Markus M. Haefliger, London, Beat Bumbacher"], ["Markus M. Haefliger", "Beat Bumbacher"]),  # dateline place
    (["Ilana Muhlstein, MS, RDN"], ["Ilana Muhlstein"]),  # degrees after the name
    (["Quelle: sid"], []),  # a source label
    (["Quelle sid", "Foto: dpa"], []),
    (["Chuck-Ross"], ["Chuck Ross"]),  # a capitalised profile slug
    (["Nachrichten"], []),  # a section word
    (["David Straub, MDR THÜRINGEN"], ["David Straub"]),  # a desk in capitals beside a person
    (["David Straub", "MDR THÜRINGEN"], ["David Straub"]),
    (["LISA MASCARO, MARY CLARE JALONICK"], ["LISA MASCARO", "MARY CLARE JALONICK"]),  # a byline all in capitals
    (["LISA MASCARO", "ERIC TUCKER Associated Press"], ["LISA MASCARO", "ERIC TUCKER Associated Press"]),
    (["Al-Bawaba"], ["Al-Bawaba"]),  # a hyphenated name, not a slug
    (["TOM KRISHER, AP Auto Writer"], ["TOM KRISHER"]),  # a role piece beside a person
    (["Tom Gillespie News reporter"], ["Tom Gillespie"]),  # roles after a name
    (["Carrie Arnold November", "Jeff Foust Monday"], ["Carrie Arnold", "Jeff Foust"]),  # a date glued to the name
    (["Harm, Robert"], ["Harm", "Robert"]),  # one-word names with no person beside them stay
])
def test_clean_authors_drops_places_labels_sections_and_desks(raw: list[str], expected: list[str]) -> None:
    assert clean_authors(raw) == expected


def test_an_address_after_the_site_is_no_author() -> None:
    site = SiteMatcher(["GIROMATCH"], "https://www.giromatch.com/kredit")
    assert clean_authors(["GIROMATCH, Frankfurt a. M., Germany"], site.names_site) == []
    # trafilatura gives it as separate values; kept as the site alone, when nobody else is named
    assert page_authors([[], ["GIROMATCH", "Frankfurt a M", "Germany"]], site.names_site) == ["GIROMATCH"]
    # a person after the site's name is no address
    assert clean_authors(["GIROMATCH, Jane Roe"], site.names_site) == ["Jane Roe"]
    # an agency joined to the site by a conjunction is no address either
    figaro = SiteMatcher(["Le Figaro"], "https://www.lefigaro.fr/a")
    assert clean_authors(["Le Figaro et AFP"], figaro.names_site) == ["AFP"]


def test_author_values_too_long_for_a_byline_are_skipped_quickly() -> None:
    # the e-mail and URL patterns are quadratic on one long run of non-spaces: such a value is no byline
    assert clean_authors(["By " + "a" * 50_000]) == []
