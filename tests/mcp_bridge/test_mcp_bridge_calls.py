"""tools/list and tools/call through the real MCP SDK Client, in both protocol eras."""

from __future__ import annotations

from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client

from agentor_mcp import McpCode

MODES = ["auto", "legacy"]  # 2026-07-28 (per-request) and the 2025-11-25 handshake


def run(coro_fn: Any) -> Any:
    return anyio.run(coro_fn)


def _error_code(result: types.CallToolResult) -> str:
    assert result.is_error
    assert result.meta is not None
    return str(result.meta["io.agentor/error"]["code"])


@pytest.mark.parametrize("mode", MODES)
def test_list_tools_annotations_come_from_the_grant(parts: Any, mode: str) -> None:
    bridge = parts.bridge()

    async def main() -> dict[str, types.Tool]:
        async with Client(bridge.server, mode=mode) as client:
            return {tool.name: tool for tool in (await client.list_tools()).tools}

    tools = run(main)
    assert set(tools) == set(parts.runtime.tools)
    echo = tools["echo"].annotations
    assert echo is not None
    assert (echo.read_only_hint, echo.destructive_hint, echo.open_world_hint) == (
        True,
        False,
        False,
    )
    writer = tools["writer"].annotations
    assert writer is not None
    assert (writer.read_only_hint, writer.destructive_hint) == (False, True)
    fetcher = tools["fetcher"].annotations
    assert fetcher is not None
    assert (fetcher.read_only_hint, fetcher.open_world_hint) == (False, True)
    # Denied outright: nothing reassuring is claimed.
    forbidden = tools["forbidden"].annotations
    assert forbidden is not None
    assert (forbidden.read_only_hint, forbidden.destructive_hint) == (False, True)
    assert tools["echo"].output_schema == {"type": "object"}
    assert tools["echo"].description == "Echo the text back."


@pytest.mark.parametrize("mode", MODES)
def test_allowed_call_returns_structured_content_and_is_audited(parts: Any, mode: str) -> None:
    bridge = parts.bridge()

    async def main() -> types.CallToolResult:
        async with Client(bridge.server, mode=mode) as client:
            await client.list_tools()
            return await client.call_tool("echo", {"text": "hi"})

    result = run(main)
    assert not result.is_error
    assert result.structured_content == {"text": "hi"}
    assert isinstance(result.content[0], types.TextContent)
    assert result.content[0].text == '{"text":"hi"}'
    assert result.meta is not None
    assert result.meta["io.agentor/labels"]["trust"] == "untrusted"
    assert parts.audit.types == ["decision", "result"]
    decision, outcome = parts.audit.events
    assert decision.verdict == "allow"
    assert decision.rule_id == "echo"
    assert decision.component_hash == "ab" * 32
    assert decision.call_id == outcome.call_id
    assert outcome.outcome == "ok"
    assert outcome.result_digest is not None
    call, grant = parts.runtime.calls[0]
    # Arguments from an MCP client are labelled as the user's.
    assert call.labels["text"].sources == {"user"}
    assert grant.network == ()


def test_without_output_schema_the_result_is_text_only(parts: Any) -> None:
    bridge = parts.bridge()

    async def main() -> types.CallToolResult:
        async with Client(bridge.server) as client:
            return await client.call_tool("plain", {"a": [1, 2]})

    result = run(main)
    assert result.structured_content is None
    assert isinstance(result.content[0], types.TextContent)
    assert result.content[0].text == '{"a":[1,2]}'


def test_trusted_output_is_labelled_trusted(parts: Any) -> None:
    bridge = parts.bridge()

    async def main() -> types.CallToolResult:
        async with Client(bridge.server) as client:
            return await client.call_tool("notes", {})

    result = run(main)
    assert result.meta is not None
    assert result.meta["io.agentor/labels"]["trust"] == "trusted"


@pytest.mark.parametrize("mode", MODES)
def test_denied_call_names_rule_and_reason_and_never_runs(parts: Any, mode: str) -> None:
    bridge = parts.bridge()

    async def main() -> types.CallToolResult:
        async with Client(bridge.server, mode=mode) as client:
            return await client.call_tool("forbidden", {"x": 1})

    result = run(main)
    assert _error_code(result) == McpCode.POLICY_DENIED
    assert isinstance(result.content[0], types.TextContent)
    assert "default.deny" in result.content[0].text
    assert "no rule allows it" in result.content[0].text
    assert parts.runtime.calls == []
    assert parts.audit.types == ["decision"]
    assert parts.audit.events[0].verdict == "deny"


def test_tool_error_keeps_its_code(parts: Any) -> None:
    bridge = parts.bridge()

    async def main() -> types.CallToolResult:
        async with Client(bridge.server) as client:
            return await client.call_tool("broken", {})

    result = run(main)
    assert _error_code(result) == "sandbox.fuel_exhausted"
    assert parts.audit.events[-1].outcome == "sandbox.fuel_exhausted"


