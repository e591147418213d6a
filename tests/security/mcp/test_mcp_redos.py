"""ReDoS: a tool's own inputSchema patterns run on the host against client input.

With a backtracking engine, each of these would pin a CPU for longer than the
age of the universe; on RE2 they finish in linear time, or the schema is refused.
"""

from __future__ import annotations

from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client

from agentor_core.audit import AuditEvent, AuditReceipt
from agentor_core.capabilities import Capabilities
from agentor_core.decisions import Decision, PolicyContext, Verdict
from agentor_core.tools import JsonContent, ToolCall, ToolResult, ToolSpec
from agentor_mcp import AgentorBridge, McpCode

EVIL = [
    ("(a+)+$", "a" * 50_000 + "!"),
    ("^(a|a)*$", "a" * 50_000 + "!"),
    ("^(a|aa)+$", "a" * 50_000 + "!"),
    ("(.*a){20}", "a" * 19 + "b" * 5_000),
    ("^(([a-z])+.)+[A-Z]([a-z])+$", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!" * 1000),
    (r"^(\w+\s?)*$", "word " * 10_000 + "!"),
]
REFUSED = [
    r"^(a)\1$",  # back-reference
    r"^(?=a)a$",  # look-ahead
    r"(?<!x)a",  # look-behind
    "a" * 1025,  # too long
    "(",  # not a regex
]


class _Runtime:
    def __init__(self) -> None:
        self.schema: dict[str, Any] = {"type": "object"}
        self.calls: list[ToolCall] = []

    def list_tools(self) -> list[ToolSpec]:
        return [ToolSpec(name="re", input_schema=self.schema)]

    def invoke(self, call: ToolCall, _grant: Capabilities) -> ToolResult:
        self.calls.append(call)
        return ToolResult(call_id=call.id, content=(JsonContent(data={}),))

    async def invoke_async(self, call: ToolCall, grant: Capabilities) -> ToolResult:
        return self.invoke(call, grant)


class _Allow:
    def decide(self, _call: ToolCall, _context: PolicyContext) -> Decision:
        return Decision(verdict=Verdict.ALLOW, rule_id="allow", reason="test")


class _Audit:
    def append(self, _event: AuditEvent) -> AuditReceipt:
        return AuditReceipt(sequence=0, leaf_hash="ef" * 32)

    def close(self) -> None:
        return None


class _Parts:
    def __init__(self) -> None:
        self.runtime = _Runtime()


@pytest.fixture
def parts() -> _Parts:
    return _Parts()


def _call(parts: Any, schema: dict[str, Any], arguments: dict[str, Any]) -> types.CallToolResult:
    parts.runtime.schema = schema
    bridge = AgentorBridge(parts.runtime, _Allow(), _Audit())

    async def main() -> types.CallToolResult:
        async with Client(bridge.server) as client:
            return await client.call_tool("re", arguments)

    return anyio.run(main)


def _code(result: types.CallToolResult) -> str | None:
    if not result.is_error:
        return None
    assert result.meta is not None
    return str(result.meta["io.agentor/error"]["code"])


@pytest.mark.parametrize(("pattern", "text"), EVIL)
def test_catastrophic_patterns_finish_and_refuse_the_argument(
    parts: Any, pattern: str, text: str
) -> None:
    schema = {"type": "object", "properties": {"s": {"type": "string", "pattern": pattern}}}
    result = _call(parts, schema, {"s": text})
    assert _code(result) == McpCode.INVALID_CALL
    assert parts.runtime.calls == []


@pytest.mark.parametrize(("pattern", "text"), EVIL)
def test_catastrophic_pattern_properties_finish(parts: Any, pattern: str, text: str) -> None:
    schema = {
        "type": "object",
        "patternProperties": {pattern: {"type": "integer"}},
        "additionalProperties": False,
    }
    result = _call(parts, schema, {text: 1})
    assert _code(result) == McpCode.INVALID_CALL


# A patternProperties key over 1024 characters cannot even be a ToolSpec (core JSON bounds).
CASES = [
    (where, pattern)
    for where in ("pattern", "patternProperties", "nested")
    for pattern in REFUSED
    if not (where == "patternProperties" and len(pattern) > 1024)
]


@pytest.mark.parametrize(("where", "pattern"), CASES)
def test_patterns_a_linear_engine_cannot_run_are_refused(
    parts: Any, pattern: str, where: str
) -> None:
    inner = {"type": "string", "pattern": pattern}
    schema: dict[str, Any] = {
        "pattern": {"type": "object", "properties": {"s": inner}},
        "patternProperties": {"type": "object", "patternProperties": {pattern: {}}},
        "nested": {"type": "object", "properties": {"s": {"anyOf": [{"items": [inner]}]}}},
    }[where]
    result = _call(parts, schema, {"s": "a"})
    assert _code(result) == McpCode.INVALID_CALL
    assert "refused" in result.content[0].text
    assert parts.runtime.calls == []


def test_unevaluated_properties_with_pattern_properties_is_refused(parts: Any) -> None:
    schema = {
        "type": "object",
        "allOf": [{"patternProperties": {"(a+)+$": {}}}],
        "unevaluatedProperties": False,
    }
    result = _call(parts, schema, {"a" * 50_000 + "!": 1})
    assert _code(result) == McpCode.INVALID_CALL
    assert parts.runtime.calls == []


def test_safe_patterns_still_validate(parts: Any) -> None:
    schema = {
        "type": "object",
        "properties": {"id": {"type": "string", "pattern": "^[a-z]{2}-[0-9]+$"}},
        "patternProperties": {"^x-": {"type": "string"}},
        "additionalProperties": False,
    }
    assert _code(_call(parts, schema, {"id": "ab-12", "x-note": "ok"})) is None
    assert _code(_call(parts, schema, {"id": "AB-12"})) == McpCode.INVALID_CALL
    assert _code(_call(parts, schema, {"id": "ab-1", "x-note": 3})) == McpCode.INVALID_CALL
    assert _code(_call(parts, schema, {"other": "no"})) == McpCode.INVALID_CALL
