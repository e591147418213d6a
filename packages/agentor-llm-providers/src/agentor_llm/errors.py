"""Stable ``llm.*`` error codes: what went wrong talking to a model, and what to do about it."""

from __future__ import annotations

from enum import StrEnum


class LlmCode(StrEnum):
    NOT_CONFIGURED = "llm.not_configured"
    """No model, base URL or API key was configured; the hint says where to set it."""
    CONFIG_INVALID = "llm.config_invalid"
    """A provider option is malformed (unknown kind, bad URL, out-of-range limit)."""
    AUTH_FAILED = "llm.auth_failed"
    """The endpoint refused the credentials (HTTP 401 or 403)."""
    REQUEST_REJECTED = "llm.request_rejected"
    """The endpoint refused the request itself (HTTP 400, 404, 413, 422): model, schema, size."""
    RATE_LIMITED = "llm.rate_limited"
    """HTTP 429 on every attempt, or a Retry-After longer than the configured bound."""
    UNAVAILABLE = "llm.unavailable"
    """HTTP 5xx (or Anthropic's 529 overloaded) on every attempt."""
    TIMEOUT = "llm.timeout"
    """No complete answer within the configured timeout, on every attempt."""
    UNREACHABLE = "llm.unreachable"
    """The endpoint could not be connected to (DNS, refused, TLS)."""
    RESPONSE_INVALID = "llm.response_invalid"
    """The answer is not the vendor's documented wire format (JSON, fields, event order)."""
    RESPONSE_TOO_LARGE = "llm.response_too_large"
    """The answer (or one streamed event) is larger than the configured bound."""
    TOOL_ARGUMENTS_INVALID = "llm.tool_arguments_invalid"
    """The model proposed a tool call whose arguments are not a bounded JSON object."""
    SCRIPT_INVALID = "llm.script_invalid"
    """A scripted provider's file of turns cannot be read or does not match its schema."""
    SCRIPT_EXHAUSTED = "llm.script_exhausted"
    """A scripted provider was asked for more turns than its script holds."""