def test_unknown_tool_and_schema_mismatch_are_refused(parts: Any) -> None:
    bridge = parts.bridge()

    async def main() -> list[types.CallToolResult]:
        async with Client(bridge.server) as client:
            return [
                await client.call_tool("nope", {}),
                await client.call_tool("echo", {"text": 5}),
                await client.call_tool("echo", {"text": "x" * 101}),
            ]

    results = run(main)
    assert [_error_code(r) for r in results] == [McpCode.INVALID_CALL] * 3
    assert parts.runtime.calls == []
    assert parts.policy.seen == [] or all(c.id == "mcp-tools-list-probe" for c in parts.policy.seen)


@pytest.mark.parametrize("tool", ["writer", "fetcher"])
@pytest.mark.parametrize("failing", ["decision", "result"])
def test_audit_failure_fails_closed(parts: Any, failing: str, tool: str) -> None:
    parts.audit.fail_on = {failing}
    bridge = parts.bridge()

    async def main() -> types.CallToolResult:
        async with Client(bridge.server) as client:
            return await client.call_tool(tool, {"text": "hi"})

    result = run(main)
    assert _error_code(result) == McpCode.AUDIT_FAILED
    assert result.structured_content is None
    # A tool that can write or reach the network never runs before its decision is recorded.
    assert len(parts.runtime.calls) == (0 if failing == "decision" else 1)
    assert parts.audit.types == ([] if failing == "decision" else ["decision"])


@pytest.mark.parametrize("failing", ["decision", "result"])
def test_audit_failure_of_an_effect_free_call_returns_nothing(parts: Any, failing: str) -> None:
    # No network, no secret, nothing writable: decision and outcome are committed
    # together after the sandboxed run, and nothing it produced (result, progress,
    # logs) reaches the client unless that commit succeeds.
    parts.audit.fail_on = {failing}
    bridge = parts.bridge()
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async def main() -> list[types.CallToolResult]:
        async with Client(bridge.server) as client:
            return [
                await client.call_tool("echo", {"text": "hi"}),
                await client.call_tool("progress", {}, progress_callback=on_progress),
            ]

    results = run(main)
    assert [_error_code(r) for r in results] == [McpCode.AUDIT_FAILED] * 2
    assert all(r.structured_content is None for r in results)
    assert "hi" not in str(results[0].content)
    assert seen == []
    # This sink has no append_many: the decisions went in one by one, the results failed.
    assert parts.audit.types == ([] if failing == "decision" else ["decision", "decision"])


def test_effect_free_call_commits_decision_and_result_together(parts: Any) -> None:
    batches: list[list[str]] = []

    def append_many(events: list[Any]) -> list[Any]:
        batches.append([e.type.value for e in events])
        return [parts.audit.append(e) for e in events]

    parts.audit.append_many = append_many
    bridge = parts.bridge()

    async def main() -> list[types.CallToolResult]:
        async with Client(bridge.server) as client:
            return [
                await client.call_tool("echo", {"text": "hi"}),
                await client.call_tool("writer", {"text": "hi"}),
            ]

    results = run(main)
    assert not any(r.is_error for r in results)
    # echo: one transaction; writer (a writable path) commits its decision first.
    assert batches == [["decision", "result"]]
    assert parts.audit.types == ["decision", "result", "decision", "result"]


@pytest.mark.parametrize("mode", MODES)
def test_progress_from_the_runtime_reaches_the_client(parts: Any, mode: str) -> None:
    bridge = parts.bridge()
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async def main() -> types.CallToolResult:
        async with Client(bridge.server, mode=mode) as client:
            return await client.call_tool("progress", {}, progress_callback=on_progress)

    result = run(main)
    assert not result.is_error
    assert seen == [(1.0, 2.0, "step 1"), (2.0, 2.0, "step 2")]


def test_output_that_breaks_its_schema_is_withheld(parts: Any) -> None:
    bridge = parts.bridge()

    async def main() -> list[types.CallToolResult]:
        async with Client(bridge.server) as client:
            return [
                await client.call_tool("liar", {"n": "not a number"}),
                await client.call_tool("liar", {"n": 3}),
            ]

    bad, good = run(main)
    assert _error_code(bad) == McpCode.INVALID_RESULT
    assert bad.structured_content is None
    assert "not a number" not in str(bad.content)
    assert good.structured_content == {"n": 3}
    assert parts.audit.events[1].outcome == McpCode.INVALID_RESULT


def test_argument_names_that_are_not_names_are_still_served(parts: Any) -> None:
    bridge = parts.bridge()

    async def main() -> types.CallToolResult:
        async with Client(bridge.server) as client:
            return await client.call_tool("plain", {"my key": 1, "-x": 2, "é": 3})

    result = run(main)
    assert not result.is_error
    call, _grant = parts.runtime.calls[0]
    assert set(call.labels) == set()
    assert call.context_labels.sources == {"user"}
