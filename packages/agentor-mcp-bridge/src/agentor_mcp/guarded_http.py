"""Streamable HTTP to outside MCP servers, every request through an ``EgressGuard``.

The SDK's ``streamable_http_client`` accepts an ``httpx2.AsyncClient``; this
module gives it one whose transport hands each request to the guard (the core
Protocol, e.g. agentor-egress's ``HttpEgressGuard``) with the grant derived
from the server's config entry. So the guard's checks apply to every byte the
proxy sends: destination allowlist, DNS resolution with special-range refusal
and IP pinning (no rebinding), redirects re-checked, secret placeholders bound
to the origin, leak scanning, size and time caps.

The guard's ``send`` is request/response: it returns a complete body. That
fits every POST (a JSON answer, or an SSE stream the server closes after the
response) and DELETE. It cannot carry the optional long-lived GET stream of
server-initiated messages, so a GET is answered here with ``405 Method Not
Allowed``, which the specification allows a server to say: the client then
works without that stream (upstream ``list_changed`` notifications over HTTP
are not received; the proxy re-lists on every ``tools/list`` instead).

A message refused for what it carries (a stored secret's value, a placeholder
outside the configured headers, an oversized body) is answered here, without
sending anything, with a JSON-RPC error for that request: the session stays up
for the next call, and the refusal's code reaches the caller through
:class:`Refusals` (a server cannot forge one: the error names a random key).
Any other refusal (destination, address, TLS, a lost connection) fails the
transport as before, and the proxy restarts the connection.
"""

from __future__ import annotations

import json
import secrets
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import urlsplit

import anyio.to_thread
import httpx2

from agentor_core.capabilities import Capabilities, HttpMethod
from agentor_core.egress import HttpRequest, HttpResponse
from agentor_core.errors import AgentorError
from agentor_core.interfaces import EgressGuard
from agentor_mcp.codes import McpCode

# Headers the guard owns or refuses from a caller; httpx2 adds them by default.
_DROPPED: Final = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "expect",
        "accept-encoding",
        "proxy-authorization",
        "proxy-connection",
    }
)


_CONTENT_REFUSALS: Final = frozenset(
    {
        "egress.secret_leak",
        "egress.secret_placement",
        "egress.secret_unbound",
        "egress.request_too_large",
        McpCode.SECRET_PLACEMENT,
    }
)
"""Refusals about what one message carries, not about the connection."""
REFUSAL_KEY: Final = "io.agentor/refusal"


class Refusals:
    """Refusals answered locally, by the random key their JSON-RPC error carries."""

    def __init__(self, limit: int = 64) -> None:
        self._held: OrderedDict[str, AgentorError] = OrderedDict()
        self._limit = limit

    def add(self, error: AgentorError) -> str:
        key = secrets.token_urlsafe(16)
        self._held[key] = error
        while len(self._held) > self._limit:
            self._held.popitem(last=False)
        return key

    def take(self, data: Any) -> AgentorError | None:
        """The refusal a JSON-RPC error's ``data`` names, once; ``None`` if none."""
        key = data.get(REFUSAL_KEY) if isinstance(data, dict) else None
        return self._held.pop(key, None) if isinstance(key, str) else None


class GuardRefusedError(httpx2.TransportError):
    """The egress guard refused or failed the request; ``code`` is its stable code."""

    def __init__(self, error: AgentorError) -> None:
        super().__init__(f"{error.code}: {error.message}")
        self.code = error.code


AuthGrant = Callable[[str], Capabilities]
"""The grant for one OAuth request (metadata, registration, token) to a URL; may raise."""


def _endpoint(url: str) -> tuple[str, str, int | None, str]:
    parts = urlsplit(url)
    return (parts.scheme, (parts.hostname or "").lower(), parts.port, parts.path or "/")


def same_endpoint(url: str, *others: str) -> bool:
    """Whether ``url`` names the same scheme, host, port and path as one of ``others``."""
    mine = _endpoint(url)
    return any(_endpoint(other) == mine for other in others)


_PLACEHOLDER: Final = "{{secret:"


def _refuse_placeholders(headers: list[tuple[str, str]], body: bytes, url: str) -> None:
    """Only the operator's configured headers may hold ``{{secret:NAME}}``.

    The guard fills every placeholder bound to the destination, wherever it stands;
    one in a tool call's arguments (model-proposed), a header the server set (a
    session id), or an authorization request would make the host write a secret
    where it was never meant to go. Refused before the guard sees the request.
    """
    where = None
    if _PLACEHOLDER.encode() in body:
        where = "the message body (e.g. a tool call's arguments)"
    elif any(_PLACEHOLDER in name or _PLACEHOLDER in value for name, value in headers):
        where = "a header the operator did not configure"
    if where is not None:
        raise AgentorError(
            McpCode.SECRET_PLACEMENT,
            f"a request to {(urlsplit(url).hostname or '?')[:200]} carries a "
            f"{{{{secret:NAME}}}} placeholder in {where}; it is never filled there",
            hint="secrets reach outside servers only through [servers.NAME] headers "
            "and [servers.NAME.auth]",
        )


def _request_id(body: bytes) -> int | str | None:
    """The id of the JSON-RPC request in ``body``; ``None`` for anything else."""
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if isinstance(message, dict) and "method" in message:
        found = message.get("id")
        if isinstance(found, (int, str)) and not isinstance(found, bool):
            return found
    return None


