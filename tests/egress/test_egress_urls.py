# 0.0.0.0 here is an address under test, not a bind:
# ruff: noqa: S104
"""URL normalisation: every host spelling reduced to one form before any check."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentor_core.errors import AgentorError
from agentor_egress import EgressCode, Target, parse_url


@pytest.mark.parametrize(
    ("url", "host", "port"),
    [
        ("http://2130706433/", "127.0.0.1", 80),
        ("http://0177.0.0.1/", "127.0.0.1", 80),
        ("http://0x7f.1/", "127.0.0.1", 80),
        ("http://0x7F000001/", "127.0.0.1", 80),
        ("http://127.1/", "127.0.0.1", 80),
        ("http://127.0.1/", "127.0.0.1", 80),
        ("http://0/", "0.0.0.0", 80),
        ("http://[::ffff:127.0.0.1]/", "127.0.0.1", 80),
        ("http://[::FFFF:7f00:1]:8080/", "127.0.0.1", 8080),
        ("http://[0:0:0:0:0:0:0:1]/", "::1", 80),
        ("http://%31%32%37.0.0.1/", "127.0.0.1", 80),
        ("http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/", "127.0.0.1", 80),
        ("HTTPS://API.Example.COM./x", "api.example.com", 443),
        ("https://b\u00fccher.example/", "xn--bcher-kva.example", 443),
        ("https://api.example.com:8443", "api.example.com", 8443),
    ],
)
def test_host_spellings_normalise(url: str, host: str, port: int) -> None:
    target = parse_url(url)
    assert (target.host, target.port) == (host, port)


def test_normal_form_keeps_path_and_query_and_drops_fragment() -> None:
    target = parse_url("https://api.example.com/a/b%20c?q=1&r=%C3%BC#frag")
    assert target.url == "https://api.example.com/a/b%20c?q=1&r=%C3%BC"
    assert target.decoded_path == "/a/b c"
    assert target.audience == "https://api.example.com"


def test_non_ascii_path_is_percent_encoded() -> None:
    assert parse_url("https://a.example/\u00e4").path == "/%C3%A4"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://allowed.com@evil.com/", EgressCode.INVALID_URL),
        ("http://user:pw@api.example.com/", EgressCode.INVALID_URL),
        ("http://[fe80::1%25eth0]/", EgressCode.INVALID_URL),
        ("http://[fe80::1%eth0]/", EgressCode.INVALID_URL),
        ("http://[::1/", EgressCode.INVALID_URL),
        ("http://a.example/b/../c", EgressCode.INVALID_URL),
        ("http://a.example/%2e%2E/c", EgressCode.INVALID_URL),
        ("http://a.example/x%2f..%2fy", EgressCode.INVALID_URL),
        ("http://a.example/x%5cy", EgressCode.INVALID_URL),
        # Path parameters: Tomcat, Jetty and Spring read "..;" as "..", so
        # /api/..;/admin escapes a /api prefix on those servers.
        ("http://a.example/api/..;/admin", EgressCode.INVALID_URL),
        ("http://a.example/api/.;x/admin", EgressCode.INVALID_URL),
        ("http://a.example/api/%2e%2e%3b/admin", EgressCode.INVALID_URL),
        ("http://a.example\\@evil.com/", EgressCode.INVALID_URL),
        ("http://a.example /", EgressCode.INVALID_URL),
        ("http://a.example\t/", EgressCode.INVALID_URL),
        ("http://1.2.3.4.5/", EgressCode.INVALID_URL),
        ("http://256.256.256.256/", EgressCode.INVALID_URL),
        ("http://0x100000000/", EgressCode.INVALID_URL),
        ("http://08.0.0.1/", EgressCode.INVALID_URL),
        ("http://a.example:0/", EgressCode.INVALID_URL),
        ("http://a.example:65536/", EgressCode.INVALID_URL),
        ("http://a.example:+80/", EgressCode.INVALID_URL),
        ("http://a.example:80:80/", EgressCode.INVALID_URL),
        ("http://%zz.example/", EgressCode.INVALID_URL),
        ("http://a%2fb.example/", EgressCode.INVALID_URL),
        ("http://a%40b.example/", EgressCode.INVALID_URL),
        ("http:///path", EgressCode.INVALID_URL),
        ("http:api.example.com/", EgressCode.INVALID_URL),
        ("//api.example.com/", EgressCode.INVALID_URL),
        ("http://under_score.example/", EgressCode.INVALID_URL),
        ("file:///etc/passwd", EgressCode.SCHEME_DENIED),
        ("gopher://127.0.0.1:6379/_", EgressCode.SCHEME_DENIED),
        ("ftp://a.example/", EgressCode.SCHEME_DENIED),
    ],
)
def test_ambiguous_urls_are_refused(url: str, code: EgressCode) -> None:
    with pytest.raises(AgentorError) as caught:
        parse_url(url)
    assert caught.value.code == code


def _outcome(url: str) -> Target | str:
    try:
        return parse_url(url)
    except AgentorError as error:
        return error.code


@given(st.text(max_size=200))
def test_any_text_either_parses_or_is_refused_with_a_code(text: str) -> None:
    for candidate in (text, "http://" + text, "https://a.example/" + text):
        target = _outcome(candidate)
        if isinstance(target, str):
            assert target in {EgressCode.INVALID_URL, EgressCode.SCHEME_DENIED}
        else:
            # A parsed target is stable: its own URL parses to itself.
            assert parse_url(target.url) == target


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_every_numeric_spelling_of_an_address_reads_the_same(number: int) -> None:
    address = ipaddress.IPv4Address(number)
    octets = str(address).split(".")
    spellings = [
        str(number),
        hex(number),
        ".".join("0" + oct(int(o))[2:] for o in octets),
        ".".join(hex(int(o)) for o in octets),
        f"{octets[0]}.{int(octets[1]) * 65536 + int(octets[2]) * 256 + int(octets[3])}",
    ]
    for spelling in spellings:
        assert parse_url(f"http://{spelling}/").address == address
