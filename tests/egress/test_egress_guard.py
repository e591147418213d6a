# test tokens, not real credentials:
# ruff: noqa: S105
"""The guard against real servers on 127.0.0.1: grants, caps, redirects, secrets, pinning."""

from __future__ import annotations

import ipaddress
import json
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from agentor_core import discovery
from agentor_core.capabilities import Capabilities, NetworkDestination, ResourceLimits, SecretGrant
from agentor_core.egress import HttpRequest
from agentor_core.errors import AgentorError
from agentor_core.interfaces import EgressGuard
from agentor_egress import EgressCode, EgressLimits, HttpEgressGuard, StaticResolver
from agentor_egress.addresses import IPAddress

servers = sys.modules["egress_servers"]
grant, local, DictSecrets = servers.grant, servers.local, servers.DictSecrets

TOKEN = "tok-3f9a1c77e2b54d08"


@pytest.fixture
def guard() -> Iterator[HttpEgressGuard]:
    with HttpEgressGuard() as running:
        yield running


def refused(guard: EgressGuard, request: HttpRequest, capabilities: Capabilities) -> str:
    with pytest.raises(AgentorError) as caught:
        guard.send(request, capabilities)
    assert caught.value.hint
    return caught.value.code


def get(url: str, **fields: Any) -> HttpRequest:
    return HttpRequest.model_validate({"url": url, **fields})


def echoed(body: bytes) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(body)
    return document


def test_granted_request_reaches_the_server(guard: HttpEgressGuard, server: Any) -> None:
    response = guard.send(
        get(f"http://127.0.0.1:{server.port}/echo?q=1"), grant(local(server.port))
    )
    assert response.status == 200
    assert response.url == f"http://127.0.0.1:{server.port}/echo?q=1"
    seen = echoed(response.body)
    assert seen["path"] == "/echo?q=1"
    assert ["Accept-Encoding", "identity"] in seen["headers"]


def test_loopback_is_refused_unless_a_range_admits_it(guard: HttpEgressGuard, server: Any) -> None:
    before = len(server.seen)
    code = refused(
        guard, get(f"http://127.0.0.1:{server.port}/echo"), grant(local(server.port, ranges=()))
    )
    assert code == EgressCode.ADDRESS_DENIED
    assert len(server.seen) == before


def test_post_body_and_headers_are_sent(guard: HttpEgressGuard, server: Any) -> None:
    request = get(
        f"http://127.0.0.1:{server.port}/echo",
        method="POST",
        headers=[("Content-Type", "application/json"), ("X-Trace", "abc")],
        body=b'{"a": 1}',
    )
    seen = echoed(guard.send(request, grant(local(server.port))).body)
    assert seen["method"] == "POST"
    assert seen["body"] == '{"a": 1}'
    assert ["X-Trace", "abc"] in seen["headers"]


@pytest.mark.parametrize(
    ("destination", "url", "code"),
    [
        ({"host": "other.test"}, "http://127.0.0.1:{port}/echo", EgressCode.DESTINATION_DENIED),
        ({"scheme": "https"}, "http://127.0.0.1:{port}/echo", EgressCode.SCHEME_DENIED),
        ({"port": 1}, "http://127.0.0.1:{port}/echo", EgressCode.DESTINATION_DENIED),
        ({"path_prefix": "/api"}, "http://127.0.0.1:{port}/echo", EgressCode.DESTINATION_DENIED),
        ({"path_prefix": "/api"}, "http://127.0.0.1:{port}/apix", EgressCode.DESTINATION_DENIED),
        ({"path_prefix": "/api"}, "http://127.0.0.1:{port}/%61pi/x", EgressCode.DESTINATION_DENIED),
        ({"path_prefix": "/api"}, "http://127.0.0.1:{port}/api%2fx", EgressCode.DESTINATION_DENIED),
        ({"methods": {"GET"}}, "http://127.0.0.1:{port}/echo", EgressCode.METHOD_DENIED),
    ],
)
def test_requests_outside_the_grant_are_refused(
    guard: HttpEgressGuard, server: Any, destination: dict[str, Any], url: str, code: str
) -> None:
    fields: dict[str, Any] = {"port": server.port, **destination}
    capabilities = grant(local(**fields))
    method = "POST" if code == EgressCode.METHOD_DENIED else "GET"
    assert refused(guard, get(url.format(port=server.port), method=method), capabilities) == code


