"""HTTP to a model endpoint: bounded bodies, timeouts, and retries that honour Retry-After.

The one place this package touches the network. Redirects are never followed
(an API key must not travel to a host the operator did not name), proxies and
``.netrc`` are not read from the environment, and every body is read through a
byte counter before anything parses it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Annotated, Any, Final
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from agentor_core.bounds import JsonBoundsError, check_json
from agentor_core.errors import AgentorError
from agentor_llm.errors import LlmCode
from agentor_llm.sse import SseEvent, read_events

RETRY_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504, 529})
"""Statuses both vendors document as transient (529: Anthropic's "overloaded")."""
MAX_ERROR_BODY_BYTES: Final = 64 * 1024
MAX_VENDOR_MESSAGE_CHARS: Final = 300

Sleep = Callable[[float], Awaitable[None]]


class HttpSettings(BaseModel):
    """How to reach one endpoint, and how long and how much to accept from it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: Annotated[str, Field(min_length=1, max_length=2048)]
    api_key: SecretStr | None = None
    timeout_s: Annotated[float, Field(gt=0, le=3600)] = 120.0
    """Whole-answer deadline for a non-streamed call; per-read deadline while streaming."""
    connect_timeout_s: Annotated[float, Field(gt=0, le=300)] = 10.0
    max_retries: Annotated[int, Field(ge=0, le=10)] = 3
    backoff_base_s: Annotated[float, Field(ge=0, le=60)] = 0.5
    max_retry_wait_s: Annotated[float, Field(ge=0, le=600)] = 30.0
    """The longest single wait; a Retry-After beyond it fails at once with llm.rate_limited."""
    max_response_bytes: Annotated[int, Field(ge=1024, le=256 * 1024 * 1024)] = 16 * 1024 * 1024
    max_event_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 1024 * 1024
    headers: tuple[tuple[str, str], ...] = Field(default=(), max_length=64)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("base_url must be an http(s) URL with a host")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError("base_url must not carry credentials, a query or a fragment")
        return value.rstrip("/")

    def model_post_init(self, _context: Any, /) -> None:
        parts = urlsplit(self.base_url)
        if self.api_key is not None and parts.scheme == "http" and not _loopback(parts.hostname):
            # A key sent in clear text to another machine is a key given away.
            raise ValueError(
                "an API key is only sent over https, or over http to a loopback address"
            )


def _loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def retry_after_seconds(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """The wait asked for: ``retry-after-ms``, or ``Retry-After`` in seconds or as a date."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            value = float(raw_ms) / 1000
        except ValueError:
            value = -1.0
        if 0 <= value < 1e9:
            return value
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
        return max(seconds, 0.0)
    return seconds if 0 <= seconds < 1e9 else None


def vendor_message(body: bytes) -> str:
    """The human message in an error body of either vendor, cleaned for a terminal and a log."""
    text = ""
    try:
        document = json.loads(body[:MAX_ERROR_BODY_BYTES])
    except ValueError:
        document = None
    if isinstance(document, dict):
        error = document.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            text = error["message"]
        elif isinstance(error, str):
            text = error
        elif isinstance(document.get("message"), str):
            text = document["message"]
    if not text:
        text = body[:MAX_VENDOR_MESSAGE_CHARS].decode("utf-8", errors="replace")
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text)
    return cleaned[:MAX_VENDOR_MESSAGE_CHARS].strip()


def _status_error(status: int, message: str, *, attempts: int) -> AgentorError:
    said = f": {message}" if message else ""
    if status in {401, 403}:
        return AgentorError(
            LlmCode.AUTH_FAILED,
            f"the model endpoint refused the credentials (HTTP {status}){said}",
            hint="check the API key's environment variable and that the key may use this model",
        )
    if status == 429:
        return AgentorError(
            LlmCode.RATE_LIMITED,
            f"the model endpoint is rate limiting (HTTP 429 after {attempts} attempt(s)){said}",
            hint="wait and run again, or raise max_retries / max_retry_wait_s",
        )
    if status in RETRY_STATUSES or status >= 500:
        return AgentorError(
            LlmCode.UNAVAILABLE,
            f"the model endpoint failed (HTTP {status} after {attempts} attempt(s)){said}",
            hint="the provider is having trouble; try again later",
        )
    return AgentorError(
        LlmCode.REQUEST_REJECTED,
        f"the model endpoint rejected the request (HTTP {status}){said}",
        hint="check the model name, the base URL's path and the tools' schemas",
    )


