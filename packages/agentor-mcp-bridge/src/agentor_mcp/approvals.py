"""Approvals over MCP: the elicitation question, its answer, and pending multi-round approvals.

An approval is bound to one call fingerprint (tool, component, canonical
arguments). On the 2026-07-28 protocol the question travels as an
``InputRequiredResult`` and the client retries the call with the answer; the
``requestState`` it echoes is attacker-controlled, so it carries only a random
nonce that names a record kept here, used at most once, that expires, and whose
fingerprint must equal the retried call's.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from agentor_core.decisions import ApprovalRequest
from agentor_core.tools import ToolCall

MAX_PENDING: Final = 1024
"""Unanswered questions kept at once; the oldest is dropped (and so denied) beyond this."""
MAX_SUMMARY_ARGUMENT_CHARS: Final = 2048
APPROVE_FIELD: Final = "approve"
INPUT_KEY: Final = "agentor_approval"

ELICITATION_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        APPROVE_FIELD: {
            "type": "boolean",
            "title": "Run this exact call?",
            "description": "Approves this call once, with exactly these arguments.",
        }
    },
    "required": [APPROVE_FIELD],
}


def summary_of(call: ToolCall) -> str:
    """The call as a person should see it, cut to a bounded size."""
    arguments = json.dumps(call.arguments, ensure_ascii=False, sort_keys=True, indent=1)
    if len(arguments) > MAX_SUMMARY_ARGUMENT_CHARS:
        arguments = arguments[:MAX_SUMMARY_ARGUMENT_CHARS] + " … (cut)"
    return f"tool {call.tool} with arguments:\n{arguments}"


def elicitation_message(request: ApprovalRequest) -> str:
    return (
        f"Agentor policy rule {request.rule_id!r} asks a person before this call runs: "
        f"{request.reason}\n\n{request.summary}\n\n"
        f"Call fingerprint: {request.fingerprint}\n"
        f"This approval expires at {request.expires_at.isoformat()} and runs the call once."
    )


def approved_by(content: Any) -> bool:
    """True only for an explicit ``approve: true`` (a bool, not a truthy string)."""
    return isinstance(content, dict) and content.get(APPROVE_FIELD) is True


@dataclass(frozen=True, slots=True)
class Pending:
    call_id: str
    fingerprint: str
    expires_at: datetime
    request: ApprovalRequest


class PendingApprovals:
    """Questions sent to clients and not yet answered, by nonce. Thread-safe, bounded."""

    def __init__(self, *, limit: int = MAX_PENDING) -> None:
        self._items: OrderedDict[str, Pending] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()

    def add(self, call_id: str, request: ApprovalRequest) -> str:
        nonce = secrets.token_urlsafe(24)
        with self._lock:
            self._items[nonce] = Pending(call_id, request.fingerprint, request.expires_at, request)
            while len(self._items) > self._limit:
                self._items.popitem(last=False)
        return nonce

    def take(self, nonce: str) -> Pending | None:
        """The record for ``nonce``, removed so it cannot answer twice; ``None`` if unknown."""
        with self._lock:
            return self._items.pop(nonce, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def expiry(now: datetime, ttl_seconds: int) -> datetime:
    return now + timedelta(seconds=ttl_seconds)