def test_path_prefix_admits_paths_below_it(guard: HttpEgressGuard, server: Any) -> None:
    capabilities = grant(local(server.port, path_prefix="/api"))
    for path in ("/api", "/api/", "/api/v1/items?x=1"):
        assert guard.send(get(f"http://127.0.0.1:{server.port}{path}"), capabilities).status == 200


def test_empty_grant_and_zero_budget_refuse(guard: HttpEgressGuard, server: Any) -> None:
    url = f"http://127.0.0.1:{server.port}/echo"
    assert refused(guard, get(url), Capabilities()) == EgressCode.DESTINATION_DENIED
    none_left = Capabilities(network=(local(server.port),), limits=ResourceLimits(http_requests=0))
    assert refused(guard, get(url), none_left) == EgressCode.BUDGET_EXHAUSTED


@pytest.mark.parametrize(
    "header", ["Host", "content-length", "Transfer-Encoding", "Connection", "Proxy-Authorization"]
)
def test_framing_headers_belong_to_the_guard(
    guard: HttpEgressGuard, server: Any, header: str
) -> None:
    request = get(f"http://127.0.0.1:{server.port}/echo", headers=[(header, "x")])
    assert refused(guard, request, grant(local(server.port))) == EgressCode.HEADER_DENIED


def test_request_body_cap(server: Any) -> None:
    with HttpEgressGuard(limits=EgressLimits(max_request_body_bytes=10)) as small:
        request = get(f"http://127.0.0.1:{server.port}/echo", method="POST", body=b"x" * 11)
        assert refused(small, request, grant(local(server.port))) == EgressCode.REQUEST_TOO_LARGE


@pytest.mark.parametrize("path", ["/bytes?n=2000", "/bytes?n=2000&chunked=1"])
def test_response_body_cap(server: Any, path: str) -> None:
    with HttpEgressGuard(limits=EgressLimits(max_response_body_bytes=1000)) as small:
        capabilities = grant(local(server.port))
        url = f"http://127.0.0.1:{server.port}"
        assert small.send(get(url + path.replace("2000", "1000")), capabilities).body == b"x" * 1000
        assert refused(small, get(url + path), capabilities) == EgressCode.RESPONSE_TOO_LARGE


def test_too_many_response_headers(guard: HttpEgressGuard, server: Any) -> None:
    url = f"http://127.0.0.1:{server.port}/headers?n=200"
    assert (
        refused(guard, get(url), grant(local(server.port))) == EgressCode.RESPONSE_HEADERS_TOO_LARGE
    )


@pytest.mark.parametrize("path", ["/slow", "/stall"])
def test_slow_and_stalled_responses_time_out(server: Any, path: str) -> None:
    limits = EgressLimits(total_timeout_s=0.3, read_timeout_s=0.2, connect_timeout_s=0.2)
    with HttpEgressGuard(limits=limits) as impatient:
        url = f"http://127.0.0.1:{server.port}{path}"
        assert refused(impatient, get(url), grant(local(server.port))) == EgressCode.TIMEOUT


def test_connection_refused_has_a_code(guard: HttpEgressGuard, server: Any) -> None:
    with servers.serve() as gone:
        port = gone.port
    assert refused(guard, get(f"http://127.0.0.1:{port}/"), grant(local(port))) == (
        EgressCode.CONNECT_FAILED
    )


def test_keep_alive_connections_are_reused(guard: HttpEgressGuard, server: Any) -> None:
    capabilities = grant(local(server.port))
    first = echoed(guard.send(get(f"http://127.0.0.1:{server.port}/echo/1"), capabilities).body)
    second = echoed(guard.send(get(f"http://127.0.0.1:{server.port}/echo/2"), capabilities).body)
    assert first["connection"] == second["connection"]


# -- redirects ------------------------------------------------------------------------


def test_same_origin_redirect_is_followed(guard: HttpEgressGuard, server: Any) -> None:
    url = f"http://127.0.0.1:{server.port}/redirect?to=/echo/after"
    response = guard.send(get(url), grant(local(server.port)))
    assert response.url == f"http://127.0.0.1:{server.port}/echo/after"
    assert echoed(response.body)["path"] == "/echo/after"


def test_redirect_outside_the_grant_is_refused(guard: HttpEgressGuard, server: Any) -> None:
    url = f"http://127.0.0.1:{server.port}/redirect?to=/private"
    capabilities = grant(local(server.port, path_prefix="/redirect"))
    assert refused(guard, get(url), capabilities) == EgressCode.DESTINATION_DENIED


