"""OAuth 2.1 for outside streamable-HTTP MCP servers, on the MCP SDK's client auth.

The SDK's ``OAuthClientProvider`` (an ``httpx2.Auth``) runs the protocol:
RFC 9728 protected-resource metadata from ``WWW-Authenticate`` (with the
well-known fallbacks), RFC 8414 / OpenID authorization-server metadata with
issuer validation, dynamic client registration (RFC 7591) or a pre-registered
client or a client-id metadata document, authorization code + PKCE (S256),
RFC 8707 ``resource`` indicators, refresh tokens, scope step-up on ``403
insufficient_scope``. It yields every request it needs to the ``httpx2`` client
it is attached to, whose transport is ``guarded_http.GuardedTransport``: so
metadata, registration and token requests pass the egress guard exactly as the
MCP traffic does, under a grant made for each such request (:func:`auth_grant`:
https, or http on a loopback host; GET and POST; the server entry's address
ranges) and a size bound (``max_metadata_bytes``).

This module adds what the proxy needs around it:

- ``AgentorOAuthProvider``: refuses an authorization server without PKCE S256,
  endpoints that are http:// off loopback, an issuer other than the configured
  one; adds ``client_credentials`` (machine to machine) with the client secret
  from the secret store; picks the token endpoint auth method a pre-registered
  client shares with the server.
- How the one interactive step happens (:class:`Interaction`): ``none`` (``agentor
  serve``: fail with ``mcp.auth_required`` and the command to run), ``browser``
  (``agentor mcp login``: print the URL, wait on a loopback redirect URI), or
  ``follow`` (a test authorization server that approves at once: the
  authorization URL is fetched through the egress guard, which follows its
  redirect to the loopback listener, no browser).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Final, Literal
from urllib.parse import parse_qs, urlsplit

import anyio.to_thread
import httpx2
import jwt
from mcp.client.auth import OAuthClientProvider, OAuthFlowError
from mcp.client.auth.utils import union_scopes
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata
from pydantic import AnyUrl, BaseModel, ConfigDict, StringConstraints, ValidationError

from agentor_core.capabilities import (
    Capabilities,
    HttpMethod,
    NetworkDestination,
    ResourceLimits,
    Scheme,
    SecretGrant,
)
from agentor_core.egress import HttpRequest
from agentor_core.errors import AgentorError
from agentor_core.interfaces import EgressGuard, SecretStore
from agentor_mcp.codes import McpCode
from agentor_mcp.guarded_http import Refusals, guarded_client, same_endpoint
from agentor_mcp.oauth_config import AuthSection, check_auth_url
from agentor_mcp.oauth_storage import SecretTokenStorage
from agentor_mcp.upstream import ServerEntry, audience_of

CLIENT_NAME: Final = "agentor-proxy"
CALLBACK_PATH: Final = "/callback"
_MAX_CALLBACK_HEAD: Final = 8 * 1024
_ASSERTION_SECONDS: Final = 300
JWT_BEARER_ASSERTION: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _refused(
    message: str, hint: str = "check the server's [servers.NAME.auth] entry"
) -> AgentorError:
    return AgentorError(McpCode.AUTH_REFUSED, message[:600], hint=hint)


def auth_grant(url: str, address_ranges: tuple[str, ...]) -> Capabilities:
    """The egress grant for one OAuth request (metadata, registration, token) to ``url``.

    https, or plain http only towards a loopback host; GET and POST; the special
    address ranges the operator granted the server itself. Raises ``mcp.auth_refused``.
    """
    try:
        check_auth_url(url, "an authorization server URL")
    except ValueError:
        host = (urlsplit(url).hostname or "?")[:200]
        raise _refused(
            f"refusing a non-https authorization server request to {host}",
            hint="authorization servers must be https:// (http:// only on loopback)",
        ) from None
    parts = urlsplit(url)
    destination = NetworkDestination(
        scheme=Scheme(parts.scheme),
        host=parts.hostname or "",
        port=parts.port,
        path_prefix="/",
        methods=frozenset({HttpMethod.GET, HttpMethod.POST}),
        address_ranges=address_ranges,
    )
    return Capabilities(network=(destination,), limits=ResourceLimits(http_requests=64))


# --- the interactive step ------------------------------------------------------------


_Param = Annotated[str, StringConstraints(min_length=1, max_length=2048)]


class _CallbackQuery(BaseModel):
    """The redirect's query parameters (RFC 6749 §4.1.2, RFC 9207 ``iss``), bounded."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    code: _Param | None = None
    state: _Param | None = None
    iss: _Param | None = None
    error: Annotated[str, StringConstraints(max_length=200)] | None = None
    error_description: Annotated[str, StringConstraints(max_length=500)] | None = None


