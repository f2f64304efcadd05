"""Property-based tests (hypothesis) for invariants easier to state than to enumerate (issue 25).

- URL canonicalisation is idempotent and never changes the host.
- Sealing then recovery never loses or doubles a line, wherever a crash cut the ``.part`` file.
- The JSON Redis serializer round-trips every request it accepts and refuses the rest with
  ``BadQueueEntry`` only (never another exception, never a pickle).
- ``clean_value`` output always encodes as UTF-8 and holds no control character.

Example counts are fixed and the database is off, so a run is deterministic in length and leaves
nothing behind; ``derandomize`` makes every run try the same examples (CI never flakes on a new one).
"""

from __future__ import annotations

import json
import string
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scrapy import Request

from crawler.distributed import serializer
from crawler.distributed.serializer import CALLBACKS, BadQueueEntry, dumps, loads
from pipelines.dedupe.urls import canonicalize_url
from pipelines.sanitize import clean_value
from pipelines.storage.sealed import SealedFile, recover_part

SETTINGS = settings(max_examples=150, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# --- URLs ---------------------------------------------------------------------------------------

_LABEL = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=12)
_HOST = st.builds(lambda labels, tld, upper, dot: ".".join(labels + [tld]).upper() if upper else
                  ".".join(labels + [tld]) + ("." if dot else ""),
                  st.lists(_LABEL, min_size=1, max_size=3), st.sampled_from(["com", "de", "co.uk", "example"]),
                  st.booleans(), st.booleans())
_SEGMENT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/?#"), max_size=12)
_PARAM = st.tuples(st.one_of(st.sampled_from(["utm_source", "fbclid", "gclid", "id", "page", "a", "B", "q"]),
                             st.text(string.ascii_letters + "_-", min_size=1, max_size=8)),
                   st.text(st.characters(blacklist_categories=("Cs",)), max_size=10))


@st.composite
def urls(draw: st.DrawFn) -> str:
    """An http(s) URL with odd case, default or other ports, any path text, tracking and other parameters."""
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "Https"]))
    host = draw(_HOST)
    port = draw(st.sampled_from(["", ":80", ":443", ":8080"]))
    path = "/".join(draw(st.lists(_SEGMENT, max_size=4)))
    params = draw(st.lists(_PARAM, max_size=5))
    query = "&".join(f"{k}={v}" for k, v in params)
    fragment = draw(st.sampled_from(["", "#top", "#a?b=1"]))
    return f"{scheme}://{host}{port}/{path}" + (f"?{query}" if query else "") + fragment


@SETTINGS
@given(urls())
def test_canonical_url_is_idempotent_and_keeps_the_host(url: str) -> None:
    once = canonicalize_url(url)
    assert canonicalize_url(once) == once
    assert urlsplit(once).hostname == urlsplit(url).hostname.rstrip(".")
    assert "utm_source=" not in once and "fbclid=" not in once and "#" not in once


# --- sealing and recovery -----------------------------------------------------------------------

_RECORD = st.dictionaries(st.text(max_size=5), st.one_of(st.text(), st.integers(), st.none(), st.booleans()),
                          max_size=4).map(lambda d: {**d, "url": "http://x.example/"})


@SETTINGS
@given(records=st.lists(_RECORD, min_size=1, max_size=8), cut=st.floats(0, 1))
def test_recovery_keeps_every_complete_line_once_whatever_the_cut(tmp_path_factory: pytest.TempPathFactory,
                                                                   records: list[dict[str, Any]], cut: float) -> None:
    directory = tmp_path_factory.mktemp("seal")
    part_file = SealedFile(directory, "run-00001")
    for record in records:
        part_file.write(record)
    part_file.close()
    data = part_file.part.read_bytes()
    keep = int(cut * len(data))
    with open(part_file.part, "r+b") as fh:  # the crash: whatever reached the disk
        fh.truncate(keep)
    complete = data[:keep].count(b"\n")
    sealed, recovered = recover_part(part_file.part)
    assert recovered == records[:complete]
    if complete:
        assert sealed is not None and sealed.read_bytes() == data[:data.rfind(b"\n", 0, keep) + 1]
    else:
        assert sealed is None
    assert not part_file.part.exists()
    assert sorted(p.name for p in directory.iterdir()) == (["run-00001.jsonl"] if complete else [])


# --- the Redis queue's serializer ---------------------------------------------------------------

_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                     | st.text(max_size=8), lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=12)
_META_KEY = st.one_of(st.sampled_from(["depth", "retry_times", "proxy", "download_maxsize", "dont_obey_robotstxt"]),
                      st.text(string.ascii_lowercase + "_", min_size=1, max_size=8).map(lambda s: "autonews_" + s))
