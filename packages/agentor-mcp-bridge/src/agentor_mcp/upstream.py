"""Outside MCP servers in ``agentor.toml``: ``[servers.NAME]`` tables and the ``[proxy]`` section.

A server is either a stdio command (an argv list, never a shell line) started
with an empty environment plus the variables granted here, or a streamable-HTTP
URL reached only through an ``EgressGuard`` with a grant derived from this entry.
"""

from __future__ import annotations

import contextlib
import ipaddress
from typing import Annotated, Final, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from agentor_core.capabilities import (
    Capabilities,
    EnvName,
    HttpMethod,
    NetworkDestination,
    ResourceLimits,
    Scheme,
    SecretGrant,
    SecretName,
)
from agentor_core.egress import HeaderName, HeaderValue
from agentor_mcp.oauth_config import AuthSection

MAX_SERVERS: Final = 64
DEFAULT_TIMEOUT_SECONDS: Final = 30.0
DEFAULT_MAX_RESULT_BYTES: Final = 1024 * 1024
DEFAULT_MAX_MESSAGE_BYTES: Final = 8 * 1024 * 1024
DEFAULT_RESTART_SECONDS: Final = 5.0
DEFAULT_PIN_FILE: Final = "agentor.pins.json"

Arg = Annotated[str, StringConstraints(max_length=4096, pattern=r"^[^\x00]*$")]
EnvValue = Annotated[str, StringConstraints(max_length=32 * 1024, pattern=r"^[^\x00]*$")]
ServerName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_\-]*$")
]
"""No dots: ``NAME.tool`` splits at the first dot."""


def audience_of(url: str) -> str:
    """``scheme://host`` of ``url``, as a ``SecretGrant`` audience (IPv6 in brackets)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        with contextlib.suppress(ValueError):
            host = ipaddress.ip_address(host).compressed
        host = f"[{host}]"
    return f"{parts.scheme}://{host}"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ServerEntry(_Model):
    """One outside MCP server: exactly one of ``command`` (stdio) or ``url`` (streamable HTTP)."""

    command: tuple[Arg, ...] | None = Field(default=None, min_length=1, max_length=256)
    """argv: the program (absolute, relative to agentor.toml, or a name on the host PATH) and
    its arguments. Never run through a shell."""
    cwd: Annotated[str, StringConstraints(min_length=1, max_length=4096)] | None = None
    """Working directory (relative to agentor.toml); default: the directory of agentor.toml."""
    env: dict[EnvName, EnvValue] = Field(default_factory=dict, max_length=256)
    """The only variables the process sees, with these literal values."""
    secret_env: dict[EnvName, SecretName] = Field(default_factory=dict, max_length=256)
    """Variables whose values come from the secret store, by secret name."""

    url: Annotated[str, StringConstraints(min_length=1, max_length=2048)] | None = None
    headers: dict[HeaderName, HeaderValue] = Field(default_factory=dict, max_length=64)
    """Sent with every request; ``{{secret:NAME}}`` placeholders are filled by the egress guard."""
    secrets: tuple[SecretName, ...] = Field(default=(), max_length=64)
    """Secrets the guard may substitute towards this URL's origin only."""
    address_ranges: tuple[Annotated[str, StringConstraints(max_length=64)], ...] = Field(
        default=(), max_length=64
    )
    """Special address ranges (e.g. ``127.0.0.0/8``) the guard may connect to for this URL."""

    auth: AuthSection | None = None
    """``[servers.NAME.auth]``: OAuth 2.1, client credentials or a bearer token (a url only)."""

    timeout_seconds: float = Field(default=DEFAULT_TIMEOUT_SECONDS, gt=0, le=3600)
    """Connect, list and call time limit; a call also stops at its grant's ``deadline_ms``."""
    max_result_bytes: int = Field(default=DEFAULT_MAX_RESULT_BYTES, gt=0, le=64 * 1024 * 1024)
    max_message_bytes: int = Field(default=DEFAULT_MAX_MESSAGE_BYTES, ge=1024, le=64 * 1024 * 1024)
    """One JSON-RPC message from a stdio server; a longer line stops the server."""
    restart_seconds: float = Field(default=DEFAULT_RESTART_SECONDS, ge=0, le=3600)
    """A server that exited is restarted on demand, at most once per this interval."""

    @model_validator(mode="after")
    def _one_transport(self) -> ServerEntry:
        if (self.command is None) == (self.url is None):
            raise ValueError("give exactly one of command (stdio) or url (streamable HTTP)")
        if self.command is None and (self.env or self.secret_env or self.cwd):
            raise ValueError("env, secret_env and cwd apply to a command, not a url")
        if self.url is not None:
            if urlsplit(self.url).scheme not in {"http", "https"}:
                raise ValueError("url must be http:// or https://")
            if urlsplit(self.url).hostname is None:
                raise ValueError("url needs a host")
        elif self.headers or self.secrets or self.address_ranges or self.auth:
            raise ValueError(
                "headers, secrets, address_ranges and auth apply to a url, not a command"
            )
        if self.auth is not None and any(k.lower() == "authorization" for k in self.headers):
            raise ValueError("give either an Authorization header or an [auth] table, not both")
        return self

    @property
    def kind(self) -> Literal["stdio", "http"]:
        return "stdio" if self.command is not None else "http"

    def egress_grant(self, *, carried: tuple[str, ...] = ()) -> Capabilities:
        """The grant for every request to ``url``: this origin and path, POST and DELETE.

        ``secrets`` and the bearer token are bound to the origin as placeholders;
        ``carried`` names stored values the proxy's OAuth client sends itself in a
        header (its access token), bound to the origin too. Neither may appear in a
        message body (a tool call's arguments): the guard refuses that as a leak.
        """
        parts = urlsplit(self.url or "")
        scheme = Scheme(parts.scheme)
        origin = audience_of(self.url or "")
        destination = NetworkDestination(
            scheme=scheme,
            host=parts.hostname or "",
            port=parts.port,
            path_prefix=parts.path or "/",
            # POST carries every message; DELETE ends the session. GET (the optional
            # server-to-client stream) is answered locally: see guarded_http.
            methods=frozenset({HttpMethod.POST, HttpMethod.DELETE}),
            address_ranges=self.address_ranges,
        )
        return Capabilities(
            network=(destination,),
            secrets=(
                *(
                    SecretGrant(name=name, audiences=(origin,))
                    for name in (*self.secrets, *self._auth_secrets())
                ),
                *(
                    SecretGrant(name=name, audiences=(origin,), carried_in=frozenset({"header"}))
                    for name in carried
                ),
            ),
            limits=ResourceLimits(http_requests=10_000),
        )

    def _auth_secrets(self) -> tuple[str, ...]:
        if self.auth is not None and self.auth.type == "bearer" and self.auth.token:
            return (self.auth.token,)
        return ()


class ProxySection(_Model):
    pin_file: Annotated[str, StringConstraints(min_length=1, max_length=4096)] = DEFAULT_PIN_FILE
    """Approved pins of outside tools (relative to agentor.toml)."""
    trust_on_first_use: bool = False
    """Approve a never-seen tool without findings on first sight (audited). Off: run
    ``agentor mcp pin`` to approve."""
    on_poisoning: Literal["refuse_high", "refuse_any", "flag"] = "refuse_high"
    """``refuse_high``: refuse tools with hidden characters, escapes or instructions to the
    model, flag the rest; ``refuse_any``: refuse every finding; ``flag``: audit only."""
