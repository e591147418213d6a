"""Messages to and from a language model, independent of any vendor's wire format."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from agentor_core.bounds import BoundedJsonObject, Name, Text
from agentor_core.labels import LabelSet
from agentor_core.tools import ToolSpec

MAX_MESSAGES: Final = 4096


class Role(StrEnum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


class ToolCallProposal(BaseModel):
    """A tool call the model proposed. A proposal, never an order: policy decides."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    name: Name
    arguments: BoundedJsonObject = Field(default_factory=dict)


class ChatMessage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role
    content: Text = ""
    tool_calls: tuple[ToolCallProposal, ...] = Field(default=(), max_length=128)
    tool_call_id: Annotated[str, StringConstraints(max_length=128)] | None = None
    labels: LabelSet = Field(default_factory=LabelSet)
    """Provenance of ``content``; never sent to the model."""


class Usage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    input_tokens: Annotated[int, Field(ge=0)] = 0
    output_tokens: Annotated[int, Field(ge=0)] = 0


class ModelRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    model: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    messages: tuple[ChatMessage, ...] = Field(max_length=MAX_MESSAGES)
    tools: tuple[ToolSpec, ...] = Field(default=(), max_length=1024)
    max_output_tokens: Annotated[int, Field(ge=1, le=1_000_000)] = 4096
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None


class FinishReason(StrEnum):
    STOP = "stop"
    TOOL_CALLS = "tool_calls"
    LENGTH = "length"
    CONTENT_FILTER = "content_filter"


class ModelResponse(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    message: ChatMessage
    finish_reason: FinishReason
    usage: Usage = Field(default_factory=Usage)


class ModelDelta(BaseModel):
    """One streamed piece: text, a complete tool call, or the final response."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: Text = ""
    tool_call: ToolCallProposal | None = None
    final: ModelResponse | None = None
