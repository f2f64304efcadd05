"""trafilatura's author search in JSON-LD that does not parse, made linear in the text's length.

``trafilatura.json_metadata.extract_json_author`` removes each match from the text (``sub(count=1)``)
and searches again from the start: one copy and one rescan of the whole text per author found. A live
blog whose 800 KB JSON-LD does not parse names an author per post, and that loop took 1.2 s of CPU on
one page (of 1.7 s for the whole extraction). :func:`linear_json_author` goes on searching after each
match instead, which finds the same names wherever a match cannot begin before the previous match and
end after it (the pattern's leading ``"author"``/``"Person"`` literal must begin it, and the lazy run
after it stops at the first ``"name"``): on the 787 benchmark pages, every record is unchanged.
:func:`linear_json_authors` swaps it in while trafilatura's JSON-LD metadata is read.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
import re
from re import Match, Pattern

from trafilatura import json_metadata
from trafilatura.json_metadata import JSON_AUTHOR_1, JSON_AUTHOR_2, normalize_authors

_swap_lock = threading.Lock()  # a module global is swapped: one swap at a time in a process

MAX_MATCH_CHARS = 4000
"""How far past an ``"author"``/``"Person"`` key a match attempt looks at first (a name lies a few hundred
characters from its key: one further away is not looked for, and none of the 787 benchmark pages has one; a
match that reaches the bound is taken whole, as without it)."""
SEARCH_BUDGET_FACTOR = 4
"""Failed attempts may examine up to this many times the text's length (plus :data:`SEARCH_BUDGET_SLACK`)
before the search gives up. The patterns' lazy runs stop only at a closing brace: in a long run without one (a
cut-off or hostile block), every key's attempt scanned to its bound (120 KB of ``"author":"x y",`` took 23 s
unbounded, 7.5 MB 100 s with the bound alone). In a JSON-LD block an attempt ends at the next ``}``, so the
budget is never reached by one that merely fails to parse."""
SEARCH_BUDGET_SLACK = 64 * 1024
# every match of trafilatura's two patterns begins with one of these keys
_KEYS = {JSON_AUTHOR_1.pattern: re.compile('"author"'), JSON_AUTHOR_2.pattern: re.compile('"[Pp]erson"')}


class _Search:
    """``regular_expression.search`` from a position on, for the two patterns whose keys are known: attempts
    at the keys only, each bounded, the failed ones charged the text they could examine (to the next ``}`` or
    the bound) against a budget; an unknown pattern is searched as it is."""

    def __init__(self, regular_expression: Pattern[str], text: str) -> None:
        self.regex, self.text = regular_expression, text
        self.key = _KEYS.get(regular_expression.pattern)
        self.budget = SEARCH_BUDGET_FACTOR * len(text) + SEARCH_BUDGET_SLACK

    def __call__(self, pos: int) -> Match[str] | None:
        if self.key is None:
            return self.regex.search(self.text, pos)
        for start in self.key.finditer(self.text, pos):
            at = start.start()
            bound = at + MAX_MATCH_CHARS
            found = self.regex.match(self.text, at, bound)
            if found is not None:
                # a match cut by the bound may be longer without it (a name running on): take the whole one
                return found if found.end() < bound else self.regex.match(self.text, at)
            close = self.text.find("}", at, bound)
            self.budget -= (bound if close < 0 else close) - at
            if self.budget < 0:
                return None
        return None


def linear_json_author(elemtext: str, regular_expression: Pattern[str]) -> str | None:
    """``extract_json_author``'s names, searched once through ``elemtext`` (from each match's end on)."""
    authors = None
    search = _Search(regular_expression, elemtext)
    match = search(0)
    while match:
        # first matching group (JSON_AUTHOR_1 has two), as trafilatura
        name = next(filter(None, match.groups()), None)
        if not name or " " not in name:
            break
        authors = normalize_authors(authors, name)
        match = search(match.end())
    return authors or None


@contextmanager
def linear_json_authors() -> Iterator[None]:
    """Make trafilatura's JSON-LD parse-error path use :func:`linear_json_author` within the block."""
    with _swap_lock:
        saved, json_metadata.extract_json_author = json_metadata.extract_json_author, linear_json_author
        try:
            yield
        finally:
            json_metadata.extract_json_author = saved