def test_redirect_to_metadata_address_is_refused(guard: HttpEgressGuard, server: Any) -> None:
    url = f"http://127.0.0.1:{server.port}/redirect?to=http://169.254.169.254/latest/meta-data/"
    capabilities = grant(local(server.port), local(80, host="169.254.169.254", ranges=()))
    assert refused(guard, get(url), capabilities) == EgressCode.ADDRESS_DENIED


def test_redirect_loop_is_capped(server: Any) -> None:
    with HttpEgressGuard(limits=EgressLimits(max_redirects=2)) as guard:
        url = f"http://127.0.0.1:{server.port}/redirect?to=/redirect%3Fto%3D/redirect%253Fto%253D/echo"
        assert refused(guard, get(url), grant(local(server.port))) == EgressCode.TOO_MANY_REDIRECTS


def test_303_turns_post_into_get_without_body(guard: HttpEgressGuard, server: Any) -> None:
    url = f"http://127.0.0.1:{server.port}/redirect?to=/echo/seen&code=303"
    request = get(url, method="POST", body=b"payload", headers=[("Content-Type", "text/plain")])
    seen = echoed(guard.send(request, grant(local(server.port))).body)
    assert (seen["method"], seen["body"]) == ("GET", "")
    assert not any(name.lower() == "content-type" for name, _ in seen["headers"])


def test_307_keeps_method_and_body(guard: HttpEgressGuard, server: Any) -> None:
    url = f"http://127.0.0.1:{server.port}/redirect?to=/echo/seen&code=307"
    seen = echoed(
        guard.send(get(url, method="PUT", body=b"payload"), grant(local(server.port))).body
    )
    assert (seen["method"], seen["body"]) == ("PUT", "payload")


def test_cross_origin_redirect_drops_credentials(
    guard: HttpEgressGuard, server: Any, other_server: Any
) -> None:
    secrets = DictSecrets({"API_TOKEN": TOKEN})
    capabilities = grant(
        local(server.port),
        local(other_server.port),
        secrets=(SecretGrant(name="API_TOKEN", audiences=("http://127.0.0.1",)),),
    )
    target = f"http://127.0.0.1:{other_server.port}/echo/landed"
    request = get(
        f"http://127.0.0.1:{server.port}/redirect?to={target}",
        headers=[
            ("Authorization", "Basic dXNlcjpwdw=="),
            ("Cookie", "session=1"),
            ("X-Api-Key", "{{secret:API_TOKEN}}"),
            ("X-Kept", "yes"),
        ],
    )
    with HttpEgressGuard(secrets=secrets) as guarded:
        seen = echoed(guarded.send(request, capabilities).body)
    names = {name.lower() for name, _ in seen["headers"]}
    assert "x-kept" in names
    assert not names & {"authorization", "cookie", "x-api-key"}


# -- secrets ----------------------------------------------------------------------------


def secret_grant(server: Any, audience: str = "http://127.0.0.1") -> Capabilities:
    return grant(
        local(server.port), secrets=(SecretGrant(name="API_TOKEN", audiences=(audience,)),)
    )


def test_bound_placeholder_is_filled_in_headers_and_body(server: Any) -> None:
    request = get(
        f"http://127.0.0.1:{server.port}/bytes?n=3",
        method="POST",
        headers=[("Authorization", "Bearer {{secret:API_TOKEN}}")],
        body=b'{"key": "{{secret:API_TOKEN}}"}',
    )
    with HttpEgressGuard(secrets=DictSecrets({"API_TOKEN": TOKEN})) as guard:
        response = guard.send(request, secret_grant(server))
    assert response.body == b"xxx"
    sent = next(r for r in reversed(server.seen) if r["path"] == "/bytes?n=3")
    assert ["Authorization", f"Bearer {TOKEN}"] in sent["headers"]
    assert sent["body"] == f'{{"key": "{TOKEN}"}}'


def test_placeholder_for_an_unbound_destination_is_refused(server: Any) -> None:
    request = get(
        f"http://127.0.0.1:{server.port}/echo", headers=[("Authorization", "{{secret:API_TOKEN}}")]
    )
    before = len(server.seen)
    with HttpEgressGuard(secrets=DictSecrets({"API_TOKEN": TOKEN})) as guard:
        elsewhere = secret_grant(server, audience="https://api.example.com")
        assert refused(guard, request, elsewhere) == EgressCode.SECRET_UNBOUND
        assert refused(guard, request, grant(local(server.port))) == EgressCode.SECRET_UNBOUND
    assert len(server.seen) == before


