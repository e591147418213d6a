"""Anthropic Messages (``POST /v1/messages``, ``anthropic-version: 2023-06-01``).

Wire format from the published API reference: ``system`` apart from
``messages``; assistant ``content`` blocks of ``text`` and ``tool_use``; tool
results as ``tool_result`` blocks in a user turn; streamed as SSE events
``message_start``, ``content_block_start``/``_delta``/``_stop``,
``message_delta``, ``message_stop`` (and ``ping``, ``error``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Final, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentor_core.bounds import MAX_TEXT_CHARS
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
from agentor_llm.transport import HttpSettings, Sleep, Transport, decode_event_json, vendor_message
from agentor_llm.wire import ToolNames, finish_reason, parse_arguments, proposal

API_VERSION: Final = "2023-06-01"
_Str = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]


class _Block(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Annotated[str, Field(max_length=64)]
    text: _Str | None = None
    id: Annotated[str, Field(max_length=128)] | None = None
    name: Annotated[str, Field(max_length=256)] | None = None
    input: dict[str, Any] | None = None


class _Usage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    input_tokens: Annotated[int, Field(ge=0)] | None = None
    output_tokens: Annotated[int, Field(ge=0)] | None = None


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"
    content: list[_Block] = Field(default_factory=list, max_length=1024)
    stop_reason: Annotated[str, Field(max_length=64)] | None = None
    usage: _Usage = Field(default_factory=_Usage)


class _Delta(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Annotated[str, Field(max_length=64)] | None = None
    text: _Str | None = None
    partial_json: _Str | None = None
    stop_reason: Annotated[str, Field(max_length=64)] | None = None


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Annotated[str, Field(max_length=64)]
    index: Annotated[int, Field(ge=0, le=1024)] | None = None
    message: _Message | None = None
    content_block: _Block | None = None
    delta: _Delta | None = None
    usage: _Usage | None = None
    error: dict[str, Any] | None = None


_STOP = {
    "end_turn": FinishReason.STOP,
    "stop_sequence": FinishReason.STOP,
    "pause_turn": FinishReason.STOP,
    "tool_use": FinishReason.TOOL_CALLS,
    "max_tokens": FinishReason.LENGTH,
    "refusal": FinishReason.CONTENT_FILTER,
}


def _invalid(what: str, exc: ValidationError) -> AgentorError:
    return AgentorError(
        LlmCode.RESPONSE_INVALID,
        f"the answer is not an Anthropic {what}: {exc.errors()[0]['msg'][:200]}",
        hint="check that base_url points at the Anthropic API (https://api.anthropic.com/v1)",
    )


class AnthropicProvider:
    """An :class:`~agentor_core.interfaces.LlmProvider` speaking Anthropic Messages over httpx."""

    def __init__(
        self,
        settings: HttpSettings,
        *,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        auth = {"anthropic-version": API_VERSION}
        if settings.api_key is not None:
            auth["x-api-key"] = settings.api_key.get_secret_value()
        self._http = Transport(settings, auth_headers=auth, sleep=sleep, transport=transport)

    def __repr__(self) -> str:
        return f"AnthropicProvider(base_url={self._http.settings.base_url!r})"

    def body(self, request: ModelRequest, names: ToolNames, *, stream: bool) -> dict[str, Any]:
        """The request body exactly as sent."""
        system = "\n\n".join(m.content for m in request.messages if m.role is Role.SYSTEM)
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_output_tokens,
            "messages": _messages(request.messages, names),
        }
        if system:
            body["system"] = system
        if request.temperature is not None:
            body["temperature"] = min(request.temperature, 1.0)
        if request.tools:
            body["tools"] = [
                {
                    "name": names.wire(spec.name),
                    "description": spec.description,
                    "input_schema": spec.input_schema,
                }
                for spec in request.tools
            ]
        if stream:
            body["stream"] = True
        return body

    async def complete(self, request: ModelRequest) -> ModelResponse:
        names = ToolNames(request.tools)
        document = await self._http.post_json("/messages", self.body(request, names, stream=False))
        try:
            message = _Message.model_validate(document)
        except ValidationError as exc:
            raise _invalid("message", exc) from None
        text = "".join(b.text or "" for b in message.content if b.type == "text")
        calls = tuple(
            _proposal(block.id, block.name, block.input, names)
            for block in message.content
            if block.type == "tool_use"
        )
        return ModelResponse(
            message=ChatMessage(role=Role.ASSISTANT, content=text, tool_calls=calls),
            finish_reason=finish_reason(_STOP, message.stop_reason, has_calls=bool(calls)),
            usage=Usage(
                input_tokens=message.usage.input_tokens or 0,
                output_tokens=message.usage.output_tokens or 0,
            ),
        )

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelDelta]:
        names = ToolNames(request.tools)
        state = _StreamState(names)
        body = self.body(request, names, stream=True)
        async for raw in self._http.post_stream("/messages", body):
            if raw.event == "ping":
                continue
            try:
                event = _Event.model_validate(decode_event_json(raw))
            except ValidationError as exc:
                raise _invalid("stream event", exc) from None
            for delta in state.handle(event):
                yield delta
            if state.stopped:
                break
        if not state.stopped:
            raise AgentorError(
                LlmCode.RESPONSE_INVALID,
                "the stream ended before message_stop",
                hint="the connection may have been cut; run again",
            )
        yield ModelDelta(final=state.response())


class _StreamState:
    """What the events of one streamed message have said so far."""

    def __init__(self, names: ToolNames) -> None:
        self.names = names
        self.text: list[str] = []
        self.size = 0
        self.blocks: dict[int, dict[str, str]] = {}
        self.calls: list[ToolCallProposal] = []
        self.stop: str | None = None
        self.input_tokens = 0
        self.output_tokens = 0
        self.stopped = False

    def handle(self, event: _Event) -> list[ModelDelta]:
        if event.type == "error":
            message = vendor_message(json.dumps({"error": event.error or {}}).encode())
            raise AgentorError(
                LlmCode.UNAVAILABLE,
                f"the model endpoint failed while streaming: {message}",
                hint="the provider is having trouble; try again later",
            )
        if event.type == "message_start" and event.message is not None:
            self.input_tokens = event.message.usage.input_tokens or 0
            self.output_tokens = event.message.usage.output_tokens or 0
        elif event.type == "content_block_start" and event.content_block is not None:
            block = event.content_block
            self.blocks[event.index or 0] = {
                "type": block.type,
                "id": block.id or "",
                "name": block.name or "",
                "json": "",
            }
            if block.type == "text" and block.text:
                return [self._text(block.text)]
        elif event.type == "content_block_delta" and event.delta is not None:
            return self._delta(event.index or 0, event.delta)
        elif event.type == "content_block_stop":
            slot = self.blocks.get(event.index or 0)
            if slot is not None and slot["type"] == "tool_use":
                arguments = parse_arguments(slot["json"], tool=slot["name"])
                call = _proposal(slot["id"], slot["name"], arguments, self.names)
                self.calls.append(call)
                return [ModelDelta(tool_call=call)]
        elif event.type == "message_delta":
            if event.delta is not None and event.delta.stop_reason:
                self.stop = event.delta.stop_reason
            if event.usage is not None and event.usage.output_tokens is not None:
                self.output_tokens = event.usage.output_tokens
            if event.usage is not None and event.usage.input_tokens is not None:
                self.input_tokens = event.usage.input_tokens
        elif event.type == "message_stop":
            self.stopped = True
        return []

    def _text(self, piece: str) -> ModelDelta:
        self.size += len(piece)
        if self.size > MAX_TEXT_CHARS:
            raise AgentorError(LlmCode.RESPONSE_TOO_LARGE, "the streamed text is too long")
        self.text.append(piece)
        return ModelDelta(text=piece)

    def _delta(self, index: int, delta: _Delta) -> list[ModelDelta]:
        if delta.type == "text_delta" and delta.text:
            return [self._text(delta.text)]
        if delta.type == "input_json_delta" and delta.partial_json is not None:
            slot = self.blocks.get(index)
            if slot is None:
                raise AgentorError(
                    LlmCode.RESPONSE_INVALID, "input_json_delta before its content_block_start"
                )
            slot["json"] += delta.partial_json
            if len(slot["json"]) > MAX_TEXT_CHARS:
                raise AgentorError(LlmCode.RESPONSE_TOO_LARGE, "a streamed tool call is too long")
        return []

    def response(self) -> ModelResponse:
        return ModelResponse(
            message=ChatMessage(
                role=Role.ASSISTANT, content="".join(self.text), tool_calls=tuple(self.calls)
            ),
            finish_reason=finish_reason(_STOP, self.stop, has_calls=bool(self.calls)),
            usage=Usage(input_tokens=self.input_tokens, output_tokens=self.output_tokens),
        )


def _proposal(
    call_id: str | None, name: str | None, arguments: Any, names: ToolNames
) -> ToolCallProposal:
    if not call_id or not name:
        raise AgentorError(LlmCode.RESPONSE_INVALID, "a tool_use block has no id or name")
    local = names.local(name)
    if isinstance(arguments, str):
        return proposal(call_id, local, parse_arguments(arguments, tool=local))
    return proposal(call_id, local, parse_arguments(arguments if arguments else None, tool=local))


def _messages(messages: tuple[ChatMessage, ...], names: ToolNames) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role is Role.SYSTEM:
            continue
        if message.role is Role.ASSISTANT:
            blocks: list[dict[str, Any]] = []
            if message.content:
                blocks.append({"type": "text", "text": message.content})
            blocks.extend(
                {"type": "tool_use", "id": c.id, "name": names.wire(c.name), "input": c.arguments}
                for c in message.tool_calls
            )
            out.append({"role": "assistant", "content": blocks or [{"type": "text", "text": ""}]})
            continue
        if message.role is Role.TOOL:
            block: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id or "",
                "content": message.content,
            }
        else:
            block = {"type": "text", "text": message.content}
        # Tool results for one assistant turn go back in one user turn, as the API requires.
        if out and out[-1]["role"] == "user":
            out[-1]["content"].append(block)
        else:
            out.append({"role": "user", "content": [block]})
    return out
