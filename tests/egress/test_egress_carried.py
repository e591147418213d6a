# test tokens, not real credentials:
# ruff: noqa: S105
"""Values the host's own client carries itself (``SecretGrant.carried_in``), on real servers.

``a.test`` and ``b.test`` are two servers on 127.0.0.1 (a static resolver), so
they are two audiences: a value bound to one must never reach the other.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from agentor_core.capabilities import Capabilities, SecretGrant
from agentor_core.egress import HttpRequest
from agentor_core.errors import AgentorError
from agentor_egress import EgressCode, EgressLimits, HttpEgressGuard, StaticResolver, parse_url
from agentor_egress.placeholders import is_bound

servers = sys.modules["egress_servers"]
grant, local, DictSecrets = servers.grant, servers.local, servers.DictSecrets

TOKEN = "tok-7d1e94c0a8f2b356"
ACCESS = "at-91c3e0b7d55a4f2e"
RESOLVER = StaticResolver({"a.test": ["127.0.0.1"], "b.test": ["127.0.0.1"]})


def _grant(server: Any, other: Any, *places: str) -> Capabilities:
    return grant(
        local(server.port, host="a.test"),
        local(other.port, host="b.test"),
        secrets=(
            SecretGrant(
                name="API_TOKEN", audiences=("http://a.test",), carried_in=frozenset(places)
            ),
        ),
    )


@pytest.fixture
def guard() -> Iterator[HttpEgressGuard]:
    store = DictSecrets({"API_TOKEN": TOKEN})
    with HttpEgressGuard(secrets=store, resolver=RESOLVER) as running:
        yield running


def _refused(guard: HttpEgressGuard, request: HttpRequest, capabilities: Capabilities) -> str:
    with pytest.raises(AgentorError) as caught:
        guard.send(request, capabilities)
    assert TOKEN not in str(caught.value)
    assert caught.value.hint
    return caught.value.code


def _headers(response_body: bytes) -> dict[str, str]:
    return {k.lower(): v for k, v in json.loads(response_body)["headers"]}


def _arrived(server: Any) -> dict[str, Any]:
    """What the server last received (its answer, ``/bytes``, echoes nothing back)."""
    last: dict[str, Any] = server.seen[-1]
    return {**last, "headers": {k.lower(): v for k, v in last["headers"]}}


def test_a_value_carried_in_a_header_reaches_its_bound_audience(
    guard: HttpEgressGuard, server: Any, other_server: Any
) -> None:
    request = HttpRequest(
        url=f"http://a.test:{server.port}/bytes?n=2",
        headers=(("Authorization", f"Bearer {TOKEN}"),),
    )
    assert guard.send(request, _grant(server, other_server, "header")).body == b"xx"
    assert _arrived(server)["headers"]["authorization"] == f"Bearer {TOKEN}"


def test_the_same_value_towards_another_audience_is_a_leak(
    guard: HttpEgressGuard, server: Any, other_server: Any
) -> None:
    before = len(other_server.seen)
    request = HttpRequest(
        url=f"http://b.test:{other_server.port}/echo", headers=(("X-Api-Key", TOKEN),)
    )
    code = _refused(guard, request, _grant(server, other_server, "header", "body"))
    assert code == EgressCode.SECRET_LEAK
    assert len(other_server.seen) == before


def test_not_granted_carried_is_a_leak_even_towards_the_bound_audience(
    guard: HttpEgressGuard, server: Any, other_server: Any
) -> None:
    request = HttpRequest(url=f"http://a.test:{server.port}/echo", headers=(("X-Api-Key", TOKEN),))
    assert _refused(guard, request, _grant(server, other_server)) == EgressCode.SECRET_LEAK


def test_a_value_carried_in_headers_only_is_a_leak_in_the_body(
    guard: HttpEgressGuard, server: Any, other_server: Any
) -> None:
    # The MCP proxy's case: its access token goes in a header; a tool call's
    # arguments (the body) carrying it are a leak, even to the same server.
    before = len(server.seen)
    request = HttpRequest(
        method="POST",
        url=f"http://a.test:{server.port}/echo",
        body=json.dumps({"arguments": {"text": TOKEN}}).encode(),
    )
    assert _refused(guard, request, _grant(server, other_server, "header")) == "egress.secret_leak"
    assert len(server.seen) == before


def test_a_value_carried_in_the_body_reaches_its_bound_audience(
    guard: HttpEgressGuard, server: Any, other_server: Any
) -> None:
    request = HttpRequest(
        method="POST",
        url=f"http://a.test:{server.port}/bytes?n=2",
        body=f"refresh={TOKEN}".encode(),
    )
    assert guard.send(request, _grant(server, other_server, "body")).body == b"xx"
    assert _arrived(server)["body"] == f"refresh={TOKEN}"


def test_a_carried_value_never_goes_in_the_url_or_a_header_name(
    guard: HttpEgressGuard, server: Any, other_server: Any
) -> None:
    everywhere = _grant(server, other_server, "header", "body", "response")
    in_url = HttpRequest(url=f"http://a.test:{server.port}/echo?token={TOKEN}")
    as_name = HttpRequest(url=f"http://a.test:{server.port}/echo", headers=((TOKEN, "1"),))
    assert _refused(guard, in_url, everywhere) == EgressCode.SECRET_LEAK
    assert _refused(guard, as_name, everywhere) == EgressCode.SECRET_LEAK


@pytest.mark.parametrize("header", ["Authorization", "X-Api-Key"])
def test_a_redirect_to_another_audience_drops_the_carried_header(
    guard: HttpEgressGuard, server: Any, other_server: Any, header: str
) -> None:
    target = f"http://b.test:{other_server.port}/echo/landed"
    value = f"Bearer {TOKEN}" if header == "Authorization" else TOKEN
    request = HttpRequest(
        url=f"http://a.test:{server.port}/redirect?to={target}",
        headers=((header, value), ("X-Kept", "yes")),
    )
    response = guard.send(request, _grant(server, other_server, "header"))
    seen = _headers(response.body)
    assert seen["x-kept"] == "yes"
    assert header.lower() not in seen
    assert TOKEN not in json.dumps(other_server.seen[-1])


def test_a_307_redirect_to_another_audience_with_a_carried_body_is_refused(
    guard: HttpEgressGuard, server: Any, other_server: Any
) -> None:
    before = len(other_server.seen)
    target = f"http://b.test:{other_server.port}/echo"
    request = HttpRequest(
        method="POST",
        url=f"http://a.test:{server.port}/redirect?code=307&to={target}",
        body=f"client_secret={TOKEN}".encode(),
    )
    assert _refused(guard, request, _grant(server, other_server, "body")) == "egress.secret_leak"
    assert len(other_server.seen) == before


def test_basic_credentials_are_decoded_and_scanned(
    guard: HttpEgressGuard, server: Any, other_server: Any
) -> None:
    # base64("client:" + value) is not the base64 of the value: decoded before the scan.
    basic = "Basic " + base64.b64encode(f"client:{TOKEN}".encode()).decode()
    request = HttpRequest(
        method="POST", url=f"http://a.test:{server.port}/echo", headers=(("Authorization", basic),)
    )
    assert _refused(guard, request, _grant(server, other_server)) == EgressCode.SECRET_LEAK
    request = request.model_copy(update={"url": f"http://a.test:{server.port}/bytes?n=2"})
    assert guard.send(request, _grant(server, other_server, "header")).body == b"xx"
    assert _arrived(server)["headers"]["authorization"] == basic


def test_credential_members_of_a_json_stored_value_are_scanned(
    server: Any, other_server: Any
) -> None:
    stored = json.dumps({"token": {"access_token": ACCESS, "token_type": "Bearer"}})
    store = DictSecrets({"mcp-oauth.x.tokens": stored})
    request = HttpRequest(
        url=f"http://b.test:{other_server.port}/echo",
        headers=(("Authorization", f"Bearer {ACCESS}"),),
    )
    bound_to_a = grant(
        local(server.port, host="a.test"),
        local(other_server.port, host="b.test"),
        secrets=(
            SecretGrant(
                name="mcp-oauth.x.tokens",
                audiences=("http://a.test",),
                carried_in=frozenset({"header"}),
            ),
        ),
    )
    with HttpEgressGuard(secrets=store, resolver=RESOLVER) as guard:
        with pytest.raises(AgentorError) as caught:
            guard.send(request, bound_to_a)
        assert caught.value.code == EgressCode.SECRET_LEAK
        assert "mcp-oauth.x.tokens" in caught.value.message
        to_a = request.model_copy(update={"url": f"http://a.test:{server.port}/bytes?n=2"})
        assert guard.send(to_a, bound_to_a).body == b"xx"
    assert _arrived(server)["headers"]["authorization"] == f"Bearer {ACCESS}"


def test_an_echo_is_accepted_only_from_an_audience_granted_to_answer_with_it(
    server: Any, other_server: Any
) -> None:
    request = HttpRequest(
        url=f"http://a.test:{server.port}/reflect", headers=(("X-Reflect", TOKEN),)
    )
    for on_echo in ("refuse", "redact"):
        limits = EgressLimits(on_echo=on_echo)  # type: ignore[arg-type]
        store = DictSecrets({"API_TOKEN": TOKEN})
        with HttpEgressGuard(secrets=store, resolver=RESOLVER, limits=limits) as guard:
            answered = guard.send(request, _grant(server, other_server, "header", "response"))
            assert answered.body == f"you sent {TOKEN}".encode()
            if on_echo == "refuse":
                code = _refused(guard, request, _grant(server, other_server, "header"))
                assert code == EgressCode.SECRET_ECHOED
            else:
                scrubbed = guard.send(request, _grant(server, other_server, "header"))
                assert scrubbed.body == b"you sent [redacted:API_TOKEN]"


def test_an_ipv6_literal_is_an_audience_in_brackets() -> None:
    target = parse_url("http://[::1]:8080/mcp")
    assert target.audience == "http://[::1]"
    bound = Capabilities(secrets=(SecretGrant(name="T", audiences=("http://[::1]",)),))
    assert is_bound("T", target, bound)
    assert not is_bound("T", parse_url("http://127.0.0.1:8080/mcp"), bound)
