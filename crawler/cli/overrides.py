"""``AUTONEWS_*`` settings from ``-s KEY=VALUE`` and the environment: names checked, values typed.

Cron jobs and containers pass configuration as environment variables, so every declared
``AUTONEWS_*`` setting is read from the environment too. Precedence: ``-s`` > environment >
the defaults of ``crawler/settings.py``. A misspelt name would otherwise be accepted without a
word and do nothing, so an ``AUTONEWS_*`` name that is not declared in ``crawler/settings.py``
is a usage error suggesting the nearest declared one; a value that does not fit the type of
the declared default (``AUTONEWS_SEAL_EVERY_ITEMS=lots``) is one too. Scrapy's own settings
given with ``-s`` are passed through as before (Scrapy checks their values where it reads them).

No Scrapy import here beyond the settings module itself: ``crawl`` checks names before its lock.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from crawler.cli.exitcodes import UsageError

PREFIX = "AUTONEWS_"
#: Environment names under this prefix are the test suite's (e.g. where the HTML report test keeps its
#: screenshot), never read by autonews: not settings, so not refused.
TEST_SUITE_PREFIX = PREFIX + "TEST_"
#: Priority of environment values: above the project's settings module (20), below the command
#: line's flags and ``-s`` (``cmdline``, 40) and a spider's own settings (30).
ENVIRONMENT_PRIORITY = 25
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@lru_cache(maxsize=1)
def declared() -> dict[str, tuple[type, bool]]:
    """Every ``AUTONEWS_*`` setting of ``crawler/settings.py``: its type (from the default) and
    whether it may be empty (``None``)."""
    import crawler.settings as module

    hints = getattr(module, "__annotations__", {})
    found: dict[str, tuple[type, bool]] = {}
    for name in dir(module):
        if not name.startswith(PREFIX):
            continue
        default = getattr(module, name)
        if default is None:  # the annotation names the type: ``int | None``
            hint = str(hints.get(name, "str"))
            kind = next((t for t in (bool, int, float) if t.__name__ in hint), str)
            found[name] = (kind, True)
        else:
            found[name] = (type(default), False)
    return found


def check_name(name: str, origin: str) -> None:
    """Raise UsageError when ``name`` looks like an autonews setting but none is declared under it."""
    if not name.startswith(PREFIX) or name in declared():
        return
    # Compared without the prefix every name shares, or any AUTONEWS_X would look "close" to something.
    nearest = difflib.get_close_matches(name[len(PREFIX):], [d[len(PREFIX):] for d in declared()], n=1, cutoff=0.6)
    hint = f"; did you mean {PREFIX}{nearest[0]}?" if nearest else " (crawler/settings.py declares every one)"
    raise UsageError(f"unknown setting {name} (from {origin}){hint}")


def typed_value(name: str, raw: str, origin: str) -> Any:
    """``raw`` converted to the type of ``name``'s declared default; UsageError when it does not fit.

    Lists stay comma-separated text and dicts are JSON objects, as Scrapy's ``getlist`` and
    ``getdict`` read them; names that are not declared ``AUTONEWS_*`` settings pass unchanged.
    """
    if name not in declared():
        return raw
    kind, optional = declared()[name]
    text = raw.strip()
    if optional and text.lower() in ("", "none"):
        return None
    try:
        if kind is bool:
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError(text)
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
        if kind is dict:
            value = json.loads(text) if text else {}
            if not isinstance(value, dict):
                raise ValueError(text)
            return value
    except ValueError:
        expected = {bool: "true or false", int: "an integer", float: "a number",
                    dict: 'a JSON object, e.g. {"key": "value"}'}[kind]
        raise UsageError(f"{name}={raw!r} (from {origin}): expected {expected}") from None
    return raw


def parse_overrides(overrides: Iterable[str]) -> dict[str, Any]:
    """The ``-s KEY=VALUE`` arguments as a dict (the last one of a key wins), names and values checked."""
    values: dict[str, Any] = {}
    for override in overrides:
        key, sep, value = override.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"-s expects KEY=VALUE, got {override!r}")
        check_name(key, "-s")
        values[key] = typed_value(key, value, "-s")
    return values


def environment_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ``AUTONEWS_*`` settings given as environment variables, names and values checked."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for key in sorted(environ):
        if key.startswith(PREFIX) and not key.startswith(TEST_SUITE_PREFIX):
            check_name(key, "the environment")
            values[key] = typed_value(key, environ[key], "the environment")
    return values

