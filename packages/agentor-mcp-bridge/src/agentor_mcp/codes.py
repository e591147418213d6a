"""Stable error codes raised or returned by agentor-mcp-bridge (``mcp.<condition>``)."""

from __future__ import annotations

from enum import StrEnum


class McpCode(StrEnum):
    POLICY_DENIED = "mcp.policy_denied"
    """The policy denied the call; the result names the rule and its reason."""
    APPROVAL_UNAVAILABLE = "mcp.approval_unavailable"
    """The policy asks a person; the client cannot elicit and no other channel exists."""
    APPROVAL_DENIED = "mcp.approval_denied"
    """A person declined or cancelled the approval, or it could not be obtained."""
    APPROVAL_MISMATCH = "mcp.approval_mismatch"
    """An approval answer does not belong to this call (arguments changed, unknown, reused)."""
    AUDIT_FAILED = "mcp.audit_failed"
    """The audit log could not commit an event; the call was refused (fail closed)."""
    INVALID_CALL = "mcp.invalid_call"
    """The tool name or arguments are not valid (unknown tool, too large, schema mismatch)."""
    INVALID_RESULT = "mcp.invalid_result"
    """The tool's output does not match the outputSchema it declares; nothing was returned."""
    RUNTIME_FAILED = "mcp.runtime_failed"
    """The tool runtime raised instead of returning a result; the call failed closed."""
    BIND_REFUSED = "mcp.bind_refused"
    """An HTTP address other than loopback was requested without authentication."""
    TOKENS_INVALID = "mcp.tokens_invalid"
    """The bearer-token file is missing, unreadable, too large, too permissive or malformed."""
    CONFIG_INVALID = "mcp.config_invalid"
    """The serve configuration (agentor.toml) is unreadable or not valid."""
    RESOURCE_NOT_FOUND = "mcp.resource_not_found"
    """No served resource has this URI, or its file is missing or outside the granted root."""
    RESOURCE_TOO_LARGE = "mcp.resource_too_large"
    """The resource file is larger than ``[resources] max_bytes``."""
    PROMPT_INVALID = "mcp.prompt_invalid"
    """Unknown prompt, unknown or missing argument, or an argument longer than its bound."""
    PINS_INVALID = "mcp.pins_invalid"
    """The pin file of approved outside tools is unreadable, too large or malformed."""
