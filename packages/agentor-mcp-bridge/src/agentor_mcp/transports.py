"""Serving a bridge: stdio, and streamable HTTP (loopback by default, DNS-rebinding protection on).

Binding anything but loopback needs authentication: bearer tokens read from a
file the operator controls, checked by the SDK's bearer middleware through a
:class:`~mcp.server.auth.provider.TokenVerifier`. Without it the server refuses
to start rather than expose sandboxed tools to the network.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import os
import socket
import stat
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import anyio
import uvicorn
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import BearerAuthBackend
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.stdio import stdio_server
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.middleware.authentication import AuthenticationMiddleware

from agentor_core.errors import AgentorError
from agentor_mcp.bridge import AgentorBridge
from agentor_mcp.codes import McpCode

MAX_TOKEN_FILE_BYTES: Final = 64 * 1024
MIN_TOKEN_CHARS: Final = 32
MAX_TOKEN_CHARS: Final = 4096
MCP_PATH: Final = "/mcp"
_LOOPBACK_NAMES: Final = frozenset({"localhost"})


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) or just ``PORT`` (loopback)."""
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = "127.0.0.1", text
    host = host.strip("[]") or "127.0.0.1"
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise AgentorError(
            McpCode.CONFIG_INVALID,
            f"{text[:100]!r} is not an address: use HOST:PORT, e.g. 127.0.0.1:8765",
            hint="pass --http 127.0.0.1:PORT",
        )
    return host, int(port_text)


def load_tokens(path: Path) -> frozenset[str]:
    """Bearer tokens, one per line (``#`` starts a comment); the file must be private."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise OSError("not a regular file")
        if info.st_size > MAX_TOKEN_FILE_BYTES:
            raise AgentorError(
                McpCode.TOKENS_INVALID,
                f"{path} is {info.st_size} bytes; the limit is {MAX_TOKEN_FILE_BYTES}",
                hint="keep one token per line",
            )
        if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise AgentorError(
                McpCode.TOKENS_INVALID,
                f"{path} can be read or written by other users",
                hint=f"chmod 600 {path}",
            )
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AgentorError(
            McpCode.TOKENS_INVALID,
            f"cannot read the token file {path}: {type(exc).__name__}",
            hint="create it with one random token per line (e.g. python -c "
            "'import secrets; print(secrets.token_urlsafe(32))'), chmod 600",
        ) from None
    tokens = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if (
            not MIN_TOKEN_CHARS <= len(line) <= MAX_TOKEN_CHARS
            or not line.isascii()
            or any(ch.isspace() for ch in line)
        ):
            raise AgentorError(
                McpCode.TOKENS_INVALID,
                f"{path} line {number}: a token is {MIN_TOKEN_CHARS}-{MAX_TOKEN_CHARS} "
                "printable ASCII characters without spaces",
                hint="generate tokens with secrets.token_urlsafe(32)",
            )
        tokens.add(line)
    if not tokens:
        raise AgentorError(
            McpCode.TOKENS_INVALID,
            f"{path} holds no token",
            hint="add one random token per line",
        )
    return frozenset(tokens)


class StaticTokenVerifier(TokenVerifier):
    """Accepts exactly the tokens from the operator's file, compared in constant time."""

    def __init__(self, tokens: frozenset[str]) -> None:
        self._digests = tuple(hashlib.sha256(t.encode()).digest() for t in tokens)

    async def verify_token(self, token: str) -> AccessToken | None:
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        matched = False
        for known in self._digests:
            # No early exit: every token is compared, whichever matches.
            matched |= hmac.compare_digest(digest, known)
        if not matched:
            return None
        return AccessToken(token=token, client_id=f"token-{digest.hex()[:12]}", scopes=[])


@dataclass(frozen=True, slots=True)
class HttpSettings:
    host: str = "127.0.0.1"
    port: int = 8765
    token_file: Path | None = None
    allowed_hosts: tuple[str, ...] = ()
    """Extra ``Host`` header values to accept (a reverse proxy's name); ``name:*`` for any port."""
    stateless: bool = False
    """No session state: several processes can serve behind one load balancer."""
    json_response: bool = False


