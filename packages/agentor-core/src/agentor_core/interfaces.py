"""The interfaces other distributions implement, as structural ``Protocol`` types.

A distribution implements one by providing a class with these methods and an
entry point in the matching group (see :mod:`agentor_core.discovery`). Nothing
here has behaviour; the contracts are in the docstrings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol, runtime_checkable

from agentor_core.audit import AuditEvent, AuditReceipt
from agentor_core.capabilities import Capabilities
from agentor_core.components import ComponentReflection
from agentor_core.decisions import ApprovalRequest, ApprovalResponse, Decision, PolicyContext
from agentor_core.egress import HttpRequest, HttpResponse
from agentor_core.llm import ModelDelta, ModelRequest, ModelResponse
from agentor_core.memory import MemoryRecord
from agentor_core.tools import ToolCall, ToolResult, ToolSpec


@runtime_checkable
class ToolRuntime(Protocol):
    """Runs tool calls, each in a fresh sandbox instance limited to ``grant``.

    Never raises for a tool's own failure: traps, exhausted limits and refused
    capabilities come back as a :class:`ToolResult` with an error code.
    """

    def list_tools(self) -> Sequence[ToolSpec]: ...

    def invoke(self, call: ToolCall, grant: Capabilities) -> ToolResult: ...

    async def invoke_async(self, call: ToolCall, grant: Capabilities) -> ToolResult:
        """As :meth:`invoke`, without blocking the event loop."""
        ...


@runtime_checkable
class PolicyEngine(Protocol):
    """Decides every call. Pure: the same call, context and policy give the same decision."""

    @property
    def policy_hash(self) -> str:
        """SHA-256 of the policy's canonical form, recorded with every decision."""
        ...

    def decide(self, call: ToolCall, context: PolicyContext) -> Decision: ...


@runtime_checkable
class ApprovalChannel(Protocol):
    """Asks a person. A channel that cannot ask must answer ``approved=False``, never allow."""

    async def request_approval(self, request: ApprovalRequest) -> ApprovalResponse: ...


@runtime_checkable
class AuditSink(Protocol):
    """An append-only, tamper-evident log. ``append`` returns only after the event is committed.

    If the event cannot be committed it raises, and the caller must refuse the
    audited action (fail closed).
    """

    def append(self, event: AuditEvent) -> AuditReceipt: ...

    def close(self) -> None: ...


@runtime_checkable
class EgressGuard(Protocol):
    """The only road out: sends ``request`` if ``grant`` allows it, else raises a refusal.

    Refusals are :class:`~agentor_core.errors.AgentorError` with an ``egress.`` code.
    The per-call request count (``grant.limits.http_requests``) is counted by the
    runtime that owns the call, since one guard serves many calls.
    """

    def send(self, request: HttpRequest, grant: Capabilities) -> HttpResponse: ...


@runtime_checkable
class SecretStore(Protocol):
    """Holds secret values for the host. Values never enter a sandbox, a log or an error."""

    def names(self) -> Sequence[str]: ...

    def exists(self, name: str) -> bool: ...

    def reveal(self, name: str) -> str | None:
        """The value, for the egress guard's substitution only; ``None`` if absent."""
        ...

    def set(self, name: str, value: str) -> None: ...

    def delete(self, name: str) -> bool: ...


@runtime_checkable
class LlmProvider(Protocol):
    """A language model. Its output is a proposal; it never runs anything itself."""

    async def complete(self, request: ModelRequest) -> ModelResponse: ...

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelDelta]: ...


@runtime_checkable
class MemoryStore(Protocol):
    """Remembers records with their provenance labels intact."""

    def add(self, record: MemoryRecord) -> None: ...

    def get(self, record_id: str) -> MemoryRecord | None: ...

    def search(self, namespace: str, query: str, *, limit: int = 10) -> Sequence[MemoryRecord]: ...

    def delete(self, record_id: str) -> bool: ...


@runtime_checkable
class ComponentReflector(Protocol):
    """Reads a WASI preview 2 component's exported WIT functions as tool specs.

    Compiles but never instantiates or runs the component. Raises
    :class:`~agentor_core.errors.AgentorError` if ``wasm`` is not a component
    that compiles; an export whose types have no JSON form is listed in
    ``skipped`` with the reason, and the others are still returned.
    """

    def reflect(self, wasm: bytes, *, source: str) -> ComponentReflection: ...
