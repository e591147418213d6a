"""Stable error codes raised by agentor-policy (``policy.<condition>``)."""

from __future__ import annotations

from enum import StrEnum


class PolicyCode(StrEnum):
    FILE_UNREADABLE = "policy.file_unreadable"
    """The policy file does not exist, is not a file, or cannot be read."""
    FILE_TOO_LARGE = "policy.file_too_large"
    """The policy file is larger than the bound; refused before parsing."""
    TOO_DEEP = "policy.too_deep"
    """Arrays or inline tables nest deeper than the bound; refused before parsing."""
    SYNTAX = "policy.syntax"
    """The file is not valid TOML (or not UTF-8)."""
    INVALID = "policy.invalid"
    """The file is TOML but not a valid policy: a key, type or value is wrong."""
    APPROVAL_MISSING = "policy.approval_missing"
    """No unused approval exists for this exact call (tool, component, arguments)."""
    APPROVAL_EXPIRED = "policy.approval_expired"
    """The approval for this call has expired."""
    APPROVAL_MISMATCH = "policy.approval_mismatch"
    """An answer names a different call fingerprint than the question it answers."""
    RATE_STATE_FULL = "policy.rate_state_full"
    """The rate limiter holds its maximum number of buckets and none can be dropped."""
    AUDIT_UNREADABLE = "policy.audit_unreadable"
    """The audit log given to ``learn`` cannot be read or holds a malformed line."""
    BAD_REQUEST = "policy.bad_request"
    """An ``explain`` request (arguments JSON, labels) is malformed."""
    PATTERN_TIMEOUT = "policy.pattern_timeout"
    """Not raised: quoted in a decision's reason when an operator's pattern ran past its
    time bound on a proposed argument; the constraint counted as broken, the condition
    as holding (deny or ask), never as passing."""
