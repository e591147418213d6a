"""OAuth 2.1 to outside MCP servers, end to end on 127.0.0.1.

A small real authorization server (metadata, dynamic registration, an
authorization endpoint that approves at once, a token endpoint checking PKCE,
refresh tokens and client credentials) and an MCP server protected by the SDK's
own resource-server auth (protected-resource metadata, bearer middleware,
required scopes, token audience checked against the RFC 8707 resource). The
proxy reaches both only through the real agentor-egress guard.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from mcp.server import MCPServer
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from agentor_core.capabilities import Capabilities
from agentor_core.tools import ToolCall
from agentor_egress import HttpEgressGuard
from agentor_mcp import OutsideServers, PinStore, ProxySection, ServerEntry
from agentor_mcp.oauth import Interaction
from agentor_mcp.oauth_config import storage_names
from agentor_secrets import MemorySecretStore

LOOPBACK = ("127.0.0.0/8",)


class _NullAudit:
    def append(self, event: Any) -> Any:
        return None

    def close(self) -> None:
        return None


def _bound() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class _Serving:
    def __init__(self, app: Any, sock: socket.socket) -> None:
        self.server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1)
        )
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self.sock = sock
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass
class AuthServer:
    """A minimal OAuth 2.1 authorization server that approves every request at once."""

    base: str = ""
    issuer: str | None = None
    pkce_methods: list[str] | None = field(default_factory=lambda: ["S256"])
    grant_types: list[str] = field(
        default_factory=lambda: ["authorization_code", "refresh_token", "client_credentials"]
    )
    scopes_supported: list[str] = field(default_factory=lambda: ["mcp:read", "mcp:write"])
    padding: int = 0
    expires_in: int = 3600
    first_grant: list[str] | None = None
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    refresh: dict[str, dict[str, Any]] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)
    authorizations: int = 0
    public_key: Any = None

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/oauth-authorization-server", self.metadata),
                Route("/register", self.register, methods=["POST"]),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
            ]
        )

    async def metadata(self, request: Request) -> Response:
        self.log.append({"path": "metadata"})
        body: dict[str, Any] = {
            "issuer": self.issuer or self.base,
            "authorization_endpoint": f"{self.base}/authorize",
            "token_endpoint": f"{self.base}/token",
            "registration_endpoint": f"{self.base}/register",
            "response_types_supported": ["code"],
            "grant_types_supported": self.grant_types,
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic"],
            "scopes_supported": self.scopes_supported,
        }
        if self.pkce_methods is not None:
            body["code_challenge_methods_supported"] = self.pkce_methods
        if self.padding:
            body["service_documentation"] = "https://docs.example/" + "a" * self.padding
        return JSONResponse(body)

    async def register(self, request: Request) -> Response:
        data = await request.json()
        client_id = f"client-{len(self.clients) + 1}"
        self.clients[client_id] = {"redirect_uris": data.get("redirect_uris", [])}
        self.log.append({"path": "register", "body": data})
        return JSONResponse(
            {
                "client_id": client_id,
                "redirect_uris": data.get("redirect_uris", []),
                "token_endpoint_auth_method": "none",
                "grant_types": data.get("grant_types", []),
                "client_name": data.get("client_name"),
            },
            status_code=201,
        )

    async def authorize(self, request: Request) -> Response:
        query = dict(request.query_params)
        self.log.append({"path": "authorize", "query": query})
        client = self.clients.get(query.get("client_id", ""))
        if client is None or query.get("redirect_uri") not in client["redirect_uris"]:
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        self.authorizations += 1
        scopes = (query.get("scope") or "").split()
        if self.first_grant is not None and self.authorizations == 1:
            scopes = self.first_grant
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "challenge": query["code_challenge"],
            "redirect_uri": query["redirect_uri"],
            "client_id": query["client_id"],
            "scopes": scopes,
            "resource": query.get("resource"),
        }
        target = (
            query["redirect_uri"]
            + "?"
            + urlencode(
                {"code": code, "state": query.get("state", ""), "iss": self.issuer or self.base}
            )
        )
        return RedirectResponse(target, status_code=302)

    def _issue(
        self, client_id: str, scopes: list[str], resource: str | None, *, refresh: bool
    ) -> Response:
        token = "at-" + secrets.token_urlsafe(16)
        self.tokens[token] = {
            "client_id": client_id,
            "scopes": scopes,
            "resource": resource,
            "expires_at": int(time.time()) + self.expires_in,
        }
        body: dict[str, Any] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": " ".join(scopes),
        }
        if refresh:
            rt = "rt-" + secrets.token_urlsafe(16)
            self.refresh[rt] = {"client_id": client_id, "scopes": scopes, "resource": resource}
            body["refresh_token"] = rt
        return JSONResponse(body)

    async def token(self, request: Request) -> Response:
        form = dict(await request.form())
        self.log.append(
            {"path": "token", "form": form, "authorization": request.headers.get("authorization")}
        )
        grant = form.get("grant_type")
        if grant == "authorization_code":
            issued = self.codes.pop(str(form.get("code")), None)
            verifier = str(form.get("code_verifier") or "")
            if (
                issued is None
                or _challenge(verifier) != issued["challenge"]
                or form.get("redirect_uri") != issued["redirect_uri"]
            ):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            return self._issue(
                issued["client_id"], issued["scopes"], str(form.get("resource")), refresh=True
            )
        if grant == "refresh_token":
            held = self.refresh.get(str(form.get("refresh_token")))
            if held is None:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            return self._issue(held["client_id"], held["scopes"], held["resource"], refresh=True)
        if grant == "client_credentials" and form.get("client_assertion"):
            try:
                claims = jwt.decode(
                    str(form["client_assertion"]),
                    self.public_key,
                    algorithms=["ES256"],
                    audience=self.issuer or self.base,
                )
            except jwt.PyJWTError:
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            if claims["iss"] != claims["sub"] or claims["iss"] not in self.clients:
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            scopes = str(form.get("scope") or "").split()
            return self._issue(claims["iss"], scopes, str(form.get("resource")), refresh=False)
        if grant == "client_credentials":
            header = request.headers.get("authorization", "")
            if not header.startswith("Basic "):
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            known = self.clients.get(client_id)
            if known is None or known.get("secret") != secret:
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            scopes = str(form.get("scope") or "").split()
            return self._issue(client_id, scopes, str(form.get("resource")), refresh=False)
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)


class _Verifier:
    def __init__(self, auth: AuthServer) -> None:
        self.auth = auth
        self.seen: list[str] = []

    async def verify_token(self, token: str) -> AccessToken | None:
        self.seen.append(token)
        held = self.auth.tokens.get(token)
        if held is None or held["expires_at"] < time.time():
            return None
        return AccessToken(
            token=token,
            client_id=held["client_id"],
            scopes=held["scopes"],
            expires_at=held["expires_at"],
            resource=held["resource"],
        )


@dataclass
class Stack:
    auth: AuthServer
    verifier: _Verifier
    mcp_url: str


@pytest.fixture
def stack_factory() -> Iterator[Any]:
    running: list[_Serving] = []

    def make(auth: AuthServer | None = None, *, required: tuple[str, ...] = ("mcp:read",)) -> Stack:
        auth = auth or AuthServer()
        as_sock, mcp_sock = _bound(), _bound()
        auth.base = f"http://127.0.0.1:{as_sock.getsockname()[1]}"
        mcp_url = f"http://127.0.0.1:{mcp_sock.getsockname()[1]}/mcp"
        verifier = _Verifier(auth)
        server = MCPServer(
            "oauth-protected",
            token_verifier=verifier,
            auth=AuthSettings(
                issuer_url=auth.base,
                resource_server_url=mcp_url,
                required_scopes=list(required),
                validate_token_resource=True,
            ),
        )

        @server.tool()
        def ping(text: str = "x") -> str:
            """Answer pong."""
            return f"pong {text}"

        running.append(_Serving(auth.app(), as_sock))
        running.append(_Serving(server.streamable_http_app(), mcp_sock))
        return Stack(auth=auth, verifier=verifier, mcp_url=mcp_url)

    yield make
    for serving in running:
        serving.stop()


def _outside(
    tmp_path: Path,
    url: str,
    auth: dict[str, Any],
    store: MemorySecretStore,
    mode: str = "follow",
) -> OutsideServers:
    entry = ServerEntry.model_validate(
        {"url": url, "address_ranges": list(LOOPBACK), "timeout_seconds": 15, "auth": auth}
    )
    outside = OutsideServers(
        {"remote": entry},
        base=tmp_path,
        pins=PinStore(tmp_path / "pins.json"),
        audit=_NullAudit(),  # type: ignore[arg-type]
        proxy=ProxySection(trust_on_first_use=True),
        # The guard holds the same store: the OAuth client's own values pass only
        # where their grants bind them (see test_mcp_outside_secrets.py).
        egress_guard=HttpEgressGuard(secrets=store),
        secret_store=store,
        close_guard=True,
    )
    outside.set_oauth_interaction(Interaction(mode=mode, timeout_seconds=10))  # type: ignore[arg-type]
    return outside


def _call(outside: OutsideServers) -> Any:
    tool = next(t for t in outside.tools() if t.served_name == "remote.ping")
    return outside.invoke(
        ToolCall(id="c1", tool="remote.ping", arguments={"text": "hi"}, component_hash=tool.pin),
        Capabilities(),
    )


def _paths(auth: AuthServer) -> list[str]:
    return [entry["path"] for entry in auth.log]


def test_authorization_code_with_pkce_resource_and_tokens_in_the_secret_store(
    tmp_path: Path, stack_factory: Any
) -> None:
    stack = stack_factory()
    store = MemorySecretStore()
    with _outside(tmp_path, stack.mcp_url, {"type": "oauth"}, store) as outside:
        assert outside.refresh() == {"remote": None}
        result = _call(outside)
    assert result.error is None, result.error
    assert "pong hi" in str(result.content[0])
    authorize = next(e for e in stack.auth.log if e["path"] == "authorize")["query"]
    assert authorize["code_challenge_method"] == "S256"
    assert authorize["resource"] == stack.mcp_url  # RFC 8707
    assert "mcp:read" in authorize["scope"].split()
    token = next(e for e in stack.auth.log if e["path"] == "token")["form"]
    assert token["grant_type"] == "authorization_code"
    assert token["resource"] == stack.mcp_url
    # Registered dynamically as a public client with a loopback redirect URI.
    register = next(e for e in stack.auth.log if e["path"] == "register")["body"]
    assert register["redirect_uris"][0].startswith("http://127.0.0.1:")
    # Tokens and the registration are in the secret store, under the server's names.
    tokens_name, client_name = storage_names("remote", stack.mcp_url)
    assert set(store.names()) == {tokens_name, client_name}
    access = next(iter(stack.auth.tokens))
    assert access in (store.reveal(tokens_name) or "")


def test_serve_never_asks_a_person_and_says_how_to_log_in(
    tmp_path: Path, stack_factory: Any
) -> None:
    stack = stack_factory()
    with _outside(tmp_path, stack.mcp_url, {"type": "oauth"}, MemorySecretStore(), "none") as o:
        error = o.refresh()["remote"]
    assert error is not None
    assert "mcp.auth_required" in error.message
    assert "authorize" not in _paths(stack.auth)


def test_stored_tokens_are_reused_then_refreshed_without_a_person(
    tmp_path: Path, stack_factory: Any
) -> None:
    stack = stack_factory(AuthServer(expires_in=2))
    store = MemorySecretStore()
    with _outside(tmp_path, stack.mcp_url, {"type": "oauth"}, store) as outside:
        assert outside.refresh() == {"remote": None}
    assert _paths(stack.auth).count("authorize") == 1
    # A later process (serve: never interactive) uses the stored token as it is...
    with _outside(tmp_path, stack.mcp_url, {"type": "oauth"}, store, "none") as outside:
        assert outside.refresh() == {"remote": None}
    assert _paths(stack.auth).count("authorize") == 1
    time.sleep(2.5)  # let the access token expire (the behaviour under test, not a timing)
    with _outside(tmp_path, stack.mcp_url, {"type": "oauth"}, store, "none") as outside:
        assert outside.refresh() == {"remote": None}
        assert _call(outside).error is None
    grants = [e["form"]["grant_type"] for e in stack.auth.log if e["path"] == "token"]
    assert "refresh_token" in grants
    assert _paths(stack.auth).count("authorize") == 1


def test_client_credentials_with_the_secret_from_the_store(
    tmp_path: Path, stack_factory: Any
) -> None:
    auth = AuthServer()
    auth.clients["machine"] = {"secret": "s3cret-value-123", "redirect_uris": []}
    stack = stack_factory(auth)
    store = MemorySecretStore({"remote-client-secret": "s3cret-value-123"})
    section = {
        "type": "client_credentials",
        "client_id": "machine",
        "client_secret": "remote-client-secret",
        "scopes": ["mcp:read"],
    }
    with _outside(tmp_path, stack.mcp_url, section, store, "none") as outside:
        assert outside.refresh() == {"remote": None}
        assert _call(outside).error is None
    token = next(e for e in stack.auth.log if e["path"] == "token")
    assert token["form"]["grant_type"] == "client_credentials"
    assert token["authorization"].startswith("Basic ")
    assert "client_secret" not in token["form"]
    assert "register" not in _paths(stack.auth)
    assert "authorize" not in _paths(stack.auth)


def test_client_credentials_with_a_signed_client_assertion(
    tmp_path: Path, stack_factory: Any
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    auth = AuthServer(public_key=key.public_key())
    auth.clients["signer"] = {"redirect_uris": []}
    stack = stack_factory(auth)
    store = MemorySecretStore({"remote-key": pem})
    section = {
        "type": "client_credentials",
        "client_id": "signer",
        "client_assertion_key": "remote-key",
        "issuer": auth.base,
    }
    with _outside(tmp_path, stack.mcp_url, section, store, "none") as outside:
        assert outside.refresh() == {"remote": None}
    token = next(e for e in stack.auth.log if e["path"] == "token")
    assert token["form"]["client_assertion_type"].endswith(":jwt-bearer")
    assert token["authorization"] is None
    assert stack.auth.tokens


def test_scope_step_up_on_insufficient_scope(tmp_path: Path, stack_factory: Any) -> None:
    # The first authorization grants less than the server needs: 403 insufficient_scope,
    # then the client asks again for the union of what it had and what is challenged.
    auth = AuthServer(first_grant=["mcp:read"])
    stack = stack_factory(auth, required=("mcp:read", "mcp:write"))
    with _outside(tmp_path, stack.mcp_url, {"type": "oauth"}, MemorySecretStore()) as outside:
        assert outside.refresh() == {"remote": None}
    asked = [e["query"]["scope"].split() for e in stack.auth.log if e["path"] == "authorize"]
    assert len(asked) == 2
    assert {"mcp:read", "mcp:write"} <= set(asked[1])


def test_issuer_other_than_the_configured_one_is_refused(
    tmp_path: Path, stack_factory: Any
) -> None:
    stack = stack_factory()
    section = {"type": "oauth", "issuer": "https://login.example.com"}
    with _outside(tmp_path, stack.mcp_url, section, MemorySecretStore()) as outside:
        error = outside.refresh()["remote"]
    assert error is not None
    assert "login.example.com" in error.message
    assert "token" not in _paths(stack.auth)
    assert "authorize" not in _paths(stack.auth)


def test_metadata_naming_another_issuer_is_refused(tmp_path: Path, stack_factory: Any) -> None:
    stack = stack_factory(AuthServer(issuer="http://127.0.0.1:9/elsewhere"))
    with _outside(tmp_path, stack.mcp_url, {"type": "oauth"}, MemorySecretStore()) as outside:
        error = outside.refresh()["remote"]
    assert error is not None
    assert {"register", "authorize", "token"}.isdisjoint(_paths(stack.auth))


def test_authorization_server_without_pkce_s256_is_refused(
    tmp_path: Path, stack_factory: Any
) -> None:
    stack = stack_factory(AuthServer(pkce_methods=["plain"]))
    with _outside(tmp_path, stack.mcp_url, {"type": "oauth"}, MemorySecretStore()) as outside:
        error = outside.refresh()["remote"]
    assert error is not None
    assert "PKCE" in error.message
    assert "authorize" not in _paths(stack.auth)


def test_oversized_metadata_is_refused(tmp_path: Path, stack_factory: Any) -> None:
    stack = stack_factory(AuthServer(padding=100_000))
    with _outside(tmp_path, stack.mcp_url, {"type": "oauth"}, MemorySecretStore()) as outside:
        error = outside.refresh()["remote"]
    assert error is not None
    assert "mcp.auth_refused" in error.message
    assert {"register", "authorize", "token"}.isdisjoint(_paths(stack.auth))


def test_agentor_mcp_login_once_then_serve_side_commands_use_the_stored_tokens(
    tmp_path: Path, stack_factory: Any
) -> None:
    stack = stack_factory()
    (tmp_path / "policy.toml").write_text("version = 1\n", encoding="utf-8")
    config = tmp_path / "agentor.toml"
    config.write_text(
        f"""version = 1
