"""The shared request queue's serializer (scrapy-redis ``SCHEDULER_SERIALIZER``): checked JSON, never pickle.

Anyone who can write to Redis can add entries to ``<prefix>:<spider>:requests``. scrapy-redis's
default serializer unpickles them, which runs whatever code the entry names; this module's
:func:`loads` only ever parses JSON and accepts nothing but a plain request the project's
spiders could have made:

- an ``http``/``https`` URL with a host, method ``GET`` (the crawler only reads);
- a callback among :data:`CALLBACKS` and an errback among :data:`ERRBACKS` (or none): method
  *names*, resolved on the running spider by ``scrapy.utils.request.request_from_dict``;
- no ``_class`` (``request_from_dict`` would import and instantiate any class it names), no
  ``cb_kwargs`` (the callbacks take none), no field that ``scrapy.Request`` does not have;
- ``meta``, ``cookies`` and ``flags`` as plain JSON (they cannot be anything else after a JSON parse).

Bytes fields are encoded in the entry: header names and values as latin-1 strings (HTTP header
bytes are latin-1, so every byte maps to one character and back), the body as base64. An entry
looks like::

    {"v": 1, "url": "https://example.com/feed.xml", "method": "GET", "callback": "parse_feed",
     "errback": "on_error", "headers": {"Cache-Control": ["max-age=0"]}, "body": "",
     "meta": {"autonews_kind": "discovery", ...}, "cookies": {}, "encoding": "utf-8",
     "flags": [], "cb_kwargs": {}, "priority": 0, "dont_filter": false}

:func:`loads` raises :class:`BadQueueEntry` for anything else; the queue
(``crawler.distributed.queue``) counts, logs and drops such entries. :func:`dumps` refuses what
:func:`loads` would refuse, so a request the spiders make that workers could not read back fails
loudly when it is queued rather than being dropped by every worker.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
import re
from typing import Any
from urllib.parse import urlsplit

FORMAT = 1
"""Version of the entry layout (the ``v`` field); entries of another version are refused."""

CALLBACKS: frozenset[str] = frozenset({"parse_article", "parse_feed", "parse_sitemap", "parse_section"})
"""Spider methods a queued request may name as its callback: those of ``crawler.spiders``."""

ERRBACKS: frozenset[str] = frozenset({"on_error"})
"""Spider methods a queued request may name as its errback."""

METHODS: frozenset[str] = frozenset({"GET"})
"""HTTP methods a queued request may use."""

MAX_ENTRY_BYTES = 256 * 1024
"""Larger entries are refused unparsed (a real one is a few hundred bytes: a URL and some meta)."""

_FIELDS = frozenset({"url", "method", "callback", "errback", "headers", "body", "cookies", "meta",
                     "encoding", "flags", "cb_kwargs", "priority", "dont_filter"})
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an HTTP header name (RFC 9110 token)
_ENCODING = re.compile(r"[A-Za-z0-9_-]{1,40}")
_MAX_URL = 8192


class BadQueueEntry(ValueError):
    """A queue entry that is not a request this project could have queued; the reason is the message."""


def dumps(request: dict[str, Any]) -> bytes:
    """Encode ``Request.to_dict(spider=...)`` as a queue entry (compact JSON, keys sorted).

    Raises ``ValueError`` (or ``TypeError`` for meta that is not plain JSON) for a request that
    :func:`loads` would refuse.
    """
    if "_class" in request:
        raise ValueError(f"only plain scrapy.Request objects can be queued, not {request['_class']}")
    unknown = sorted(set(request) - _FIELDS)
    if unknown:
        raise ValueError(f"cannot queue request fields {unknown}")
    entry = dict(request, v=FORMAT)
    entry["headers"] = {_latin1(name): [_latin1(v) for v in _as_list(values)]
                       for name, values in (request.get("headers") or {}).items()}
    body = request.get("body") or b""
    entry["body"] = base64.b64encode(body if isinstance(body, bytes) else str(body).encode("utf-8")).decode("ascii")
    data = json.dumps(entry, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("utf-8")
    try:
        loads(data)
    except BadQueueEntry as exc:
        raise ValueError(f"this request could not be read back from the queue: {exc}") from None
    return data


def loads(data: bytes | str) -> dict[str, Any]:
    """Decode and check a queue entry; return the dict ``request_from_dict`` expects.

    Raises :class:`BadQueueEntry` for anything but an entry :func:`dumps` could have written.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_ENTRY_BYTES:
        raise BadQueueEntry(f"entry of {len(raw)} bytes, more than {MAX_ENTRY_BYTES}")
    if raw[:1] == b"\x80":  # pickle protocol 2+ starts with PROTO (0x80): say so, it is the likely attack
        raise BadQueueEntry("a pickle, not JSON")
    try:
        entry = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadQueueEntry(f"not JSON ({type(exc).__name__})") from None
    return _request_fields(entry)