def test_missing_secret_and_missing_store(server: Any) -> None:
    request = get(
        f"http://127.0.0.1:{server.port}/echo", headers=[("Authorization", "{{secret:API_TOKEN}}")]
    )
    with HttpEgressGuard(secrets=DictSecrets({})) as guard:
        assert refused(guard, request, secret_grant(server)) == EgressCode.SECRET_MISSING
    with HttpEgressGuard() as guard:
        assert refused(guard, request, secret_grant(server)) == EgressCode.SECRET_UNAVAILABLE


def test_placeholder_in_url_is_refused(server: Any) -> None:
    request = get(f"http://127.0.0.1:{server.port}/echo?key={{{{secret:API_TOKEN}}}}")
    with HttpEgressGuard(secrets=DictSecrets({"API_TOKEN": TOKEN})) as guard:
        assert refused(guard, request, secret_grant(server)) == EgressCode.SECRET_PLACEMENT


def test_secret_with_line_break_never_enters_a_header(server: Any) -> None:
    request = get(
        f"http://127.0.0.1:{server.port}/echo", headers=[("Authorization", "{{secret:API_TOKEN}}")]
    )
    with HttpEgressGuard(secrets=DictSecrets({"API_TOKEN": "abcdef\r\nX-Evil: 1"})) as guard:
        assert refused(guard, request, secret_grant(server)) == EgressCode.SECRET_PLACEMENT


def test_secret_that_is_not_ascii_never_enters_a_header(server: Any) -> None:
    request = get(
        f"http://127.0.0.1:{server.port}/echo", headers=[("Authorization", "{{secret:API_TOKEN}}")]
    )
    with (
        HttpEgressGuard(secrets=DictSecrets({"API_TOKEN": "p\u00e4sswort-123"})) as guard,
        pytest.raises(AgentorError) as caught,
    ):
        guard.send(request, secret_grant(server))
    assert caught.value.code == EgressCode.SECRET_PLACEMENT
    # Not a crash whose message quotes a character of the secret.
    assert "\u00e4" not in f"{caught.value.message} {caught.value.hint}"


def test_header_value_that_is_not_ascii_is_refused(guard: HttpEgressGuard, server: Any) -> None:
    request = get(f"http://127.0.0.1:{server.port}/echo", headers=[("X-Name", "b\u00e4r")])
    assert refused(guard, request, grant(local(server.port))) == EgressCode.HEADER_DENIED


@pytest.mark.parametrize(
    "fields",
    [
        {"headers": [("X-Token", TOKEN)]},
        {"method": "POST", "body": f"token={TOKEN}".encode()},
        {"url_suffix": f"?token={TOKEN}"},
        {"headers": [("X-Token", "dG9rLTNmOWExYzc3ZTJiNTRkMDg=")]},  # base64 of the value
        {"headers": [(TOKEN, "1")]},  # the value as a header name
    ],
)
def test_known_secret_value_outside_a_placeholder_is_a_leak(
    server: Any, fields: dict[str, Any]
) -> None:
    suffix = fields.pop("url_suffix", "")
    request = get(f"http://127.0.0.1:{server.port}/echo{suffix}", **fields)
    with HttpEgressGuard(secrets=DictSecrets({"API_TOKEN": TOKEN})) as guard:
        assert refused(guard, request, secret_grant(server)) == EgressCode.SECRET_LEAK


@pytest.mark.parametrize("where", ["body", "header"])
def test_response_echoing_a_secret_is_refused(server: Any, where: str) -> None:
    request = get(
        f"http://127.0.0.1:{server.port}/reflect?in={where}",
        headers=[("X-Reflect", "{{secret:API_TOKEN}}")],
    )
    with HttpEgressGuard(secrets=DictSecrets({"API_TOKEN": TOKEN})) as guard:
        assert refused(guard, request, secret_grant(server)) == EgressCode.SECRET_ECHOED


def test_response_echoing_a_secret_can_be_redacted(server: Any) -> None:
    request = get(
        f"http://127.0.0.1:{server.port}/reflect", headers=[("X-Reflect", "{{secret:API_TOKEN}}")]
    )
    limits = EgressLimits(on_echo="redact")
    with HttpEgressGuard(secrets=DictSecrets({"API_TOKEN": TOKEN}), limits=limits) as guard:
        response = guard.send(request, secret_grant(server))
    assert response.body == b"you sent [redacted:API_TOKEN]"


