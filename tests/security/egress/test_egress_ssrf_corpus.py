# 0.0.0.0 here is an address under test, not a bind:
# ruff: noqa: S104
"""SSRF corpus: every spelling of an internal address ends in a stable refusal.

Each spelling of 127.0.0.1 is sent twice to a real server on 127.0.0.1: once
without an address grant (refused: ``egress.address_denied``) and once with
``127.0.0.1/32`` granted (it arrives). The second half proves that what the
guard checked is exactly where it connected.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from agentor_core.capabilities import Capabilities, NetworkDestination
from agentor_core.egress import HttpRequest
from agentor_core.errors import AgentorError
from agentor_egress import EgressCode, HttpEgressGuard, StaticResolver

servers = sys.modules["egress_servers"]

LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "2130706433",
    "017700000001",
    "0x7f000001",
    "0x7F.0.0.1",
    "0x7f.1",
    "0177.0.0.1",
    "0177.0.0.01",
    "127.1",
    "127.0.1",
    "127.000.000.001",
    "127.0.0.1.",
    "%31%32%37.%30.%30.%31",
    "%31%32%37%2e0%2e0%2e1",
    "\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[0:0:0:0:0:ffff:127.0.0.1]",
]


@pytest.fixture(scope="module")
def guard() -> Iterator[HttpEgressGuard]:
    resolver = StaticResolver(
        {
            "metadata.test": ["169.254.169.254"],
            "metadata6.test": ["fd00:ec2::254"],
            "private.test": ["10.0.0.7"],
            "cgnat.test": ["100.64.0.1"],
            "mapped.test": ["::ffff:10.0.0.7"],
            "zero.test": ["0.0.0.0"],
            "linklocal6.test": ["fe80::1"],
            "ula.test": ["fd12::1"],
            "nat64.test": ["64:ff9b::a9fe:a9fe"],
            "mixed.test": ["93.184.216.34", "127.0.0.1"],
        }
    )
    with HttpEgressGuard(resolver=resolver) as running:
        yield running


def destination(host: str, port: int, ranges: tuple[str, ...] = ()) -> NetworkDestination:
    return NetworkDestination.model_validate(
        {"scheme": "http", "host": host, "port": port, "address_ranges": ranges}
    )


def code_of(guard: HttpEgressGuard, url: str, capabilities: Capabilities) -> str:
    with pytest.raises(AgentorError) as caught:
        guard.send(HttpRequest(url=url), capabilities)
    return caught.value.code


@pytest.mark.parametrize("spelling", LOOPBACK_SPELLINGS)
def test_loopback_spellings_are_refused_without_a_range(
    guard: HttpEgressGuard, ssrf_server: Any, spelling: str
) -> None:
    before = len(ssrf_server.seen)
    capabilities = Capabilities(network=(destination("127.0.0.1", ssrf_server.port),))
    url = f"http://{spelling}:{ssrf_server.port}/echo"
    assert code_of(guard, url, capabilities) == EgressCode.ADDRESS_DENIED
    assert len(ssrf_server.seen) == before


@pytest.mark.parametrize("spelling", LOOPBACK_SPELLINGS)
def test_loopback_spellings_reach_exactly_the_checked_address_when_granted(
    guard: HttpEgressGuard, ssrf_server: Any, spelling: str
) -> None:
    granted = destination("127.0.0.1", ssrf_server.port, ("127.0.0.1/32",))
    url = f"http://{spelling}:{ssrf_server.port}/echo/{len(spelling)}"
    response = guard.send(HttpRequest(url=url), Capabilities(network=(granted,)))
    assert response.status == 200
    assert response.url == f"http://127.0.0.1:{ssrf_server.port}/echo/{len(spelling)}"


@pytest.mark.parametrize(
    ("host", "literal"),
    [
        ("metadata.test", None),
        ("metadata6.test", None),
        ("private.test", None),
        ("cgnat.test", None),
        ("mapped.test", None),
        ("zero.test", None),
        ("linklocal6.test", None),
        ("ula.test", None),
        ("nat64.test", None),
        ("mixed.test", None),
        ("169.254.169.254", "http://2852039166/"),
        ("169.254.169.254", "http://0xa9.0xfe.0xa9.0xfe/"),
        ("169.254.169.254", "http://0251.0376.0251.0376/"),
        ("169.254.169.254", "http://169.254.43518/"),
        ("169.254.169.254", "http://[::ffff:a9fe:a9fe]/"),
        ("fd00:ec2::254", "http://[fd00:ec2::254]/"),
        ("::1", "http://[::1]/"),
        ("::", "http://[::]/"),
        ("0.0.0.0", "http://0/"),
        ("0.0.0.0", "http://0.0.0.0/"),
        ("10.0.0.1", "http://10.1/"),
        ("192.168.0.1", "http://3232235521/"),
        ("::7f00:1", "http://[::127.0.0.1]/"),
    ],
)
def test_internal_destinations_are_refused(
    guard: HttpEgressGuard, host: str, literal: str | None
) -> None:
    # Granted by name, so only the address check stands between the tool and the target.
    capabilities = Capabilities(network=(destination(host, 80),))
    url = literal or f"http://{host}/"
    assert code_of(guard, url, capabilities) == EgressCode.ADDRESS_DENIED


def test_zero_address_is_not_admitted_by_a_loopback_range(
    guard: HttpEgressGuard, ssrf_server: Any
) -> None:
    # 0.0.0.0 reaches local services on Linux; a 127.0.0.1/32 grant must not cover it.
    capabilities = Capabilities(
        network=(destination("0.0.0.0", ssrf_server.port, ("127.0.0.1/32",)),)
    )
    url = f"http://0.0.0.0:{ssrf_server.port}/echo"
    assert code_of(guard, url, capabilities) == EgressCode.ADDRESS_DENIED


@pytest.mark.parametrize(
    "template",
    [
        "http://allowed.test@127.0.0.1:{port}/",
        "http://127.0.0.1:{port}@allowed.test/",
        "http://allowed.test%40127.0.0.1:{port}/",
        "http://allowed.test:{port}#@127.0.0.1/",
        "http://allowed.test\\@127.0.0.1:{port}/",
        "http://allowed.test%2f@127.0.0.1:{port}/",
        "http://[::ffff:127.0.0.1%25lo]:{port}/",
        "http://[fe80::1%lo]:{port}/",
        "http://allowed.test%00.127.0.0.1:{port}/",
        "http://allowed.test\r\nHost: 127.0.0.1:{port}/",
    ],
)
def test_host_confusion_never_reaches_the_server(
    guard: HttpEgressGuard, ssrf_server: Any, template: str
) -> None:
    before = len(ssrf_server.seen)
    capabilities = Capabilities(
        network=(destination("allowed.test", ssrf_server.port, ("127.0.0.1/32",)),)
    )
    try:
        request = HttpRequest(url=template.format(port=ssrf_server.port))
    except ValueError:
        return  # refused by the request model itself
    with pytest.raises(AgentorError) as caught:
        guard.send(request, capabilities)
    assert caught.value.code in {
        EgressCode.INVALID_URL,
        EgressCode.DESTINATION_DENIED,
        EgressCode.RESOLUTION_FAILED,
    }
    assert len(ssrf_server.seen) == before


@pytest.mark.parametrize(
    ("granted", "host"),
    [
        ("*.example.test", "example.test"),
        ("*.example.test", "evilexample.test"),
        ("*.example.test", "api.example.test.evil.test"),
        ("api.example.test", "api.example.test.evil.test"),
        ("api.example.test", "xapi.example.test"),
    ],
)
def test_host_grants_match_exactly(guard: HttpEgressGuard, granted: str, host: str) -> None:
    capabilities = Capabilities(network=(destination(granted, 80),))
    assert code_of(guard, f"http://{host}/", capabilities) == EgressCode.DESTINATION_DENIED


def test_redirect_to_a_spelled_metadata_address_is_refused(
    guard: HttpEgressGuard, ssrf_server: Any
) -> None:
    port = ssrf_server.port
    capabilities = Capabilities(
        network=(
            destination("127.0.0.1", port, ("127.0.0.1/32",)),
            destination("169.254.169.254", 80),
        )
    )
    url = f"http://127.0.0.1:{port}/redirect?to=http://2852039166/latest/meta-data/"
    assert code_of(guard, url, capabilities) == EgressCode.ADDRESS_DENIED


def test_redirect_to_another_scheme_is_refused(guard: HttpEgressGuard, ssrf_server: Any) -> None:
    capabilities = Capabilities(
        network=(destination("127.0.0.1", ssrf_server.port, ("127.0.0.1/32",)),)
    )
    url = f"http://127.0.0.1:{ssrf_server.port}/redirect?to=file:///etc/passwd"
    assert code_of(guard, url, capabilities) == EgressCode.SCHEME_DENIED
