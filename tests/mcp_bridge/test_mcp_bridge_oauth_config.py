"""[servers.NAME.auth], the secret-store token storage and the loopback redirect listener.

The flows themselves (a real authorization server, the SDK's resource server, the
real egress guard) are in tests/integration/test_mcp_oauth_flows.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx
import pytest
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import ValidationError

from agentor_core.errors import AgentorError
from agentor_mcp import ServerEntry
from agentor_mcp.codes import McpCode
from agentor_mcp.oauth import LoopbackCallback, auth_grant
from agentor_mcp.oauth_config import AuthSection, storage_names
from agentor_mcp.oauth_storage import MAX_STORED_CHARS, SecretTokenStorage


class DictStore:
    """A SecretStore over a dict (the Protocol is five methods; no agentor-secrets here)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def names(self) -> Sequence[str]:
        return sorted(self.values)

    def exists(self, name: str) -> bool:
        return name in self.values

    def reveal(self, name: str) -> str | None:
        return self.values.get(name)

    def set(self, name: str, value: str) -> None:
        self.values[name] = value

    def delete(self, name: str) -> bool:
        return self.values.pop(name, None) is not None


@pytest.mark.parametrize(
    ("section", "why"),
    [
        ({"type": "bearer"}, "needs token"),
        ({"type": "bearer", "token": "t", "scopes": ["a"]}, "apply to OAuth"),
        ({"type": "oauth", "token": "t"}, "bearer"),
        ({"type": "client_credentials", "client_id": "c"}, "client_secret"),
        ({"type": "oauth", "client_secret": "s"}, "need client_id"),
        ({"type": "oauth", "client_assertion_key": "k"}, "need client_id"),
        (
            {"type": "oauth", "client_id": "c", "client_secret": "s", "client_assertion_key": "k"},
            "not both",
        ),
        (
            {
                "type": "client_credentials",
                "client_id": "c",
                "client_secret": "s",
                "client_assertion_key": "k",
            },
            "one of",
        ),
        ({"type": "oauth", "client_assertion_alg": "HS256"}, "ES256"),
        ({"type": "oauth", "issuer": "http://login.example.com"}, "https"),
        ({"type": "oauth", "client_metadata_url": "https://example.com/"}, "path"),
        ({"type": "oauth", "client_metadata_url": "http://example.com/c.json"}, "https"),
        ({"type": "oauth", "scopes": ["has space"]}, "pattern"),
        ({"type": "oauth", "redirect_port": 70000}, "65535"),
        ({"type": "oauth", "max_metadata_bytes": 10**9}, "1048576"),
        ({"type": "oauth", "client_secret_value": "x"}, "Extra inputs"),
        ({"type": "password"}, "oauth"),
    ],
)
def test_auth_sections_are_validated(section: dict[str, object], why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        AuthSection.model_validate(section)


def test_valid_sections_and_loopback_http_issuer() -> None:
    section = AuthSection.model_validate(
        {"type": "oauth", "scopes": ["mcp:read", "mcp:write"], "issuer": "http://127.0.0.1:9000"}
    )
    assert section.scope == "mcp:read mcp:write"
    assert AuthSection(type="bearer", token="remote-token").scope is None  # noqa: S106 - a name


def test_auth_belongs_to_a_url_and_excludes_a_static_authorization_header() -> None:
    with pytest.raises(ValidationError, match="apply to a url"):
        ServerEntry.model_validate({"command": ["x"], "auth": {"type": "oauth"}})
    with pytest.raises(ValidationError, match="not both"):
        ServerEntry.model_validate(
            {
                "url": "https://mcp.example.com/mcp",
                "headers": {"Authorization": "Bearer x"},
                "auth": {"type": "oauth"},
            }
        )


def test_bearer_token_is_a_secret_bound_to_the_server_origin() -> None:
    entry = ServerEntry.model_validate(
        {"url": "https://mcp.example.com/mcp", "auth": {"type": "bearer", "token": "remote-tok"}}
    )
    grant = entry.egress_grant()
    assert [(s.name, s.audiences) for s in grant.secrets] == [
        ("remote-tok", ("https://mcp.example.com",))
    ]


def test_storage_names_depend_on_server_and_url() -> None:
    one = storage_names("remote", "https://a.example/mcp")
    assert one != storage_names("remote", "https://b.example/mcp")
    assert one != storage_names("other", "https://a.example/mcp")
    assert all(name.startswith("mcp-oauth.remote.") for name in one)


def test_auth_requests_must_be_https_or_loopback() -> None:
    grant = auth_grant("https://login.example.com/token", ())
    assert grant.network[0].host == "login.example.com"
    assert auth_grant("http://127.0.0.1:8080/.well-known/x", ("127.0.0.0/8",)).network
    assert auth_grant("http://localhost:8080/token", ()).network
    for url in ("http://login.example.com/token", "ftp://login.example.com/", "http:///x"):
        with pytest.raises(AgentorError) as caught:
            auth_grant(url, ())
        assert caught.value.code == McpCode.AUTH_REFUSED


def test_token_storage_round_trip_and_bad_values_are_ignored() -> None:
    store = DictStore()
    storage = SecretTokenStorage(store, "remote", "https://mcp.example.com/mcp")

    async def scenario() -> None:
        assert await storage.get_tokens() is None
        await storage.set_tokens(
            OAuthToken(access_token="a" * 20, refresh_token="r" * 20, expires_in=60)
        )
        client = OAuthClientInformationFull(client_id="c1", redirect_uris=None)
        await storage.set_client_info(client)
        again = SecretTokenStorage(store, "remote", "https://mcp.example.com/mcp")
        loaded = await again.get_tokens()
        assert loaded is not None
        assert loaded.refresh_token == "r" * 20
        assert again.expires_at is not None
        info = await again.get_client_info()
        assert info is not None
        assert info.client_id == "c1"
        # Tampered or oversized values are treated as absent, never trusted.
        store.set(storage.tokens_name, "{not json")
        store.set(storage.client_name, "x" * (MAX_STORED_CHARS + 1))
        assert await again.get_tokens() is None
        assert await again.get_client_info() is None

    asyncio.run(scenario())
    assert "a" * 20 not in storage.tokens_name


def test_preregistered_client_is_not_written_to_the_store() -> None:
    store = DictStore()
    client = OAuthClientInformationFull(client_id="c1", client_secret="s" * 12)
    storage = SecretTokenStorage(store, "remote", "https://x.example/mcp", preregistered=client)

    async def scenario() -> None:
        assert await storage.get_client_info() == client
        await storage.set_client_info(client.model_copy(update={"client_id": "c2"}))
        got = await storage.get_client_info()
        assert got is not None
        assert got.client_id == "c2"

    asyncio.run(scenario())
    assert store.values == {}


def test_loopback_callback_takes_the_code_once_over_real_http() -> None:
    async def scenario() -> None:
        callback = LoopbackCallback()
        await callback.start()
        async with httpx.AsyncClient() as client:
            miss = await client.get(f"http://127.0.0.1:{callback.port}/other")
            assert miss.status_code == 404
            hit = await client.get(callback.redirect_uri, params={"code": "abc", "state": "st"})
            assert hit.status_code == 200
        result = await callback.wait(5)
        assert (result.code, result.state) == ("abc", "st")

    asyncio.run(scenario())


def test_loopback_callback_reports_a_refusal() -> None:
    async def scenario() -> None:
        callback = LoopbackCallback()
        await callback.start()
        async with httpx.AsyncClient() as client:
            await client.get(
                callback.redirect_uri,
                params={"error": "access_denied", "error_description": "no"},
            )
        with pytest.raises(AgentorError) as caught:
            await callback.wait(5)
        assert caught.value.code == McpCode.AUTH_FAILED
        assert "access_denied" in caught.value.message

    asyncio.run(scenario())


def test_loopback_callback_times_out_with_a_code() -> None:
    async def scenario() -> None:
        callback = LoopbackCallback()
        await callback.start()
        with pytest.raises(AgentorError) as caught:
            await callback.wait(0.2)
        assert caught.value.code == McpCode.AUTH_FAILED

    asyncio.run(scenario())
