"""When the policy asks: MCP elicitation bound to the call, never a silent allow."""

from __future__ import annotations

from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client

from agentor_mcp import McpCode
from agentor_mcp.approvals import INPUT_KEY

MODES = ["auto", "legacy"]


def _code(result: types.CallToolResult) -> str | None:
    if not result.is_error:
        return None
    assert result.meta is not None
    return str(result.meta["io.agentor/error"]["code"])


def _answering(action: str, content: dict[str, Any] | None) -> Any:
    asked: list[types.ElicitRequestParams] = []

    async def callback(_ctx: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params)
        return types.ElicitResult(action=action, content=content)  # type: ignore[arg-type]

    callback.asked = asked  # type: ignore[attr-defined]
    return callback


@pytest.mark.parametrize("mode", MODES)
def test_accepted_elicitation_runs_the_call_once(parts: Any, mode: str) -> None:
    bridge = parts.bridge()
    callback = _answering("accept", {"approve": True})

    async def main() -> types.CallToolResult:
        async with Client(bridge.server, mode=mode, elicitation_callback=callback) as client:
            return await client.call_tool("pay", {"amount": 5})

    result = run(main)
    assert _code(result) is None
    assert len(parts.runtime.calls) == 1
    (question,) = callback.asked
    assert isinstance(question, types.ElicitRequestFormParams)
    fingerprint = parts.runtime.calls[0][0].fingerprint()
    assert fingerprint in question.message
    assert "pay.approval" in question.message
    assert '"amount": 5' in question.message
    assert "approval.asked" in parts.audit.types
    assert "approval.granted" in parts.audit.types
    assert parts.audit.types[-1] == "result"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("action", "content"),
    [("decline", None), ("cancel", None), ("accept", {"approve": False}), ("accept", {})],
)
def test_anything_but_an_explicit_yes_is_a_no(
    parts: Any, mode: str, action: str, content: dict[str, Any] | None
) -> None:
    bridge = parts.bridge()
    callback = _answering(action, content)

    async def main() -> types.CallToolResult:
        async with Client(bridge.server, mode=mode, elicitation_callback=callback) as client:
            return await client.call_tool("pay", {"amount": 5})

    result = run(main)
    assert _code(result) == McpCode.APPROVAL_DENIED
    assert parts.runtime.calls == []
    assert "approval.denied" in parts.audit.types


@pytest.mark.parametrize("mode", MODES)
def test_client_without_elicitation_gets_a_clear_denial(parts: Any, mode: str) -> None:
    bridge = parts.bridge()

    async def main() -> types.CallToolResult:
        async with Client(bridge.server, mode=mode) as client:
            return await client.call_tool("pay", {"amount": 5})

    result = run(main)
    assert _code(result) == McpCode.APPROVAL_UNAVAILABLE
    assert isinstance(result.content[0], types.TextContent)
    assert "elicitation" in result.content[0].text
    assert parts.runtime.calls == []


@pytest.mark.parametrize("approve", [True, False])
def test_operator_channel_answers_when_the_client_cannot(parts: Any, approve: bool) -> None:
    parts.use_channel(approve)
    bridge = parts.bridge()

    async def main() -> types.CallToolResult:
        async with Client(bridge.server) as client:
            return await client.call_tool("pay", {"amount": 5})

    result = run(main)
    assert _code(result) == (None if approve else McpCode.APPROVAL_DENIED)
    assert len(parts.channel.asked) == 1
    assert len(parts.runtime.calls) == (1 if approve else 0)


def test_a_retry_with_other_arguments_cannot_reuse_the_approval(parts: Any) -> None:
    bridge = parts.bridge()
    callback = _answering("accept", {"approve": True})
    yes = {INPUT_KEY: types.ElicitResult(action="accept", content={"approve": True})}

    async def main() -> list[Any]:
        async with Client(bridge.server, elicitation_callback=callback) as client:
            first = await client.session.call_tool("pay", {"amount": 5}, allow_input_required=True)
            assert isinstance(first, types.InputRequiredResult)
            state = first.request_state
            swapped = await client.session.call_tool(
                "pay",
                {"amount": 5000},
                input_responses=yes,
                request_state=state,
                allow_input_required=True,
            )
            # The nonce was spent by the failed attempt: the original cannot use it either.
            replay = await client.session.call_tool(
                "pay", {"amount": 5}, input_responses=yes, request_state=state
            )
            forged = await client.session.call_tool(
                "pay", {"amount": 5}, input_responses=yes, request_state="forged"
            )
            return [swapped, replay, forged]

    results = run(main)
    assert [_code(r) for r in results] == [McpCode.APPROVAL_MISMATCH] * 3
    assert parts.runtime.calls == []


def test_expired_approval_is_refused(parts: Any) -> None:
    from datetime import UTC, datetime, timedelta

    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    bridge = parts.bridge(clock=lambda: now[0], approval_ttl_seconds=60)
    yes = {INPUT_KEY: types.ElicitResult(action="accept", content={"approve": True})}
    callback = _answering("accept", {"approve": True})

    async def main() -> Any:
        async with Client(bridge.server, elicitation_callback=callback) as client:
            first = await client.session.call_tool("pay", {"amount": 5}, allow_input_required=True)
            now[0] += timedelta(seconds=61)
            return await client.session.call_tool(
                "pay", {"amount": 5}, input_responses=yes, request_state=first.request_state
            )

    assert _code(run(main)) == McpCode.APPROVAL_DENIED
    assert parts.runtime.calls == []


def run(coro_fn: Any) -> Any:
    return anyio.run(coro_fn)