class Transport:
    """POSTs JSON to one endpoint with retries; returns bounded JSON or a bounded event stream."""

    def __init__(
        self,
        settings: HttpSettings,
        *,
        auth_headers: Mapping[str, str],
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self._auth_headers = dict(auth_headers)
        self._sleep = sleep
        self._transport = transport

    def _client(self) -> httpx.AsyncClient:
        s = self.settings
        return httpx.AsyncClient(
            timeout=httpx.Timeout(s.timeout_s, connect=s.connect_timeout_s),
            follow_redirects=False,
            trust_env=False,
            transport=self._transport,
            headers={**dict(s.headers), **self._auth_headers},
        )

    def _backoff(self, attempt: int) -> float:
        base: float = self.settings.backoff_base_s * 2.0**attempt
        # Jitter from the OS generator (never ``random``), so clients do not retry in step.
        jittered = base * (0.5 + secrets.randbelow(501) / 1000)
        return min(jittered, self.settings.max_retry_wait_s)

    async def _wait_before_retry(self, response: httpx.Response | None, attempt: int) -> None:
        delay = self._backoff(attempt)
        if response is not None:
            asked = retry_after_seconds(response.headers)
            if asked is not None:
                if asked > self.settings.max_retry_wait_s:
                    raise AgentorError(
                        LlmCode.RATE_LIMITED,
                        f"the model endpoint asked to wait {asked:.0f} s (HTTP "
                        f"{response.status_code}), longer than max_retry_wait_s="
                        f"{self.settings.max_retry_wait_s:g}",
                        hint="run again later, or raise max_retry_wait_s",
                    )
                delay = asked
        await self._sleep(delay)

    async def _read_bounded(self, response: httpx.Response, limit: int) -> bytes:
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > limit:
                raise AgentorError(
                    LlmCode.RESPONSE_TOO_LARGE,
                    f"the model's answer exceeded {limit} bytes",
                    hint="raise max_response_bytes, or lower max_output_tokens",
                )
        return bytes(body)

    async def post_json(self, path: str, body: Mapping[str, Any]) -> Any:
        """POST ``body``; the decoded, bounds-checked JSON answer."""
        try:
            async with asyncio.timeout(self._overall_deadline()):
                raw = await self._post_bytes(path, body)
        except TimeoutError:
            raise AgentorError(
                LlmCode.TIMEOUT,
                "the model endpoint did not answer within the overall deadline",
                hint="raise timeout_s, or check that the endpoint is not overloaded",
            ) from None
        return _decode_json(raw)

    def _overall_deadline(self) -> float:
        s = self.settings
        return (s.timeout_s + s.max_retry_wait_s) * (s.max_retries + 1) + s.connect_timeout_s

    async def post_stream(self, path: str, body: Mapping[str, Any]) -> AsyncIterator[SseEvent]:
        """POST ``body`` asking for SSE; the events. Retries happen only before the first event."""
        async for event in self._attempts_stream(path, body):
            yield event

    async def _post_bytes(self, path: str, body: Mapping[str, Any]) -> bytes:
        url = self.settings.base_url + path
        attempts = self.settings.max_retries + 1
        async with self._client() as client:
            for attempt in range(attempts):
                last = attempt == attempts - 1
                try:
                    async with client.stream("POST", url, json=dict(body)) as response:
                        if response.status_code == 200:
                            return await self._read_bounded(
                                response, self.settings.max_response_bytes
                            )
                        await self._fail_or_wait(response, attempt, last=last)
                except httpx.TransportError as exc:
                    await self._transport_failure(exc, attempt, last=last)
        raise AgentorError(LlmCode.RESPONSE_INVALID, "the model endpoint sent no answer")

    async def _attempts_stream(self, path: str, body: Mapping[str, Any]) -> AsyncIterator[SseEvent]:
        url = self.settings.base_url + path
        attempts = self.settings.max_retries + 1
        s = self.settings
        async with self._client() as client:
            for attempt in range(attempts):
                last = attempt == attempts - 1
                started = False
                try:
                    async with client.stream(
                        "POST", url, json=dict(body), headers={"accept": "text/event-stream"}
                    ) as response:
                        if response.status_code != 200:
                            await self._fail_or_wait(response, attempt, last=last)
                            continue
                        async for event in read_events(
                            response.aiter_bytes(),
                            max_event_bytes=s.max_event_bytes,
                            max_total_bytes=s.max_response_bytes,
                        ):
                            started = True
                            yield event
                        return
                except httpx.TransportError as exc:
                    if started:
                        # Text already reached the caller: a retry would repeat it.
                        raise _transport_error(exc) from None
                    await self._transport_failure(exc, attempt, last=last)

    async def _fail_or_wait(self, response: httpx.Response, attempt: int, *, last: bool) -> None:
        status = response.status_code
        raw = await self._read_bounded_error(response)
        if status in RETRY_STATUSES and not last:
            await self._wait_before_retry(response, attempt)
            return
        raise _status_error(status, vendor_message(raw), attempts=attempt + 1)

    async def _read_bounded_error(self, response: httpx.Response) -> bytes:
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) >= MAX_ERROR_BODY_BYTES:
                break
        return bytes(body[:MAX_ERROR_BODY_BYTES])

    async def _transport_failure(
        self, exc: httpx.TransportError, attempt: int, *, last: bool
    ) -> None:
        if last:
            raise _transport_error(exc) from None
        await self._wait_before_retry(None, attempt)


def _transport_error(exc: httpx.TransportError) -> AgentorError:
    if isinstance(exc, httpx.TimeoutException):
        return AgentorError(
            LlmCode.TIMEOUT,
            f"the model endpoint did not answer in time ({type(exc).__name__})",
            hint="raise timeout_s, or check that the endpoint is not overloaded",
        )
    return AgentorError(
        LlmCode.UNREACHABLE,
        f"the model endpoint cannot be reached ({type(exc).__name__}: {str(exc)[:200]})",
        hint="check base_url, and that the server (e.g. ollama serve) is running",
    )


def _decode_json(raw: bytes) -> Any:
    try:
        document = json.loads(raw)
        return check_json(document)
    except (ValueError, JsonBoundsError) as exc:
        raise AgentorError(
            LlmCode.RESPONSE_INVALID,
            f"the model endpoint's answer is not bounded JSON: {str(exc)[:200]}",
            hint="check that base_url points at the API (e.g. ends in /v1)",
        ) from None


def decode_event_json(event: SseEvent) -> Any:
    """One streamed event's ``data`` as bounded JSON."""
    return _decode_json(event.data.encode("utf-8"))
