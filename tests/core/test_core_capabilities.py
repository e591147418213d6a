"""The capability model: validation, normalisation, and request-versus-grant checks."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from agentor_core import (
    Capabilities,
    EnvGrant,
    HttpMethod,
    NetworkDestination,
    PathAccess,
    ResourceLimits,
    Scheme,
    SecretGrant,
)

GET = frozenset({HttpMethod.GET})


def dest(host: str = "api.example.com", **fields: Any) -> NetworkDestination:
    return NetworkDestination(host=host, **fields)


def exceeding(request: Capabilities, grant: Capabilities) -> list[str]:
    return request.exceeding(grant)


# --- PathAccess ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "normal"),
    [("/data", "/data"), ("/data/", "/data"), ("/", "/"), ("/a/b//c", "/a/b/c"), ("/a b", "/a b")],
)
def test_guest_path_normalised(given: str, normal: str) -> None:
    assert PathAccess(guest_path=given).guest_path == normal


@pytest.mark.parametrize(
    "path",
    ["data", "", ".", "..", "./data", "/data/..", "/data/../etc", "/a/./b", "/a\x00b", "/a\\b"],
)
def test_guest_path_refused(path: str) -> None:
    with pytest.raises(ValidationError, match="guest_path"):
        PathAccess(guest_path=path)


@pytest.mark.parametrize("host_path", ["relative/dir", "", "/srv/\x00x", "C:"])
def test_host_path_refused(host_path: str) -> None:
    with pytest.raises(ValidationError, match="host_path"):
        PathAccess(guest_path="/data", host_path=host_path)


@pytest.mark.parametrize("host_path", ["/srv/data", "C:\\data", "\\\\server\\share"])
def test_host_path_accepted(host_path: str) -> None:
    assert PathAccess(guest_path="/data", host_path=host_path).host_path == host_path


def test_path_covers() -> None:
    data = PathAccess(guest_path="/data", host_path="/srv/data")
    assert data.covers(PathAccess(guest_path="/data"))
    assert data.covers(PathAccess(guest_path="/data/sub/deeper"))
    assert not data.covers(PathAccess(guest_path="/database"))
    assert not data.covers(PathAccess(guest_path="/"))
    assert not data.covers(PathAccess(guest_path="/data", write=True))
    root = PathAccess(guest_path="/", write=True)
    assert root.covers(PathAccess(guest_path="/anything", write=True))


# --- NetworkDestination ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("API.Example.COM", "api.example.com"),
        ("api.example.com.", "api.example.com"),
        (" api.example.com ", "api.example.com"),
        ("*.Example.com.", "*.example.com"),
        ("[::1]", "::1"),
        ("[2001:DB8:0:0::1]", "2001:db8::1"),
        ("192.168.0.1", "192.168.0.1"),
        ("localhost", "localhost"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("a-b.c-d.example", "a-b.c-d.example"),
    ],
)
def test_host_normalised(given: str, normal: str) -> None:
    assert dest(given).host == normal


@pytest.mark.parametrize(
    "host",
    [
        "exa mple.com",
        "a..b",
        "http://x",
        "x/path",
        "x:443",
        "user@x",
        "-a.example",
        "a-.example",
        "a_b.example",
        "*",
        "*.",
        "**.example",
        "a.*.example",
        "*example.com",
        "b\u00fccher.example",
        "a" * 64 + ".example",
        "",
        ".",
        "[not-an-ip]",
    ],
)
def test_host_refused(host: str) -> None:
    with pytest.raises(ValidationError, match="host"):
        dest(host)


def test_destination_defaults_and_ports() -> None:
    default = dest()
    assert default.scheme is Scheme.HTTPS
    assert default.effective_port == 443
    assert default.path_prefix == "/"
    assert default.methods == {HttpMethod.GET, HttpMethod.HEAD}
    assert dest(scheme=Scheme.HTTP).effective_port == 80
    assert dest(port=8443).effective_port == 8443
    for port in (0, 65536):
        with pytest.raises(ValidationError, match="port"):
            dest(port=port)


def test_path_prefix_and_ranges_normalised() -> None:
    assert dest(path_prefix="/v1/").path_prefix == "/v1"
    assert dest(address_ranges=["10.1.2.3/8", "fd00::1/8"]).address_ranges == (
        "10.0.0.0/8",
        "fd00::/8",
    )
    for prefix in ("v1", "/v1/../admin", "/v1\\x"):
        with pytest.raises(ValidationError, match="path_prefix"):
            dest(path_prefix=prefix)
    with pytest.raises(ValidationError, match="address_ranges"):
        dest(address_ranges=["10.0.0.0/33"])


def test_wildcard_matches_subdomains_not_apex() -> None:
    wildcard = dest("*.example.com")
    assert wildcard.matches_host("api.example.com")
    assert wildcard.matches_host("a.b.example.com")
    assert wildcard.matches_host("API.Example.com.")
    assert not wildcard.matches_host("example.com")
    assert not wildcard.matches_host(".example.com")
    assert not wildcard.matches_host("badexample.com")
    assert not wildcard.matches_host("example.com.evil.net")
    exact = dest("api.example.com")
    assert exact.matches_host("API.EXAMPLE.COM.")
    assert not exact.matches_host("x.api.example.com")


def test_describe() -> None:
    assert dest(path_prefix="/v1").describe() == "GET,HEAD https://api.example.com:443/v1"


# --- other grants ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["1ABC", "A-B", "A B", "", "A=B", "x" * 257])
def test_env_names(name: str) -> None:
    with pytest.raises(ValidationError, match="name"):
        EnvGrant(name=name)


@pytest.mark.parametrize(
    "audience", ["ftp://x.example", "https://x.example/path", "https://X.example", "x.example"]
)
def test_secret_audiences(audience: str) -> None:
    with pytest.raises(ValidationError, match="audiences"):
        SecretGrant(name="token", audiences=[audience])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("fuel", 0),
        ("fuel", 10**13 + 1),
        ("deadline_ms", 0),
        ("deadline_ms", 15 * 60 * 1000 + 1),
        ("memory_bytes", 64 * 1024 - 1),
        ("memory_bytes", 4 * 1024**3 + 1),
        ("instances", 1001),
        ("output_bytes", -1),
        ("http_requests", 10_001),
    ],
)
def test_limit_hard_bounds(field: str, value: int) -> None:
    with pytest.raises(ValidationError, match=field):
        ResourceLimits.model_validate({field: value})


def test_empty_capabilities_mean_nothing() -> None:
    empty = Capabilities()
    assert (empty.filesystem, empty.network, empty.env, empty.secrets) == ((), (), (), ())
    assert empty.limits == ResourceLimits()


# --- Capabilities.exceeding ------------------------------------------------------------

FULL_GRANT = Capabilities(
    filesystem=(
        PathAccess(guest_path="/data", host_path="/srv/data"),
        PathAccess(guest_path="/out", host_path="/srv/out", write=True),
    ),
    network=(
        dest("api.example.com", path_prefix="/v1", methods={HttpMethod.GET, HttpMethod.POST}),
        dest("*.cdn.example", port=8443),
        dest("10.1.2.3", scheme=Scheme.HTTP, address_ranges=["10.0.0.0/8"]),
    ),
    env=(EnvGrant(name="LANG"), EnvGrant(name="TZ", value="UTC")),
    secrets=(SecretGrant(name="api.token", audiences=["https://api.example.com"]),),
)


def test_within_grant_is_empty() -> None:
    request = Capabilities(
        filesystem=(
            PathAccess(guest_path="/data"),
            PathAccess(guest_path="/data/sub"),
            PathAccess(guest_path="/out/x", write=True),
        ),
        network=(
            dest("api.example.com", path_prefix="/v1/items", methods=GET),
            dest("API.example.com.", path_prefix="/v1", port=443, methods={HttpMethod.POST}),
            dest("img.cdn.example", port=8443),
            dest("*.cdn.example", port=8443),
            dest("*.eu.cdn.example", port=8443),
            dest("10.1.2.3", scheme=Scheme.HTTP, address_ranges=["10.0.0.0/8"]),
        ),
        env=(EnvGrant(name="LANG"),),
        secrets=(
            SecretGrant(name="api.token"),
            SecretGrant(name="api.token", audiences=["https://api.example.com"]),
        ),
        limits=ResourceLimits(fuel=1000, deadline_ms=1),
    )
    assert exceeding(request, FULL_GRANT) == []
    assert exceeding(Capabilities(), FULL_GRANT) == []
    assert exceeding(Capabilities(), Capabilities()) == []
    assert exceeding(FULL_GRANT, FULL_GRANT) == []


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (PathAccess(guest_path="/etc"), "filesystem: read-only /etc"),
        (PathAccess(guest_path="/database"), "filesystem: read-only /database"),
        (PathAccess(guest_path="/"), "filesystem: read-only /"),
        (PathAccess(guest_path="/data", write=True), "filesystem: read-write /data"),
        (PathAccess(guest_path="/data/sub", write=True), "filesystem: read-write /data/sub"),
    ],
)
def test_filesystem_excess(request_: PathAccess, expected: str) -> None:
    assert exceeding(Capabilities(filesystem=[request_]), FULL_GRANT) == [expected]


@pytest.mark.parametrize(
    "request_",
    [
        dest("evil.example"),  # host not granted
        dest("example.com"),  # parent of a granted host
        dest("x.api.example.com"),  # subdomain of an exact grant
        dest("cdn.example", port=8443),  # the apex of a wildcard
        dest("*.example.com"),  # a wildcard wider than an exact grant
        dest("*.example", port=8443),  # a wildcard wider than the granted wildcard
        dest("img.cdn.example"),  # wildcard host, but port 443 instead of 8443
        dest("api.example.com", port=8443, path_prefix="/v1"),  # port
        dest("api.example.com", scheme=Scheme.HTTP, port=443, path_prefix="/v1"),  # scheme
        dest("api.example.com"),  # path prefix "/" is wider than "/v1"
        dest("api.example.com", path_prefix="/v2"),
        dest("api.example.com", path_prefix="/v10"),
        dest("api.example.com", path_prefix="/v1", methods={HttpMethod.DELETE}),  # method
        dest("api.example.com", path_prefix="/v1", methods={HttpMethod.GET, HttpMethod.HEAD}),
        dest("api.example.com", path_prefix="/v1", methods=GET, address_ranges=["127.0.0.0/8"]),
        dest("10.1.2.3", scheme=Scheme.HTTP, address_ranges=["0.0.0.0/0"]),  # address range
        dest("10.1.2.3", scheme=Scheme.HTTP, address_ranges=["10.0.0.0/8", "::1/128"]),
    ],
    ids=lambda d: d.describe() + " " + ",".join(d.address_ranges),
)
def test_network_excess(request_: NetworkDestination) -> None:
    assert exceeding(Capabilities(network=[request_]), FULL_GRANT) == [
        f"network: {request_.describe()}"
    ]


def test_env_excess() -> None:
    request = Capabilities(
        env=[EnvGrant(name="LANG"), EnvGrant(name="HOME"), EnvGrant(name="lang")]
    )
    assert exceeding(request, FULL_GRANT) == ["env: HOME", "env: lang"]


def test_secret_name_excess() -> None:
    request = Capabilities(secrets=[SecretGrant(name="other.token")])
    assert exceeding(request, FULL_GRANT) == ["secret: other.token"]


def test_secret_audience_excess() -> None:
    request = Capabilities(
        secrets=[
            SecretGrant(
                name="api.token",
                audiences=[
                    "https://evil.example",
                    "https://api.example.com",
                    "http://api.example.com",
                ],
            )
        ]
    )
    assert exceeding(request, FULL_GRANT) == [
        "secret: api.token towards http://api.example.com, https://evil.example"
    ]


@pytest.mark.parametrize("name", list(ResourceLimits.model_fields))
def test_each_limit_excess(name: str) -> None:
    granted = ResourceLimits()
    value = getattr(granted, name) + 1
    request = Capabilities(limits=ResourceLimits.model_validate({name: value}))
    assert exceeding(request, Capabilities()) == [
        f"limits.{name}: requested {value}, granted {getattr(granted, name)}"
    ]
    # A lower request is always within the grant.
    lower = ResourceLimits.model_validate({name: getattr(granted, name) - 1})
    assert exceeding(Capabilities(limits=lower), Capabilities()) == []


def test_all_excesses_listed_in_order() -> None:
    request = Capabilities(
        filesystem=[PathAccess(guest_path="/etc")],
        network=[dest("evil.example")],
        env=[EnvGrant(name="HOME")],
        secrets=[SecretGrant(name="s")],
        limits=ResourceLimits(fuel=3_000_000_000, http_requests=17),
    )
    assert exceeding(request, Capabilities()) == [
        "filesystem: read-only /etc",
        "network: GET,HEAD https://evil.example:443/",
        "env: HOME",
        "secret: s",
        "limits.fuel: requested 3000000000, granted 2000000000",
        "limits.http_requests: requested 17, granted 16",
    ]
