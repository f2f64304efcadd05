"""Which addresses a crawl may connect to: public ones, plus the operator's ``AUTONEWS_PRIVATE_HOSTS``.

Pure functions, no Scrapy: the resolver (``crawler.security.resolver``) checks every DNS answer
and the guard middleware (``crawler.security.guard``) every IP-literal URL against one
:class:`AddressPolicy`.

"Public" is stricter than ``ipaddress``'s ``is_global``: multicast is refused too, and an IPv6
address that embeds an IPv4 one (IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4
``2002::/16``, Teredo) is judged by the IPv4 address it leads to, since a gateway on the path
may deliver it there.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class PolicyError(ValueError):
    """An ``AUTONEWS_PRIVATE_HOSTS`` entry that is neither a host name, an address nor a network."""


def parse_ip(text: str) -> IPAddress | None:
    """Return the address written in ``text``, or None. IPv6 may be in brackets and carry a zone
    (``fe80::1%eth0``, ``%25eth0`` in a URL): everything from the first ``%`` is dropped, so an address is
    judged and logged as itself, whatever interface names it."""
    text = text.strip().removeprefix("[").removesuffix("]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address an IPv6 address leads to (mapped, NAT64, 6to4, Teredo), or None."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # the client's address: where the tunnel delivers
    return None


def is_public(ip: IPAddress) -> bool:
    """True for a globally routable unicast address: not loopback, private, link-local, shared,
    multicast, reserved, documentation or unspecified, in IPv4 or IPv6 (embedded IPv4 included)."""
    inner = embedded_ipv4(ip)
    if inner is not None and not is_public(inner):
        return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_loopback
                                 or ip.is_link_local or ip.is_private)


def _host_key(host: str) -> str:
    """A host name as compared here: lower case, no trailing dot."""
    return host.strip().lower().rstrip(".")


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses, plus the networks and host names the operator allows although not public."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, entries: str | Iterable[str]) -> AddressPolicy:
        """Build the policy from ``AUTONEWS_PRIVATE_HOSTS``: comma-separated host names, IP addresses
        (``127.0.0.1``, ``::1``) or CIDR networks (``10.0.0.0/8``). Raises PolicyError for garbage."""
        items = entries.split(",") if isinstance(entries, str) else list(entries)
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for raw in items:
            item = raw.strip()
            if not item:
                continue
            ip = parse_ip(item)
            if ip is not None:
                networks.append(ipaddress.ip_network(ip))
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
                continue
            except ValueError:
                pass
            name = _host_key(item)
            if not name or not all(part and len(part) < 64 and part.replace("-", "").replace("_", "").isalnum()
                                   for part in name.split(".")):
                raise PolicyError(f"AUTONEWS_PRIVATE_HOSTS: {item!r} is not a host name, IP address or network")
            hosts.add(name)
        return cls(tuple(networks), frozenset(hosts))

    def allows_ip(self, ip: IPAddress) -> bool:
        """True when ``ip`` is public or inside an allowed network."""
        if is_public(ip):
            return True
        inner = embedded_ipv4(ip)
        return any(ip in net or (inner is not None and inner in net) for net in self.networks)

    def allows(self, host: str, ip: IPAddress | str) -> bool:
        """True when connecting to ``host`` at ``ip`` is allowed: a public address, an allowed
        network, or an allowed host name (whatever it resolves to)."""
        address = parse_ip(ip) if isinstance(ip, str) else ip
        if address is None:
            return False
        return self.allows_ip(address) or _host_key(host) in self.hosts


def with_hosts(setting: str, hosts: Iterable[str]) -> str:
    """Return an ``AUTONEWS_PRIVATE_HOSTS`` value with ``hosts`` added to ``setting``'s entries."""
    entries = [h.strip() for h in setting.split(",") if h.strip()]
    return ",".join(dict.fromkeys([*entries, *hosts]))