def _request_fields(entry: Any) -> dict[str, Any]:
    """Check a parsed entry field by field; return the request fields with bytes decoded."""
    if not isinstance(entry, dict):
        raise BadQueueEntry(f"a JSON {type(entry).__name__}, not an object")
    if "_class" in entry:
        raise BadQueueEntry("names a Request class (_class)")
    unknown = sorted(set(entry) - _FIELDS - {"v"})
    if unknown:
        raise BadQueueEntry(f"unknown fields {unknown[:5]}")
    if type(entry.get("v")) is not int or entry["v"] != FORMAT:  # noqa: E721 (true == 1 in Python)
        raise BadQueueEntry(f"format version {entry.get('v')!r}, expected {FORMAT}")
    fields: dict[str, Any] = {"url": _url(entry.get("url"))}
    method = entry.get("method", "GET")
    if not isinstance(method, str) or method not in METHODS:
        raise BadQueueEntry(f"method {_short(method)}")
    fields["method"] = method
    callback = entry.get("callback")
    if not isinstance(callback, str) or callback not in CALLBACKS:
        raise BadQueueEntry(f"callback {_short(callback)} is not one of the spiders' callbacks")
    fields["callback"] = callback
    errback = entry.get("errback")
    if errback is not None and (not isinstance(errback, str) or errback not in ERRBACKS):
        raise BadQueueEntry(f"errback {_short(errback)} is not one of the spiders' errbacks")
    fields["errback"] = errback
    fields["headers"] = _headers(entry.get("headers", {}))
    fields["body"] = _body(entry.get("body", ""))
    fields["meta"] = _meta(_typed(entry, "meta", dict, {}))
    cookies = _typed(entry, "cookies", (dict, list), {})
    fields["cookies"] = cookies
    fields["flags"] = _typed(entry, "flags", list, [])
    if not all(isinstance(flag, str) for flag in fields["flags"]):
        raise BadQueueEntry("flags that are not strings")
    if _typed(entry, "cb_kwargs", dict, {}):
        raise BadQueueEntry("cb_kwargs (the spiders' callbacks take none)")
    fields["cb_kwargs"] = {}
    encoding = _typed(entry, "encoding", str, "utf-8")
    if not _ENCODING.fullmatch(encoding) or not _known_codec(encoding):
        raise BadQueueEntry(f"encoding {_short(encoding)}")
    fields["encoding"] = encoding
    priority = entry.get("priority", 0)
    if type(priority) is not int:  # noqa: E721 (bool is an int subclass and is not a priority)
        raise BadQueueEntry(f"priority {_short(priority)}")
    fields["priority"] = priority
    fields["dont_filter"] = _typed(entry, "dont_filter", bool, False)
    return fields


#: Scrapy's own bookkeeping keys that a queued request may carry on (redirects, retries, depth);
#: every other key but ``autonews_*`` is dropped. Keys such as ``proxy``, ``bindaddress``,
#: ``download_maxsize`` or ``dont_obey_robotstxt`` would let whoever writes to Redis route a worker
#: through another host or lift its limits; the middlewares set what they need again themselves.
SAFE_META = frozenset({"depth", "redirect_times", "redirect_ttl", "redirect_urls", "redirect_reasons",
                       "retry_times", "dont_cache", "download_slot"})


def _meta(meta: dict[str, Any]) -> dict[str, Any]:
    """The request meta without the keys a queue entry may not set (see ``SAFE_META``)."""
    return {k: v for k, v in meta.items() if k in SAFE_META or k.startswith("autonews_")}


def _url(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise BadQueueEntry(f"url {_short(value)}")
    if len(value) > _MAX_URL or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in value):
        raise BadQueueEntry("url too long or with spaces or control characters")
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 (raises ValueError on a malformed port)
    except ValueError:
        raise BadQueueEntry("url that does not parse") from None
    if parts.scheme not in ("http", "https"):
        raise BadQueueEntry(f"url scheme {_short(parts.scheme)}, only http and https are crawled")
    if not host:
        raise BadQueueEntry("url without a host")
    return value


def _headers(value: Any) -> dict[bytes, list[bytes]]:
    if not isinstance(value, dict):
        raise BadQueueEntry("headers that are not an object")
    headers: dict[bytes, list[bytes]] = {}
    for name, values in value.items():
        if not _TOKEN.fullmatch(name) or not isinstance(values, list):
            raise BadQueueEntry(f"header {_short(name)}")
        encoded = []
        for item in values:
            # CR, LF or NUL would let a value smuggle extra header lines into the request.
            if not isinstance(item, str) or any(c in item for c in "\r\n\0"):
                raise BadQueueEntry(f"value of header {_short(name)}")
            try:
                encoded.append(item.encode("latin-1"))
            except UnicodeEncodeError:
                raise BadQueueEntry(f"value of header {_short(name)} is not latin-1") from None
        headers[name.encode("latin-1")] = encoded
    return headers


def _body(value: Any) -> bytes:
    if not isinstance(value, str):
        raise BadQueueEntry("body that is not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadQueueEntry("body that is not base64") from None


def _typed(entry: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any) -> Any:
    value = entry.get(key, default)
    if not isinstance(value, kind):
        raise BadQueueEntry(f"{key} of type {type(value).__name__}")
    return value


def _known_codec(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True


def _no_constant(name: str) -> Any:
    # json accepts NaN and Infinity by default; dumps never writes them.
    raise ValueError(f"JSON constant {name}")


def _short(value: Any) -> str:
    """``repr`` of an untrusted value, cut short: a log line must not carry a whole payload."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _latin1(value: bytes | str) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _as_list(values: Any) -> list[Any]:
    return list(values) if isinstance(values, (list, tuple)) else [values]
