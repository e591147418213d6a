"""The agent loop: model → proposals → labels → policy → approval → sandbox → audit → model.

The model proposes; this host disposes. Every proposed call is labelled by the
provenance of its arguments, decided by the policy, approved by a person when
the policy asks, run in the sandbox with exactly the decided grant, and
recorded in the audit log before and after. Its output returns to the model
inside markers, labelled untrusted unless the policy declared the tool trusted.
A run ends with the model's final answer or with the budget, and says which.

Fail closed: if the audit log cannot commit, or the policy engine raises, the
run stops before the action and the result says why.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode, Tracer

from agentor_core.audit import AuditEvent, AuditEventType
from agentor_core.canonical import canonical_json, sha256_hex
from agentor_core.decisions import (
    ApprovalRequest,
    ApprovalResponse,
    Decision,
    PolicyContext,
    Verdict,
)
from agentor_core.errors import AgentorError, ToolError
from agentor_core.interfaces import (
    ApprovalChannel,
    AuditSink,
    LlmProvider,
    MemoryStore,
    PolicyEngine,
    ToolRuntime,
)
from agentor_core.labels import Confidentiality, Label, LabelSet, Source
from agentor_core.llm import (
    ChatMessage,
    FinishReason,
    ModelRequest,
    ModelResponse,
    Role,
    ToolCallProposal,
    Usage,
)
from agentor_core.tools import ToolCall, ToolResult, ToolSpec
from agentor_runtime.__about__ import __version__
from agentor_runtime.agent import HANDOFF_PREFIX, MAX_HANDOFF_DEPTH, Agent
from agentor_runtime.answer import (
    ANSWER_ARG,
    ANSWER_TOOL,
    answer_call,
    answer_summary,
    untrusted_links,
)
from agentor_runtime.budget import BudgetTracker
from agentor_runtime.codes import RuntimeCode, StopReason
from agentor_runtime.delimit import INSTRUCTIONS_NOTE, delimit, result_text
from agentor_runtime.events import DecisionRecord, EventKind, RunEvent, RunResult
from agentor_runtime.memory_tools import MEMORY_TOOLS, memory_specs, run_memory_tool
from agentor_runtime.plan import (
    PLAN_ACCEPTED,
    PLAN_DECLARE,
    PLAN_NOTE,
    PLAN_UNTRUSTED,
    Plan,
    PlanState,
    parse_plan,
    plan_spec,
)
from agentor_runtime.provenance import Provenance, untrusted_spans

_NAME_RE: Final = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_SYSTEM: Final = LabelSet.of(Label.of(Source.SYSTEM))
_USER: Final = LabelSet.of(Label.of(Source.USER))
_TRUSTED_TOOL: Final = LabelSet.of(Label.of(Source.TRUSTED_TOOL))
_UNTRUSTED_TOOL: Final = LabelSet.of(Label.of(Source.UNTRUSTED_TOOL))
_PRIVATE: Final = LabelSet(confidentiality=Confidentiality.PRIVATE)
MAX_SUMMARY_CHARS: Final = 8 * 1024

EventSink = Callable[[RunEvent], None]


def utc_now() -> datetime:
    return datetime.now(UTC)


class _Stop(Exception):  # noqa: N818 - control flow inside the loop, never escapes it
    def __init__(self, reason: StopReason, error: ToolError | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.error = error


@dataclass
class _RunState:
    run_id: str
    boundary: str
    session_id: str
    decisions: list[DecisionRecord] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    audit_first: int | None = None
    audit_last: int | None = None
    calls: int = 0
    hold_text: bool = False
    """The top agent's answer waits for the policy: nothing streams before it decides."""


@dataclass
class _AgentOutcome:
    answer: str
    reason: StopReason
    error: ToolError | None
    context: LabelSet
    messages: list[ChatMessage]


