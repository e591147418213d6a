# 0.0.0.0 here is an address under test, not a bind:
# ruff: noqa: S104
"""Address classification: what no tool reaches unless a grant admits it."""

from __future__ import annotations

import ipaddress

import pytest

from agentor_egress import admitted, classify


@pytest.mark.parametrize(
    ("address", "category"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "cloud metadata"),
        ("169.254.170.2", "cloud metadata"),
        ("100.100.100.200", "cloud metadata"),
        ("169.254.1.1", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("224.0.0.1", "multicast"),
        ("255.255.255.255", "broadcast"),
        ("240.0.0.1", "reserved"),
        ("192.0.2.1", "documentation"),
        ("198.18.0.1", "benchmarking"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fd00:ec2::254", "cloud metadata"),
        ("fd12:3456::1", "unique local"),
        ("fe80::1", "link-local"),
        ("fec0::1", "site-local"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "cloud metadata"),
        ("::127.0.0.1", "IPv4-compatible"),
        ("64:ff9b::a9fe:a9fe", "NAT64 of cloud metadata"),
        ("2002:7f00:1::", "6to4 of loopback"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
        ("2001:db8::1", "documentation"),
    ],
)
def test_special_addresses_are_classified(address: str, category: str) -> None:
    assert classify(ipaddress.ip_address(address)) == category


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "64:ff9b::808:808"]
)
def test_public_addresses_are_not_special(address: str) -> None:
    assert classify(ipaddress.ip_address(address)) is None


def test_ranges_admit_only_what_they_cover() -> None:
    loopback = ipaddress.ip_network("127.0.0.1/32")
    assert admitted(ipaddress.ip_address("127.0.0.1"), [loopback])
    assert admitted(ipaddress.ip_address("::ffff:127.0.0.1"), [loopback])
    assert not admitted(ipaddress.ip_address("127.0.0.2"), [loopback])
    assert not admitted(ipaddress.ip_address("10.0.0.1"), [loopback])
    assert not admitted(ipaddress.ip_address("::1"), [loopback])
    assert admitted(ipaddress.ip_address("8.8.8.8"), [])