class LoopbackCallback:
    """A one-shot HTTP listener on 127.0.0.1 for the authorization redirect.

    The socket is bound at construction so the redirect URI (with its port) is known
    before registration; it listens only while an authorization is in progress.
    """

    def __init__(self, port: int = 0) -> None:
        if port == 0:
            # A free port now, so the redirect URI is known before registration; the
            # listener binds it only while an authorization is in progress.
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
        self.port: int = port
        self.redirect_uri = f"http://127.0.0.1:{self.port}{CALLBACK_PATH}"
        self._server: asyncio.Server | None = None
        self._result: asyncio.Future[_CallbackQuery] | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._result = loop.create_future()
        if self._server is None:
            try:
                self._server = await asyncio.start_server(
                    self._handle, host="127.0.0.1", port=self.port, limit=_MAX_CALLBACK_HEAD
                )
            except OSError as exc:
                raise AgentorError(
                    McpCode.AUTH_FAILED,
                    f"cannot listen on 127.0.0.1:{self.port} for the OAuth redirect "
                    f"({exc.strerror})",
                    hint="choose another redirect_port in [servers.NAME.auth], or 0 for any",
                ) from None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                head = await reader.readuntil(b"\r\n\r\n")
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            writer.close()
            return
        line = head[:_MAX_CALLBACK_HEAD].split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split(" ")
        target = urlsplit(parts[1]) if len(parts) == 3 and parts[0] == "GET" else None
        if target is None or target.path != CALLBACK_PATH:
            writer.write(
                b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            )
        else:
            try:
                query = {k: v[0] for k, v in parse_qs(target.query, max_num_fields=16).items()}
                parsed = _CallbackQuery.model_validate(query)
            except (ValidationError, ValueError):
                parsed = _CallbackQuery(error="invalid_request", error_description="unparsable")
            body = b"Authorization received by agentor; you can close this window.\n"
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\n"
                + f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
                + body
            )
            if self._result is not None and not self._result.done():
                self._result.set_result(parsed)
        with contextlib.suppress(OSError):
            await writer.drain()
        writer.close()

    async def wait(self, timeout: float) -> AuthorizationCodeResult:
        if self._result is None:
            raise AgentorError(McpCode.AUTH_FAILED, "the OAuth redirect listener was not started")
        try:
            async with asyncio.timeout(timeout):
                got = await self._result
        except TimeoutError:
            raise AgentorError(
                McpCode.AUTH_FAILED,
                f"no authorization arrived at {self.redirect_uri} within {timeout:g} s",
                hint="open the printed URL in a browser on this machine and approve",
            ) from None
        finally:
            await self.close()
        if got.error is not None or got.code is None:
            raise AgentorError(
                McpCode.AUTH_FAILED,
                f"the authorization server refused: {(got.error or 'no code')!r} "
                f"{(got.error_description or '')!r}",
                hint="check the client's scopes and registration, then log in again",
            )
        return AuthorizationCodeResult(code=got.code, state=got.state, iss=got.iss)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None


@dataclass(frozen=True, slots=True)
class Interaction:
    """How the proxy obtains the one authorization a person gives (authorization code flow).

    ``none``: never interactive; a server that needs it fails with ``mcp.auth_required``.
    ``browser``: ``show_url`` prints the URL; the redirect arrives on a loopback listener.
    ``follow``: the URL is fetched through the egress guard and its redirect followed to
    the loopback listener (for test authorization servers that approve at once).
    """

    mode: Literal["none", "browser", "follow"] = "none"
    show_url: Callable[[str], None] | None = None
    timeout_seconds: float = 300.0


