"""jusText's all-languages stoplist held once (``pipelines.extract.stoplist``, issue 12): same words, same
jusText result, and the library functions it stands in for are still the ones it reproduces."""
from __future__ import annotations

import hashlib
import inspect
from pathlib import Path

import justext.core
import pytest
import trafilatura.external
from justext import get_stoplist, get_stoplists

from pipelines.extract import fallback, stoplist
from pipelines.extract.html import decode_body, parse_html

PAGES = Path(__file__).parent / "fixtures" / "pages"
# sha256 of the sources of justext 3.0.2's ``core.define_stoplist``, trafilatura 2.3.1's
# ``external.jt_stoplist_init`` and ``external.try_justext`` (the caller): a release that changes one of them
# must be looked at before the replacement is trusted again
LIBRARY_SHA256 = {
    "define_stoplist": "9149bbf4aa8ac519339cea3629a8e32f725655629350bf1e6966962050d9e63f",
    "jt_stoplist_init": "ea87de5a416844d81d5f3209a912cf8d41ce86154883d674e853d59a13207ff9",
    "try_justext": "6f0fa6cffc365def23443fc7f20dbba7ca157c3c4ed5823a5c905f8abc2a05d2",
}


def _sha(function: object) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()  # type: ignore[arg-type]


def test_installed_with_the_fallback_hook_and_the_library_functions_unchanged() -> None:
    fallback.install()
    assert trafilatura.external.jt_stoplist_init is stoplist._jt_stoplist_init
    assert justext.core.define_stoplist is stoplist._define_stoplist
    library = {"define_stoplist": stoplist.LIBRARY_DEFINE, "jt_stoplist_init": stoplist.LIBRARY_INIT,
               "try_justext": trafilatura.external.try_justext}
    changed = {name: _sha(fn) for name, fn in library.items() if _sha(fn) != LIBRARY_SHA256[name]}
    assert not changed, f"compare with pipelines/extract/stoplist.py, then update LIBRARY_SHA256: {changed}"
    # the caller reads the union through the initialiser, and jusText makes its set through define_stoplist
    assert "JT_STOPLIST or jt_stoplist_init()" in inspect.getsource(trafilatura.external.try_justext)
    assert "stoplist = define_stoplist(stoplist)" in inspect.getsource(justext.core.classify_paragraphs)


def test_the_union_has_the_words_jusText_would_make_of_trafilaturas_tuple() -> None:
    library_tuple = tuple({word for language in get_stoplists() for word in get_stoplist(language)})
    assert stoplist.union_stoplist() == stoplist.LIBRARY_DEFINE(library_tuple)
    assert len(stoplist.union_stoplist()) > 100_000


def test_the_union_is_used_as_it_is_and_other_stoplists_as_before() -> None:
    union = stoplist.union_stoplist()
    assert stoplist._define_stoplist(union) is union  # no lower-cased copy
    english = get_stoplist("English")
    assert stoplist._define_stoplist(english) == stoplist.LIBRARY_DEFINE(english)
    assert stoplist._define_stoplist(("The", "AND")) == frozenset({"the", "and"})


@pytest.mark.parametrize("path", sorted(PAGES.glob("*.html")), ids=lambda p: p.stem)
def test_jusText_keeps_the_same_paragraphs_as_with_the_library_stoplist(path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    def run() -> list[str]:
        tree = parse_html(decode_body(path.read_bytes()) or "")
        assert tree is not None
        return [p.text or "" for p in trafilatura.external.try_justext(tree, "https://example.com/a", None)]

    stoplist.install()
    hooked = run()
    assert trafilatura.external.JT_STOPLIST is stoplist.union_stoplist()
    monkeypatch.setattr(trafilatura.external, "JT_STOPLIST", None)
    monkeypatch.setattr(trafilatura.external, "jt_stoplist_init", stoplist.LIBRARY_INIT)
    monkeypatch.setattr(justext.core, "define_stoplist", stoplist.LIBRARY_DEFINE)
    assert run() == hooked
