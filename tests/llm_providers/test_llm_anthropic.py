"""Anthropic Messages against a real local server speaking the published wire format."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import SecretStr

from agentor_core.errors import AgentorError
from agentor_core.llm import ChatMessage, FinishReason, ModelRequest, Role, ToolCallProposal
from agentor_core.tools import ToolSpec
from agentor_llm import AnthropicProvider, HttpSettings, LlmCode

TOOLS = (ToolSpec(name="get_weather", description="Weather for a city"),)


def request(**overrides: Any) -> ModelRequest:
    base: dict[str, Any] = {
        "model": "claude-sonnet-4-5",
        "messages": (
            ChatMessage(role=Role.SYSTEM, content="You are terse."),
            ChatMessage(role=Role.USER, content="Weather in Paris?"),
        ),
        "tools": TOOLS,
    }
    base.update(overrides)
    return ModelRequest(**base)


def provider(server: Any, sleeps: Any, **settings: Any) -> AnthropicProvider:
    options: dict[str, Any] = {"base_url": server.url, "api_key": SecretStr("sk-ant-test")}
    options.update(settings)
    return AnthropicProvider(HttpSettings(**options), sleep=sleeps)


def message(content: list[dict[str, Any]], stop: str) -> dict[str, Any]:
    return {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "content": content,
        "model": "claude-sonnet-4-5-20250929",
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 472, "output_tokens": 89, "cache_read_input_tokens": 0},
    }


def test_text_and_tool_use_with_usage(server: Any, sleeps: Any, reply: Any) -> None:
    content = [
        {"type": "text", "text": "Let me check."},
        {
            "type": "tool_use",
            "id": "toolu_01A09q90qw90lq917835lq9",
            "name": "get_weather",
            "input": {"location": "Paris"},
        },
    ]
    server.replies.append(reply.json(message(content, "tool_use")))
    response = asyncio.run(provider(server, sleeps).complete(request()))
    assert response.message.content == "Let me check."
    assert response.message.tool_calls == (
        ToolCallProposal(
            id="toolu_01A09q90qw90lq917835lq9", name="get_weather", arguments={"location": "Paris"}
        ),
    )
    assert response.finish_reason is FinishReason.TOOL_CALLS
    assert (response.usage.input_tokens, response.usage.output_tokens) == (472, 89)
    sent = server.requests[0]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == "sk-ant-test"
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    assert sent.body["system"] == "You are terse."
    assert sent.body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]}
    ]
    assert sent.body["tools"][0]["input_schema"]["type"] == "object"


def test_tool_results_of_one_turn_go_back_in_one_user_turn(
    server: Any, sleeps: Any, reply: Any
) -> None:
    calls = (
        ToolCallProposal(id="toolu_1", name="get_weather", arguments={"location": "Paris"}),
        ToolCallProposal(id="toolu_2", name="get_weather", arguments={"location": "Rome"}),
    )
    history = (
        ChatMessage(role=Role.USER, content="Paris and Rome?"),
        ChatMessage(role=Role.ASSISTANT, tool_calls=calls),
        ChatMessage(role=Role.TOOL, tool_call_id="toolu_1", content="sunny"),
        ChatMessage(role=Role.TOOL, tool_call_id="toolu_2", content="rain"),
    )
    server.replies.append(reply.json(message([{"type": "text", "text": "ok"}], "end_turn")))
    response = asyncio.run(provider(server, sleeps).complete(request(messages=history)))
    assert response.finish_reason is FinishReason.STOP
    sent = server.requests[0].body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[1]["content"][0] == {
        "type": "tool_use",
        "id": "toolu_1",
        "name": "get_weather",
        "input": {"location": "Paris"},
    }
    assert [b["tool_use_id"] for b in sent[2]["content"]] == ["toolu_1", "toolu_2"]


def stream_events() -> list[tuple[str, Any]]:
    start = message([], "")
    start.update(stop_reason=None, usage={"input_tokens": 25, "output_tokens": 1})
    tool = {"type": "tool_use", "id": "toolu_9", "name": "get_weather", "input": {}}
    return [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        ("ping", {"type": "ping"}),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "Checking"},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": " now."},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("content_block_start", {"type": "content_block_start", "index": 1, "content_block": tool}),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": ""},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": '{"location": "Pa'},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": 'ris"}'},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                "usage": {"output_tokens": 15},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]


def collect(llm: AnthropicProvider) -> list[Any]:
    async def run() -> list[Any]:
        return [delta async for delta in llm.stream(request())]

    return asyncio.run(run())


def test_stream_text_tool_use_and_usage(server: Any, sleeps: Any, reply: Any) -> None:
    server.replies.append(reply.sse(stream_events()))
    deltas = collect(provider(server, sleeps))
    assert "".join(d.text for d in deltas) == "Checking now."
    assert [d.tool_call for d in deltas if d.tool_call] == [
        ToolCallProposal(id="toolu_9", name="get_weather", arguments={"location": "Paris"})
    ]
    final = deltas[-1].final
    assert final is not None
    assert final.finish_reason is FinishReason.TOOL_CALLS
    assert (final.usage.input_tokens, final.usage.output_tokens) == (25, 15)
    assert server.requests[0].body["stream"] is True


def test_error_event_mid_stream(server: Any, sleeps: Any, reply: Any) -> None:
    events = stream_events()[:4]
    events.append(
        ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    )
    server.replies.append(reply.sse(events))
    with pytest.raises(AgentorError) as caught:
        collect(provider(server, sleeps))
    assert caught.value.code == LlmCode.UNAVAILABLE
    assert "Overloaded" in caught.value.message


def test_stream_without_message_stop_fails_closed(server: Any, sleeps: Any, reply: Any) -> None:
    server.replies.append(reply.sse(stream_events()[:6]))
    with pytest.raises(AgentorError) as caught:
        collect(provider(server, sleeps))
    assert caught.value.code == LlmCode.RESPONSE_INVALID


def test_529_overloaded_is_retried(server: Any, sleeps: Any, reply: Any) -> None:
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    server.replies.append(reply.json(overloaded, 529))
    server.replies.append(reply.json(overloaded, 429, **{"retry-after": "1"}))
    server.replies.append(reply.json(message([{"type": "text", "text": "hi"}], "end_turn")))
    response = asyncio.run(provider(server, sleeps).complete(request()))
    assert response.message.content == "hi"
    assert len(server.requests) == 3
    assert sleeps.waits[1] == 1.0


def test_stream_retried_before_the_first_event(server: Any, sleeps: Any, reply: Any) -> None:
    server.replies.append(reply.json({"type": "error", "error": {"message": "busy"}}, 503))
    server.replies.append(reply.sse(stream_events()))
    deltas = collect(provider(server, sleeps))
    assert deltas[-1].final is not None
    assert len(sleeps.waits) == 1


def test_rate_limit_error_message_reaches_the_person(server: Any, sleeps: Any, reply: Any) -> None:
    error = {
        "type": "error",
        "error": {
            "type": "rate_limit_error",
            "message": "Number of request tokens has exceeded your per-minute rate limit",
        },
    }
    for _ in range(2):
        server.replies.append(reply.json(error, 429, **{"retry-after": "0"}))
    with pytest.raises(AgentorError) as caught:
        asyncio.run(provider(server, sleeps, max_retries=1).complete(request()))
    assert caught.value.code == LlmCode.RATE_LIMITED
    assert "per-minute rate limit" in caught.value.message
    assert sleeps.waits == [0.0]


def test_answer_that_is_not_a_message(server: Any, sleeps: Any, reply: Any) -> None:
    server.replies.append(reply.json({"type": "message", "content": [{"type": "tool_use"}]}))
    with pytest.raises(AgentorError) as caught:
        asyncio.run(provider(server, sleeps).complete(request()))
    assert caught.value.code == LlmCode.RESPONSE_INVALID


def test_oversized_stream_event_is_refused(server: Any, sleeps: Any, reply: Any) -> None:
    huge = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": "x" * 4096},
    }
    server.replies.append(reply.sse([*stream_events()[:2], ("content_block_delta", huge)]))
    with pytest.raises(AgentorError) as caught:
        collect(provider(server, sleeps, max_event_bytes=2048))
    assert caught.value.code == LlmCode.RESPONSE_TOO_LARGE
