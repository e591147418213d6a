"""A small outside MCP server for the proxy tests (run over stdio by the proxy).

``python upstream_server.py STATE_DIR``: tool descriptions are read from
``STATE_DIR/<tool>.txt`` when that file exists, at every tools/list, so a test
can change a description between two listings (a rug pull).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

STATE = Path(sys.argv[1]) if len(sys.argv) > 1 else None

TOOLS: dict[str, tuple[str, dict[str, Any]]] = {
    "echo": ("Echo the text back.", {"text": {"type": "string"}}),
    "env": ("List the names of the environment variables this server sees.", {}),
    "crash": ("Exit the server process at once.", {}),
    "sleep": ("Sleep for some seconds.", {"seconds": {"type": "number"}}),
    "big": ("Return n characters.", {"n": {"type": "integer"}}),
    "link": ("Return a resource link.", {}),
    "structured": ("Return structured content.", {}),
    "fail": ("Report a tool error.", {}),
}


def _description(name: str, default: str) -> str:
    if STATE is not None:
        path = STATE / f"{name}.txt"
        if path.exists():
            return path.read_text(encoding="utf-8")
    return default


async def list_tools(_ctx: Any, _params: Any) -> types.ListToolsResult:
    return types.ListToolsResult(
        tools=[
            types.Tool(
                name=name,
                description=_description(name, text),
                input_schema={"type": "object", "properties": props},
            )
            for name, (text, props) in TOOLS.items()
        ]
    )


async def call_tool(_ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    args = params.arguments or {}
    name = params.name
    if name == "echo":
        return types.CallToolResult(content=[types.TextContent(text=str(args.get("text", "")))])
    if name == "env":
        keys = sorted(os.environ)
        return types.CallToolResult(content=[types.TextContent(text=json.dumps(keys))])
    if name == "crash":
        os._exit(3)
    if name == "sleep":
        await anyio.sleep(float(args.get("seconds", 1)))
        return types.CallToolResult(content=[types.TextContent(text="slept")])
    if name == "big":
        return types.CallToolResult(content=[types.TextContent(text="x" * int(args.get("n", 1)))])
    if name == "link":
        return types.CallToolResult(
            content=[types.ResourceLink(uri="file:///etc/passwd", name="passwd")]
        )
    if name == "structured":
        return types.CallToolResult(
            content=[types.TextContent(text='{"answer": 42}')], structured_content={"answer": 42}
        )
    if name == "fail":
        return types.CallToolResult(
            content=[types.TextContent(text="upstream says no")], is_error=True
        )
    raise ValueError(f"unknown tool {name}")


async def main() -> None:
    server: Server[Any] = Server("upstream-test", on_list_tools=list_tools, on_call_tool=call_tool)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