def check_bind(settings: HttpSettings) -> TokenVerifier | None:
    """The verifier to use; refuses a non-loopback bind without tokens."""
    if settings.token_file is not None:
        return StaticTokenVerifier(load_tokens(settings.token_file))
    if not is_loopback(settings.host):
        raise AgentorError(
            McpCode.BIND_REFUSED,
            f"refusing to serve on {settings.host}: only loopback may be served without "
            "authentication",
            hint="add --token-file FILE (one bearer token per line, chmod 600), or bind 127.0.0.1",
        )
    return None


def _security(settings: HttpSettings) -> TransportSecuritySettings:
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
    origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    extra = list(settings.allowed_hosts)
    if not is_loopback(settings.host) and not _is_wildcard(settings.host):
        extra.append(f"{settings.host}:*")
    for name in extra:
        hosts.append(name if ":" in name else f"{name}:*")
        bare = name if ":" in name else f"{name}:*"
        origins += [f"https://{bare}", f"http://{bare}"]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


def http_app(bridge: AgentorBridge, settings: HttpSettings) -> Starlette:
    """The streamable-HTTP ASGI app at ``/mcp``, with authentication when tokens are configured."""
    verifier = check_bind(settings)
    app = bridge.server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=settings.stateless,
        json_response=settings.json_response,
        transport_security=_security(settings),
        host=settings.host,
        token_verifier=verifier,
    )
    if verifier is not None:
        # The SDK wraps the route in RequireAuthMiddleware; these two fill in the
        # authenticated user from the bearer token (no OAuth metadata: static tokens).
        app.add_middleware(AuthContextMiddleware)
        app.add_middleware(AuthenticationMiddleware, backend=BearerAuthBackend(verifier))
    return app


Background = Callable[[], Coroutine[Any, Any, None]]
"""A task that runs beside the server and is cancelled when it stops (e.g. a reload watcher)."""


async def _with_background(main: Awaitable[None], background: Background | None) -> None:
    if background is None:
        await main
        return
    async with anyio.create_task_group() as group:
        group.start_soon(background)
        await main
        group.cancel_scope.cancel()


class _Server(uvicorn.Server):
    """uvicorn, minus re-raising SIGINT/SIGTERM after its graceful shutdown.

    uvicorn raises the captured signal again once it has stopped, and the default
    action ends the process before the caller's cleanup runs: the audit log's
    final signed checkpoint, a ``--workers`` parent stopping its workers. Here
    ``serve()`` simply returns.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            captured = getattr(self, "_captured_signals", None)
            if isinstance(captured, list):
                captured.clear()


async def serve_http(
    bridge: AgentorBridge,
    settings: HttpSettings,
    background: Background | None = None,
    listener: socket.socket | None = None,
) -> None:
    """Serve on ``settings.host:port``, or accept on ``listener``, a socket bound already.

    A listening socket shared by several processes (each serving ``stateless``)
    is how ``agentor serve --workers N`` spreads connections over processes.
    """
    app = http_app(bridge, settings)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level="warning", server_header=False
    )
    sockets = [listener] if listener is not None else None
    await _with_background(_Server(config).serve(sockets=sockets), background)


async def serve_stdio(bridge: AgentorBridge, background: Background | None = None) -> None:
    async with stdio_server() as (read_stream, write_stream):
        await _with_background(
            bridge.server.run(read_stream, write_stream, bridge.initialization_options()),
            background,
        )


def run_stdio(bridge: AgentorBridge, *, background: Background | None = None) -> None:
    """Serve over this process's stdin and stdout until the client disconnects."""
    anyio.run(serve_stdio, bridge, background)


def run_http(
    bridge: AgentorBridge,
    settings: HttpSettings,
    *,
    background: Background | None = None,
    listener: socket.socket | None = None,
) -> None:
    """Serve streamable HTTP until interrupted; refuses an unauthenticated non-loopback bind."""
    check_bind(settings)
    anyio.run(serve_http, bridge, settings, background, listener)