_HEADER_VALUE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=12)


@st.composite
def requests(draw: st.DrawFn) -> Request:
    """A GET request such as the spiders make: any http(s) URL, callback, plain-JSON meta and headers."""
    url = canonicalize_url(draw(urls()))
    meta = draw(st.dictionaries(_META_KEY, _JSON, max_size=4))
    headers = draw(st.dictionaries(st.sampled_from(["Accept", "If-None-Match", "X-Test", "Cache-Control"]),
                                   st.lists(_HEADER_VALUE, min_size=1, max_size=2), max_size=3))
    return Request(url, callback=None, meta=meta, headers=headers, priority=draw(st.integers(-100, 100)),
                   dont_filter=draw(st.booleans()))


class _Spider:
    """Stands for a spider: ``Request.to_dict`` names callbacks by method name."""

    def parse_feed(self, response: Any) -> None:
        """A callback the queue accepts."""

    def on_error(self, failure: Any) -> None:
        """An errback the queue accepts."""


@SETTINGS
@given(requests())
def test_every_request_the_spiders_could_queue_round_trips(request: Request) -> None:
    spider = _Spider()
    entry = request.replace(callback=spider.parse_feed, errback=spider.on_error).to_dict(spider=spider)
    back = loads(dumps(entry))
    assert back["url"] == request.url and back["callback"] == "parse_feed" and back["errback"] == "on_error"
    assert back["priority"] == request.priority and back["dont_filter"] == request.dont_filter
    assert back["headers"] == {k: list(v) for k, v in request.headers.items()}
    # meta keys that could route a worker elsewhere or lift its limits never survive the queue
    assert back["meta"] == {k: v for k, v in request.meta.items() if k in serializer.SAFE_META or k.startswith("autonews_")}
    assert loads(dumps(entry)) == back  # stable


@SETTINGS
@given(_JSON)
def test_any_other_json_is_refused_with_bad_queue_entry(value: Any) -> None:
    data = json.dumps(value).encode()
    try:
        fields = loads(data)
    except BadQueueEntry:
        return
    # Accepted only when it is a real entry: a version-1 object naming a GET request and a known callback.
    assert isinstance(value, dict) and value.get("v") == 1 and fields["callback"] in CALLBACKS


@SETTINGS
@given(st.binary(max_size=64))
def test_arbitrary_bytes_are_refused_with_bad_queue_entry(data: bytes) -> None:
    with pytest.raises(BadQueueEntry):
        loads(data)


@SETTINGS
@given(requests(), st.sampled_from(["_class", "cb_kwargs", "callback", "method", "v", "url", "extra"]), _JSON)
def test_a_valid_entry_with_one_field_changed_to_junk_is_refused(request: Request, field: str, junk: Any) -> None:
    spider = _Spider()
    entry = json.loads(dumps(request.replace(callback=spider.parse_feed).to_dict(spider=spider)))
    harmless = {"cb_kwargs": {}, "callback": "parse_feed", "method": "GET", "v": 1, "url": entry["url"]}
    if field in harmless and junk == harmless[field]:
        return
    if field == "cb_kwargs" and junk == {}:
        return
    entry[field] = junk
    with pytest.raises(BadQueueEntry):
        loads(json.dumps(entry))


# --- clean_value ----------------------------------------------------------------------------------

# every code point: hypothesis never draws lone surrogates (category Cs) by itself, so they are drawn here
_ANY_TEXT = st.lists(st.one_of(st.characters(), st.integers(0xD800, 0xDFFF).map(chr),
                               st.integers(0, 0x1F).map(chr), st.just("\x7f")), max_size=20).map("".join)
_VALUE = st.recursive(_ANY_TEXT | st.integers() | st.none(), lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(_ANY_TEXT, inner, max_size=3) | st.tuples(inner, inner), max_leaves=10)


@SETTINGS
@given(_VALUE)
def test_clean_value_always_encodes_as_utf8_without_controls(value: Any) -> None:
    cleaned = clean_value(value)
    encoded = json.dumps(cleaned, ensure_ascii=False).encode("utf-8")  # raises on a lone surrogate
    assert json.loads(encoded.decode("utf-8")) == json.loads(json.dumps(cleaned))
    assert clean_value(cleaned) == cleaned  # idempotent

    def strings(v: Any) -> list[str]:
        if isinstance(v, str):
            return [v]
        if isinstance(v, (list, tuple)):
            return [s for item in v for s in strings(item)]
        if isinstance(v, dict):
            return [s for k, item in v.items() for s in strings(k) + strings(item)]
        return []

    for s in strings(cleaned):
        assert not any((ord(c) < 0x20 and c not in "\t\n\r") or c == "\x7f" for c in s), repr(s)
