"""The strict URL and path parsers behind url_hosts and path_under."""

from __future__ import annotations

import pytest

from agentor_policy.constraints import path_is_under, url_host, url_host_allowed

HTTPS = ("https",)


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://example.com", "example.com"),
        ("https://Example.COM./a?b#c", "example.com"),
        ("HTTPS://example.com:443/", "example.com"),
        ("https://example.com:/", "example.com"),
        ("https://[::1]:8443/x", "[::1]"),
        ("https://127.0.0.1/", "127.0.0.1"),
        ("https://example.com?x=@evil.com", "example.com"),
        ("https://example.com#@evil.com", "example.com"),
    ],
)
def test_hosts_are_read(url: str, host: str) -> None:
    assert url_host(url, HTTPS) == host


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/",
        "https:/example.com",
        "example.com",
        "https://",
        "https://user:pw@example.com/",
        "https://example.com:99999/",
        "https://example.com:8x/",
        "https://example.com:80:80/",
        "https://[::1/",
        "https://[::1]x/",
        "https://%65xample.com/",
        "https://exa mple.com/",
        "https://example.com\\@evil.com",
        "https://example.com\x00.evil.com",
        "https://" + "a" * 9000,
    ],
)
def test_malformed_or_ambiguous_urls_have_no_host(url: str) -> None:
    assert url_host(url, HTTPS) is None


def test_wildcards_cover_subdomains_only() -> None:
    hosts = ("*.example.org", "example.com")
    assert url_host_allowed("https://a.b.example.org/", hosts, HTTPS)
    assert not url_host_allowed("https://example.org/", hosts, HTTPS)
    assert not url_host_allowed("https://badexample.org/", hosts, HTTPS)
    assert not url_host_allowed("https://sub.example.com/", hosts, HTTPS)


@pytest.mark.parametrize(
    ("path", "ok"),
    [
        ("/data", True),
        ("/data/", True),
        ("/data/a/b", True),
        ("/data/./a", True),
        ("/data//a", True),
        ("/data/../etc", False),
        ("/data/a/../../etc", False),
        ("/database", False),
        ("//data/a", True),
        ("relative/data", False),
        ("", False),
        ("/data\x00", False),
    ],
)
def test_paths_under_a_root(path: str, ok: bool) -> None:
    assert path_is_under(path, ("/data",)) is ok


def test_root_slash_admits_any_absolute_path() -> None:
    assert path_is_under("/anything", ("/",))
    assert not path_is_under("/a/../b", ("/",))