# --- the provider --------------------------------------------------------------------


class AgentorOAuthProvider(OAuthClientProvider):
    """The SDK provider with agentor's refusals, client credentials and interaction."""

    def __init__(
        self,
        *,
        server: str,
        server_url: str,
        section: AuthSection,
        storage: SecretTokenStorage,
        client_metadata: OAuthClientMetadata,
        interaction: Interaction,
        guard: EgressGuard,
        address_ranges: tuple[str, ...],
        callback: LoopbackCallback | None,
        assertion_key: str | None = None,
    ) -> None:
        self._server_name = server
        self._assertion_key = assertion_key
        self._section = section
        self._interaction = interaction
        self._guard = guard
        self._ranges = address_ranges
        self._callback = callback
        self._storage = storage
        super().__init__(
            server_url,
            client_metadata,
            storage,
            redirect_handler=self._redirect,
            callback_handler=self._await_code,
            client_metadata_url=section.client_metadata_url,
        )

    async def _initialize(self) -> None:
        await super()._initialize()
        # Tokens from an earlier process: their recorded expiry, so an expired one is
        # refreshed before use (the SDK only knows the expiry of tokens it fetched itself).
        self.context.token_expiry_time = self._storage.expires_at
        tokens = self.context.current_tokens
        if tokens is not None and tokens.refresh_token and self._storage.token_endpoint is None:
            # Without the endpoint that issued it, the SDK would send the refresh token to
            # the MCP server's own origin: never. Re-authorize instead.
            dropped: dict[str, object] = {"refresh_token": None}  # nosec B105 - no value
            self.context.current_tokens = tokens.model_copy(update=dropped)

    def is_token_endpoint(self, url: str) -> bool:
        """Whether ``url`` is where this client's tokens come from (its token endpoint,
        as discovered now or as recorded with the stored tokens)."""
        endpoints = {self._get_token_endpoint(), self._storage.token_endpoint}
        return same_endpoint(url, *(e for e in endpoints if e is not None))

    async def _refresh_token(self) -> httpx2.Request:
        request = await super()._refresh_token()
        endpoint = self._storage.token_endpoint
        if self.context.oauth_metadata is None and endpoint is not None:
            # A new process has not discovered metadata yet: refresh where the tokens
            # came from (recorded with them), not at a guessed URL.
            return httpx2.Request(
                "POST", endpoint, headers=request.headers, content=await request.aread()
            )
        return request

    # The authorization step -------------------------------------------------------

    async def _redirect(self, url: str) -> None:
        check = self._interaction
        if check.mode == "none" or self._callback is None:
            raise AgentorError(
                McpCode.AUTH_REQUIRED,
                f"outside server {self._server_name} needs an authorization by a person",
                hint=f"run 'agentor mcp login {self._server_name} --config agentor.toml' once",
            )
        await self._callback.start()
        if check.mode == "browser":
            if check.show_url is not None:
                check.show_url(url)
            return
        # follow: GET the authorization URL through the guard; it follows the redirect
        # (re-checked against this grant) to our loopback listener, which takes the code.
        grant = auth_grant(url, self._ranges)
        callback = NetworkDestination(
            scheme=Scheme.HTTP,
            host="127.0.0.1",
            port=self._callback.port,
            path_prefix=CALLBACK_PATH,
            methods=frozenset({HttpMethod.GET}),
            address_ranges=("127.0.0.1/32",),
        )
        grant = grant.model_copy(update={"network": (*grant.network, callback)})
        request = HttpRequest(method=HttpMethod.GET, url=url)
        try:
            await anyio.to_thread.run_sync(self._guard.send, request, grant)
        except AgentorError as exc:
            await self._callback.close()
            raise AgentorError(
                McpCode.AUTH_FAILED,
                f"following the authorization URL failed: {exc.code}: {exc.message}"[:600],
                hint="this mode needs an authorization server that approves without a person",
            ) from None

    async def _await_code(self) -> AuthorizationCodeResult:
        if self._callback is None:  # pragma: no cover - _redirect refused already
            raise AgentorError(McpCode.AUTH_REQUIRED, "no redirect listener")
        return await self._callback.wait(self._interaction.timeout_seconds)

    # Checks before any code or secret is sent ----------------------------------------

    def _check_server(self) -> None:
        metadata = self.context.oauth_metadata
        if metadata is None:
            if self._section.issuer is not None:
                raise _refused(
                    f"no authorization server metadata was found for the configured issuer "
                    f"{self._section.issuer!r}; nothing is sent to a guessed endpoint",
                    hint="check that the MCP server publishes protected-resource metadata",
                )
            # 2025-03-26 servers without metadata: the endpoints are the server's own
            # origin (already checked by the transport's grant).
            return
        if self._section.issuer is not None and str(metadata.issuer).rstrip("/") != (
            self._section.issuer.rstrip("/")
        ):
            raise _refused(
                f"authorization server metadata names issuer {str(metadata.issuer)[:200]!r}, "
                f"not the configured {self._section.issuer!r}",
                hint="the MCP server points at another authorization server; check issuer",
            )
        for what, endpoint in (
            ("authorization_endpoint", metadata.authorization_endpoint),
            ("token_endpoint", metadata.token_endpoint),
            ("registration_endpoint", metadata.registration_endpoint),
        ):
            if endpoint is not None:
                try:
                    check_auth_url(str(endpoint), what)
                except ValueError as exc:
                    raise _refused(f"authorization server metadata: {exc}") from None

    def _check_pkce(self) -> None:
        metadata = self.context.oauth_metadata
        if metadata is None:
            return
        methods = metadata.code_challenge_methods_supported
        if not methods or "S256" not in methods:
            raise _refused(
                "the authorization server does not advertise PKCE with S256 "
                "(code_challenge_methods_supported); refusing the authorization code flow",
                hint="OAuth 2.1 and MCP require PKCE S256; fix the authorization server",
            )

    def _choose_client_auth(self) -> None:
        """A pre-registered client authenticates with a method the server supports."""
        info = self.context.client_info
        metadata = self.context.oauth_metadata
        if info is None or info.client_secret is None or metadata is None:
            return  # public, or private_key_jwt: nothing to choose
        supported = metadata.token_endpoint_auth_methods_supported
        if not supported or info.token_endpoint_auth_method in supported:
            return
        for method in ("client_secret_basic", "client_secret_post"):
            if method in supported:
                self.context.client_info = info.model_copy(
                    update={"token_endpoint_auth_method": method}
                )
                return

    def _machine_to_machine(self) -> bool:
        if self._section.type == "client_credentials":
            return True
        # A confidential pre-registered client and an authorization server that offers
        # client_credentials but not the code flow: no person can be involved.
        metadata = self.context.oauth_metadata
        info = self.context.client_info
        grants = metadata.grant_types_supported if metadata is not None else None
        return bool(
            info is not None
            and (info.client_secret or self._assertion_key)
            and grants
            and "client_credentials" in grants
            and "authorization_code" not in grants
        )

    async def _perform_authorization(self) -> httpx2.Request:
        self._check_server()
        self._storage.token_endpoint = self._get_token_endpoint()
        self._choose_client_auth()
        configured = self._section.scope
        if configured is not None:
            self.context.client_metadata.scope = union_scopes(
                configured, self.context.client_metadata.scope
            )
        if self._machine_to_machine():
            return self._client_credentials_request()
        if self._assertion_key is not None:
            raise _refused(
                "client_assertion_key (private_key_jwt) is used with the client_credentials "
                "grant only, and this authorization server wants the authorization code flow",
                hint='use type = "client_credentials", or a client secret for this server',
            )
        self._check_pkce()
        return await super()._perform_authorization()

    def _client_credentials_request(self) -> httpx2.Request:
        data: dict[str, str] = {"grant_type": "client_credentials"}
        scope = self.context.client_metadata.scope
        if scope:
            data["scope"] = " ".join(s for s in scope.split() if s != "offline_access") or scope
        if self.context.should_include_resource_param(self.context.protocol_version):
            data["resource"] = self.context.get_resource_url()  # RFC 8707
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        endpoint = self._get_token_endpoint()
        if self._assertion_key is not None:
            data["client_assertion_type"] = JWT_BEARER_ASSERTION
            data["client_assertion"] = self._client_assertion(endpoint)
        else:
            data, headers = self.context.prepare_token_auth(data, headers)
        return httpx2.Request("POST", endpoint, data=data, headers=headers)

    def _client_assertion(self, token_endpoint: str) -> str:
        """An RFC 7523 §2.2 client assertion: iss = sub = client id, aud = the issuer."""
        info = self.context.client_info
        metadata = self.context.oauth_metadata
        audience = str(metadata.issuer) if metadata is not None else token_endpoint
        now = int(time.time())
        claims = {
            "iss": info.client_id if info is not None else "",
            "sub": info.client_id if info is not None else "",
            "aud": audience,
            "iat": now,
            "exp": now + _ASSERTION_SECONDS,
            "jti": secrets.token_urlsafe(16),
        }
        try:
            return jwt.encode(
                claims,
                self._assertion_key or "",
                algorithm=self._section.client_assertion_alg,
                headers={"typ": "JWT"},
            )
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise AgentorError(
                McpCode.AUTH_FAILED,
                f"cannot sign a client assertion with {self._section.client_assertion_alg}: "
                f"{type(exc).__name__}",
                hint="client_assertion_key must name a PEM (PKCS#8) private key for that alg",
            ) from None


