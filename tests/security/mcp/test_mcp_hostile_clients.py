"""A hostile MCP client against `agentor serve`'s real composition.

Nothing it sends runs unapproved.

Each case is a message a client controls: tool names, arguments, elicitation
answers, the echoed requestState, and HTTP Host/Origin headers.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import mcp_types as types
import pytest
import uvicorn
from mcp import Client

from agentor_cli.commands.serve import Served, build
from agentor_mcp import HttpSettings, http_app
from agentor_mcp.approvals import INPUT_KEY


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    # One composition for the module: building the sandbox and audit log per case is slow.
    root = tmp_path_factory.mktemp("serve")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AGENTOR_STATE_DIR", str(root / "state"))
        patch.setenv("AGENTOR_CONFIG_DIR", str(root / "config"))
        result = build(None)
        try:
            yield result
        finally:
            result.close()


def _code(result: types.CallToolResult) -> str | None:
    if not result.is_error:
        return None
    assert result.meta is not None
    return str(result.meta["io.agentor/error"]["code"])


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


HOSTILE_CALLS = [
    ("../echo", {"text": "x"}),
    ("echo\x00", {"text": "x"}),
    ("ECHO", {"text": "x"}),
    ("e" * 5000, {}),
    ("echo", {"text": _nested(200)}),
    ("echo", {"text": "x" * 2_000_000}),
    ("echo", {"text": "x", "__proto__": 1}),
    ("echo", {f"k{i}": i for i in range(5000)}),
    ("clock", {"unexpected": True}),
]


@pytest.mark.parametrize(("tool", "arguments"), HOSTILE_CALLS)
def test_malformed_calls_are_refused_and_the_server_lives_on(
    served: Served, tool: str, arguments: dict[str, Any]
) -> None:
    async def main() -> tuple[types.CallToolResult, types.CallToolResult]:
        async with Client(served.bridge.server) as client:
            try:
                hostile = await client.call_tool(tool, arguments)
            except Exception as exc:  # noqa: BLE001 - a protocol-level refusal is fine too
                hostile = types.CallToolResult(
                    content=[types.TextContent(text=str(exc))],
                    is_error=True,
                    meta={"io.agentor/error": {"code": "protocol.refused"}},
                )
            return hostile, await client.call_tool("echo", {"text": "still here"})

    hostile, after = anyio.run(main)
    assert hostile.is_error
    assert after.structured_content == {"text": "still here"}


@pytest.mark.parametrize(
    "content",
    [
        {"approve": "true"},
        {"approve": 1},
        {"approve": "yes"},
        {"approve": None},
        {"Approve": True},
        {},
        None,
    ],
)
@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_only_a_boolean_true_approves(served: Served, mode: str, content: Any) -> None:
    async def elicit(_ctx: Any, _params: Any) -> types.ElicitResult:
        return types.ElicitResult.model_construct(action="accept", content=content)

    async def main() -> types.CallToolResult:
        async with Client(served.bridge.server, mode=mode, elicitation_callback=elicit) as client:
            return await client.call_tool("confirm_echo", {"text": "x"})

    assert _code(anyio.run(main)) == "mcp.approval_denied"


@pytest.mark.parametrize("state", ["", "A" * 10_000, "null", '{"approved": true}', "../../"])
def test_forged_request_state_never_approves(served: Served, state: str) -> None:
    yes = {INPUT_KEY: types.ElicitResult(action="accept", content={"approve": True})}

    async def main() -> types.CallToolResult:
        async with Client(served.bridge.server) as client:
            return await client.session.call_tool(
                "confirm_echo", {"text": "x"}, input_responses=yes, request_state=state
            )

    assert _code(anyio.run(main)) == "mcp.approval_mismatch"


def test_an_approval_for_one_tool_cannot_run_another(served: Served) -> None:
    yes = {INPUT_KEY: types.ElicitResult(action="accept", content={"approve": True})}

    async def elicit(_ctx: Any, _params: Any) -> types.ElicitResult:
        return types.ElicitResult(action="accept", content={"approve": True})

    async def main() -> types.CallToolResult:
        async with Client(served.bridge.server, elicitation_callback=elicit) as client:
            first = await client.session.call_tool(
                "confirm_echo", {"text": "harmless"}, allow_input_required=True
            )
            assert isinstance(first, types.InputRequiredResult)
            return await client.session.call_tool(
                "confirm_echo",
                {"text": "something else"},
                input_responses=yes,
                request_state=first.request_state,
            )

    assert _code(anyio.run(main)) == "mcp.approval_mismatch"


class _Running:
    def __init__(self, app: Any) -> None:
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/mcp"

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _status(url: str, headers: dict[str, str]) -> int:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "x", "version": "0"},
        },
    }
    response = httpx.post(
        url,
        json=body,
        headers={"Accept": "application/json, text/event-stream", **headers},
        timeout=10,
    )
    return response.status_code


HOSTILE_HEADERS = [
    {"Host": "localhost.evil.example"},
    {"Host": "127.0.0.1.nip.io:80"},
    {"Host": "evil.example"},
    {"Origin": "http://localhost.evil.example"},
    {"Origin": "null"},
    {"Origin": "https://attacker.example"},
]


def test_dns_rebinding_variants_are_refused(served: Served) -> None:
    with _Running(http_app(served.bridge, HttpSettings())) as url:
        assert _status(url, {}) == 200
        refused = {json.dumps(h): _status(url, h) for h in HOSTILE_HEADERS}
    assert all(code in {400, 403, 421} for code in refused.values()), refused