def test_redirect_carrying_a_secret_is_refused_even_when_redacting(server: Any) -> None:
    request = get(
        f"http://127.0.0.1:{server.port}/reflect?in=location",
        headers=[("X-Reflect", "{{secret:API_TOKEN}}")],
    )
    limits = EgressLimits(on_echo="redact")
    before = len(server.seen)
    with HttpEgressGuard(secrets=DictSecrets({"API_TOKEN": TOKEN}), limits=limits) as guard:
        assert refused(guard, request, secret_grant(server)) == EgressCode.SECRET_ECHOED
    # The redirect was not followed: the server saw one request, not two.
    assert len(server.seen) == before + 1


def test_refusals_never_carry_the_secret_value(server: Any) -> None:
    request = get(f"http://127.0.0.1:{server.port}/echo", headers=[("X-Token", TOKEN)])
    with (
        HttpEgressGuard(secrets=DictSecrets({"API_TOKEN": TOKEN})) as guard,
        pytest.raises(AgentorError) as caught,
    ):
        guard.send(request, secret_grant(server))
    assert TOKEN not in str(caught.value)
    assert TOKEN not in caught.value.error.model_dump_json()


# -- names, pinning and TLS ---------------------------------------------------------------


class CountingResolver:
    """Answers from a script of address lists, one per call, and counts the calls."""

    def __init__(self, *answers: Sequence[str]) -> None:
        self.answers = [tuple(ipaddress.ip_address(a) for a in answer) for answer in answers]
        self.calls = 0

    def resolve(self, host: str, port: int) -> Sequence[IPAddress]:
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return answer


def named(port: int, **fields: Any) -> NetworkDestination:
    return local(port, host="api.test", **fields)


def test_name_resolves_through_the_resolver_and_connects_to_the_checked_address(
    server: Any,
) -> None:
    # api.test exists in no DNS: reaching the server proves the socket went to the
    # address the resolver gave, not to a second lookup of the name.
    resolver = CountingResolver(["127.0.0.1"], ["10.0.0.1"])
    with HttpEgressGuard(resolver=resolver) as guard:
        response = guard.send(get(f"http://api.test:{server.port}/echo"), grant(named(server.port)))
    assert echoed(response.body)["headers"][0] == ["Host", f"api.test:{server.port}"]
    assert resolver.calls == 1


def test_rebinding_to_a_private_address_is_refused(server: Any) -> None:
    resolver = CountingResolver(["127.0.0.1"], ["10.0.0.1"])
    with HttpEgressGuard(resolver=resolver) as guard:
        capabilities = grant(named(server.port))
        url = f"http://api.test:{server.port}/echo"
        assert guard.send(get(url), capabilities).status == 200
        assert refused(guard, get(url), capabilities) == EgressCode.ADDRESS_DENIED


def test_mixed_public_and_private_answers_are_refused(server: Any) -> None:
    resolver = CountingResolver(["127.0.0.1", "192.168.0.10"])
    with HttpEgressGuard(resolver=resolver) as guard:
        url = f"http://api.test:{server.port}/echo"
        assert refused(guard, get(url), grant(named(server.port))) == EgressCode.ADDRESS_DENIED


def test_unknown_name_fails_to_resolve(server: Any) -> None:
    with HttpEgressGuard(resolver=StaticResolver({})) as guard:
        url = f"http://api.test:{server.port}/echo"
        assert refused(guard, get(url), grant(named(server.port))) == EgressCode.RESOLUTION_FAILED


def test_tls_is_verified_against_the_name_while_pinned(tls: Any) -> None:
    server, client_context = tls
    resolver = StaticResolver({"api.test": ["127.0.0.1"], "wrong.test": ["127.0.0.1"]})
    with HttpEgressGuard(resolver=resolver, ssl_context=client_context) as guard:
        ok = guard.send(
            get(f"https://api.test:{server.port}/echo"),
            grant(named(server.port, scheme="https")),
        )
        assert ok.status == 200
        wrong = get(f"https://wrong.test:{server.port}/echo")
        capabilities = grant(local(server.port, host="wrong.test", scheme="https"))
        assert refused(guard, wrong, capabilities) == EgressCode.TLS_FAILED


def test_permissive_ssl_context_is_refused() -> None:
    import ssl

    context = ssl.create_default_context()
    context.check_hostname = False
    with pytest.raises(AgentorError) as caught:
        HttpEgressGuard(ssl_context=context)
    assert caught.value.code == EgressCode.TLS_FAILED


def test_guard_is_found_by_entry_point() -> None:
    guard = discovery.create(EgressGuard)
    assert isinstance(guard, HttpEgressGuard)
    guard.close()
