"""What both vendors share: tool names on the wire, argument text as a bounded object,
and how a stop reason becomes a :class:`FinishReason`."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Final

from pydantic import TypeAdapter, ValidationError

from agentor_core.bounds import JsonBoundsError, Name, check_json
from agentor_core.errors import AgentorError
from agentor_core.llm import FinishReason, ToolCallProposal
from agentor_core.tools import ToolSpec
from agentor_llm.errors import LlmCode

_WIRE_NAME: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_NAME: Final = TypeAdapter(Name)
MAX_ARGUMENT_CHARS: Final = 1024 * 1024


class ToolNames:
    """Agentor tool names may hold dots; both vendors allow only ``[A-Za-z0-9_-]{1,64}``.

    Each request gets its own reversible map, so a name the model answers with
    is read back to exactly one offered tool, or kept as is (and then the
    policy refuses an unknown tool).
    """

    def __init__(self, tools: Sequence[ToolSpec]) -> None:
        self.to_wire: dict[str, str] = {}
        self.from_wire: dict[str, str] = {}
        for index, spec in enumerate(tools):
            wire = spec.name if _WIRE_NAME.fullmatch(spec.name) else _mangle(spec.name, index)
            while wire in self.from_wire:
                wire = _mangle(spec.name, index + len(self.from_wire))
            self.to_wire[spec.name] = wire
            self.from_wire[wire] = spec.name

    def wire(self, name: str) -> str:
        return self.to_wire.get(name, name)

    def local(self, wire: str) -> str:
        name = self.from_wire.get(wire, wire)
        try:
            return _NAME.validate_python(name)
        except ValidationError:
            raise AgentorError(
                LlmCode.RESPONSE_INVALID,
                f"the model proposed a tool whose name is not valid: {name[:80]!r}",
                hint="the model answered outside the offered tools; try again or change model",
            ) from None


def _mangle(name: str, index: int) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", name)
    suffix = f"_{index}"
    return cleaned[: 64 - len(suffix)] + suffix


def parse_arguments(raw: str | dict[str, Any] | None, *, tool: str) -> dict[str, Any]:
    """A proposed call's arguments as a bounded JSON object (``""`` and ``null`` mean none)."""
    if raw is None or raw == "":
        return {}
    value: Any = raw
    if isinstance(raw, str):
        if len(raw) > MAX_ARGUMENT_CHARS:
            raise AgentorError(
                LlmCode.TOOL_ARGUMENTS_INVALID,
                f"the model's arguments for {tool!r} are longer than {MAX_ARGUMENT_CHARS} chars",
            )
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise AgentorError(
                LlmCode.TOOL_ARGUMENTS_INVALID,
                f"the model's arguments for {tool!r} are not JSON: {str(exc)[:120]}",
                hint="models sometimes emit broken JSON; run again or use a stronger model",
            ) from None
    if not isinstance(value, dict):
        raise AgentorError(
            LlmCode.TOOL_ARGUMENTS_INVALID,
            f"the model's arguments for {tool!r} are not a JSON object",
        )
    try:
        return check_json(value)  # type: ignore[no-any-return]
    except JsonBoundsError as exc:
        raise AgentorError(
            LlmCode.TOOL_ARGUMENTS_INVALID, f"the model's arguments for {tool!r}: {exc}"
        ) from None


def proposal(call_id: str, name: str, arguments: dict[str, Any]) -> ToolCallProposal:
    try:
        return ToolCallProposal(id=call_id, name=name, arguments=arguments)
    except ValidationError as exc:
        raise AgentorError(
            LlmCode.RESPONSE_INVALID,
            f"the model's tool call is malformed: {exc.errors()[0]['msg'][:200]}",
        ) from None


def finish_reason(
    table: dict[str, FinishReason], raw: str | None, *, has_calls: bool
) -> FinishReason:
    """The vendor's stop reason read through ``table``; unknown or missing means STOP.

    Tool calls present always win: several servers answer "stop" (or "end_turn")
    alongside the calls they proposed.
    """
    if has_calls:
        return FinishReason.TOOL_CALLS
    return table.get(raw or "", FinishReason.STOP)
