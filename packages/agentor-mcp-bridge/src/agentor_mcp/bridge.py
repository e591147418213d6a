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
import warnings
import weakref
from collections.abc import Callable, Collection, Coroutine, Mapping, Sequence
from contextvars import ContextVar
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
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError, NoBackChannelError
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
from agentor_mcp import outside_catalog
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
from agentor_mcp.catalog import PromptBook, RenderedMessage, ResourceBody, ResourceStore
from agentor_mcp.codes import McpCode
from agentor_mcp.content import call_result, error_result, mcp_tool, unwrap_content
from agentor_mcp.outside_catalog import OutsideCatalog
from agentor_mcp.proxy import OutsideServers
from agentor_mcp.schemas import (
    MAX_PATTERN_CHARS,
    PatternRefusedError,
    SafeValidator,
    check_patterns,
)

_log = logging.getLogger(__name__)

DEFAULT_APPROVAL_TTL_SECONDS: Final = 300
DEFAULT_APPROVAL_TIMEOUT_SECONDS: Final = 300.0
_USER: Final = LabelSet.of(Label.of(Source.USER))
_TRUSTED_OUTPUT: Final = LabelSet.of(Label.of(Source.TRUSTED_TOOL))
_PROBE_ID: Final = "mcp-tools-list-probe"
_NAME_RE: Final = re.compile(NAME_PATTERN)
_LEVELS: Final[tuple[types.LoggingLevel, ...]] = (
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
)
DEFAULT_LOG_LEVEL: Final[types.LoggingLevel] = "info"
MAX_LOG_MESSAGE_CHARS: Final = 16 * 1024
MAX_SUBSCRIPTIONS: Final = 1024


def utc_now() -> datetime:
    return datetime.now(UTC)


def _error(code: str, message: str, hint: str | None = None) -> ToolError:
    return AgentorError(code, message, hint=hint).error


MAX_CACHED_VALIDATORS: Final = 1024
_VALIDATORS: dict[int, tuple[object, Any]] = {}


def _validator(schema: dict[str, Any]) -> Any:
    """A checked ``SafeValidator`` for ``schema``, kept while that schema object lives.

    Keyed by identity: a spec's schema is the same object on every call, and the
    entry holds it, so its id cannot be reused by another schema while cached.
    Raises as ``check_patterns`` does; refusals are not cached.
    """
    entry = _VALIDATORS.get(id(schema))
    if entry is not None and entry[0] is schema:
        return entry[1]
    check_patterns(schema)
    validator = SafeValidator(schema)
    if len(_VALIDATORS) >= MAX_CACHED_VALIDATORS:
        _VALIDATORS.clear()
    _VALIDATORS[id(schema)] = (schema, validator)
    return validator


def _runtime_failed(call: ToolCall, exc: Exception) -> ToolResult:
    return ToolResult(
        call_id=call.id,
        error=_error(
            McpCode.RUNTIME_FAILED,
            f"the tool runtime failed ({type(exc).__name__}); nothing was returned",
            "report this with the tool and the policy that caused it",
        ),
    )


_LIST_CHANGED: Final = NotificationOptions(
    tools_changed=True, prompts_changed=True, resources_changed=True
)


class _ListChangingServer(Server[Any]):
    """Advertises ``listChanged`` on every transport: a reload announces itself.

    The streamable-HTTP app builds its initialize answer from this method's
    defaults, so the override is how HTTP clients learn it too.
    """

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        return super().create_initialization_options(
            notification_options or _LIST_CHANGED, experimental_capabilities, extensions
        )


@dataclass(frozen=True, slots=True)
class Toolbox:
    """Everything a reload may replace, swapped as one object.

    A request reads the toolbox once when it starts (a context variable pins it),
    so a call never mixes the old policy with the new tools or the reverse.
    """

    runtime: ToolRuntime
    policy: PolicyEngine
    overrides: Mapping[str, ToolSpec] = field(default_factory=dict)
    resources: ResourceStore | None = None
    prompts: PromptBook | None = None
    content_tools: frozenset[str] = frozenset()


_PINNED: ContextVar[Toolbox | None] = ContextVar("agentor_mcp_toolbox", default=None)


_Send = Callable[[], Coroutine[Any, Any, None]]


