"""Small, real implementations of the core Protocols for the runtime's own tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from agentor_core.audit import AuditEvent, AuditReceipt
from agentor_core.capabilities import Capabilities
from agentor_core.decisions import (
    ApprovalRequest,
    ApprovalResponse,
    Decision,
    Obligations,
    PolicyContext,
    Verdict,
)
from agentor_core.errors import AgentorError
from agentor_core.llm import (
    ChatMessage,
    FinishReason,
    ModelDelta,
    ModelRequest,
    ModelResponse,
    Role,
    ToolCallProposal,
    Usage,
)
from agentor_core.tools import TextContent, ToolCall, ToolResult, ToolSpec

Turn = ModelResponse | Callable[[ModelRequest], ModelResponse] | AgentorError


def say(text: str, tokens: int = 0) -> ModelResponse:
    return ModelResponse(
        message=ChatMessage(role=Role.ASSISTANT, content=text),
        finish_reason=FinishReason.STOP,
        usage=Usage(input_tokens=tokens, output_tokens=tokens),
    )


def call(name: str, tokens: int = 0, call_id: str = "c1", **arguments: Any) -> ModelResponse:
    return ModelResponse(
        message=ChatMessage(
            role=Role.ASSISTANT,
            tool_calls=(ToolCallProposal(id=call_id, name=name, arguments=arguments),),
        ),
        finish_reason=FinishReason.TOOL_CALLS,
        usage=Usage(input_tokens=tokens, output_tokens=tokens),
    )


class Model:
    """Answers from a list of turns; keeps every request it saw."""

    def __init__(self, turns: Sequence[Turn]) -> None:
        self.turns = list(turns)
        self.requests: list[ModelRequest] = []

    def _next(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        turn = self.turns.pop(0)
        if isinstance(turn, AgentorError):
            raise turn
        return turn(request) if callable(turn) else turn

    async def complete(self, request: ModelRequest) -> ModelResponse:
        return self._next(request)

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelDelta]:
        response = self._next(request)
        for word in response.message.content.split(" "):
            if word:
                yield ModelDelta(text=word + " ")
        yield ModelDelta(final=response)


class SlowModel(Model):
    async def complete(self, request: ModelRequest) -> ModelResponse:
        await asyncio.sleep(30)
        return self._next(request)

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelDelta]:
        await asyncio.sleep(30)
        yield ModelDelta(final=self._next(request))


class Tools:
    """Python functions as tools; records every call and grant."""

    def __init__(self, functions: dict[str, Callable[[dict[str, Any]], str]]) -> None:
        self.functions = functions
        self.calls: list[tuple[ToolCall, Capabilities]] = []

    def list_tools(self) -> Sequence[ToolSpec]:
        return [ToolSpec(name=name) for name in sorted(self.functions)]

    def invoke(self, call: ToolCall, grant: Capabilities) -> ToolResult:
        self.calls.append((call, grant))
        text = self.functions[call.tool](call.arguments)
        return ToolResult(call_id=call.id, content=(TextContent(text=text),))

    async def invoke_async(self, call: ToolCall, grant: Capabilities) -> ToolResult:
        return self.invoke(call, grant)


class Policy:
    """allow/ask/deny per tool; sink tools deny untrusted arguments (the rule under test)."""

    policy_hash = "0" * 64

    def __init__(
        self,
        verdicts: dict[str, Verdict],
        *,
        sinks: frozenset[str] = frozenset(),
        trusted: frozenset[str] = frozenset(),
    ) -> None:
        self.verdicts = verdicts
        self.sinks = sinks
        self.trusted = trusted
        self.seen: list[tuple[ToolCall, PolicyContext]] = []

    def decide(self, call: ToolCall, context: PolicyContext) -> Decision:
        self.seen.append((call, context))
        if call.tool in self.sinks:
            for name in call.arguments:
                labels = call.labels.get(name, call.context_labels)
                if not labels.is_trusted:
                    return Decision(
                        verdict=Verdict.DENY,
                        rule_id="flow.untrusted_to_sink",
                        reason=f"argument {name} is untrusted",
                        policy_hash=self.policy_hash,
                    )
        verdict = self.verdicts.get(call.tool, Verdict.DENY)
        return Decision(
            verdict=verdict,
            rule_id=call.tool if call.tool in self.verdicts else "default.deny",
            reason="test policy",
            obligations=Obligations(trusted_output=call.tool in self.trusted),
            policy_hash=self.policy_hash,
        )


class BrokenPolicy:
    policy_hash = "1" * 64

    def decide(self, call: ToolCall, context: PolicyContext) -> Decision:
        raise RuntimeError("policy store gone")


class Audit:
    def __init__(self, *, fail_on: str | None = None) -> None:
        self.events: list[AuditEvent] = []
        self.fail_on = fail_on

    def append(self, event: AuditEvent) -> AuditReceipt:
        if self.fail_on is not None and event.type.value == self.fail_on:
            raise OSError("disk full")
        self.events.append(event)
        return AuditReceipt(sequence=len(self.events) - 1, leaf_hash="a" * 64)

    def close(self) -> None:
        return

    def types(self) -> list[str]:
        return [e.type.value for e in self.events]


class Approver:
    def __init__(self, answer: bool | None, *, wrong_fingerprint: bool = False) -> None:
        self.answer = answer
        self.wrong = wrong_fingerprint
        self.asked: list[ApprovalRequest] = []

    async def request_approval(self, request: ApprovalRequest) -> ApprovalResponse:
        self.asked.append(request)
        if self.answer is None:
            raise RuntimeError("terminal closed")
        return ApprovalResponse(
            fingerprint="f" * 64 if self.wrong else request.fingerprint,
            approved=self.answer,
            approver="tester",
            decided_at=datetime.now(UTC),
        )
