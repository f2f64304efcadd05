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
from re import Pattern

from trafilatura import json_metadata
from trafilatura.json_metadata import normalize_authors

_swap_lock = threading.Lock()  # a module global is swapped: one swap at a time in a process


def linear_json_author(elemtext: str, regular_expression: Pattern[str]) -> str | None:
    """``extract_json_author``'s names, searched once through ``elemtext`` (from each match's end on)."""
    authors = None
    match = regular_expression.search(elemtext)
    while match:
        # first matching group (JSON_AUTHOR_1 has two), as trafilatura
        name = next(filter(None, match.groups()), None)
        if not name or " " not in name:
            break
        authors = normalize_authors(authors, name)
        match = regular_expression.search(elemtext, match.end())
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
