"""Building installed implementations for a command: the one place that passes options.

Every command that runs tools or reaches outside servers gets its egress guard
here, so a guard always holds the secret store it must fill ``{{secret:NAME}}``
from and scan requests for.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from agentor_cli.output import stderr
from agentor_core import discovery
from agentor_core.errors import AgentorError, CoreCode
from agentor_core.interfaces import EgressGuard, SecretStore


def optional(interface: type[Any], **options: Any) -> Any:
    """The installed implementation, or None: without a guard, http-fetch is refused."""
    try:
        return discovery.create(interface, **options)
    except AgentorError as exc:
        if exc.code != CoreCode.IMPLEMENTATION_MISSING:
            stderr().print(Text(f"note: {exc.message}", style="yellow"))
        return None


def secret_store() -> SecretStore | None:
    """The installed secret store, or None (a tool's secrets then stay unavailable)."""
    store: SecretStore | None = optional(SecretStore)
    return store


def egress(secrets: SecretStore | None) -> EgressGuard | None:
    """The installed egress guard, filling ``{{secret:NAME}}`` from ``secrets`` towards
    the granted audiences only and refusing any request that carries a stored value."""
    guard: EgressGuard | None = optional(EgressGuard, secrets=secrets)
    return guard


def outside_server_egress(secrets: SecretStore | None) -> EgressGuard | None:
    """The guard for outside MCP servers, holding the same secret store.

    It fills ``{{secret:NAME}}`` in ``[servers.NAME] headers`` and the ``bearer``
    auth type towards that server's origin only. The proxy's OAuth client sends
    its own stored values (the access token to the server; the client secret and
    refresh token to the token endpoint); its grants name each with
    ``SecretGrant.carried_in``, bound to that one origin, so the guard lets them
    pass there and still refuses any stored value anywhere else: another server,
    a redirect elsewhere, the URL, or a message body to the server (a tool call's
    arguments). See the agentor-mcp-bridge README, "Secrets towards outside servers".
    """
    guard: EgressGuard | None = optional(EgressGuard, secrets=secrets)
    return guard
