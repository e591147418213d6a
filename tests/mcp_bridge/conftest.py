"""Test parts for the bridge tests: small implementations of the agentor-core Protocols.

tests/mcp_bridge runs with only agentor-mcp-bridge installed (no sandbox, policy or
audit distribution), so these stand in for them; tests/integration uses the real ones.
Clients are the real MCP SDK ``Client`` over its in-process and in-memory transports.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from agentor_core.audit import AuditEvent, AuditReceipt
from agentor_core.capabilities import Capabilities, NetworkDestination, PathAccess
from agentor_core.decisions import (
    ApprovalRequest,
    ApprovalResponse,
    Decision,
    Obligations,
    PolicyContext,
    Verdict,
)
from agentor_core.errors import ToolError
from agentor_core.labels import Label, LabelSet, Source
from agentor_core.tools import JsonContent, ToolCall, ToolResult, ToolSpec
from agentor_mcp import AgentorBridge

HASH = "ab" * 32
POLICY_HASH = "cd" * 32


@dataclass(frozen=True)
class ProgressNote:
    call_id: str
    done: int
    total: int
    message: str


class FakeRuntime:
    """Runs plain Python functions as 'tools'; records every call and grant."""

    def __init__(self, tools: Mapping[str, tuple[ToolSpec, Callable[..., Any]]]) -> None:
        self.tools = dict(tools)
        self.calls: list[tuple[ToolCall, Capabilities]] = []
        self.progress: Callable[[object], None] | None = None

    def list_tools(self) -> Sequence[ToolSpec]:
        return [spec for spec, _ in self.tools.values()]

    def component_hash(self, name: str) -> str | None:
        return HASH if name in self.tools else None

    def invoke(self, call: ToolCall, grant: Capabilities) -> ToolResult:
        self.calls.append((call, grant))
        _spec, fn = self.tools[call.tool]
        out = fn(call, self)
        if isinstance(out, ToolError):
            return ToolResult(call_id=call.id, error=out)
        return ToolResult(
            call_id=call.id,
            content=(JsonContent(data=out),),
            labels=LabelSet.of(Label.of(Source.UNTRUSTED_TOOL)),
        )

    async def invoke_async(self, call: ToolCall, grant: Capabilities) -> ToolResult:
        # A worker thread, as the real sandbox does: progress arrives from off the loop.
        return await asyncio.to_thread(self.invoke, call, grant)


class RulePolicy:
    """Decides by tool name from a table; anything else is denied."""

    def __init__(self, rules: Mapping[str, Decision]) -> None:
        self.rules = dict(rules)
        self.seen: list[ToolCall] = []

    @property
    def policy_hash(self) -> str:
        return POLICY_HASH

    def decide(self, call: ToolCall, context: PolicyContext) -> Decision:
        self.seen.append(call)
        return self.rules.get(
            call.tool,
            Decision(verdict=Verdict.DENY, rule_id="default.deny", reason="no rule allows it"),
        )


class ListAudit:
    def __init__(self, *, fail_on: set[str] | None = None) -> None:
        self.events: list[AuditEvent] = []
        self.fail_on = fail_on or set()
        self.lock = threading.Lock()

    def append(self, event: AuditEvent) -> AuditReceipt:
        if event.type.value in self.fail_on or "*" in self.fail_on:
            raise OSError("disk full")
        with self.lock:
            self.events.append(event)
            return AuditReceipt(sequence=len(self.events) - 1, leaf_hash="ef" * 32)

    def close(self) -> None:
        return None

    @property
    def types(self) -> list[str]:
        return [e.type.value for e in self.events]


class ScriptedChannel:
    def __init__(self, approve: bool) -> None:
        self.approve = approve
        self.asked: list[ApprovalRequest] = []

    async def request_approval(self, request: ApprovalRequest) -> ApprovalResponse:
        self.asked.append(request)
        return ApprovalResponse(
            fingerprint=request.fingerprint,
            approved=self.approve,
            approver="operator",
            decided_at=datetime.now(UTC),
        )


def allow(rule: str, grant: Capabilities | None = None, *, trusted: bool = False) -> Decision:
    return Decision(
        verdict=Verdict.ALLOW,
        rule_id=rule,
        reason="allowed by test",
        obligations=Obligations(grant=grant or Capabilities(), trusted_output=trusted),
        policy_hash=POLICY_HASH,
    )


def ask(rule: str) -> Decision:
    return Decision(
        verdict=Verdict.ASK, rule_id=rule, reason="payments need a person", policy_hash=POLICY_HASH
    )


def _echo(call: ToolCall, _rt: FakeRuntime) -> Any:
    return dict(call.arguments)


def _progressing(call: ToolCall, rt: FakeRuntime) -> Any:
    for step in (1, 2):
        if rt.progress is not None:
            rt.progress(ProgressNote(call.id, step, 2, f"step {step}"))
    return {"done": True}


def _failing(_call: ToolCall, _rt: FakeRuntime) -> Any:
    return ToolError(code="sandbox.fuel_exhausted", message="the call ran out of fuel")


ECHO_SCHEMA = {
    "type": "object",
    "properties": {"text": {"type": "string", "maxLength": 100}},
    "required": ["text"],
}


@dataclass
class Parts:
    runtime: FakeRuntime
    policy: RulePolicy
    audit: ListAudit
    channel: ScriptedChannel | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def use_channel(self, approve: bool) -> ScriptedChannel:
        self.channel = ScriptedChannel(approve)
        return self.channel

    def bridge(self, **options: Any) -> AgentorBridge:
        bridge = AgentorBridge(
            self.runtime, self.policy, self.audit, approval_channel=self.channel, **options
        )
        self.runtime.progress = bridge.progress_sink
        return bridge


@pytest.fixture
def parts() -> Parts:
    writable = Capabilities(
        filesystem=(PathAccess(guest_path="/out", host_path="/tmp", write=True),)
    )
    network = Capabilities(network=(NetworkDestination(host="example.com"),))
    tools = {
        "echo": (
            ToolSpec(
                name="echo",
                description="Echo the text back.",
                input_schema=ECHO_SCHEMA,
                output_schema={"type": "object"},
            ),
            _echo,
        ),
        "plain": (ToolSpec(name="plain", description="No output schema."), _echo),
        "writer": (ToolSpec(name="writer"), _echo),
        "fetcher": (ToolSpec(name="fetcher"), _echo),
        "pay": (ToolSpec(name="pay"), _echo),
        "progress": (ToolSpec(name="progress"), _progressing),
        "broken": (ToolSpec(name="broken"), _failing),
        "forbidden": (ToolSpec(name="forbidden"), _echo),
        "notes": (ToolSpec(name="notes"), _echo),
        "liar": (
            ToolSpec(
                name="liar",
                output_schema={
                    "type": "object",
                    "properties": {"n": {"type": "integer"}},
                    "required": ["n"],
                },
            ),
            _echo,
        ),
    }
    rules = {
        "echo": allow("echo"),
        "plain": allow("plain"),
        "writer": allow("writer", writable),
        "fetcher": allow("fetcher", network),
        "pay": ask("pay.approval"),
        "progress": allow("progress"),
        "broken": allow("broken"),
        "notes": allow("notes", trusted=True),
        "liar": allow("liar"),
    }
    return Parts(FakeRuntime(tools), RulePolicy(rules), ListAudit())
