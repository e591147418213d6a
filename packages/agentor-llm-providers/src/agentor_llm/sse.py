"""A bounded reader of Server-Sent Events (the WHATWG event-stream format).

Both vendors stream with SSE. The reader never holds more than one event and
refuses an event or a line larger than its bound, so a hostile or broken
endpoint cannot make the host buffer without limit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from agentor_core.errors import AgentorError
from agentor_llm.errors import LlmCode


@dataclass(frozen=True, slots=True)
class SseEvent:
    event: str
    data: str


async def read_events(
    chunks: AsyncIterator[bytes], *, max_event_bytes: int, max_total_bytes: int
) -> AsyncIterator[SseEvent]:
    """Yield each dispatched event of the stream ``chunks``; comments and ids are ignored."""
    buffer = b""
    total = 0
    event = ""
    data: list[str] = []
    size = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > max_total_bytes:
            raise AgentorError(
                LlmCode.RESPONSE_TOO_LARGE,
                f"the streamed answer exceeded {max_total_bytes} bytes",
                hint="raise max_response_bytes, or lower max_output_tokens",
            )
        buffer += chunk
        while True:
            cut = _line_end(buffer)
            if cut is None:
                break
            end, after = cut
            raw, buffer = buffer[:end], buffer[after:]
            line = raw.decode("utf-8", errors="replace")
            if not line:
                if data or event:
                    yield SseEvent(event=event or "message", data="\n".join(data))
                event, data, size = "", [], 0
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            size += len(raw)
            if size > max_event_bytes:
                raise AgentorError(
                    LlmCode.RESPONSE_TOO_LARGE,
                    f"one streamed event exceeded {max_event_bytes} bytes",
                    hint="the endpoint is not streaming in the documented format",
                )
            if field == "data":
                data.append(value)
            elif field == "event":
                event = value
        if len(buffer) > max_event_bytes:
            raise AgentorError(
                LlmCode.RESPONSE_TOO_LARGE,
                f"one streamed line exceeded {max_event_bytes} bytes",
                hint="the endpoint is not streaming in the documented format",
            )
    if data:
        # A stream that ends without the blank line still delivers its last event.
        yield SseEvent(event=event or "message", data="\n".join(data))


def _line_end(buffer: bytes) -> tuple[int, int] | None:
    """Where the first line ends and the next begins (CRLF, LF or CR), if a line is complete."""
    lf = buffer.find(b"\n")
    cr = buffer.find(b"\r")
    if cr == -1 or (lf != -1 and lf < cr):
        return None if lf == -1 else (lf, lf + 1)
    if cr + 1 == len(buffer):
        return None  # a CR at the end may be half of a CRLF
    return cr, cr + 2 if buffer[cr + 1] == 0x0A else cr + 1
