"""A self-check a person or CI can run: connect a real MCP client, list the tools, make one call."""

from __future__ import annotations

from typing import Any

import anyio
from mcp import Client

from agentor_core.errors import AgentorError
from agentor_mcp.bridge import AgentorBridge
from agentor_mcp.codes import McpCode


async def _check(bridge: AgentorBridge, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    # The handshake era over in-memory streams: the same JSON-RPC path stdio takes.
    async with Client(bridge.server, mode="legacy") as client:
        listed = [t.name for t in (await client.list_tools()).tools]
        if tool not in listed:
            raise AgentorError(
                McpCode.INVALID_CALL,
                f"the check tool {tool!r} is not served",
                hint=f"served tools: {', '.join(listed) or 'none'}",
            )
        result = await client.call_tool(tool, arguments)
        return {
            "ok": not result.is_error,
            "server": bridge.server.name,
            "protocol_version": client.protocol_version,
            "tools": listed,
            "call": {
                "tool": tool,
                "is_error": result.is_error,
                "structured_content": result.structured_content,
                "text": [getattr(block, "text", None) for block in result.content],
            },
        }


def self_check(bridge: AgentorBridge, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """initialize, tools/list and one tools/call through the SDK client; a JSON-ready report."""
    report: dict[str, Any] = anyio.run(_check, bridge, tool, arguments)
    return report
