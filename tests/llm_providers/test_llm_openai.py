"""OpenAI-compatible Chat Completions against a real local server speaking the published format."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import SecretStr

from agentor_core.errors import AgentorError
from agentor_core.interfaces import LlmProvider
from agentor_core.llm import ChatMessage, FinishReason, ModelRequest, Role, ToolCallProposal
from agentor_core.tools import ToolSpec
from agentor_llm import HttpSettings, LlmCode, OpenAIChatProvider

TOOLS = (
    ToolSpec(
        name="files.read",
        description="Read a file",
        input_schema={"type": "object", "properties": {"path": {"type": "string"}}},
    ),
)


def request(**overrides: Any) -> ModelRequest:
    base: dict[str, Any] = {
        "model": "gpt-4o-mini",
        "messages": (
            ChatMessage(role=Role.SYSTEM, content="be brief"),
            ChatMessage(role=Role.USER, content="read a.txt"),
        ),
        "tools": TOOLS,
    }
    base.update(overrides)
    return ModelRequest(**base)


def provider(server: Any, sleeps: Any, **settings: Any) -> OpenAIChatProvider:
    options: dict[str, Any] = {"base_url": server.url, "api_key": SecretStr("sk-test-key")}
    options.update(settings)
    return OpenAIChatProvider(HttpSettings(**options), sleep=sleeps)


def completion(message: dict[str, Any], finish: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_44709d6fcb",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21},
    }


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def test_provider_satisfies_the_interface(server: Any, sleeps: Any) -> None:
    assert isinstance(provider(server, sleeps), LlmProvider)


def test_text_answer_and_usage(server: Any, sleeps: Any, reply: Any) -> None:
    server.replies.append(reply.json(completion({"role": "assistant", "content": "Hello!"})))
    response = asyncio.run(provider(server, sleeps).complete(request()))
    assert response.message.content == "Hello!"
    assert response.finish_reason is FinishReason.STOP
    assert (response.usage.input_tokens, response.usage.output_tokens) == (9, 12)
    sent = server.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-test-key"
    assert sent.body["messages"][0] == {"role": "system", "content": "be brief"}
    # Dots are not allowed in a wire tool name: mapped there and back.
    wire_name = sent.body["tools"][0]["function"]["name"]
    assert "." not in wire_name
    assert sent.body["tools"][0]["function"]["parameters"]["type"] == "object"


def test_tool_call_is_a_proposal_with_parsed_arguments(
    server: Any, sleeps: Any, reply: Any
) -> None:
    llm = provider(server, sleeps)
    server.replies.append(reply.json(completion({"role": "assistant", "content": "x"})))
    asyncio.run(llm.complete(request()))
    wire = server.requests[0].body["tools"][0]["function"]["name"]
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_abc123",
                "type": "function",
                "function": {"name": wire, "arguments": '{"path": "a.txt"}'},
            }
        ],
    }
    server.replies.append(reply.json(completion(message, finish="tool_calls")))
    response = asyncio.run(llm.complete(request()))
    assert response.finish_reason is FinishReason.TOOL_CALLS
    assert response.message.tool_calls == (
        ToolCallProposal(id="call_abc123", name="files.read", arguments={"path": "a.txt"}),
    )


def test_history_with_tool_results_goes_out_in_wire_form(
    server: Any, sleeps: Any, reply: Any
) -> None:
    call = ToolCallProposal(id="call_1", name="files.read", arguments={"path": "a.txt"})
    messages = (
        ChatMessage(role=Role.USER, content="read a.txt"),
        ChatMessage(role=Role.ASSISTANT, tool_calls=(call,)),
        ChatMessage(role=Role.TOOL, tool_call_id="call_1", content="contents"),
    )
    server.replies.append(reply.json(completion({"role": "assistant", "content": "done"})))
    asyncio.run(provider(server, sleeps).complete(request(messages=messages)))
    sent = server.requests[0].body["messages"]
    assert sent[1]["content"] is None
    assert sent[1]["tool_calls"][0]["function"]["arguments"] == '{"path":"a.txt"}'
    assert sent[2] == {"role": "tool", "tool_call_id": "call_1", "content": "contents"}


def test_stream_text_tool_call_and_usage(server: Any, sleeps: Any, reply: Any) -> None:
    llm = provider(server, sleeps)
    server.replies.append(reply.json(completion({"role": "assistant", "content": "x"})))
    asyncio.run(llm.complete(request()))
    wire = server.requests[0].body["tools"][0]["function"]["name"]
    first = {"index": 0, "id": "call_9", "type": "function"}
    server.replies.append(
        reply.sse(
            [
                (None, chunk({"role": "assistant", "content": ""})),
                (None, chunk({"content": "Let me "})),
                (None, chunk({"content": "look."})),
                (
                    None,
                    chunk({"tool_calls": [{**first, "function": {"name": wire, "arguments": ""}}]}),
                ),
                (None, chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"pa'}}]})),
                (
                    None,
                    chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'th": "b"}'}}]}),
                ),
                (None, chunk({}, finish="tool_calls")),
                (
                    None,
                    {
                        **chunk({}),
                        "choices": [],
                        "usage": {"prompt_tokens": 5, "completion_tokens": 7},
                    },
                ),
                (None, "[DONE]"),
            ]
        )
    )

    async def collect() -> list[Any]:
        return [delta async for delta in llm.stream(request())]

    deltas = asyncio.run(collect())
    assert "".join(d.text for d in deltas) == "Let me look."
    calls = [d.tool_call for d in deltas if d.tool_call is not None]
    assert calls == [ToolCallProposal(id="call_9", name="files.read", arguments={"path": "b"})]
    final = deltas[-1].final
    assert final is not None
    assert final.finish_reason is FinishReason.TOOL_CALLS
    assert final.message.content == "Let me look."
    assert (final.usage.input_tokens, final.usage.output_tokens) == (5, 7)
    assert server.requests[1].body["stream"] is True
    assert server.requests[1].body["stream_options"] == {"include_usage": True}


def test_stream_cut_before_the_end_fails_closed(server: Any, sleeps: Any, reply: Any) -> None:
    server.replies.append(reply.sse([(None, chunk({"content": "partial"}))]))

    async def collect() -> list[Any]:
        return [delta async for delta in provider(server, sleeps).stream(request())]

    with pytest.raises(AgentorError) as caught:
        asyncio.run(collect())
    assert caught.value.code == LlmCode.RESPONSE_INVALID


def test_429_retry_after_is_honoured(server: Any, sleeps: Any, reply: Any) -> None:
    limited = {
        "error": {
            "message": "Rate limit reached",
            "type": "requests",
            "code": "rate_limit_exceeded",
        }
    }
    server.replies.append(reply.json(limited, 429, **{"retry-after": "2"}))
    server.replies.append(reply.json(completion({"role": "assistant", "content": "ok"})))
    response = asyncio.run(provider(server, sleeps).complete(request()))
    assert response.message.content == "ok"
    assert sleeps.waits == [2.0]
    assert len(server.requests) == 2


def test_retry_after_beyond_the_bound_fails_at_once(server: Any, sleeps: Any, reply: Any) -> None:
    server.replies.append(
        reply.json({"error": {"message": "slow down"}}, 429, **{"retry-after": "3600"})
    )
    with pytest.raises(AgentorError) as caught:
        asyncio.run(provider(server, sleeps, max_retry_wait_s=10).complete(request()))
    assert caught.value.code == LlmCode.RATE_LIMITED
    assert "3600" in caught.value.message
    assert sleeps.waits == []


def test_5xx_retried_with_backoff_then_unavailable(server: Any, sleeps: Any, reply: Any) -> None:
    for _ in range(3):
        server.replies.append(reply.json({"error": {"message": "The server had an error"}}, 500))
    with pytest.raises(AgentorError) as caught:
        asyncio.run(provider(server, sleeps, max_retries=2).complete(request()))
    assert caught.value.code == LlmCode.UNAVAILABLE
    assert "The server had an error" in caught.value.message
    assert len(server.requests) == 3
    assert len(sleeps.waits) == 2
    assert sleeps.waits[1] >= sleeps.waits[0] * 0.5 > 0


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (401, LlmCode.AUTH_FAILED),
        (403, LlmCode.AUTH_FAILED),
        (400, LlmCode.REQUEST_REJECTED),
        (404, LlmCode.REQUEST_REJECTED),
    ],
)
def test_client_errors_are_not_retried(
    server: Any, sleeps: Any, reply: Any, status: int, code: LlmCode
) -> None:
    error = {
        "error": {
            "message": "Incorrect API key provided: sk-te****",
            "type": "invalid_request_error",
        }
    }
    server.replies.append(reply.json(error, status))
    with pytest.raises(AgentorError) as caught:
        asyncio.run(provider(server, sleeps).complete(request()))
    assert caught.value.code == code
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"<html>not json</html>", LlmCode.RESPONSE_INVALID),
        (b'{"choices": []}', LlmCode.RESPONSE_INVALID),
        (b'{"choices": "nope"}', LlmCode.RESPONSE_INVALID),
        (b"[" * 100 + b"]" * 100, LlmCode.RESPONSE_INVALID),
    ],
)
def test_malformed_answers_fail_closed(
    server: Any, sleeps: Any, reply: Any, body: bytes, code: LlmCode
) -> None:
    server.replies.append(reply(200, body, {"content-type": "application/json"}))
    with pytest.raises(AgentorError) as caught:
        asyncio.run(provider(server, sleeps).complete(request()))
    assert caught.value.code == code


def test_broken_tool_arguments_have_their_own_code(server: Any, sleeps: Any, reply: Any) -> None:
    message = {
        "role": "assistant",
        "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "x", "arguments": "{oops"}}
        ],
    }
    server.replies.append(reply.json(completion(message, "tool_calls")))
    with pytest.raises(AgentorError) as caught:
        asyncio.run(provider(server, sleeps).complete(request()))
    assert caught.value.code == LlmCode.TOOL_ARGUMENTS_INVALID


def test_oversized_answer_is_refused(server: Any, sleeps: Any, reply: Any) -> None:
    big = completion({"role": "assistant", "content": "x" * 5000})
    server.replies.append(reply.json(big))
    with pytest.raises(AgentorError) as caught:
        asyncio.run(provider(server, sleeps, max_response_bytes=2048).complete(request()))
    assert caught.value.code == LlmCode.RESPONSE_TOO_LARGE


def test_unreachable_endpoint(sleeps: Any) -> None:
    settings = HttpSettings(base_url="http://127.0.0.1:9/v1", max_retries=1)
    with pytest.raises(AgentorError) as caught:
        asyncio.run(OpenAIChatProvider(settings, sleep=sleeps).complete(request()))
    assert caught.value.code == LlmCode.UNREACHABLE
    assert len(sleeps.waits) == 1


def test_no_redirect_is_followed(server: Any, sleeps: Any, reply: Any) -> None:
    server.replies.append(reply(307, b"", {"location": "http://127.0.0.1:9/steal"}))
    with pytest.raises(AgentorError) as caught:
        asyncio.run(provider(server, sleeps).complete(request()))
    assert caught.value.code == LlmCode.REQUEST_REJECTED
    assert len(server.requests) == 1


def test_a_key_is_never_sent_in_clear_to_another_machine() -> None:
    with pytest.raises(ValueError, match="https"):
        HttpSettings(base_url="http://models.example.com/v1", api_key=SecretStr("sk"))
    HttpSettings(base_url="http://localhost:11434/v1", api_key=SecretStr("sk"))
    assert "sk-secret" not in repr(
        HttpSettings(base_url="https://a.example/v1", api_key=SecretStr("sk-secret"))
    )
