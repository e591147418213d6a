"""OpenAI-compatible Chat Completions (OpenAI, Ollama, vLLM, LM Studio, llama.cpp, OpenRouter).

Wire format from the published API reference of ``POST /v1/chat/completions``:
request ``messages``/``tools``, answer ``choices[0].message`` with
``tool_calls[].function.arguments`` as JSON text, streamed as SSE
``chat.completion.chunk`` objects ending with ``data: [DONE]``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

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
from agentor_llm.transport import HttpSettings, Sleep, Transport, decode_event_json
from agentor_llm.wire import ToolNames, finish_reason, parse_arguments, proposal

_Str = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]


class _Function(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: Annotated[str, Field(max_length=256)] | None = None
    arguments: _Str | None = None


class _ToolCall(BaseModel):
    model_config = ConfigDict(extra="ignore")
    index: int | None = None
    id: Annotated[str, Field(max_length=128)] | None = None
    type: Annotated[str, Field(max_length=32)] | None = None
    function: _Function = Field(default_factory=_Function)


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Annotated[str, Field(max_length=32)] | None = None
    content: _Str | None = None
    refusal: _Str | None = None
    tool_calls: list[_ToolCall] | None = Field(default=None, max_length=128)


class _Choice(BaseModel):
    model_config = ConfigDict(extra="ignore")
    index: int = 0
    message: _Message | None = None
    delta: _Message | None = None
    finish_reason: Annotated[str, Field(max_length=64)] | None = None


class _Usage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    prompt_tokens: Annotated[int, Field(ge=0)] = 0
    completion_tokens: Annotated[int, Field(ge=0)] = 0


class _Completion(BaseModel):
    """A ``chat.completion`` or one ``chat.completion.chunk``."""

    model_config = ConfigDict(extra="ignore")
    choices: list[_Choice] = Field(default_factory=list, max_length=16)
    usage: _Usage | None = None


_FINISH = {
    "stop": FinishReason.STOP,
    "tool_calls": FinishReason.TOOL_CALLS,
    "function_call": FinishReason.TOOL_CALLS,
    "length": FinishReason.LENGTH,
    "content_filter": FinishReason.CONTENT_FILTER,
}


def _usage(raw: _Usage | None) -> Usage:
    if raw is None:
        return Usage()
    return Usage(input_tokens=raw.prompt_tokens, output_tokens=raw.completion_tokens)


def _parse(document: Any) -> _Completion:
    try:
        return _Completion.model_validate(document)
    except ValidationError as exc:
        raise AgentorError(
            LlmCode.RESPONSE_INVALID,
            f"the answer is not a Chat Completions object: {exc.errors()[0]['msg'][:200]}",
            hint="check that base_url points at an OpenAI-compatible /v1 API",
        ) from None


class OpenAIChatProvider:
    """An :class:`~agentor_core.interfaces.LlmProvider` speaking Chat Completions over httpx."""

    def __init__(
        self,
        settings: HttpSettings,
        *,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        auth = {}
        if settings.api_key is not None:
            auth["authorization"] = f"Bearer {settings.api_key.get_secret_value()}"
        self._http = Transport(settings, auth_headers=auth, sleep=sleep, transport=transport)

    def __repr__(self) -> str:
        return f"OpenAIChatProvider(base_url={self._http.settings.base_url!r})"

    def body(self, request: ModelRequest, names: ToolNames, *, stream: bool) -> dict[str, Any]:
        """The request body exactly as sent (public so tests and auditors can see it)."""
        body: dict[str, Any] = {
            "model": request.model,
            "messages": [_message(m, names) for m in request.messages],
            "max_tokens": request.max_output_tokens,
        }
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": names.wire(spec.name),
                        "description": spec.description,
                        "parameters": spec.input_schema,
                    },
                }
                for spec in request.tools
            ]
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    async def complete(self, request: ModelRequest) -> ModelResponse:
        names = ToolNames(request.tools)
        completion = _parse(
            await self._http.post_json("/chat/completions", self.body(request, names, stream=False))
        )
        if not completion.choices or completion.choices[0].message is None:
            raise AgentorError(LlmCode.RESPONSE_INVALID, "the answer has no choices[0].message")
        choice = completion.choices[0]
        message = choice.message
        if message is None:  # checked above; kept for the type checker
            raise AgentorError(LlmCode.RESPONSE_INVALID, "the answer has no choices[0].message")
        calls = tuple(
            _proposal(call, index, names) for index, call in enumerate(message.tool_calls or ())
        )
        return ModelResponse(
            message=ChatMessage(
                role=Role.ASSISTANT,
                content=message.content or message.refusal or "",
                tool_calls=calls,
            ),
            finish_reason=finish_reason(_FINISH, choice.finish_reason, has_calls=bool(calls)),
            usage=_usage(completion.usage),
        )

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelDelta]:
        names = ToolNames(request.tools)
        text: list[str] = []
        size = 0
        pending: dict[int, dict[str, str]] = {}
        finish: str | None = None
        usage: _Usage | None = None
        done = False
        body = self.body(request, names, stream=True)
        async for event in self._http.post_stream("/chat/completions", body):
            if event.data.strip() == "[DONE]":
                done = True
                break
            chunk = _parse(decode_event_json(event))
            if chunk.usage is not None:
                usage = chunk.usage
            for choice in chunk.choices[:1]:
                delta = choice.delta or _Message()
                if delta.content:
                    size += len(delta.content)
                    if size > MAX_TEXT_CHARS:
                        raise AgentorError(
                            LlmCode.RESPONSE_TOO_LARGE, "the streamed text is too long"
                        )
                    text.append(delta.content)
                    yield ModelDelta(text=delta.content)
                for position, call in enumerate(delta.tool_calls or ()):
                    slot = pending.setdefault(
                        call.index if call.index is not None else position,
                        {"id": "", "name": "", "arguments": ""},
                    )
                    slot["id"] = slot["id"] or (call.id or "")
                    slot["name"] += call.function.name or ""
                    slot["arguments"] += call.function.arguments or ""
                    if len(slot["arguments"]) > MAX_TEXT_CHARS:
                        raise AgentorError(
                            LlmCode.RESPONSE_TOO_LARGE, "a streamed tool call is too long"
                        )
                if choice.finish_reason:
                    finish = choice.finish_reason
        if not done and finish is None:
            raise AgentorError(
                LlmCode.RESPONSE_INVALID,
                "the stream ended before a finish_reason or [DONE]",
                hint="the connection may have been cut; run again",
            )
        calls: list[ToolCallProposal] = []
        for index in sorted(pending):
            slot = pending[index]
            raw = _ToolCall(
                index=index,
                id=slot["id"] or None,
                function=_Function(name=slot["name"], arguments=slot["arguments"]),
            )
            made = _proposal(raw, index, names)
            calls.append(made)
            yield ModelDelta(tool_call=made)
        yield ModelDelta(
            final=ModelResponse(
                message=ChatMessage(
                    role=Role.ASSISTANT, content="".join(text), tool_calls=tuple(calls)
                ),
                finish_reason=finish_reason(_FINISH, finish, has_calls=bool(calls)),
                usage=_usage(usage),
            )
        )


def _proposal(call: _ToolCall, index: int, names: ToolNames) -> ToolCallProposal:
    if not call.function.name:
        raise AgentorError(LlmCode.RESPONSE_INVALID, "a tool call in the answer has no name")
    name = names.local(call.function.name)
    # llama.cpp and some others omit ids; the runtime needs one to pair the result.
    call_id = call.id or f"call_{index}"
    return proposal(call_id, name, parse_arguments(call.function.arguments, tool=name))


def _message(message: ChatMessage, names: ToolNames) -> dict[str, Any]:
    if message.role is Role.TOOL:
        return {
            "role": "tool",
            "tool_call_id": message.tool_call_id or "",
            "content": message.content,
        }
    out: dict[str, Any] = {"role": message.role.value, "content": message.content}
    if message.role is Role.ASSISTANT and message.tool_calls:
        out["content"] = message.content or None
        out["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": names.wire(call.name), "arguments": _dumps(call.arguments)},
            }
            for call in message.tool_calls
        ]
    return out


def _dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
