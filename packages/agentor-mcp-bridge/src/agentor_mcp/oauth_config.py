"""``[servers.NAME.auth]``: how the proxy authenticates to an outside streamable-HTTP server.

Typed and bounded like the rest of agentor.toml. No secret value is ever
written here: client secrets and static tokens are named (secret store names),
and OAuth tokens and client registrations live in the secret store under
names derived from the server (see :func:`storage_names`).
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Final, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from agentor_core.capabilities import SecretName

MAX_SCOPES: Final = 32
DEFAULT_MAX_METADATA_BYTES: Final = 64 * 1024
LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})

Scope = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\x21\x23-\x5b\x5d-\x7e]+$")
]
"""RFC 6749 §3.3 scope-token characters."""
ClientId = Annotated[
    str, StringConstraints(min_length=1, max_length=512, pattern=r"^[\x20-\x7e]+$")
]
HttpsUrl = Annotated[str, StringConstraints(min_length=8, max_length=2048)]


def is_loopback_host(host: str | None) -> bool:
    if host is None:
        return False
    host = host.lower().rstrip(".")
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def check_auth_url(url: str, what: str) -> None:
    """https, or http only towards a loopback host; a host is required. Raises ``ValueError``."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and is_loopback_host(parts.hostname):
        return
    raise ValueError(f"{what} must be https:// (http:// only on a loopback host)")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AuthSection(_Model):
    """How to authorize to one outside HTTP server."""

    type: Literal["oauth", "client_credentials", "bearer"]
    """``oauth``: authorization code + PKCE, once by a person (``agentor mcp login``), then
    refresh tokens; ``client_credentials``: machine to machine with a client secret;
    ``bearer``: a static token from the secret store, filled in by the egress guard."""
    scopes: tuple[Scope, ...] = Field(default=(), max_length=MAX_SCOPES)
    """Scopes to ask for; default: those the server's challenge or metadata names."""
    client_id: ClientId | None = None
    """A pre-registered client; without it the client registers dynamically (RFC 7591)."""
    client_secret: SecretName | None = None
    """The secret-store name of the pre-registered client's secret."""
    client_assertion_key: SecretName | None = None
    """The secret-store name of a PEM (PKCS#8) private key: the client authenticates with
    signed JWT assertions (RFC 7523, ``private_key_jwt``) instead of a secret."""
    client_assertion_alg: Literal["ES256", "ES384", "RS256", "PS256", "EdDSA"] = "ES256"
    """The signing algorithm of ``client_assertion_key``."""
    token_endpoint_auth_method: Literal["client_secret_basic", "client_secret_post", "none"] = (
        "client_secret_basic"  # noqa: S105 - a method name, not a secret
    )
    """How a pre-registered client authenticates at the token endpoint."""
    issuer: HttpsUrl | None = None
    """The authorization server's issuer identifier; when set, metadata naming any other
    issuer is refused (recommended for ``client_credentials``)."""
    redirect_port: int = Field(default=0, ge=0, le=65535)
    """Loopback port of the redirect URI for ``agentor mcp login``; 0 picks a free one."""
    client_metadata_url: HttpsUrl | None = None
    """An https URL where the operator publishes this client's metadata document (CIMD);
    used as the client id when the authorization server supports it."""
    token: SecretName | None = None
    """``bearer``: the secret-store name of the token."""
    max_metadata_bytes: int = Field(default=DEFAULT_MAX_METADATA_BYTES, ge=1024, le=1024 * 1024)
    """The largest metadata, registration or token answer accepted."""

    @model_validator(mode="after")
    def _consistent(self) -> AuthSection:
        if self.type == "bearer":
            if self.token is None:
                raise ValueError('type = "bearer" needs token = "<secret name>"')
            if self.client_id or self.client_secret or self.client_assertion_key or self.scopes:
                raise ValueError("client_id, client_secret and scopes apply to OAuth types")
        elif self.token is not None:
            raise ValueError('token applies to type = "bearer" only')
        if self.type == "client_credentials" and (
            self.client_id is None
            or (self.client_secret is None) == (self.client_assertion_key is None)
        ):
            raise ValueError(
                'type = "client_credentials" needs client_id and one of client_secret '
                "or client_assertion_key"
            )
        if self.client_secret is not None and self.client_assertion_key is not None:
            raise ValueError("give client_secret or client_assertion_key, not both")
        if (self.client_secret or self.client_assertion_key) and self.client_id is None:
            raise ValueError("client_secret and client_assertion_key need client_id")
        if self.issuer is not None:
            check_auth_url(self.issuer, "issuer")
        if self.client_metadata_url is not None:
            parts = urlsplit(self.client_metadata_url)
            if parts.scheme != "https" or not parts.hostname or parts.path in {"", "/"}:
                raise ValueError("client_metadata_url must be an https URL with a path")
        return self

    @property
    def scope(self) -> str | None:
        return " ".join(self.scopes) or None


def storage_names(server: str, url: str) -> tuple[str, str]:
    """Secret-store names of a server's OAuth tokens and client registration.

    The URL's digest is part of the name, so pointing ``NAME`` at another URL never
    presents the old server's tokens to the new one.
    """
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]
    return f"mcp-oauth.{server}.{digest}.tokens", f"mcp-oauth.{server}.{digest}.client"