@dataclass(frozen=True, slots=True)
class AuthGrants:
    """The grant of each OAuth request, by URL (``GuardedTransport``'s ``auth_grant``).

    Everywhere: :func:`auth_grant`, no secret. At the client's token endpoint only,
    the values the client sends there itself may travel verbatim, bound to that
    origin: the client secret (Basic header or form body), a dynamically registered
    client's stored record, and the stored tokens' refresh token (body; the answer
    may repeat it). The egress guard refuses each of them anywhere else.
    """

    ranges: tuple[str, ...]
    provider: AgentorOAuthProvider | None = None
    client_secrets: tuple[str, ...] = ()
    tokens: str | None = None

    def __call__(self, url: str) -> Capabilities:
        grant = auth_grant(url, self.ranges)
        if self.provider is None or not self.provider.is_token_endpoint(url):
            return grant
        audience = (audience_of(url),)
        carried = [
            SecretGrant(name=name, audiences=audience, carried_in=frozenset({"header", "body"}))
            for name in self.client_secrets
        ]
        if self.tokens is not None:
            carried.append(
                SecretGrant(
                    name=self.tokens, audiences=audience, carried_in=frozenset({"body", "response"})
                )
            )
        return grant.model_copy(update={"secrets": tuple(carried)})


@dataclass(frozen=True, slots=True)
class HttpAuth:
    """What the guarded client needs for one server: the ``httpx2.Auth`` and extra grants."""

    auth: httpx2.Auth | None
    secrets: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    max_auth_bytes: int = 64 * 1024
    callback: LoopbackCallback | None = None
    grants: AuthGrants | None = None
    """The grant of each OAuth request (``None``: no OAuth client)."""
    carried: tuple[str, ...] = ()
    """Stored values the client itself sends in headers to the MCP server (its tokens)."""