@dataclass(slots=True)
class _ProgressRoute:
    """Where a running call's progress and log notifications go (used on the event loop)."""

    loop: asyncio.AbstractEventLoop
    ctx: ServerRequestContext[Any, Any]
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    held: list[_Send] | None = None
    """Notifications kept back until the call's decision is committed (see ``_one_commit``)."""

    def start(self, send: _Send) -> None:
        if self.held is not None:
            self.held.append(send)
            return
        self.tasks.add(self.loop.create_task(send()))

    def release(self) -> None:
        held, self.held = self.held or [], None
        for send in held:
            self.tasks.add(self.loop.create_task(send()))


@dataclass(frozen=True, slots=True)
class _Decided:
    """A call whose decision is audited and whose rest needs the event loop (an approval)."""

    spec: ToolSpec
    call: ToolCall
    decision: Decision
    pending: Pending | None


DEFAULT_CALL_THREADS: Final = 4
"""tools/call handled at once, each on one worker thread (policy, audit, sandbox)."""


def _one_commit(grant: Capabilities) -> bool:
    """Whether a call under ``grant`` can have its decision and outcome committed together.

    With no network, no secret and nothing writable, a sandboxed call has no
    effect outside its own (discarded) instance: everything it produces reaches
    the client only after the decision and the outcome are durable in one
    transaction, so an audit log that cannot commit still means nothing happened.
    Any other grant commits the decision before the tool starts.
    """
    return not grant.network and not grant.secrets and not any(a.write for a in grant.filesystem)


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
        resources: ResourceStore | None = None,
        prompts: PromptBook | None = None,
        content_tools: Collection[str] = (),
        call_threads: int = DEFAULT_CALL_THREADS,
    ) -> None:
        # One worker-thread hop per call: policy, audit and sandbox run there together.
        self._call_limiter = anyio.CapacityLimiter(max(1, call_threads))
        self._box = Toolbox(
            runtime=runtime,
            policy=policy,
            overrides=dict(spec_overrides or {}),
            resources=resources,
            prompts=prompts,
            content_tools=frozenset(content_tools),
        )
        self._connections: weakref.WeakSet[Any] = weakref.WeakSet()
        self._audit = audit
        self._channel = approval_channel
        self._clock = clock
        ttl = approval_ttl_seconds or getattr(policy, "approval_ttl_seconds", None)
        self._approval_ttl = (
            ttl if isinstance(ttl, int) and ttl > 0 else DEFAULT_APPROVAL_TTL_SECONDS
        )
        self._approval_timeout = approval_timeout_seconds
        self.pending = PendingApprovals()
        self._routes: dict[str, _ProgressRoute] = {}
        # Per connection: the level set by logging/setLevel, and subscribed URIs.
        self._log_levels: weakref.WeakKeyDictionary[object, int] = weakref.WeakKeyDictionary()
        self._subscriptions: weakref.WeakKeyDictionary[object, set[str]] = (
            weakref.WeakKeyDictionary()
        )
        with warnings.catch_warnings():
            # logging/setLevel is deprecated at 2026-07-28 but part of 2025-11-25, which
            # today's clients speak; the SDK negotiates which applies per connection.
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            self.server = self._make_server(name, instructions)

    def _make_server(self, name: str, instructions: str | None) -> Server[Any]:
        return _ListChangingServer(
            name,
            version=__version__,
            instructions=instructions,
            on_list_tools=self._on_list_tools,
            on_call_tool=self._on_call_tool,
            on_list_resources=self._on_list_resources,
            on_list_resource_templates=self._on_list_resource_templates,
            on_read_resource=self._on_read_resource,
            on_subscribe_resource=self._on_subscribe,
            on_unsubscribe_resource=self._on_unsubscribe,
            on_list_prompts=self._on_list_prompts,
            on_get_prompt=self._on_get_prompt,
            on_completion=self._on_completion,
            on_set_logging_level=self._on_set_logging_level,
        )

    # -- the toolbox and its reload ------------------------------------------------

    @property
    def toolbox(self) -> Toolbox:
        """The toolbox this request pinned, else the current one."""
        return _PINNED.get() or self._box

    @property
    def _runtime(self) -> ToolRuntime:
        return self.toolbox.runtime

    @property
    def _policy(self) -> PolicyEngine:
        return self.toolbox.policy

    @property
    def _overrides(self) -> Mapping[str, ToolSpec]:
        return self.toolbox.overrides

    @property
    def _resources(self) -> ResourceStore | None:
        return self.toolbox.resources

    @property
    def _prompts(self) -> PromptBook | None:
        return self.toolbox.prompts

    @property
    def _content_tools(self) -> frozenset[str]:
        return self.toolbox.content_tools

    def replace_toolbox(self, toolbox: Toolbox) -> Toolbox:
        """Serve ``toolbox`` from now on (one assignment: atomic); returns the old one.

        Requests already running finish on the toolbox they started with; close the
        old runtime only after they can have ended (its longest deadline).
        """
        old, self._box = self._box, toolbox
        return old

    async def notify_list_changed(self) -> int:
        """Tell every connected client that tools, prompts and resources may have changed.

        Returns how many connections were told. Best effort: a client that went
        away is skipped.
        """
        told = 0
        for connection in list(self._connections):
            try:
                await connection.send_tool_list_changed()
                await connection.send_prompt_list_changed()
                await connection.send_resource_list_changed()
            except Exception:  # noqa: BLE001 - a gone client must not stop the others
                _log.debug("list_changed not delivered", exc_info=True)
                continue
            told += 1
        return told

    def _seen(self, ctx: ServerRequestContext[Any, Any]) -> None:
        connection = getattr(ctx.session, "_connection", None)
        if connection is not None and callable(getattr(connection, "send_tool_list_changed", None)):
            self._connections.add(connection)

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
        # Outside MCP servers are re-listed here (pins and poisoning re-checked), on
        # every tools/list; calls use that listing and never wait on a re-list.
        refresh = getattr(self._runtime, "refresh_tools", None)
        if callable(refresh):
            refresh()
        unconfined = getattr(self._runtime, "unconfined", None)
        for _name, spec in sorted(self.specs().items()):
            annotations = UNKNOWN_GRANT
            # An outside MCP server's tool runs in no sandbox: its grant proves nothing.
            grant = (
                None if callable(unconfined) and unconfined(spec.name) else self._probe_grant(spec)
            )
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
        self, ctx: ServerRequestContext[Any, Any], _params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        self._seen(ctx)
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
        await anyio.to_thread.run_sync(self._commit, event)

    def _commit(self, *events: AuditEvent) -> None:
        """Commit ``events`` in one transaction when the sink can (``append_many``), in order."""
        many = getattr(self._audit, "append_many", None)
        try:
            if len(events) > 1 and callable(many):
                many(list(events))
            else:
                for event in events:
                    self._audit.append(event)
        except Exception as exc:
            _log.exception("audit append failed")
            kinds = " and ".join(str(event.type) for event in events)
            raise AgentorError(
                McpCode.AUDIT_FAILED,
                f"the audit log did not commit the {kinds} event "
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
            validator = _validator(spec.input_schema)
            error = jsonschema.exceptions.best_match(validator.iter_errors(arguments))
        except PatternRefusedError as exc:
            raise AgentorError(
                McpCode.INVALID_CALL,
                f"the input schema of {spec.name} is refused: {exc}",
                hint="use patterns without back-references or look-around, at most "
                f"{MAX_PATTERN_CHARS} characters (they run on RE2, in linear time)",
            ) from None
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
                validator = _validator(spec.output_schema)
                error = jsonschema.exceptions.best_match(validator.iter_errors(data))
            except PatternRefusedError as exc:
                problem = f"the outputSchema is refused: {exc}"
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
        self._seen(ctx)
        token = _PINNED.set(self._box)
        try:
            return await self._call(ctx, params)
        except AgentorError as exc:
            return error_result(exc.error)
        finally:
            _PINNED.reset(token)

    async def _call(
        self, ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult | types.InputRequiredResult:
        route = _ProgressRoute(loop=asyncio.get_running_loop(), ctx=ctx)
        try:
            # One hop to a worker thread for policy, audit and sandbox together: each
            # hop costs a wake-up and a GIL hand-over on the request path.
            step = await anyio.to_thread.run_sync(
                self._decide_and_run, params, route, limiter=self._call_limiter
            )
        except BaseException:
            route.held = None  # nothing the call produced leaves if it was not audited
            raise
        route.release()
        if route.tasks:
            # Progress sent before the result, so clients never see it after completion.
            await asyncio.gather(*route.tasks, return_exceptions=True)
        if isinstance(step, _Decided):
            return await self._after_approval(ctx, params, step)
        return step

    def _decide_and_run(
        self, params: types.CallToolRequestParams, route: _ProgressRoute
    ) -> types.CallToolResult | _Decided:
        """On a worker thread: schema, policy, audit and (unless it must ask) the sandbox."""
        specs = self.specs()
        spec = specs.get(params.name)
        if spec is None:
            # An outside tool that is disabled (unapproved, changed, poisoned) says why.
            explain = getattr(self._runtime, "why_not_served", None)
            reason = explain(params.name) if callable(explain) else None
            if isinstance(reason, AgentorError):
                raise reason
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
        decided = self._event(AuditEventType.DECISION, call, decision)
        confined = not self._unconfined(call.tool)
        if (
            decision.verdict is Verdict.ALLOW
            and confined
            and _one_commit(decision.obligations.grant)
        ):
            route.held = []
            result = self._run_here(route, spec, call, decision)
            self._commit(decided, self._outcome(call, decision, result))
            return call_result(result, spec)
        self._commit(decided)
        if decision.verdict is Verdict.DENY:
            return error_result(
                _error(
                    McpCode.POLICY_DENIED,
                    f"policy rule {decision.rule_id!r} denied {call.tool}: {decision.reason}",
                    "ask the operator to change the policy if this call should be allowed",
                ),
                detail={"rule_id": decision.rule_id, "reason": decision.reason},
            )
        if decision.verdict is Verdict.ASK or not confined:
            # Approvals talk to the client; an outside server's tool is driven from the loop.
            return _Decided(spec, call, decision, pending)
        result = self._run_here(route, spec, call, decision)
        self._commit(self._outcome(call, decision, result))
        return call_result(result, spec)

    def _unconfined(self, name: str) -> bool:
        unconfined = getattr(self._runtime, "unconfined", None)
        return bool(unconfined(name)) if callable(unconfined) else False

    def _outcome(self, call: ToolCall, decision: Decision, result: ToolResult) -> AuditEvent:
        outcome = result.error.code if result.error is not None else "ok"
        return self._event(
            AuditEventType.RESULT,
            call,
            decision,
            outcome=outcome,
            result_digest=result.digest(),
        )

    def _finish(self, spec: ToolSpec, decision: Decision, result: ToolResult) -> ToolResult:
        if decision.obligations.trusted_output and result.error is None:
            result = result.model_copy(update={"labels": _TRUSTED_OUTPUT})
        result = self._check_output(spec, result)
        if spec.name in self._content_tools:
            result = unwrap_content(spec.name, result)
        return result

    def _run_here(
        self, route: _ProgressRoute, spec: ToolSpec, call: ToolCall, decision: Decision
    ) -> ToolResult:
        """``ToolRuntime.invoke`` on this (worker) thread, then the output checks."""
        self._routes[call.id] = route
        try:
            result = self._runtime.invoke(call, decision.obligations.grant)
        except Exception as exc:  # noqa: BLE001 - the protocol says never raise; if it does, fail closed
            _log.exception("tool runtime raised")
            result = _runtime_failed(call, exc)
        finally:
            self._routes.pop(call.id, None)
        return self._finish(spec, decision, result)

    async def _after_approval(
        self,
        ctx: ServerRequestContext[Any, Any],
        params: types.CallToolRequestParams,
        step: _Decided,
    ) -> types.CallToolResult | types.InputRequiredResult:
        spec, call, decision, pending = step.spec, step.call, step.decision, step.pending
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
        result = self._finish(spec, decision, await self._invoke(ctx, call, decision))
        await self._append(self._outcome(call, decision, result))
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
            result = _runtime_failed(call, exc)
        finally:
            self._routes.pop(call.id, None)
        if route.tasks:
            # Progress sent before the result, so clients never see it after completion.
            await asyncio.gather(*route.tasks, return_exceptions=True)
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
            route.start(lambda: self._send_progress(route, done, total or None, message))

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
        # Reloads announce themselves with list_changed notifications.
        return self.server.create_initialization_options(_LIST_CHANGED)

    def tool_names(self) -> Sequence[str]:
        return sorted(self.specs())

    # -- logging ----------------------------------------------------------------------

    @staticmethod
    def _connection_key(ctx: ServerRequestContext[Any, Any]) -> object:
        # The SDK builds a session object per request; the connection behind it lasts.
        return getattr(ctx.session, "_connection", ctx.session)

    async def _on_set_logging_level(
        self, ctx: ServerRequestContext[Any, Any], params: types.SetLevelRequestParams
    ) -> types.EmptyResult:
        self._log_levels[self._connection_key(ctx)] = _LEVELS.index(params.level)
        return types.EmptyResult()

    def log_handler(self) -> logging.Handler:
        """A handler that forwards a running call's log records to its client.

        Attach it to the logger the runtime writes tool logs to (agentor-sandbox:
        ``agentor_sandbox.tool``); records must carry ``call_id``. Each becomes an
        MCP ``notifications/message`` on that call's request, if at or above the
        level the client set (default ``info``).
        """
        return _ForwardLogs(self)

    def forward_log(self, call_id: str, level: types.LoggingLevel, message: str) -> None:
        route = self._routes.get(call_id)
        if route is None:
            return
        key = self._connection_key(route.ctx)
        threshold = self._log_levels.get(key, _LEVELS.index(DEFAULT_LOG_LEVEL))
        if _LEVELS.index(level) < threshold:
            return
        text = message[:MAX_LOG_MESSAGE_CHARS]

        def schedule() -> None:
            route.start(lambda: self._send_log(route, level, text))

        try:
            route.loop.call_soon_threadsafe(schedule)
        except RuntimeError:  # the loop closed: the call is over
            return

    @staticmethod
    async def _send_log(route: _ProgressRoute, level: types.LoggingLevel, text: str) -> None:
        try:
            await route.ctx.session.send_log_message(
                level, text, logger="tool", related_request_id=route.ctx.request_id
            )
        except Exception:  # noqa: BLE001 - a lost log note must not fail the call
            _log.debug("log notification dropped", exc_info=True)

    # -- resources --------------------------------------------------------------------

    def _catalog(self) -> OutsideCatalog | None:
        """Outside servers' resources and prompts, when the toolbox fronts any."""
        runtime: Any = self._runtime
        outside = (
            runtime if isinstance(runtime, OutsideServers) else getattr(runtime, "outside", None)
        )
        return OutsideCatalog(outside) if isinstance(outside, OutsideServers) else None

    async def _on_list_resources(
        self, _ctx: ServerRequestContext[Any, Any], _params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        entries = self._resources.section.files if self._resources else ()
        catalog = self._catalog()
        outside = await anyio.to_thread.run_sync(catalog.resources) if catalog else []
        return types.ListResourcesResult(
            resources=[
                *(
                    types.Resource(
                        uri=e.uri,
                        name=e.name,
                        title=e.title,
                        description=e.description,
                        mime_type=e.mime_type,
                    )
                    for e in entries
                ),
                *outside,
            ]
        )

    def _outside_read(
        self, catalog: OutsideCatalog, server: str, action: str, arguments: dict[str, Any]
    ) -> tuple[ToolCall, Decision]:
        """Policy and audit for reading from an outside server: ``server.<action>`` as a call."""
        call = self._build_call(f"{server}.{action}", arguments)
        try:
            decision = self._policy.decide(call, self._context())
        except Exception as exc:
            _log.exception("policy engine failed")
            raise AgentorError(
                McpCode.POLICY_DENIED,
                f"the policy engine failed ({type(exc).__name__}); the read was refused",
                hint="check the policy with 'agentor policy check', then retry",
            ) from exc
        self._commit(self._event(AuditEventType.DECISION, call, decision))
        if decision.verdict is Verdict.DENY:
            raise AgentorError(
                McpCode.POLICY_DENIED,
                f"policy rule {decision.rule_id!r} denied {call.tool}: {decision.reason}",
                hint="ask the operator to allow it in the policy if this read should be allowed",
            )
        if decision.verdict is not Verdict.ALLOW:
            raise AgentorError(
                McpCode.APPROVAL_UNAVAILABLE,
                f"policy rule {decision.rule_id!r} asks before {call.tool}; reads of outside "
                "resources and prompts are allowed or denied by the policy, never asked",
                hint="allow or deny this read in the policy",
            )
        return call, decision

    def _read_outside(self, catalog: OutsideCatalog, server: str, uri: str) -> list[Any]:
        if server not in catalog.outside.server_names:
            raise AgentorError(
                McpCode.RESOURCE_NOT_FOUND,
                f"no outside server {server[:64]!r} is configured",
                hint="call resources/list for the resources served",
            )
        call, decision = self._outside_read(
            catalog, server, outside_catalog.READ_RESOURCE, {"uri": uri}
        )
        try:
            contents = catalog.read(server, uri, decision.obligations.grant.limits.result_bytes)
        except AgentorError as exc:
            self._commit(self._event(AuditEventType.RESULT, call, decision, outcome=exc.code))
            raise
        digest = sha256_hex(canonical_json([c.model_dump(mode="json") for c in contents]))
        self._commit(
            self._event(AuditEventType.RESULT, call, decision, outcome="ok", result_digest=digest)
        )
        return contents

    async def _on_list_resource_templates(
        self, _ctx: ServerRequestContext[Any, Any], _params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        entries = self._resources.section.templates if self._resources else ()
        return types.ListResourceTemplatesResult(
            resource_templates=[
                types.ResourceTemplate(
                    uri_template=e.uri_template,
                    name=e.name,
                    title=e.title,
                    description=e.description,
                    mime_type=e.mime_type,
                )
                for e in entries
            ]
        )

    def _read(self, uri: str) -> ResourceBody:
        if self._resources is None:
            raise AgentorError(
                McpCode.RESOURCE_NOT_FOUND,
                "this server serves no resources",
                hint="add a [resources] section to agentor.toml",
            )
        return self._resources.read(uri)

    async def _on_read_resource(
        self, _ctx: ServerRequestContext[Any, Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        outside = outside_catalog.parse_served_uri(str(params.uri))
        catalog = self._catalog() if outside is not None else None
        if outside is not None and catalog is not None:
            try:
                contents = await anyio.to_thread.run_sync(
                    self._read_outside, catalog, outside[0], outside[1]
                )
            except AgentorError as exc:
                raise _rpc_error(exc, RESOURCE_NOT_FOUND_RPC) from None
            return types.ReadResourceResult(contents=contents)
        try:
            body = await anyio.to_thread.run_sync(self._read, str(params.uri))
        except AgentorError as exc:
            raise _rpc_error(exc, RESOURCE_NOT_FOUND_RPC) from None
        content: types.TextResourceContents | types.BlobResourceContents
        if body.text is not None:
            content = types.TextResourceContents(
                uri=body.uri, mime_type=body.mime_type, text=body.text
            )
        else:
            content = types.BlobResourceContents(
                uri=body.uri, mime_type=body.mime_type, blob=body.blob or ""
            )
        return types.ReadResourceResult(contents=[content])

    async def _on_subscribe(
        self, ctx: ServerRequestContext[Any, Any], params: types.SubscribeRequestParams
    ) -> types.EmptyResult:
        uris = self._subscriptions.setdefault(self._connection_key(ctx), set())
        if len(uris) >= MAX_SUBSCRIPTIONS:
            raise MCPError(
                types.INVALID_PARAMS, f"at most {MAX_SUBSCRIPTIONS} subscriptions per connection"
            )
        uris.add(str(params.uri)[:8192])
        return types.EmptyResult()

    async def _on_unsubscribe(
        self, ctx: ServerRequestContext[Any, Any], params: types.UnsubscribeRequestParams
    ) -> types.EmptyResult:
        self._subscriptions.get(self._connection_key(ctx), set()).discard(str(params.uri))
        return types.EmptyResult()

    # -- prompts and completion ---------------------------------------------------------

    async def _on_list_prompts(
        self, _ctx: ServerRequestContext[Any, Any], _params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        entries = self._prompts.prompts.values() if self._prompts else ()
        catalog = self._catalog()
        outside = await anyio.to_thread.run_sync(catalog.prompts) if catalog else []
        return types.ListPromptsResult(
            prompts=[
                types.Prompt(
                    name=p.name,
                    title=p.title,
                    description=p.description,
                    arguments=[
                        types.PromptArgument(
                            name=a.name, description=a.description, required=a.required
                        )
                        for a in p.arguments
                    ],
                )
                for p in entries
            ]
            + outside
        )

    def _get_outside_prompt(
        self, catalog: OutsideCatalog, name: str, arguments: dict[str, str] | None
    ) -> types.GetPromptResult:
        server, _dot, prompt = name.partition(".")
        call, decision = self._outside_read(
            catalog,
            server,
            outside_catalog.GET_PROMPT,
            {"name": prompt, "arguments": dict(arguments or {})},
        )
        limit = decision.obligations.grant.limits.result_bytes
        try:
            result = catalog.get_prompt(server, prompt, arguments, limit)
        except AgentorError as exc:
            self._commit(self._event(AuditEventType.RESULT, call, decision, outcome=exc.code))
            raise
        digest = sha256_hex(canonical_json(result.model_dump(mode="json", by_alias=True)))
        self._commit(
            self._event(AuditEventType.RESULT, call, decision, outcome="ok", result_digest=digest)
        )
        return result

    async def _on_get_prompt(
        self, _ctx: ServerRequestContext[Any, Any], params: types.GetPromptRequestParams
    ) -> types.GetPromptResult:
        catalog = self._catalog()
        if catalog is not None and catalog.outside.owns(params.name):
            try:
                return await anyio.to_thread.run_sync(
                    self._get_outside_prompt, catalog, params.name, params.arguments
                )
            except AgentorError as exc:
                raise _rpc_error(exc, types.INVALID_PARAMS) from None
        if self._prompts is None:
            raise MCPError(types.INVALID_PARAMS, "this server serves no prompts")
        book = self._prompts
        try:
            messages = await anyio.to_thread.run_sync(book.render, params.name, params.arguments)
        except AgentorError as exc:
            raise _rpc_error(exc, types.INVALID_PARAMS) from None
        entry = book.prompts[params.name]
        return types.GetPromptResult(
            description=entry.description or None,
            messages=[_prompt_message(m) for m in messages],
        )

    async def _on_completion(
        self, _ctx: ServerRequestContext[Any, Any], params: types.CompleteRequestParams
    ) -> types.CompleteResult:
        ref = params.ref
        prefix = params.argument.value
        values: list[str] = []
        if isinstance(ref, types.PromptReference) and self._prompts is not None:
            values = self._prompts.complete(ref.name, params.argument.name, prefix)
        elif isinstance(ref, types.ResourceTemplateReference) and self._resources is not None:
            values = self._resources.complete(ref.uri, params.argument.name, prefix)
        return types.CompleteResult(
            completion=types.Completion(values=values, total=len(values), has_more=False)
        )


RESOURCE_NOT_FOUND_RPC: Final = -32002
"""MCP's JSON-RPC error code for an unknown resource."""


def _rpc_error(exc: AgentorError, code: int) -> MCPError:
    if exc.code != McpCode.RESOURCE_NOT_FOUND and code == RESOURCE_NOT_FOUND_RPC:
        code = types.INVALID_PARAMS
    return MCPError(code, f"[{exc.code}] {exc.message}", data={"code": str(exc.code)})


def _prompt_message(message: RenderedMessage) -> types.PromptMessage:
    content: types.TextContent | types.ImageContent | types.EmbeddedResource
    if message.kind == "image":
        content = types.ImageContent(data=message.data, mime_type=message.mime_type)
    elif message.kind == "resource":
        content = types.EmbeddedResource(
            resource=types.TextResourceContents(
                uri=message.uri, mime_type=message.mime_type, text=message.text
            )
        )
    else:
        content = types.TextContent(text=message.text)
    return types.PromptMessage(role=message.role, content=content)


_PY_TO_MCP: Final[dict[int, types.LoggingLevel]] = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warning",
    logging.ERROR: "error",
    logging.CRITICAL: "critical",
}


class _ForwardLogs(logging.Handler):
    def __init__(self, bridge: AgentorBridge) -> None:
        super().__init__(logging.DEBUG)
        self._bridge = bridge

    def emit(self, record: logging.LogRecord) -> None:
        call_id = getattr(record, "call_id", None)
        if not isinstance(call_id, str):
            return
        fallback: types.LoggingLevel = "info" if record.levelno < logging.ERROR else "error"
        level = _PY_TO_MCP.get(record.levelno, fallback)
        try:
            # The sandbox logs "tool log %r": the guest's line as a quoted Python literal,
            # so control characters and terminal escapes arrive inert.
            message = record.getMessage()
        except (TypeError, ValueError):
            return
        self._bridge.forward_log(call_id, level, message)
