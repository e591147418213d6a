"""The bounded SSE reader and Retry-After parsing, on their own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentor_core.errors import AgentorError
from agentor_llm import LlmCode, retry_after_seconds
from agentor_llm.sse import SseEvent, read_events


async def _chunks(parts: list[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def events(parts: list[bytes], limit: int = 1024) -> list[SseEvent]:
    async def run() -> list[SseEvent]:
        return [
            e
            async for e in read_events(
                _chunks(parts), max_event_bytes=limit, max_total_bytes=10 * limit
            )
        ]

    return asyncio.run(run())


STREAM = b"event: a\r\ndata: 1\r\n\r\n: comment\n\ndata: x\ndata: y\n\nevent: b\rdata: 2\r\r"


def test_line_endings_comments_and_multiline_data() -> None:
    assert events([STREAM]) == [
        SseEvent("a", "1"),
        SseEvent("message", "x\ny"),
        SseEvent("b", "2"),
    ]


@given(st.lists(st.integers(min_value=1, max_value=len(STREAM) - 1), max_size=8))
def test_any_chunking_gives_the_same_events(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    parts = [STREAM[a:b] for a, b in zip([0, *points], [*points, len(STREAM)], strict=True)]
    assert events(parts) == events([STREAM])


def test_an_event_without_end_is_bounded() -> None:
    with pytest.raises(AgentorError) as caught:
        events([b"data: " + b"x" * 600, b"y" * 600])
    assert caught.value.code == LlmCode.RESPONSE_TOO_LARGE


def test_retry_after_forms() -> None:
    now = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds({"retry-after": "7"}) == 7.0
    assert retry_after_seconds({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after_seconds({"retry-after": "Fri, 27 Nov 2026 12:00:30 GMT"}, now=now) == 30.0
    assert retry_after_seconds({"retry-after": "Fri, 27 Nov 2026 11:00:00 GMT"}, now=now) == 0.0
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({"retry-after": "-3"}) is None
    assert retry_after_seconds({}) is None
