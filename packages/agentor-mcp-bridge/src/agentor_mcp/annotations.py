"""MCP tool annotations derived from what a tool was granted, never from what it claims.

Annotations are hints for clients, but a client shows them to people ("this tool
only reads"), so they must not be taken from the tool's own manifest: they come
from the operator's grant.
"""

from __future__ import annotations

from typing import Any

from agentor_core.capabilities import Capabilities
from agentor_core.tools import ToolAnnotations


def annotations_for(grant: Capabilities, *, title: str | None = None) -> ToolAnnotations:
    """readOnly: no network, nothing writable; destructive: a write grant; openWorld: network."""
    writes = any(path.write for path in grant.filesystem)
    network = bool(grant.network)
    return ToolAnnotations(
        title=title,
        read_only=not writes and not network,
        destructive=writes,
        open_world=network,
    )


UNKNOWN_GRANT = ToolAnnotations(read_only=False, destructive=True, open_world=True)
"""For a tool whose grant cannot be known before a call: claim nothing reassuring."""


def _example(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return None
    if "default" in schema:
        return schema["default"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "string":
        length = schema.get("minLength", 1)
        return "a" * (length if isinstance(length, int) and 0 < length <= 64 else 1)
    if kind in {"integer", "number"}:
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        return low + 1 if isinstance(low, int | float) and not isinstance(low, bool) else 1
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    if kind == "object":
        return example_arguments(schema)
    return None


def example_arguments(schema: dict[str, Any]) -> dict[str, Any]:
    """Arguments that plausibly satisfy ``schema``'s required properties (listing probe only).

    The policy decides a grant per call; to show annotations in tools/list the bridge
    asks it about a harmless example call. Never used to run anything.
    """
    properties = schema.get("properties")
    required = schema.get("required")
    if not isinstance(properties, dict) or not isinstance(required, list):
        return {}
    return {
        name: _example(properties.get(name))
        for name in required[:64]
        if isinstance(name, str) and name in properties
    }
