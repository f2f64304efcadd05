"""Reader comments that trafilatura let through, cut from the end of a text.

A comment thread after the article shows itself in the text: a header ("12 Kommentare", "Comments (3)",
"Leserkommentare"), a numbered comment ("#1 Kommentar von Naru-chan"), or a user name with a time stamp
("Kritiker2010 06.11.2023, 13.47 Uhr"). From the first such line in the second half of the text, the rest
is the thread: it goes. Stripping comments is the pipeline's first promise, so a line that is only a
marker is enough; the second-half rule keeps an article that merely mentions comments early on.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

from lxml import etree
from lxml.html import HtmlElement

# a thread header: "12 Kommentare", "Comments (3)", "3 thoughts on", "Leserkommentare", "Kommentar schreiben"
_HEADER = re.compile(
    r"^(?:\d+\s+)?(?:kommentare?|comments?|leserkommentare|reader comments|responses?|reactions?|reacties"
    r"|commentaires?|commenti|comentarios?|antworten|replies)\s*(?:\(\d+\)|:)?\s*$"
    r"|^\d+\s+(?:thoughts? on|responses? to|kommentare? zu|comments? on)\b"
    r"|^(?:kommentar|comment)\s+(?:schreiben|verfassen|abgeben|hinzufügen)\b"
    r"|^(?:leave a (?:reply|comment)|schreibe einen kommentar|hinterlasse einen kommentar|post a comment"
    r"|join the discussion|diskutieren sie mit)\b", re.I)
# a numbered or attributed comment: "#1 Kommentar von Naru-chan", "Kommentar von Jane", "Comment by Jane"
_ATTRIBUTED = re.compile(r"^(?:#\d+\s+)?(?:kommentar|comment|antwort|reply|réponse)\s+(?:von|by|de|par)\s+\S", re.I)
# a user name and a time stamp alone on a line: "Kritiker2010 06.11.2023, 13.47 Uhr", "jane says: May 3, 2021 at 9:12"
_USER_STAMP = re.compile(
    r"^\S{2,40}(?:\s+(?:says|sagt|schreibt|meint|wrote|schrieb):?)?\s+(?:am\s+)?"
    r"(?:\d{1,2}\.\s?\d{1,2}\.\s?\d{2,4}|\d{4}-\d{2}-\d{2}|\d{1,2}\.?\s+\w+\.?\s+\d{4}|\w+\.?\s+\d{1,2},?\s+\d{4})"
    r",?\s*(?:(?:um|at|à)\s+)?(?:\d{1,2}[.:]\d{2}\s*(?:uhr|h|am|pm)?)?\s*(?:\S{0,3})?$", re.I)
_MIN_SHARE = 0.5  # a thread starts in the second half of the text


def is_comment_marker(line: str) -> bool:
    """Whether ``line`` opens a comment thread or a single comment."""
    line = " ".join(line.split())
    return bool(_HEADER.search(line) or _ATTRIBUTED.search(line) or _USER_STAMP.match(line))


def cut_comments(lines: list[str]) -> list[str]:
    """``lines`` up to the first comment marker in the second half of the text (by characters)."""
    total = sum(len(line) for line in lines)
    seen = 0
    for i, line in enumerate(lines):
        if i and seen >= _MIN_SHARE * total and is_comment_marker(line):
            return lines[:i]
        seen += len(line)
    return lines


# a class or id token naming a comment thread or one comment ("comments", "comment-item", "kb-comments",
# "kommentar_244973", "disqus_thread"), but not a link, counter or switch about comments, nor a category
# ("category-kommentar": in German a "Kommentar" is also an opinion piece)
_COMMENT_TOKEN = re.compile(r"(?:^|[-_])(?:comments?|kommentare|kommentar[-_]?\d|kommentarer|commentaires?|commenti|comentarios?"
                            r"|disqus|reader-?comments|user-?comments|comment-?list|commentlist)(?:$|[-_\d])", re.I)
_NOT_THREAD = re.compile(r"^(?:category|tag|term|type|format|section|rubrik|ressort)[-_]|[-_]term\b|open|closed|count|link|number|num|icon|button|btn|status|teaser|meta|toggle|share"
                         r"|trigger|badge|bubble|cta|nav", re.I)
# never a container that holds most of the page's text: that is the article itself, whatever its name
_MAX_THREAD_SHARE = 0.5


def _names_thread(element: HtmlElement) -> bool:
    tokens = (element.get("class") or "").split() + [element.get("id") or ""]
    return any(_COMMENT_TOKEN.search(token) and not _NOT_THREAD.search(token) for token in tokens if token)


# Every class or id _COMMENT_TOKEN matches contains one of these: one search of the raw attribute values picks
# the few candidates before they are split into tokens (testing every element's tokens cost ~1 ms a page).
_HINT = re.compile(r"comment|kommentar|comentario|disqus", re.I)


def _candidates(body: HtmlElement) -> Iterator[HtmlElement]:
    """Elements below ``body`` whose class or id could name a comment thread."""
    for element in body.iter(etree.Element):
        cls, ident = element.get("class"), element.get("id")
        if (cls and _HINT.search(cls)) or (ident and _HINT.search(ident)):
            yield element


def drop_comment_sections(tree: HtmlElement) -> int:
    """Remove comment threads from ``tree`` (elements a class or id names as comments, below <body>);
    returns how many were removed. trafilatura misses threads whose markup it does not know."""
    body = tree.find(".//body")
    if body is None:
        return 0
    found = [el for el in _candidates(body) if el.tag not in ("html", "body", "main") and _names_thread(el)]
    if not found:
        return 0
    total = len(body.text_content() or "")
    removed = 0
    # a set: a list's "in" made a flood of comment elements quadratic (lxml returns the same proxy for a node
    # while one is referenced, and compares by identity)
    found_set = set(found)
    for element in found:
        if element.getparent() is None or any(a in found_set for a in element.iterancestors()):
            continue  # already gone with an enclosing thread
        if len(element.text_content() or "") > _MAX_THREAD_SHARE * total:
            continue
        element.drop_tree()
        removed += 1
    return removed
