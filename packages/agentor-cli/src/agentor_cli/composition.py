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


def outside_server_egress() -> EgressGuard | None:
    """The guard for outside MCP servers, built without the secret store.

    The proxy's OAuth client sends its own client secret and tokens (secrets the
    host holds for exactly that server); a guard scanning the store would refuse
    them as leaks. So `{{secret:NAME}}` placeholders in `[servers]` headers are not
    filled yet (an open item in the agentor-mcp-bridge README).
    """
    guard: EgressGuard | None = optional(EgressGuard)
    return guard
