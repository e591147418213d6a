"""Classifying IP addresses: which ones a tool may never reach unless a grant says so."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from typing import Final

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Order matters: the first match names the category (metadata before link-local).
_V4: Final[tuple[tuple[str, str], ...]] = (
    ("169.254.169.254/32", "cloud metadata"),
    ("169.254.170.2/32", "cloud metadata"),  # AWS ECS task metadata
    ("100.100.100.200/32", "cloud metadata"),  # Alibaba Cloud
    ("0.0.0.0/8", "unspecified"),
    ("127.0.0.0/8", "loopback"),
    ("10.0.0.0/8", "private"),
    ("172.16.0.0/12", "private"),
    ("192.168.0.0/16", "private"),
    ("169.254.0.0/16", "link-local"),
    ("100.64.0.0/10", "carrier-grade NAT"),
    ("192.0.0.0/24", "reserved"),
    ("192.0.2.0/24", "documentation"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("198.18.0.0/15", "benchmarking"),
    ("224.0.0.0/4", "multicast"),
    ("255.255.255.255/32", "broadcast"),
    ("240.0.0.0/4", "reserved"),
)
_V6: Final[tuple[tuple[str, str], ...]] = (
    ("fd00:ec2::254/128", "cloud metadata"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::ffff:0:0/96", "IPv4-mapped"),
    ("::/96", "IPv4-compatible"),
    ("64:ff9b::/96", "NAT64"),
    ("64:ff9b:1::/48", "NAT64"),
    ("2002::/16", "6to4"),
    ("2001::/32", "Teredo"),
    ("2001:db8::/32", "documentation"),
    ("100::/64", "discard"),
    ("fc00::/7", "unique local"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
)
_V4_NETS: Final = tuple((ipaddress.IPv4Network(n), c) for n, c in _V4)
_V6_NETS: Final = tuple((ipaddress.IPv6Network(n), c) for n, c in _V6)


def canonical(address: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address as the IPv4 address it is (that is where it connects)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            address = ipaddress.IPv6Address(str(address).split("%", 1)[0])
        mapped = address.ipv4_mapped
        if mapped is not None:
            return mapped
    return address


def classify(address: IPAddress) -> str | None:
    """The special category of ``address`` (``"loopback"``, ``"private"``...), ``None`` if public.

    IPv6 forms that carry an IPv4 address (NAT64, 6to4) are judged by it as well;
    Teredo and IPv4-compatible addresses are always special.
    """
    address = canonical(address)
    if isinstance(address, ipaddress.IPv4Address):
        for network, category in _V4_NETS:
            if address in network:
                return category
        return None if address.is_global else "reserved"
    for network6, category in _V6_NETS:
        if address in network6:
            if category == "NAT64":
                inner = classify(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
                return None if inner is None else f"NAT64 of {inner}"
            if category == "6to4":
                embedded = address.sixtofour
                inner = classify(embedded) if embedded is not None else "reserved"
                return None if inner is None else f"6to4 of {inner}"
            return category
    return None if address.is_global else "reserved"


def admitted(address: IPAddress, ranges: Iterable[IPNetwork]) -> bool:
    """True if ``address`` is public, or special but inside one of ``ranges``."""
    address = canonical(address)
    if classify(address) is None:
        return True
    return any(address.version == net.version and address in net for net in ranges)


@functools.lru_cache(maxsize=1024)
def parse_ranges(ranges: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    # Already validated as CIDR by agentor_core's NetworkDestination; cached
    # because the same grants come back on every request.
    return tuple(ipaddress.ip_network(item, strict=False) for item in ranges)
