"""The built-in tools of an agent with ``[memory]``: ``memory.remember`` and ``memory.recall``.

They run in the host, not in a sandbox, but they are tool calls like any other:
proposed by the model, labelled, decided by the policy (rule names
``memory.remember`` and ``memory.recall``; a policy that names neither denies
both with ``default.deny``), approved when the policy asks, and audited before
and after.

Provenance is the point. ``remember`` stores the text with the labels the
runtime computed for its ``text`` argument, exactly as for any argument: text
copied from a web page stays untrusted. ``recall`` returns records carrying
the labels they were stored with, so recalled untrusted text taints the
context, and every later argument it could have shaped, like any untrusted
tool output. The model chooses neither the namespace nor the labels.

The store is any :class:`~agentor_core.interfaces.MemoryStore`, composed by the
caller (agentor-cli opens agentor-memory's SQLite store); the runtime imports
no implementation.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentor_core.errors import AgentorError, ToolError
from agentor_core.interfaces import MemoryStore
from agentor_core.labels import Label, LabelSet, Source
from agentor_core.memory import MemoryRecord
from agentor_core.tools import TextContent, ToolCall, ToolResult, ToolSpec
from agentor_runtime.codes import RuntimeCode

REMEMBER: Final = "memory.remember"
RECALL: Final = "memory.recall"
MEMORY_TOOLS: Final = frozenset({REMEMBER, RECALL})
NAMESPACE_PATTERN: Final = r"^[A-Za-z0-9_][A-Za-z0-9_.:\-]{0,127}$"
MAX_QUERY_CHARS: Final = 1024
_HOST: Final = LabelSet.of(Label.of(Source.SYSTEM))


class MemoryConfig(BaseModel):
    """An agent's ``[memory]`` table: where it remembers, and how much one recall returns."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    namespace: Annotated[str, Field(pattern=NAMESPACE_PATTERN)]
    """Fixed by the operator: the model can neither read nor write another namespace."""
    recall: Annotated[int, Field(ge=1, le=50)] = 5
    """At most this many records per ``memory.recall``."""


class _RememberArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
    text: Annotated[str, Field(min_length=1, max_length=64 * 1024)]


class _RecallArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
    query: Annotated[str, Field(max_length=MAX_QUERY_CHARS)]


def memory_specs(config: MemoryConfig) -> list[ToolSpec]:
    """The tools offered to an agent with ``[memory]``."""
    return [
        ToolSpec(
            name=REMEMBER,
            description=(
                "Remember a short text for later runs (a fact, a preference, a decision). "
                "It keeps the trust of where it came from."
            ),
            input_schema={
                "type": "object",
                "properties": {"text": {"type": "string", "maxLength": 64 * 1024}},
                "required": ["text"],
                "additionalProperties": False,
            },
        ),
        ToolSpec(
            name=RECALL,
            description=(
                f"Recall up to {config.recall} remembered texts matching the words of a query "
                "(an empty query gives the newest)."
            ),
            input_schema={
                "type": "object",
                "properties": {"query": {"type": "string", "maxLength": MAX_QUERY_CHARS}},
                "required": ["query"],
                "additionalProperties": False,
            },
        ),
    ]


def _error(call: ToolCall, code: str, message: str, hint: str | None = None) -> ToolResult:
    return ToolResult(
        call_id=call.id, error=ToolError(code=code, message=message, hint=hint), labels=_HOST
    )


async def run_memory_tool(
    store: MemoryStore | None,
    config: MemoryConfig,
    call: ToolCall,
    *,
    agent: str,
    clock: Callable[[], datetime],
) -> ToolResult:
    """Run an allowed ``memory.*`` call. The result's labels are final (not joined by source).

    ``remember``: the host's confirmation (labelled system). ``recall``: the
    records, labelled with the join of their stored labels. Errors come back
    as results, never raised: the model reads the code.
    """
    if store is None:
        return _error(
            call,
            RuntimeCode.MEMORY_UNAVAILABLE,
            "this agent has [memory] but the runner was given no memory store",
            hint="install agentor-memory (agentor run composes it), or pass Runner(memory=...)",
        )
    try:
        if call.tool == REMEMBER:
            text = _RememberArgs.model_validate(call.arguments).text
            record = MemoryRecord(
                id=secrets.token_hex(16),
                namespace=config.namespace,
                text=text,
                # What the runtime found for the argument; else, as for every argument
                # it cannot trace, everything in the context.
                labels=call.labels.get("text", call.context_labels),
                created_at=clock(),
                metadata={"agent": agent, "call_id": call.id},
            )
            await asyncio.to_thread(store.add, record)
            trust = "trusted" if record.labels.is_trusted else "untrusted"
            return ToolResult(
                call_id=call.id,
                content=(TextContent(text=f"remembered as {record.id} ({trust})"),),
                labels=_HOST,
            )
        query = _RecallArgs.model_validate(call.arguments).query
        found = await asyncio.to_thread(store.search, config.namespace, query, limit=config.recall)
    except ValidationError as exc:
        detail = exc.errors()[0]
        where = ".".join(str(part) for part in detail["loc"]) or "arguments"
        return _error(
            call,
            RuntimeCode.MEMORY_INVALID,
            f"{call.tool}: {where}: {detail['msg'][:200]}",
            hint='memory.remember takes {"text": "..."}; memory.recall takes {"query": "..."}',
        )
    except AgentorError as exc:
        return ToolResult(call_id=call.id, error=exc.error, labels=_HOST)
    except Exception as exc:  # noqa: BLE001 - a store's own bug becomes this call's error
        return _error(
            call, RuntimeCode.MEMORY_UNAVAILABLE, f"the memory store failed ({type(exc).__name__})"
        )
    records = [record for record in found if record.namespace == config.namespace]
    if not records:
        return ToolResult(
            call_id=call.id, content=(TextContent(text="nothing remembered matches"),), labels=_HOST
        )
    labels = LabelSet()
    blocks = []
    for record in records[: config.recall]:
        # Trust only goes down: one untrusted record makes the whole recall untrusted.
        labels = labels.join(record.labels)
        trust = "trusted" if record.labels.is_trusted else "untrusted"
        stamp = record.created_at.isoformat(timespec="seconds")
        blocks.append(TextContent(text=f"[memory {record.id}, {stamp}, {trust}]\n{record.text}"))
    return ToolResult(call_id=call.id, content=tuple(blocks), labels=labels)
