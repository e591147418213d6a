"""The egress grants of an outside HTTP server: which secrets, bound where, carried how."""

from __future__ import annotations

from agentor_mcp import ServerEntry
from agentor_mcp.oauth import AuthGrants
from agentor_mcp.upstream import audience_of


def test_placeholders_are_bound_to_the_origin_and_the_oauth_token_is_carried_in_headers() -> None:
    entry = ServerEntry.model_validate(
        {
            "url": "https://MCP.example.com:8443/mcp",
            "headers": {"X-Api-Key": "{{secret:key}}"},
            "secrets": ["key"],
        }
    )
    grant = entry.egress_grant(carried=("mcp-oauth.x.tokens",))
    by_name = {s.name: s for s in grant.secrets}
    assert by_name["key"].audiences == ("https://mcp.example.com",)
    assert by_name["key"].carried_in == frozenset()
    assert by_name["mcp-oauth.x.tokens"].carried_in == frozenset({"header"})
    assert by_name["mcp-oauth.x.tokens"].audiences == ("https://mcp.example.com",)


def test_an_ipv6_server_gets_a_bracketed_audience() -> None:
    entry = ServerEntry.model_validate(
        {"url": "http://[::1]:8080/mcp", "auth": {"type": "bearer", "token": "tok"}}
    )
    (secret,) = entry.egress_grant().secrets
    assert secret.audiences == ("http://[::1]",)
    assert audience_of("http://[0:0:0:0:0:0:0:1]:9/x") == "http://[::1]"


def test_without_an_oauth_client_no_secret_travels_to_authorization_servers() -> None:
    grants = AuthGrants(ranges=(), client_secrets=("client-secret",), tokens="tokens")
    assert grants("https://as.example.com/token").secrets == ()
