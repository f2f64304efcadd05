"""jusText's all-languages stoplist, held once per process instead of twice.

When a page's language is unknown, trafilatura's jusText fallback classifies paragraphs against the union
of jusText's 100 stoplists: it keeps the union as a tuple of ~154,000 words (``JT_STOPLIST``), and
jusText's ``define_stoplist`` turns that tuple into a lower-cased frozenset on first use, keeping both
(the tuple as its cache key), then hashes the whole tuple again on every call to find its cache entry.
That is ~28 MB resident in every pool worker and a full pass over the tuple per jusText run.

:func:`install` has trafilatura build the union directly as the lower-cased frozenset jusText would
make of it (the same words: jusText's stoplists are lower-cased as they are read) and has jusText use a
set it is given that way as it is. Classification is unchanged (the same words are stopwords);
tests/test_stoplist.py checks that, and that the library functions replaced are still the ones reproduced here.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import justext.core
import trafilatura.external
from justext import get_stoplist, get_stoplists

#: The library functions replaced, kept for the seam test.
LIBRARY_DEFINE = justext.core.define_stoplist
LIBRARY_INIT = trafilatura.external.jt_stoplist_init

_UNION: frozenset[str] | None = None


def union_stoplist() -> frozenset[str]:
    """Every jusText stoplist word, lower-cased: what ``define_stoplist`` makes of trafilatura's union."""
    global _UNION
    if _UNION is None:
        _UNION = frozenset(word.lower() for language in get_stoplists() for word in get_stoplist(language))
    return _UNION


def _jt_stoplist_init() -> frozenset[str]:
    """trafilatura's lazy initialiser, giving the union as the final frozenset."""
    trafilatura.external.JT_STOPLIST = union_stoplist()
    return trafilatura.external.JT_STOPLIST


def _define_stoplist(stoplist: Iterable[str]) -> Any:
    """jusText's ``define_stoplist``, returning the prepared union itself instead of a lower-cased copy."""
    if stoplist is _UNION:
        return stoplist
    return LIBRARY_DEFINE(stoplist)


_define_stoplist.cache_clear = LIBRARY_DEFINE.cache_clear  # type: ignore[attr-defined]  # trafilatura.meta calls it


def install() -> None:
    """Route trafilatura's union stoplist and jusText's use of it through this module (idempotent)."""
    trafilatura.external.jt_stoplist_init = _jt_stoplist_init
    justext.core.define_stoplist = _define_stoplist
