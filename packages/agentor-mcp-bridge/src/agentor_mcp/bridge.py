"""The MCP server for sandboxed tools.

Every ``tools/call`` is policy → approval → audit → sandbox → audit.

Built from the agentor-core interfaces only (ToolRuntime, PolicyEngine, AuditSink
and optionally ApprovalChannel); the composition root chooses the implementations.
Deny by default at every step: a policy, approval, audit or runtime failure ends
the call with an MCP tool error carrying a stable code, never with a silent allow.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import anyio
import anyio.to_thread
import jsonschema  # type: ignore[import-untyped, unused-ignore]
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.models import InitializationOptions
from mcp.shared.exceptions import MCPError, NoBackChannelError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

from agentor_core.audit import AuditEvent, AuditEventType
from agentor_core.bounds import NAME_PATTERN
from agentor_core.canonical import canonical_json, sha256_hex
from agentor_core.capabilities import Capabilities
from agentor_core.decisions import (
    ApprovalRequest,
    ApprovalResponse,
    Decision,
    PolicyContext,
    Verdict,
)
from agentor_core.errors import AgentorError, ToolError
from agentor_core.interfaces import ApprovalChannel, AuditSink, PolicyEngine, ToolRuntime
from agentor_core.labels import Label, LabelSet, Source
from agentor_core.tools import JsonContent, ToolCall, ToolResult, ToolSpec
from agentor_mcp.__about__ import __version__
from agentor_mcp.annotations import UNKNOWN_GRANT, annotations_for, example_arguments
from agentor_mcp.approvals import (
    ELICITATION_SCHEMA,
    INPUT_KEY,
    Pending,
    PendingApprovals,
    approved_by,
    elicitation_message,
    expiry,
    summary_of,
)
from agentor_mcp.codes import McpCode
from agentor_mcp.content import call_result, error_result, mcp_tool

_log = logging.getLogger(__name__)

DEFAULT_APPROVAL_TTL_SECONDS: Final = 300
DEFAULT_APPROVAL_TIMEOUT_SECONDS: Final = 300.0
_USER: Final = LabelSet.of(Label.of(Source.USER))
_TRUSTED_OUTPUT: Final = LabelSet.of(Label.of(Source.TRUSTED_TOOL))
_PROBE_ID: Final = "mcp-tools-list-probe"
_NAME_RE: Final = re.compile(NAME_PATTERN)


def utc_now() -> datetime:
    return datetime.now(UTC)


def _error(code: str, message: str, hint: str | None = None) -> ToolError:
    return AgentorError(code, message, hint=hint).error


@dataclass(slots=True)
class _ProgressRoute:
    loop: asyncio.AbstractEventLoop
    ctx: ServerRequestContext[Any, Any]
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


class AgentorBridge:
    """An MCP server (the SDK's low-level ``Server``) in front of a ToolRuntime.

    ``spec_overrides`` lets the operator's toolbox describe tools whose runtime
    spec is bare (preview-1 modules have no manifest): description, schemas.
    ``approval_channel`` is used when the policy asks and the client cannot elicit.
    """

    def __init__(
        self,
        runtime: ToolRuntime,
        policy: PolicyEngine,
        audit: AuditSink,
        *,
        approval_channel: ApprovalChannel | None = None,
        name: str = "agentor",
        instructions: str | None = None,
        spec_overrides: Mapping[str, ToolSpec] | None = None,
        clock: Callable[[], datetime] = utc_now,
        approval_ttl_seconds: int | None = None,
        approval_timeout_seconds: float = DEFAULT_APPROVAL_TIMEOUT_SECONDS,
    ) -> None:
        self._runtime = runtime
        self._policy = policy
        self._audit = audit
        self._channel = approval_channel
        self._overrides = dict(spec_overrides or {})
        self._clock = clock
        ttl = approval_ttl_seconds or getattr(policy, "approval_ttl_seconds", None)
        self._approval_ttl = (
            ttl if isinstance(ttl, int) and ttl > 0 else DEFAULT_APPROVAL_TTL_SECONDS
        )
        self._approval_timeout = approval_timeout_seconds
        self.pending = PendingApprovals()
        self._routes: dict[str, _ProgressRoute] = {}
        self.server: Server[Any] = Server(
            name,
            version=__version__,
            instructions=instructions,
            on_list_tools=self._on_list_tools,
            on_call_tool=self._on_call_tool,
        )

    # -- tools/list ---------------------------------------------------------------

    def specs(self) -> dict[str, ToolSpec]:
        """Every tool served, by name, with the operator's overrides applied."""
        found: dict[str, ToolSpec] = {}
        for spec in self._runtime.list_tools():
            found[spec.name] = self._overrides.get(spec.name, spec)
        return found

    def _context(self) -> PolicyContext:
        return PolicyContext(now=self._clock())

    def mcp_tools(self) -> list[types.Tool]:
        tools = []
        for _name, spec in sorted(self.specs().items()):
            annotations = UNKNOWN_GRANT
            grant = self._probe_grant(spec)
            if grant is not None:
                annotations = annotations_for(grant)
            title = spec.annotations.title or spec.title
            tools.append(mcp_tool(spec, annotations.model_copy(update={"title": title})))
        return tools

    def _probe_grant(self, spec: ToolSpec) -> Capabilities | None:
        """The grant the policy would give a plain call of ``spec``; ``None`` if it would deny."""
        hash_ = self._component_hash(spec.name)
        for arguments in ({}, example_arguments(spec.input_schema)):
            try:
                call = ToolCall(
                    id=_PROBE_ID, tool=spec.name, arguments=arguments, component_hash=hash_
                )
                probe = self._policy.decide(call, self._context())
            except Exception:  # noqa: BLE001 - a failing policy must not break listing; calls still fail closed
                _log.exception("policy probe failed for tool %s", spec.name)
                return None
            if probe.verdict is not Verdict.DENY:
                return probe.obligations.grant
        return None

    async def _on_list_tools(
        self, _ctx: ServerRequestContext[Any, Any], _params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=await anyio.to_thread.run_sync(self.mcp_tools))

    # -- tools/call -----------------------------------------------------------------

    def _component_hash(self, name: str) -> str | None:
        # Not part of the ToolRuntime protocol; a runtime that knows the hash binds
        # approvals and policy pins to the exact component.
        getter = getattr(self._runtime, "component_hash", None)
        if not callable(getter):
            return None
        value = getter(name)
        return value if isinstance(value, str) else None

    async def _append(self, event: AuditEvent) -> None:
        try:
            await anyio.to_thread.run_sync(self._audit.append, event)
        except Exception as exc:
            _log.exception("audit append failed")
            raise AgentorError(
                McpCode.AUDIT_FAILED,
                f"the audit log did not commit the {event.type} event "
                f"({type(exc).__name__}); the call was refused",
                hint="check that the audit log is writable ('agentor doctor'), then retry",
            ) from exc

    def _event(
        self, kind: AuditEventType, call: ToolCall, decision: Decision | None = None, **extra: Any
    ) -> AuditEvent:
        return AuditEvent(
            type=kind,
            time=self._clock(),
            call_id=call.id,
            tool=call.tool,
            component_hash=call.component_hash,
            argument_digest=sha256_hex(canonical_json(call.arguments)),
            verdict=decision.verdict if decision else None,
            rule_id=decision.rule_id if decision else None,
            policy_hash=decision.policy_hash if decision else None,
            **extra,
        )

    def _build_call(
        self, name: str, arguments: dict[str, Any] | None, call_id: str | None = None
    ) -> ToolCall:
        args = arguments or {}
        try:
            return ToolCall(
                id=call_id or f"mcp-{secrets.token_hex(12)}",
                tool=name,
                arguments=args,
                component_hash=self._component_hash(name),
                # Arguments of an MCP client come from its user (or the user's model);
                # the client is the principal the operator chose to serve.
                # Keys that are not names are covered by context_labels alone.
                labels={key: _USER for key in args if _NAME_RE.fullmatch(key)},
                context_labels=_USER,
            )
        except ValidationError as exc:
            first = exc.errors()[0]["msg"] if exc.errors() else "invalid"
            raise AgentorError(
                McpCode.INVALID_CALL,
                f"the call to {name[:128]!r} is not valid: {first[:300]}",
                hint="send a known tool name and an object of bounded arguments",
            ) from None

    @staticmethod
    def _check_schema(spec: ToolSpec, arguments: dict[str, Any]) -> None:
        try:
            validator = jsonschema.Draft202012Validator(spec.input_schema)
            error = jsonschema.exceptions.best_match(validator.iter_errors(arguments))
        except jsonschema.exceptions.SchemaError:
            raise AgentorError(
                McpCode.INVALID_CALL,
                f"the input schema of {spec.name} is not a valid JSON Schema",
                hint="fix the tool's schema in its manifest or the toolbox configuration",
            ) from None
        if error is not None:
            where = "/".join(str(part) for part in error.absolute_path) or "(arguments)"
            raise AgentorError(
                McpCode.INVALID_CALL,
                f"arguments do not match the input schema of {spec.name} at {where}: "
                f"{error.message[:300]}",
                hint="call tools/list and send arguments that match inputSchema",
            )

    @staticmethod
    def _check_output(spec: ToolSpec, result: ToolResult) -> ToolResult:
        """Tool output is untrusted: with an outputSchema, it must match before it leaves."""
        if spec.output_schema is None or result.error is not None:
            return result
        data = next((b.data for b in result.content if isinstance(b, JsonContent)), None)
        problem: str | None = None
        if not isinstance(data, dict):
            problem = "the tool returned no JSON object"
        else:
            try:
                validator = jsonschema.Draft202012Validator(spec.output_schema)
                error = jsonschema.exceptions.best_match(validator.iter_errors(data))
            except jsonschema.exceptions.SchemaError:
                problem = "the outputSchema is not a valid JSON Schema"
            else:
                if error is not None:
                    where = "/".join(str(p) for p in error.absolute_path) or "(result)"
                    # Not error.message: it quotes the withheld output.
                    problem = f"at {where}: the value fails its {error.validator!r} keyword"
        if problem is None:
            return result
        return ToolResult(
            call_id=result.call_id,
            error=_error(
                McpCode.INVALID_RESULT,
                f"the output of {spec.name} does not match its outputSchema: {problem}",
                "a bug in the tool or its toolbox entry; report it to its author",
            ),
        )

    async def _on_call_tool(
        self, ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult | types.InputRequiredResult:
        try:
            return await self._call(ctx, params)
        except AgentorError as exc:
            return error_result(exc.error)

    async def _call(
        self, ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult | types.InputRequiredResult:
        specs = await anyio.to_thread.run_sync(self.specs)
        spec = specs.get(params.name)
        if spec is None:
            raise AgentorError(
                McpCode.INVALID_CALL,
                f"no tool named {params.name[:128]!r} is served",
                hint=f"call tools/list; served tools: {', '.join(sorted(specs)) or 'none'}",
            )
        # A retry that answers an approval continues the same call (same id in the audit log).
        pending = self.pending.take(params.request_state) if params.request_state else None
        call = self._build_call(spec.name, params.arguments, pending.call_id if pending else None)
        self._check_schema(spec, call.arguments)
        try:
            decision = self._policy.decide(call, self._context())
        except AgentorError:
            raise
        except Exception as exc:
            _log.exception("policy engine failed")
            raise AgentorError(
                McpCode.POLICY_DENIED,
                f"the policy engine failed ({type(exc).__name__}); the call was refused",
                hint="check the policy with 'agentor policy check', then retry",
            ) from exc
        await self._append(self._event(AuditEventType.DECISION, call, decision))
        if decision.verdict is Verdict.DENY:
            return error_result(
                _error(
                    McpCode.POLICY_DENIED,
                    f"policy rule {decision.rule_id!r} denied {call.tool}: {decision.reason}",
                    "ask the operator to change the policy if this call should be allowed",
                ),
                detail={"rule_id": decision.rule_id, "reason": decision.reason},
            )
        if decision.verdict is Verdict.ASK:
            answer = await self._approval(ctx, params, call, decision, pending)
            if isinstance(answer, types.InputRequiredResult):
                return answer
            kind = (
                AuditEventType.APPROVAL_GRANTED
                if answer.approved
                else AuditEventType.APPROVAL_DENIED
            )
            await self._append(
                self._event(kind, call, decision, detail={"approver": answer.approver})
            )
            if not answer.approved:
                return error_result(
                    _error(
                        McpCode.APPROVAL_DENIED,
                        f"the call to {call.tool} was not approved (rule {decision.rule_id!r}: "
                        f"{decision.reason})",
                        answer.note or "ask again if the call should run",
                    )
                )
        result = self._check_output(spec, await self._invoke(ctx, call, decision))
        outcome = result.error.code if result.error is not None else "ok"
        await self._append(
            self._event(
                AuditEventType.RESULT,
                call,
                decision,
                outcome=outcome,
                result_digest=result.digest(),
            )
        )
        return call_result(result, spec)

    # -- approval -------------------------------------------------------------------

    @staticmethod
    def _client_can_elicit(ctx: ServerRequestContext[Any, Any]) -> bool:
        caps = ctx.session.client_capabilities
        if caps is None or caps.elicitation is None:
            return False
        # An empty elicitation capability (2025-06-18 clients) means form mode.
        return caps.elicitation.form is not None or caps.elicitation.url is None

    def _approval_request(self, call: ToolCall, decision: Decision) -> ApprovalRequest:
        return ApprovalRequest(
            fingerprint=call.fingerprint(),
            tool=call.tool,
            summary=summary_of(call),
            rule_id=decision.rule_id,
            reason=decision.reason,
            expires_at=expiry(self._clock(), self._approval_ttl),
        )

    def _answer(self, request: ApprovalRequest, approved: bool, note: str) -> ApprovalResponse:
        return ApprovalResponse(
            fingerprint=request.fingerprint,
            approved=approved,
            approver="mcp-client",
            decided_at=self._clock(),
            note=note,
        )

    async def _approval(
        self,
        ctx: ServerRequestContext[Any, Any],
        params: types.CallToolRequestParams,
        call: ToolCall,
        decision: Decision,
        pending: Pending | None,
    ) -> ApprovalResponse | types.InputRequiredResult:
        if params.request_state is not None or params.input_responses:
            return self._retried_answer(params, call, pending)
        request = self._approval_request(call, decision)
        if self._client_can_elicit(ctx):
            await self._append(self._event(AuditEventType.APPROVAL_ASKED, call, decision))
            if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
                nonce = self.pending.add(call.id, request)
                question = types.ElicitRequest(
                    params=types.ElicitRequestFormParams(
                        message=elicitation_message(request), requested_schema=ELICITATION_SCHEMA
                    )
                )
                return types.InputRequiredResult(
                    input_requests={INPUT_KEY: question}, request_state=nonce
                )
            return await self._elicit_now(ctx, request)
        if self._channel is not None:
            await self._append(self._event(AuditEventType.APPROVAL_ASKED, call, decision))
            return await self._ask_channel(request)
        raise AgentorError(
            McpCode.APPROVAL_UNAVAILABLE,
            f"policy rule {decision.rule_id!r} requires a person's approval for {call.tool} "
            f"({decision.reason}), but this client does not support elicitation and no "
            "approval channel is configured; the call was refused",
            hint="use an MCP client with elicitation support, or ask the operator to "
            "change the policy",
        )

    async def _elicit_now(
        self, ctx: ServerRequestContext[Any, Any], request: ApprovalRequest
    ) -> ApprovalResponse:
        try:
            with anyio.fail_after(self._approval_timeout):
                answer = await ctx.session.elicit_form(
                    elicitation_message(request),
                    ELICITATION_SCHEMA,
                    related_request_id=ctx.request_id,
                )
        except TimeoutError:
            return self._answer(request, False, "no answer before the approval timed out")
        except (MCPError, NoBackChannelError, ValidationError) as exc:
            return self._answer(
                request, False, f"the client could not ask ({type(exc).__name__}); ask again"
            )
        approved = answer.action == "accept" and approved_by(answer.content)
        return self._answer(request, approved, f"client answered {answer.action}")

    async def _ask_channel(self, request: ApprovalRequest) -> ApprovalResponse:
        if self._channel is None:  # pragma: no cover - checked by the caller
            return self._answer(request, False, "no approval channel")
        try:
            with anyio.fail_after(self._approval_timeout):
                answer = await self._channel.request_approval(request)
        except TimeoutError:
            return self._answer(request, False, "no answer before the approval timed out")
        except Exception as exc:  # noqa: BLE001 - any channel failure is a refusal, never an allow
            _log.exception("approval channel failed")
            return self._answer(
                request, False, f"the approval channel failed ({type(exc).__name__})"
            )
        if answer.fingerprint != request.fingerprint:
            return self._answer(request, False, "the answer names a different call")
        return answer

    def _retried_answer(
        self, params: types.CallToolRequestParams, call: ToolCall, pending: Pending | None
    ) -> ApprovalResponse:
        if pending is None or pending.fingerprint != call.fingerprint():
            raise AgentorError(
                McpCode.APPROVAL_MISMATCH,
                "the approval sent with this call does not belong to it (unknown, already used, "
                "or the arguments changed since the question was asked)",
                hint="call the tool again without input responses to be asked afresh",
            )
        request = pending.request
        if self._clock() >= pending.expires_at:
            return self._answer(request, False, "the approval expired; call again to be asked")
        answer = (params.input_responses or {}).get(INPUT_KEY)
        if not isinstance(answer, types.ElicitResult):
            return self._answer(request, False, "no elicitation answer was sent")
        approved = answer.action == "accept" and approved_by(answer.content)
        return self._answer(request, approved, f"client answered {answer.action}")

    # -- sandbox ----------------------------------------------------------------------

    async def _invoke(
        self, ctx: ServerRequestContext[Any, Any], call: ToolCall, decision: Decision
    ) -> ToolResult:
        route = _ProgressRoute(loop=asyncio.get_running_loop(), ctx=ctx)
        self._routes[call.id] = route
        try:
            result = await self._runtime.invoke_async(call, decision.obligations.grant)
        except Exception as exc:  # noqa: BLE001 - the protocol says never raise; if it does, fail closed
            _log.exception("tool runtime raised")
            result = ToolResult(
                call_id=call.id,
                error=_error(
                    McpCode.RUNTIME_FAILED,
                    f"the tool runtime failed ({type(exc).__name__}); nothing was returned",
                    "report this with the tool and the policy that caused it",
                ),
            )
        finally:
            self._routes.pop(call.id, None)
        if route.tasks:
            # Progress sent before the result, so clients never see it after completion.
            await asyncio.gather(*route.tasks, return_exceptions=True)
        if decision.obligations.trusted_output and result.error is None:
            result = result.model_copy(update={"labels": _TRUSTED_OUTPUT})
        return result

    def progress_sink(self, event: object) -> None:
        """Forward a runtime progress event (``call_id``, ``done``, ``total``, ``message``).

        Give this to the runtime (agentor-sandbox: ``on_progress=``). Called from the
        runtime's worker thread; the notification is sent on the call's event loop.
        """
        call_id = getattr(event, "call_id", None)
        route = self._routes.get(call_id) if isinstance(call_id, str) else None
        if route is None:
            return
        done = getattr(event, "done", 0)
        total = getattr(event, "total", 0)
        message = str(getattr(event, "message", ""))[:1024] or None
        if not isinstance(done, int | float) or not isinstance(total, int | float):
            return

        def schedule() -> None:
            task = route.loop.create_task(self._send_progress(route, done, total or None, message))
            route.tasks.add(task)

        try:
            route.loop.call_soon_threadsafe(schedule)
        except RuntimeError:  # the loop closed: the call is over
            return

    @staticmethod
    async def _send_progress(
        route: _ProgressRoute, done: float, total: float | None, message: str | None
    ) -> None:
        try:
            await route.ctx.session.report_progress(done, total, message)
        except Exception:  # noqa: BLE001 - a lost progress note must not fail the call
            _log.debug("progress notification dropped", exc_info=True)

    # -- running ----------------------------------------------------------------------

    def initialization_options(self) -> InitializationOptions:
        return self.server.create_initialization_options(NotificationOptions(tools_changed=False))

    def tool_names(self) -> Sequence[str]:
        return sorted(self.specs())
