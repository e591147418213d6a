"""OAuth tokens and client registrations of outside servers, kept in agentor's secret store.

The SDK's ``OAuthClientProvider`` asks a ``TokenStorage`` for them; this one
keeps each as one JSON value in the ``SecretStore`` (by default agentor-secrets'
encrypted file) under a name derived from the server, never in agentor.toml or
a log. What is read back is bounded and parsed by the SDK's pydantic models; a
value that does not parse is treated as absent (the flow starts afresh) rather
than trusted.
"""

from __future__ import annotations

import logging
from typing import Annotated, Final

import anyio.to_thread
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from mcp.shared.auth_utils import calculate_token_expiry
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from agentor_core.errors import AgentorError
from agentor_core.interfaces import SecretStore
from agentor_mcp.codes import McpCode
from agentor_mcp.oauth_config import storage_names

_log = logging.getLogger(__name__)

MAX_STORED_CHARS: Final = 64 * 1024


class _StoredTokens(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    token: OAuthToken
    expires_at: float | None = None
    token_endpoint: Annotated[str, StringConstraints(max_length=2048)] | None = None


class SecretTokenStorage:
    """``mcp.client.auth.TokenStorage`` over a ``SecretStore``, for one outside server."""

    def __init__(
        self,
        store: SecretStore | None,
        server: str,
        url: str,
        *,
        preregistered: OAuthClientInformationFull | None = None,
    ) -> None:
        self._store = store
        self._server = server
        self.tokens_name, self.client_name = storage_names(server, url)
        self._preregistered = preregistered
        self._memory_tokens: OAuthToken | None = None
        self.expires_at: float | None = None
        """When the stored access token expires (epoch seconds), if known."""
        self.token_endpoint: str | None = None
        """The token endpoint that issued the stored tokens (where a refresh goes)."""

    def _read(self, name: str) -> str | None:
        if self._store is None:
            return None
        try:
            value = self._store.reveal(name)
        except AgentorError:
            raise
        except Exception as exc:  # noqa: BLE001 - any store may fail; fail closed with a code
            raise AgentorError(
                McpCode.AUTH_FAILED,
                f"the secret store failed reading OAuth state of {self._server}: "
                f"{type(exc).__name__}",
                hint="check the secret store with 'agentor secret list'",
            ) from None
        if value is not None and len(value) > MAX_STORED_CHARS:
            _log.warning("stored OAuth state of %s is oversized; ignored", self._server)
            return None
        return value

    def _write(self, name: str, value: str) -> None:
        if self._store is None:
            return
        try:
            self._store.set(name, value)
        except AgentorError:
            raise
        except Exception as exc:  # noqa: BLE001 - any store may fail; fail closed with a code
            raise AgentorError(
                McpCode.AUTH_FAILED,
                f"the secret store failed saving OAuth state of {self._server}: "
                f"{type(exc).__name__}",
                hint="check the secret store (AGENTOR_SECRETS_PASSPHRASE, file permissions)",
            ) from None

    async def get_tokens(self) -> OAuthToken | None:
        text = await anyio.to_thread.run_sync(self._read, self.tokens_name)
        if text is None:
            return self._memory_tokens
        try:
            stored = _StoredTokens.model_validate_json(text)
        except ValidationError:
            _log.warning("stored OAuth tokens of %s do not parse; ignored", self._server)
            return None
        self.expires_at = stored.expires_at
        self.token_endpoint = stored.token_endpoint
        return stored.token

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self._memory_tokens = tokens
        # The absolute expiry is kept beside the token (a token answer only says
        # "expires_in"), so a later process refreshes an expired token instead of
        # presenting it and needing a person again.
        self.expires_at = calculate_token_expiry(tokens.expires_in)
        stored = _StoredTokens(
            token=tokens, expires_at=self.expires_at, token_endpoint=self.token_endpoint
        )
        await anyio.to_thread.run_sync(
            self._write, self.tokens_name, stored.model_dump_json(exclude_none=True)
        )

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        if self._preregistered is not None:
            return self._preregistered
        text = await anyio.to_thread.run_sync(self._read, self.client_name)
        if text is None:
            return None
        try:
            return OAuthClientInformationFull.model_validate_json(text)
        except ValidationError:
            _log.warning("stored OAuth client of %s does not parse; ignored", self._server)
            return None

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        if self._preregistered is not None:
            # An operator's pre-registered client (its secret stays a secret-store entry)
            # is not copied anywhere; a changed record lives for this process only.
            self._preregistered = client_info
            return
        await anyio.to_thread.run_sync(
            self._write, self.client_name, client_info.model_dump_json(exclude_none=True)
        )
