"""Requested versus granted capabilities: refuse a component that asks for more."""

from __future__ import annotations

from agentor_core.capabilities import Capabilities
from agentor_core.errors import AgentorError
from agentor_toolkit.errors import ToolkitCode
from agentor_toolkit.manifest import Manifest


def check_grant(manifest: Manifest, grant: Capabilities) -> None:
    """Raise ``toolkit.capabilities_exceed_grant`` listing every request the grant lacks."""
    missing = manifest.requests.exceeding(grant)
    if missing:
        listing = "; ".join(missing)
        raise AgentorError(
            ToolkitCode.CAPABILITIES_EXCEED_GRANT,
            f"{manifest.name} {manifest.version} requests more than granted: {listing}",
            hint="grant these in the policy if you accept them, or do not run this component",
        )
