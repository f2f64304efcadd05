"""Why requests failed, in words an operator can act on: ``blocked_address ×2 — 127.0.0.1 is not
public; allow it with -s AUTONEWS_PRIVATE_HOSTS=127.0.0.1``, ``dns_failed ×2: no such host feeds.example``.

Used by the health reasons (stderr ERROR lines, run report, HTML report) and the CLI summary line.
Pure: labels come from ``crawler.middlewares.failures.failure_label``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

#: Hosts kept per error class and source for the hints (a hostile registry entry may name many).
MAX_HOSTS = 5


def hint(label: str, hosts: Sequence[str]) -> str:
    """The fix or the plain cause of an error class, when there is one ("" otherwise)."""
    names = ", ".join(hosts)
    if label == "blocked_address" and hosts:
        verb = "is" if len(hosts) == 1 else "are"
        return f" — {names} {verb} not public; allow it with -s AUTONEWS_PRIVATE_HOSTS={','.join(hosts)}"
    if label == "dns_failed" and hosts:
        return f": no such host {names}"
    if label == "connection_refused" and hosts:
        return f": nothing answers on {names}"
    if label == "robots_txt":
        return ": robots.txt forbids it"
    if label == "blocked_scheme":
        return ": only http(s) URLs are fetched"
    return ""


def describe(errors: Mapping[str, int], hosts: Mapping[str, Sequence[str]] | None = None) -> str:
    """Error classes with their counts, most frequent first, each with its hint: ``http_404 ×3, dns_failed ×1: …``."""
    hosts = hosts or {}
    ordered = sorted(((label, int(n)) for label, n in errors.items() if int(n) > 0), key=lambda p: (-p[1], p[0]))
    return ", ".join(f"{label} ×{n}{hint(label, list(hosts.get(label) or ())[:MAX_HOSTS])}" for label, n in ordered)


def remember_host(current: object, host: str) -> list[str]:
    """``current`` (a stats value: a list of hosts, or nothing yet) with ``host`` added, at most ``MAX_HOSTS``."""
    known = [h for h in current if isinstance(h, str)] if isinstance(current, list) else []
    if host and host not in known and len(known) < MAX_HOSTS:
        known.append(host)
    return known
