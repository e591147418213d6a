"""A provider that plays back a file of turns: deterministic tests and offline demos.

Nothing is generated: turn *n* of the script answers the *n*-th request. The
requests it was sent are kept in ``requests`` so a test can check exactly what
a model would have seen.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentor_core.bounds import BoundedJsonObject, Name, Text
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
from agentor_llm.errors import LlmCode

MAX_SCRIPT_BYTES: Final = 16 * 1024 * 1024


class ScriptedCall(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Name
    arguments: BoundedJsonObject = Field(default_factory=dict)
    id: Annotated[str, Field(min_length=1, max_length=128)] | None = None


class ScriptedTurn(BaseModel):
    """One answer: text, tool calls, or both; usage as the script says (default: none)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: Text = ""
    tool_calls: tuple[ScriptedCall, ...] = Field(default=(), max_length=128)
    usage: Usage = Field(default_factory=Usage)
    finish_reason: FinishReason | None = None


class Script(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    turns: tuple[ScriptedTurn, ...] = Field(min_length=1, max_length=100_000)


def load_script(path: Path) -> Script:
    """Read a script from a ``.toml`` or ``.json`` file (``turns = [...]``)."""
    try:
        if path.stat().st_size > MAX_SCRIPT_BYTES:
            raise OSError(f"larger than {MAX_SCRIPT_BYTES} bytes")
        raw = path.read_bytes()
    except OSError as exc:
        raise AgentorError(
            LlmCode.SCRIPT_INVALID,
            f"the script {path} cannot be read ({exc})",
            hint="point model.script at a TOML or JSON file of [[turns]]",
        ) from None
    try:
        if path.suffix.lower() == ".json":
            document = json.loads(raw)
        else:
            document = tomllib.loads(raw.decode("utf-8"))
        return Script.model_validate(document)
    except (ValueError, UnicodeDecodeError) as exc:
        detail = exc.errors()[0] if isinstance(exc, ValidationError) else None
        where = ".".join(str(p) for p in detail["loc"]) if detail else ""
        what = detail["msg"] if detail else str(exc)
        raise AgentorError(
            LlmCode.SCRIPT_INVALID,
            f"the script {path} is not valid: {where + ': ' if where else ''}{what[:300]}",
            hint='each [[turns]] has text = "..." and/or [[turns.tool_calls]] (name, arguments)',
        ) from None


class ScriptedProvider:
    """An :class:`~agentor_core.interfaces.LlmProvider` that answers from a script."""

    def __init__(self, turns: Sequence[ScriptedTurn]) -> None:
        self._turns = tuple(turns)
        self._next = 0
        self.requests: list[ModelRequest] = []

    @classmethod
    def from_file(cls, path: Path) -> ScriptedProvider:
        return cls(load_script(path).turns)

    @property
    def remaining(self) -> int:
        return len(self._turns) - self._next

    def _take(self, request: ModelRequest) -> ModelResponse:
        if self._next >= len(self._turns):
            raise AgentorError(
                LlmCode.SCRIPT_EXHAUSTED,
                f"the script has {len(self._turns)} turn(s) and a turn more was asked for",
                hint="add a final [[turns]] with only text, which ends the run",
            )
        number = self._next
        turn = self._turns[number]
        self._next += 1
        self.requests.append(request)
        calls = tuple(
            ToolCallProposal(
                id=call.id or f"call_{number}_{i}", name=call.name, arguments=call.arguments
            )
            for i, call in enumerate(turn.tool_calls)
        )
        finish = turn.finish_reason or (FinishReason.TOOL_CALLS if calls else FinishReason.STOP)
        return ModelResponse(
            message=ChatMessage(role=Role.ASSISTANT, content=turn.text, tool_calls=calls),
            finish_reason=finish,
            usage=turn.usage,
        )

    async def complete(self, request: ModelRequest) -> ModelResponse:
        return self._take(request)

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelDelta]:
        response = self._take(request)
        # Word by word, so a caller's streaming path is exercised as with a real model.
        words = response.message.content.split(" ")
        for index, word in enumerate(words):
            piece = word if index == len(words) - 1 else word + " "
            if piece:
                yield ModelDelta(text=piece)
        for call in response.message.tool_calls:
            yield ModelDelta(tool_call=call)
        yield ModelDelta(final=response)