class GuardedTransport(httpx2.AsyncBaseTransport):
    def __init__(
        self,
        guard: EgressGuard,
        grant: Capabilities,
        extra_headers: dict[str, str] | None = None,
        *,
        endpoint: str | None = None,
        auth_grant: AuthGrant | None = None,
        max_auth_bytes: int = 64 * 1024,
        refusals: Refusals | None = None,
    ) -> None:
        """``endpoint`` + ``auth_grant``: requests to any other URL come from the OAuth
        client (agentor_mcp.oauth) and go through the guard under ``auth_grant(url)``,
        without ``extra_headers``, their answers bounded to ``max_auth_bytes``.
        ``refusals``: where messages refused for their content are recorded."""
        self._refusals = refusals if refusals is not None else Refusals()
        self._guard = guard
        self._grant = grant
        self._extra = dict(extra_headers or {})
        self._endpoint = _endpoint(endpoint) if endpoint is not None else None
        self._auth_grant = auth_grant
        self._max_auth = max_auth_bytes

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if (
            self._auth_grant is not None
            and self._endpoint is not None
            and _endpoint(str(request.url)) != self._endpoint
        ):
            return await self._auth_request(request, self._auth_grant)
        if request.method == "GET":
            # See the module docstring: no long-lived stream through a request/response guard.
            return httpx2.Response(405, headers={"allow": "POST, DELETE"}, request=request)
        try:
            method = HttpMethod(request.method)
        except ValueError:
            return httpx2.Response(405, request=request)
        body = await request.aread()
        headers = [
            (name, value)
            for name, value in request.headers.items()
            if name.lower() not in _DROPPED and name.lower() not in {k.lower() for k in self._extra}
        ]
        try:
            _refuse_placeholders(headers, body, str(request.url))
            headers += list(self._extra.items())
            outgoing = HttpRequest(
                method=method, url=str(request.url), headers=tuple(headers), body=body
            )
            answer = await anyio.to_thread.run_sync(self._guard.send, outgoing, self._grant)
        except AgentorError as exc:
            if exc.code in _CONTENT_REFUSALS and _request_id(body) is not None:
                return self._refused_here(exc, body, request)
            raise GuardRefusedError(exc) from None
        except ValueError as exc:  # pydantic: a header or URL the core model refuses
            raise httpx2.TransportError(f"request refused before sending: {exc}") from None
        return _response(answer, request)

    def _refused_here(
        self, error: AgentorError, body: bytes, request: httpx2.Request
    ) -> httpx2.Response:
        """The JSON-RPC error the SDK hands to the caller of this one request."""
        key = self._refusals.add(error)
        answer = {
            "jsonrpc": "2.0",
            "id": _request_id(body),
            "error": {
                "code": -32600,
                "message": f"refused before sending: {error.code}: {error.message}"[:1000],
                "data": {REFUSAL_KEY: key},
            },
        }
        return httpx2.Response(
            400,
            headers={"content-type": "application/json"},
            content=json.dumps(answer).encode(),
            request=request,
        )

    async def _auth_request(
        self, request: httpx2.Request, make_grant: AuthGrant
    ) -> httpx2.Response:
        try:
            method = HttpMethod(request.method)
            grant = make_grant(str(request.url))
        except AgentorError as exc:
            raise GuardRefusedError(exc) from None
        except ValueError:
            return httpx2.Response(405, request=request)
        body = await request.aread()
        headers = [(n, v) for n, v in request.headers.items() if n.lower() not in _DROPPED]
        try:
            _refuse_placeholders(headers, body, str(request.url))
        except AgentorError as exc:
            raise GuardRefusedError(exc) from None
        try:
            outgoing = HttpRequest(
                method=method, url=str(request.url), headers=tuple(headers), body=body
            )
            answer = await anyio.to_thread.run_sync(self._guard.send, outgoing, grant)
        except AgentorError as exc:
            raise GuardRefusedError(exc) from None
        except ValueError as exc:
            raise httpx2.TransportError(f"request refused before sending: {exc}") from None
        if len(answer.body) > self._max_auth:
            raise GuardRefusedError(
                AgentorError(
                    McpCode.AUTH_REFUSED,
                    f"an authorization answer from {request.url.host[:200]} is "
                    f"{len(answer.body)} bytes; the limit is {self._max_auth}",
                    hint="raise [servers.NAME.auth] max_metadata_bytes if this is expected",
                )
            )
        return _response(answer, request)


def guarded_client(
    guard: EgressGuard,
    grant: Capabilities,
    headers: dict[str, str],
    timeout: float,
    *,
    auth: httpx2.Auth | None = None,
    endpoint: str | None = None,
    auth_grant: AuthGrant | None = None,
    max_auth_bytes: int = 64 * 1024,
    refusals: Refusals | None = None,
) -> httpx2.AsyncClient:
    """An ``httpx2.AsyncClient`` for the SDK's streamable-HTTP client, sending through ``guard``.

    ``auth`` (e.g. agentor_mcp.oauth's provider) makes its own requests through the same
    transport: to ``endpoint`` under ``grant``, anywhere else under ``auth_grant``.
    """
    return httpx2.AsyncClient(
        transport=GuardedTransport(
            guard,
            grant,
            headers,
            endpoint=endpoint,
            auth_grant=auth_grant,
            max_auth_bytes=max_auth_bytes,
            refusals=refusals,
        ),
        auth=auth,
        timeout=timeout,
        follow_redirects=False,  # the guard follows and re-checks redirects itself
        trust_env=False,
    )


# The guard hands back a decoded, whole body: the framing headers no longer describe it.
_FRAMING: Final = frozenset({"content-encoding", "transfer-encoding", "content-length"})


def _response(answer: HttpResponse, request: httpx2.Request) -> httpx2.Response:
    """The guard's answer as the httpx2 response the SDK expects."""
    return httpx2.Response(
        answer.status,
        headers=[(name, value) for name, value in answer.headers if name.lower() not in _FRAMING],
        content=answer.body,
        request=request,
    )