class Runner:
    """Runs agents with one model, one tool runtime, one policy and one audit log."""

    def __init__(
        self,
        *,
        provider: LlmProvider,
        tools: ToolRuntime,
        policy: PolicyEngine,
        audit: AuditSink,
        approvals: ApprovalChannel | None = None,
        approval_ttl_s: int = 300,
        on_event: EventSink | None = None,
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        tracer: Tracer | None = None,
        user_id: str | None = None,
        stream: bool = True,
        memory: MemoryStore | None = None,
    ) -> None:
        self.provider = provider
        self.tools = tools
        self.policy = policy
        self.audit = audit
        self.approvals = approvals
        self.approval_ttl_s = approval_ttl_s
        self._on_event = on_event
        self._clock = clock
        self._monotonic = monotonic
        self._tracer = tracer or trace.get_tracer("agentor_runtime", __version__)
        self.user_id = user_id
        self.stream = stream
        self.memory = memory

    # -- public -----------------------------------------------------------------------

    async def run(self, agent: Agent, task: str, *, session_id: str | None = None) -> RunResult:
        """Run ``agent`` on ``task`` (the user's words, trusted) until an answer or a budget."""
        run_id = secrets.token_hex(8)
        state = _RunState(
            run_id=run_id,
            boundary=secrets.token_hex(12),
            session_id=session_id or run_id,
            hold_text=agent.answer == "policy",
        )
        tracker = BudgetTracker(agent.budget, monotonic=self._monotonic)
        with self._tracer.start_as_current_span(f"invoke_agent {agent.name}") as span:
            span.set_attribute("gen_ai.operation.name", "invoke_agent")
            span.set_attribute("gen_ai.agent.name", agent.name)
            span.set_attribute("gen_ai.conversation.id", state.session_id)
            outcome = await self._agent_loop(agent, task, _USER, state, tracker, depth=0)
            if state.hold_text and outcome.reason is not StopReason.FINAL_ANSWER:
                outcome.answer = ""  # text the policy never released is not the user's to see
            span.set_attribute("agentor.stop_reason", outcome.reason.value)
            span.set_attribute("gen_ai.usage.input_tokens", state.input_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", state.output_tokens)
            if outcome.error is not None:
                span.set_status(Status(StatusCode.ERROR, outcome.error.code))
        result = RunResult(
            run_id=run_id,
            agent=agent.name,
            answer=outcome.answer,
            stop_reason=outcome.reason.value,
            error=outcome.error,
            steps=tracker.steps,
            tool_calls=tracker.tool_calls,
            usage=Usage(input_tokens=state.input_tokens, output_tokens=state.output_tokens),
            decisions=tuple(state.decisions),
            audit_first=state.audit_first,
            audit_last=state.audit_last,
            wall_time_s=tracker.elapsed_s(),
            context_labels=outcome.context,
            messages=tuple(outcome.messages),
            untrusted_spans=untrusted_spans(
                outcome.answer,
                ((m.content, m.labels) for m in outcome.messages if m.role is not Role.ASSISTANT),
            ),
        )
        self._emit(RunEvent(kind=EventKind.FINISHED, agent=agent.name, reason=result.stop_reason))
        return result

    # -- the loop ---------------------------------------------------------------------

    def _offered(self, agent: Agent) -> list[ToolSpec]:
        # agent.answer names the answer to the policy: no served tool may take that name.
        served = [s for s in (agent.toolbox or self.tools).list_tools() if s.name != ANSWER_TOOL]
        if agent.tools is not None:
            wanted = set(agent.tools)
            served = [spec for spec in served if spec.name in wanted]
        if agent.memory is not None:
            # The built-in memory tools shadow any served tool of the same name.
            served = [spec for spec in served if spec.name not in MEMORY_TOOLS]
            served.extend(memory_specs(agent.memory))
        if agent.plan == "tools":
            # The built-in plan tool shadows any served tool of the same name.
            served = [spec for spec in served if spec.name != PLAN_DECLARE]
            served.append(plan_spec())
        served.extend(
            ToolSpec(
                name=f"{HANDOFF_PREFIX}{child.name}",
                description=f"Hand the task to the agent {child.name!r}. {child.description}",
                input_schema={
                    "type": "object",
                    "properties": {"task": {"type": "string", "description": "what to do"}},
                    "required": ["task"],
                },
            )
            for child in agent.handoffs
        )
        return served

    async def _agent_loop(
        self,
        agent: Agent,
        task: str,
        task_labels: LabelSet,
        state: _RunState,
        tracker: BudgetTracker,
        *,
        depth: int,
    ) -> _AgentOutcome:
        provenance = Provenance()
        note = INSTRUCTIONS_NOTE.format(boundary=state.boundary)
        if agent.plan == "tools":
            note = f"{note}\n\n{PLAN_NOTE}"
        system = f"{agent.instructions}\n\n{note}" if agent.instructions else note
        provenance.add(agent.instructions, _SYSTEM)
        provenance.add(task, task_labels)
        messages = [
            ChatMessage(role=Role.SYSTEM, content=system, labels=_SYSTEM),
            ChatMessage(role=Role.USER, content=task, labels=task_labels),
        ]
        offered = self._offered(agent)
        plan = PlanState()
        answer = ""
        try:
            while True:
                exhausted = tracker.exhausted()
                if exhausted is not None:
                    return _AgentOutcome(
                        answer, exhausted, None, provenance.context_labels(), messages
                    )
                tracker.spend_step()
                response = await self._model_call(agent, messages, offered, state, tracker)
                labels = provenance.context_labels()
                messages.append(response.message.model_copy(update={"labels": labels}))
                answer = response.message.content
                if not response.message.tool_calls:
                    reason = {
                        FinishReason.LENGTH: StopReason.OUTPUT_LIMIT,
                        FinishReason.CONTENT_FILTER: StopReason.CONTENT_FILTER,
                    }.get(response.finish_reason, StopReason.FINAL_ANSWER)
                    if reason is StopReason.FINAL_ANSWER and depth == 0 and state.hold_text:
                        # Only the top agent speaks to the user; a hand-off's answer
                        # returns to its parent as labelled tool output.
                        released = await self._release(agent, answer, provenance, state, tracker)
                        if released is not None:
                            return _AgentOutcome("", *released, labels, messages)
                    return _AgentOutcome(answer, reason, None, labels, messages)
                for proposal in response.message.tool_calls:
                    text, trusted, out_labels, recorded = await self._handle(
                        agent, proposal, provenance, state, tracker, plan, depth=depth
                    )
                    if not recorded:
                        provenance.add(text, out_labels)
                    messages.append(
                        ChatMessage(
                            role=Role.TOOL,
                            tool_call_id=proposal.id,
                            content=delimit(
                                text,
                                tool=proposal.name,
                                call_id=proposal.id,
                                trusted=trusted,
                                boundary=state.boundary,
                            ),
                            labels=out_labels,
                        )
                    )
        except _Stop as stop:
            return _AgentOutcome(
                answer, stop.reason, stop.error, provenance.context_labels(), messages
            )

    async def _model_call(
        self,
        agent: Agent,
        messages: Sequence[ChatMessage],
        offered: Sequence[ToolSpec],
        state: _RunState,
        tracker: BudgetTracker,
    ) -> ModelResponse:
        request = ModelRequest(
            model=agent.model,
            messages=tuple(messages),
            tools=tuple(offered),
            max_output_tokens=max(1, min(agent.budget.max_output_tokens, tracker.tokens_left())),
            temperature=agent.temperature,
        )
        with self._tracer.start_as_current_span(f"chat {agent.model}") as span:
            span.set_attribute("gen_ai.operation.name", "chat")
            span.set_attribute("gen_ai.request.model", agent.model)
            span.set_attribute("gen_ai.agent.name", agent.name)
            span.set_attribute("gen_ai.request.max_tokens", request.max_output_tokens)
            try:
                async with asyncio.timeout(max(tracker.remaining_s(), 0.001)):
                    response = await self._ask_model(agent, request, hold_text=state.hold_text)
            except TimeoutError:
                span.set_status(Status(StatusCode.ERROR, "max_wall_time"))
                raise _Stop(StopReason.MAX_WALL_TIME) from None
            except AgentorError as exc:
                span.set_status(Status(StatusCode.ERROR, exc.code))
                span.set_attribute("error.type", exc.code)
                raise _Stop(StopReason.MODEL_ERROR, exc.error) from None
            usage = response.usage
            span.set_attribute("gen_ai.usage.input_tokens", usage.input_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", usage.output_tokens)
            span.set_attribute("gen_ai.response.finish_reasons", [response.finish_reason.value])
        state.input_tokens += usage.input_tokens
        state.output_tokens += usage.output_tokens
        tracker.spend_tokens(usage.input_tokens + usage.output_tokens)
        return response

    async def _ask_model(
        self, agent: Agent, request: ModelRequest, *, hold_text: bool = False
    ) -> ModelResponse:
        if not self.stream:
            return await self.provider.complete(request)
        final: ModelResponse | None = None
        async for delta in self.provider.stream(request):
            if delta.text and not hold_text:
                self._emit(RunEvent(kind=EventKind.TEXT, agent=agent.name, text=delta.text))
            if delta.final is not None:
                final = delta.final
        if final is None:
            raise AgentorError(
                "llm.response_invalid",
                "the model's stream ended without a final response",
                hint="the provider broke its contract; try without streaming",
            )
        return final

    # -- one proposed call -----------------------------------------------------------

    async def _handle(
        self,
        agent: Agent,
        proposal: ToolCallProposal,
        provenance: Provenance,
        state: _RunState,
        tracker: BudgetTracker,
        plan: PlanState,
        *,
        depth: int,
    ) -> tuple[str, bool, LabelSet, bool]:
        """Decide and maybe run one proposal.

        Returns the text for the model, its trust, its labels, and whether its
        provenance was already recorded field by field (structured output).
        """
        state.calls += 1
        call = self._build_call(agent, proposal, provenance, state, plan)
        self._emit(
            RunEvent(
                kind=EventKind.PROPOSED,
                agent=agent.name,
                tool=call.tool,
                call_id=proposal.id,
                arguments=call.arguments,
                labels=call.labels,
            )
        )
        with self._tracer.start_as_current_span(f"execute_tool {call.tool}") as span:
            span.set_attribute("gen_ai.operation.name", "execute_tool")
            span.set_attribute("gen_ai.tool.name", call.tool)
            span.set_attribute("gen_ai.tool.call.id", proposal.id)
            span.set_attribute("gen_ai.agent.name", agent.name)
            decision = self._decide(agent, call, tracker)
            record = self._record_decision(agent, call, decision, state, span, proposal.id)
            if decision.verdict is Verdict.DENY:
                code = _denied_code(decision.rule_id)
                state.decisions.append(record.model_copy(update={"outcome": code.value}))
                text = f"error [{code}]: refused by rule {decision.rule_id!r}: {decision.reason}"
                return text, True, _SYSTEM, False
            if decision.verdict is Verdict.ASK:
                approved = await self._approve(agent, call, decision, state, span, tracker)
                record = record.model_copy(update={"approval_asked": True, "approved": approved})
                if not approved:
                    code = RuntimeCode.APPROVAL_DENIED
                    state.decisions.append(record.model_copy(update={"outcome": code.value}))
                    text = f"error [{code}]: a person did not approve this call to {call.tool}"
                    return text, True, _SYSTEM, False
            if self._is_plan(agent, call.tool):
                offered = {spec.name for spec in self._offered(agent)}
                return _accept_plan(plan, call, offered, state, record), True, _SYSTEM, False
            tracker.spend_tool_call()
            recorded = False
            if call.tool.startswith(HANDOFF_PREFIX):
                text, labels = await self._handoff(agent, call, state, tracker, depth=depth)
                outcome = "ok"
                trusted = labels.is_trusted
            else:
                result = await self._invoke(agent, call, decision)
                labels = self._result_labels(agent, call, decision, result)
                trusted = labels.is_trusted
                outcome = result.error.code if result.error is not None else "ok"
                text = result_text(result)
                recorded = record_structured(
                    provenance, result, labels, decision.obligations.system_fields
                )
                self._append(
                    agent,
                    state,
                    span,
                    AuditEventType.RESULT,
                    call,
                    decision,
                    outcome=outcome,
                    result_digest=result.digest(),
                )
            span.set_attribute("agentor.outcome", outcome)
            # Every call that ran counts, failed ones too: a tool that timed out or trapped
            # may have had its effect (a request sent) before it failed.
            plan.record(call.tool)
            state.decisions.append(record.model_copy(update={"ran": True, "outcome": outcome}))
            self._emit(
                RunEvent(
                    kind=EventKind.RESULT,
                    agent=agent.name,
                    tool=call.tool,
                    call_id=proposal.id,
                    outcome=outcome,
                    text=text[:2000],
                )
            )
            return text, trusted, labels, recorded

    @staticmethod
    def _result_labels(
        agent: Agent, call: ToolCall, decision: Decision, result: ToolResult
    ) -> LabelSet:
        if agent.memory is not None and call.tool in MEMORY_TOOLS:
            labels = result.labels  # recalled records keep their stored labels
        else:
            source = _TRUSTED_TOOL if decision.obligations.trusted_output else _UNTRUSTED_TOOL
            labels = result.labels.join(source)
        return labels.join(_PRIVATE) if decision.obligations.private_output else labels

    def _build_call(
        self,
        agent: Agent,
        proposal: ToolCallProposal,
        provenance: Provenance,
        state: _RunState,
        plan: PlanState,
    ) -> ToolCall:
        labels = provenance.label_arguments(proposal.arguments)
        embedded = provenance.label_embedded(proposal.arguments)
        component_hash = None
        lookup = getattr(agent.toolbox or self.tools, "component_hash", None)
        if callable(lookup):
            found = lookup(proposal.name)
            component_hash = found if isinstance(found, str) else None
        context_labels = provenance.context_labels()
        off_plan = agent.plan == "tools" and plan.off_plan(
            proposal.name, context_trusted=context_labels.is_trusted
        )
        return ToolCall(
            id=f"{state.run_id}.{state.calls}",
            tool=proposal.name,
            arguments=proposal.arguments,
            component_hash=component_hash,
            # Keys that are not names are covered by context_labels alone.
            labels={k: v for k, v in labels.items() if _NAME_RE.fullmatch(k) and len(k) <= 128},
            context_labels=context_labels,
            off_plan=off_plan,
            embedded_labels={
                k: v for k, v in embedded.items() if _NAME_RE.fullmatch(k) and len(k) <= 128
            },
        )

    def _decide(self, agent: Agent, call: ToolCall, tracker: BudgetTracker) -> Decision:
        offered = {spec.name for spec in self._offered(agent)}
        if call.tool not in offered:
            return Decision(
                verdict=Verdict.DENY,
                rule_id=RuntimeCode.TOOL_NOT_OFFERED.value,
                reason=f"the agent {agent.name!r} was not given a tool named {call.tool!r}",
            )
        if self._is_plan(agent, call.tool):
            return self._decide_plan(call)
        if not tracker.may_call_tool():
            return Decision(
                verdict=Verdict.DENY,
                rule_id=RuntimeCode.TOOL_LIMIT.value,
                reason="the run's budget of tool calls is spent",
            )
        return self._policy_decides(agent, call)

    def _policy_decides(self, agent: Agent, call: ToolCall) -> Decision:
        policy = agent.policy or self.policy
        context = PolicyContext(
            now=self._clock(),
            session_id=None,
            agent_id=agent.name,
            user_id=self.user_id,
        )
        try:
            return policy.decide(call, context)
        except Exception as exc:
            # A policy that cannot decide must not be read as a yes.
            raise _Stop(
                StopReason.POLICY_FAILED,
                AgentorError(
                    RuntimeCode.POLICY_FAILED,
                    f"the policy engine failed on {call.tool} ({type(exc).__name__}); "
                    "the call was refused and the run stopped",
                    hint="check the policy with 'agentor policy check'",
                ).error,
            ) from exc

    @staticmethod
    def _is_plan(agent: Agent, tool: str) -> bool:
        return agent.plan == "tools" and tool == PLAN_DECLARE

    @staticmethod
    def _decide_plan(call: ToolCall) -> Decision:
        """The runtime decides a plan itself: it is no effect, but it steers every later call."""
        if parse_plan(call.arguments) is None:
            return Decision(
                verdict=Verdict.DENY,
                rule_id=RuntimeCode.PLAN_INVALID.value,
                reason=f'{PLAN_DECLARE} takes {{"tools": [tool names]}} and nothing else',
            )
        if call.context_labels.is_trusted:
            return Decision(
                verdict=Verdict.ALLOW,
                rule_id=PLAN_ACCEPTED,
                reason="the plan was declared before any untrusted content was in the context",
            )
        return Decision(
            verdict=Verdict.ASK,
            rule_id=PLAN_UNTRUSTED,
            reason=(
                "a plan declared after untrusted content entered the context may be "
                "that content's plan"
            ),
        )

    def _record_decision(
        self,
        agent: Agent,
        call: ToolCall,
        decision: Decision,
        state: _RunState,
        span: Span,
        event_id: str,
    ) -> DecisionRecord:
        """Audit a decision (before anything runs), tell the listener, and keep its record."""
        span.set_attribute("agentor.verdict", decision.verdict.value)
        span.set_attribute("agentor.rule_id", decision.rule_id)
        self._append(agent, state, span, AuditEventType.DECISION, call, decision)
        self._emit(
            RunEvent(
                kind=EventKind.DECIDED,
                agent=agent.name,
                tool=call.tool,
                call_id=event_id,
                verdict=decision.verdict,
                rule_id=decision.rule_id,
                reason=decision.reason,
            )
        )
        return DecisionRecord(
            agent=agent.name,
            call_id=call.id,
            tool=call.tool,
            verdict=decision.verdict,
            rule_id=decision.rule_id,
            reason=decision.reason,
        )

    async def _release(
        self,
        agent: Agent,
        answer: str,
        provenance: Provenance,
        state: _RunState,
        tracker: BudgetTracker,
    ) -> tuple[StopReason, ToolError] | None:
        """Put the final answer to the policy; ``None`` when released, else why it was not."""
        state.calls += 1
        try:
            call = answer_call(f"{state.run_id}.{state.calls}", answer, provenance)
        except ValueError as exc:  # pydantic's ValidationError: past the bounds of a call
            error = AgentorError(
                RuntimeCode.ANSWER_WITHHELD,
                f"the agent's answer was withheld: it cannot be put to the policy "
                f"({str(exc).splitlines()[0][:200]})",
                hint="lower the agent's max_output_tokens, or ask for a shorter answer",
            ).error
            return StopReason.ANSWER_WITHHELD, error
        with self._tracer.start_as_current_span(f"execute_tool {call.tool}") as span:
            span.set_attribute("gen_ai.operation.name", "execute_tool")
            span.set_attribute("gen_ai.tool.name", call.tool)
            span.set_attribute("gen_ai.agent.name", agent.name)
            decision = self._policy_decides(agent, call)
            record = self._record_decision(agent, call, decision, state, span, call.id)
            approved = decision.verdict is Verdict.ALLOW
            if decision.verdict is Verdict.ASK:
                summary = answer_summary(
                    answer, call.labels[ANSWER_ARG], untrusted_links(answer, provenance)
                )
                approved = await self._approve(
                    agent, call, decision, state, span, tracker, summary=summary
                )
                record = record.model_copy(update={"approval_asked": True, "approved": approved})
            outcome = "released" if approved else RuntimeCode.ANSWER_WITHHELD.value
            span.set_attribute("agentor.outcome", outcome)
            state.decisions.append(record.model_copy(update={"ran": approved, "outcome": outcome}))
            if not approved:
                return StopReason.ANSWER_WITHHELD, _withheld(decision)
            # The audit log holds what the user was shown, as a digest.
            self._append(
                agent,
                state,
                span,
                AuditEventType.RESULT,
                call,
                decision,
                outcome=outcome,
                result_digest=sha256_hex(canonical_json(call.arguments)),
            )
        if self.stream and answer:
            self._emit(RunEvent(kind=EventKind.TEXT, agent=agent.name, text=answer))
        return None

    async def _approve(
        self,
        agent: Agent,
        call: ToolCall,
        decision: Decision,
        state: _RunState,
        span: Span,
        tracker: BudgetTracker,
        *,
        summary: str | None = None,
    ) -> bool:
        now = self._clock()
        request = ApprovalRequest(
            fingerprint=call.fingerprint(),
            tool=call.tool,
            summary=summary or summarize(call),
            rule_id=decision.rule_id,
            reason=decision.reason,
            expires_at=now + timedelta(seconds=self.approval_ttl_s),
        )
        self._append(agent, state, span, AuditEventType.APPROVAL_ASKED, call, decision)
        answer = await self._ask(request, tracker)
        approved = (
            answer is not None
            and answer.approved
            and answer.fingerprint == request.fingerprint
            and answer.decided_at <= request.expires_at
        )
        kind = AuditEventType.APPROVAL_GRANTED if approved else AuditEventType.APPROVAL_DENIED
        approver = answer.approver if answer is not None else "nobody"
        self._append(agent, state, span, kind, call, decision, detail={"approver": approver})
        self._emit(
            RunEvent(
                kind=EventKind.APPROVAL,
                agent=agent.name,
                tool=call.tool,
                approved=approved,
                rule_id=decision.rule_id,
            )
        )
        return approved

    async def _ask(
        self, request: ApprovalRequest, tracker: BudgetTracker
    ) -> ApprovalResponse | None:
        if self.approvals is None:
            return None
        try:
            async with asyncio.timeout(max(tracker.remaining_s(), 0.001)):
                return await self.approvals.request_approval(request)
        except Exception:  # noqa: BLE001 - a channel that fails has not approved
            return None

    async def _invoke(self, agent: Agent, call: ToolCall, decision: Decision) -> ToolResult:
        if agent.memory is not None and call.tool in MEMORY_TOOLS:
            return await run_memory_tool(
                self.memory, agent.memory, call, agent=agent.name, clock=self._clock
            )
        try:
            return await (agent.toolbox or self.tools).invoke_async(
                call, decision.obligations.grant
            )
        except AgentorError as exc:
            return ToolResult(call_id=call.id, error=exc.error)
        except Exception as exc:  # noqa: BLE001 - a runtime's own bug becomes this call's error
            return ToolResult(
                call_id=call.id,
                error=ToolError(
                    code="runtime.tool_failed",
                    message=f"the tool runtime failed ({type(exc).__name__})",
                ),
            )

    async def _handoff(
        self,
        agent: Agent,
        call: ToolCall,
        state: _RunState,
        tracker: BudgetTracker,
        *,
        depth: int,
    ) -> tuple[str, LabelSet]:
        name = call.tool.removeprefix(HANDOFF_PREFIX)
        child = next(c for c in agent.handoffs if c.name == name)
        task = call.arguments.get("task")
        if not isinstance(task, str) or depth + 1 > MAX_HANDOFF_DEPTH:
            return "error [runtime.handoff_invalid]: a hand-off needs a task string", _SYSTEM
        # The sub-agent's task carries the provenance of the argument, not the user's trust.
        task_labels = call.labels.get("task", call.context_labels)
        self._emit(RunEvent(kind=EventKind.HANDOFF, agent=agent.name, tool=child.name, text=task))
        with self._tracer.start_as_current_span(f"invoke_agent {child.name}") as span:
            span.set_attribute("gen_ai.operation.name", "invoke_agent")
            span.set_attribute("gen_ai.agent.name", child.name)
            outcome = await self._agent_loop(
                child, task, task_labels, state, tracker.child(child.budget), depth=depth + 1
            )
        if outcome.reason in {StopReason.AUDIT_FAILED, StopReason.POLICY_FAILED}:
            raise _Stop(outcome.reason, outcome.error)
        # Whatever the sub-agent read shaped its answer: its context's labels come back with it.
        if outcome.reason is not StopReason.FINAL_ANSWER:
            return (
                f"the agent {child.name!r} stopped: {outcome.reason.value}. {outcome.answer}",
                outcome.context,
            )
        return outcome.answer, outcome.context

    # -- audit and events --------------------------------------------------------------

    def _append(
        self,
        agent: Agent,
        state: _RunState,
        span: Span,
        kind: AuditEventType,
        call: ToolCall,
        decision: Decision,
        **extra: Any,
    ) -> None:
        context = span.get_span_context()
        trace_id = span_id = None
        if context.is_valid:
            trace_id, span_id = f"{context.trace_id:032x}", f"{context.span_id:016x}"
        event = AuditEvent(
            type=kind,
            time=self._clock(),
            session_id=state.session_id,
            agent_id=agent.name,
            user_id=self.user_id,
            call_id=call.id,
            tool=call.tool,
            component_hash=call.component_hash,
            argument_digest=sha256_hex(canonical_json(call.arguments)),
            verdict=decision.verdict,
            rule_id=decision.rule_id,
            policy_hash=decision.policy_hash,
            trace_id=trace_id,
            span_id=span_id,
            **extra,
        )
        try:
            receipt = self.audit.append(event)
        except Exception as exc:
            raise _Stop(
                StopReason.AUDIT_FAILED,
                AgentorError(
                    RuntimeCode.AUDIT_FAILED,
                    f"the audit log did not commit the {kind.value} event for {call.tool} "
                    f"({type(exc).__name__}); the run stopped before the action",
                    hint="check that the audit log is writable ('agentor doctor')",
                ).error,
            ) from exc
        if state.audit_first is None:
            state.audit_first = receipt.sequence
        state.audit_last = receipt.sequence

    def _emit(self, event: RunEvent) -> None:
        if self._on_event is not None:
            self._on_event(event)


def _denied_code(rule_id: str) -> RuntimeCode:
    """The code the model reads for a refusal: the runtime's own rule, else the policy's."""
    own = {RuntimeCode.TOOL_NOT_OFFERED, RuntimeCode.TOOL_LIMIT, RuntimeCode.PLAN_INVALID}
    return next((code for code in own if code == rule_id), RuntimeCode.POLICY_DENIED)


def _withheld(decision: Decision) -> ToolError:
    if decision.verdict is Verdict.ASK:
        why = f"a person did not release it (asked by rule {decision.rule_id!r})"
        hint = (
            "run where a person can answer the approval (a terminal), or read the answer "
            "in the run's messages; the policy's rule for agent.answer said to ask"
        )
    else:
        why = f"the policy refused it (rule {decision.rule_id!r}: {decision.reason})"
        hint = (
            f"the policy decides {ANSWER_TOOL} like a tool, and without a rule for it every "
            "answer is withheld: add one (see 'The answer as a sink' in agentor-runtime's README)"
        )
    return AgentorError(
        RuntimeCode.ANSWER_WITHHELD, f"the agent's answer was withheld: {why}", hint=hint
    ).error


def _accept_plan(
    plan: PlanState, call: ToolCall, offered: set[str], state: _RunState, record: DecisionRecord
) -> str:
    """Accepted by the runtime (trusted context) or by a person: the plan from now on.

    Only names of offered tools are kept and echoed: this text is labelled system,
    so it must not repeat a string the model made up (it would launder it).
    """
    state.decisions.append(record.model_copy(update={"ran": True, "outcome": "ok"}))
    declared = parse_plan(call.arguments) or Plan(tools=())
    plan.accept(declared, offered)
    named = [
        f"{name} ({plan.calls[name]} call{'s' if plan.calls[name] > 1 else ''})"
        if name in plan.calls
        else name
        for name in sorted(plan.tools or ())
    ]
    text = "plan accepted: " + (", ".join(named) or "no tools")
    unknown = len(set(declared.tools) - offered)
    return f"{text} ({unknown} name(s) not offered to this agent, ignored)" if unknown else text


def record_structured(
    provenance: Provenance, result: ToolResult, labels: LabelSet, system_fields: Sequence[str]
) -> bool:
    """Record a result's provenance field by field, if the policy named its system fields.

    Only results whose content is entirely structured (JSON blocks) qualify: a text
    block beside them may say anything, so such a result is matched as one
    untrusted text (the caller's default).
    """
    if not system_fields or result.error is not None or not result.content:
        return False
    if not all(block.type == "json" for block in result.content):
        return False
    for block in result.content:
        if block.type == "json":
            provenance.add_structured(
                block.data,
                labels,
                system_fields=system_fields,
                system_labels=_TRUSTED_TOOL,
            )
    return True


def summarize(call: ToolCall) -> str:
    """The call as a person should see it before approving."""
    arguments = json.dumps(call.arguments, ensure_ascii=False, sort_keys=True, indent=1)
    untrusted = sorted(name for name, labels in call.labels.items() if not labels.is_trusted)
    lines = [f"{call.tool}({arguments[:MAX_SUMMARY_CHARS]})"]
    if untrusted:
        lines.append("arguments from untrusted content: " + ", ".join(untrusted))
    if call.off_plan:
        lines.append(
            "this call is outside the plan declared before untrusted content was read "
            "(a tool not in it, or more calls than it declared)"
        )
    return "\n".join(lines)[: 16 * 1024]