def http_auth(
    server: str,
    url: str,
    section: AuthSection | None,
    *,
    secrets: SecretStore | None,
    guard: EgressGuard,
    address_ranges: tuple[str, ...],
    interaction: Interaction,
) -> HttpAuth:
    """The auth for one ``[servers.NAME]`` URL (``None`` section: no auth)."""
    if section is None:
        return HttpAuth(auth=None)
    if section.type == "bearer":
        # Filled in by the egress guard towards this origin only (the token never
        # enters this process's requests).
        token = section.token or ""
        return HttpAuth(
            auth=None,
            secrets=(token,),
            headers=(("Authorization", f"Bearer {{{{secret:{token}}}}}"),),
        )
    preregistered = None
    key = None
    if section.client_assertion_key is not None:
        key = _reveal(secrets, section.client_assertion_key, server)
    if section.client_id is not None:
        secret = _reveal(secrets, section.client_secret, server) if section.client_secret else None
        method = section.token_endpoint_auth_method if secret is not None else "none"
        preregistered = OAuthClientInformationFull(
            client_id=section.client_id,
            client_secret=secret,
            token_endpoint_auth_method="private_key_jwt" if key is not None else method,
            redirect_uris=None,
            grant_types=["client_credentials"]
            if section.type == "client_credentials"
            else ["authorization_code", "refresh_token"],
        )
    storage = SecretTokenStorage(secrets, server, url, preregistered=preregistered)
    callback = None
    if section.type == "oauth" and interaction.mode != "none":
        callback = LoopbackCallback(section.redirect_port)
    redirect = callback.redirect_uri if callback is not None else "http://127.0.0.1/callback"
    if preregistered is not None and callback is not None:
        preregistered.redirect_uris = [AnyUrl(redirect)]
    metadata = OAuthClientMetadata(
        client_name=CLIENT_NAME,
        redirect_uris=[AnyUrl(redirect)],
        grant_types=["client_credentials"]
        if section.type == "client_credentials"
        else ["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="none" if preregistered is None else None,
        scope=section.scope,
    )
    provider = AgentorOAuthProvider(
        server=server,
        server_url=url,
        section=section,
        storage=storage,
        client_metadata=metadata,
        interaction=interaction,
        guard=guard,
        address_ranges=address_ranges,
        callback=callback,
        assertion_key=key,
    )
    grants = AuthGrants(
        ranges=address_ranges,
        provider=provider,
        client_secrets=tuple(
            name for name in (section.client_secret, storage.client_name) if name is not None
        ),
        tokens=storage.tokens_name,
    )
    return HttpAuth(
        auth=provider,
        max_auth_bytes=section.max_metadata_bytes,
        callback=callback,
        grants=grants,
        carried=(storage.tokens_name,),
    )


def authorized_client(
    server: str,
    entry: ServerEntry,
    guard: EgressGuard,
    secrets: SecretStore | None,
    interaction: Interaction,
    refusals: Refusals | None = None,
) -> httpx2.AsyncClient:
    """The guarded ``httpx2`` client for one HTTP ``[servers.NAME]``, with its auth attached.

    ``refusals``: where messages the guard refused for their content are recorded."""
    url = entry.url or ""
    ranges = tuple(entry.address_ranges)
    auth = http_auth(
        server,
        url,
        entry.auth,
        secrets=secrets,
        guard=guard,
        address_ranges=ranges,
        interaction=interaction,
    )
    headers = dict(entry.headers)
    headers.update(auth.headers)
    return guarded_client(
        guard,
        entry.egress_grant(carried=auth.carried),
        headers,
        entry.timeout_seconds,
        auth=auth.auth,
        endpoint=url if auth.auth is not None else None,
        auth_grant=auth.grants,
        max_auth_bytes=auth.max_auth_bytes,
        refusals=refusals,
    )


def _reveal(store: SecretStore | None, name: str, server: str) -> str:
    value = None
    if store is not None:
        try:
            value = store.reveal(name)
        except AgentorError:
            raise
        except Exception:  # noqa: BLE001 - a failing store is a missing secret
            value = None
    if value is None:
        raise AgentorError(
            McpCode.AUTH_FAILED,
            f"outside server {server} needs the secret {name}, which is not in the secret store",
            hint=f"agentor secret set {name}",
        )
    return value


def describe_failure(exc: BaseException) -> str | None:
    """A short reason for an OAuth failure inside the SDK, or ``None`` if it is not one."""
    if isinstance(exc, OAuthFlowError):
        return f"{McpCode.AUTH_FAILED}: {str(exc)[:400]}"
    return None


__all__ = [
    "AgentorOAuthProvider",
    "AuthGrants",
    "HttpAuth",
    "Interaction",
    "LoopbackCallback",
    "auth_grant",
    "authorized_client",
    "describe_failure",
    "http_auth",
]