[policy]
file = "policy.toml"
[audit]
path = "audit.db"
[proxy]
trust_on_first_use = true
[servers.remote]
url = "{stack.mcp_url}"
address_ranges = ["127.0.0.0/8"]
[servers.remote.auth]
type = "oauth"
scopes = ["mcp:read"]
""",
        encoding="utf-8",
    )
    env = dict(
        os.environ,
        AGENTOR_STATE_DIR=str(tmp_path / "state"),
        AGENTOR_CONFIG_DIR=str(tmp_path / "config"),
        AGENTOR_SECRETS_FILE=str(tmp_path / "secrets.json"),
        AGENTOR_SECRETS_PASSPHRASE="correct horse battery staple",  # noqa: S106 - test file
        COLUMNS="400",
    )
    agentor = [sys.executable, "-m", "agentor_cli", "mcp"]
    login = subprocess.Popen(
        [*agentor, "login", "remote", "--config", str(config), "--json", "--timeout", "30"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert login.stderr is not None
        url = ""
        for line in login.stderr:
            if "/authorize?" in line:
                url = line.strip()
                break
        assert url.startswith(stack.auth.base)
        # The person's browser: the authorization server approves and redirects to
        # the command's loopback listener.
        answer = httpx.get(url, follow_redirects=True, timeout=10)
        assert answer.status_code == 200
        out, _err = login.communicate(timeout=60)
    finally:
        if login.poll() is None:
            login.kill()
            login.communicate()
    assert login.returncode == 0, out
    report = json.loads(out)
    assert report["ok"] is True
    assert report["tools"] == 1
    # Tokens are in the encrypted secret file, not in agentor.toml or in plain text.
    access = next(iter(stack.auth.tokens))
    assert access not in (tmp_path / "secrets.json").read_text(encoding="utf-8")
    assert access not in config.read_text(encoding="utf-8")
    # A non-interactive command (as agentor serve) now connects with the stored token.
    listed = subprocess.run(
        [*agentor, "tools", "--config", str(config), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    tools = json.loads(listed.stdout)
    assert tools["servers"] == {"remote": None}
    assert [t["name"] for t in tools["tools"]] == ["remote.ping"]
    assert _paths(stack.auth).count("authorize") == 1
