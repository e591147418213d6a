"""Approvals: questions bound to one call's fingerprint, answers that expire and are spent once.

The fingerprint (:meth:`agentor_core.tools.ToolCall.fingerprint`) covers the
tool name, the component hash and the canonical arguments, so an approval for
one call can never run another: change an argument or swap the component and
the ledger has nothing to spend.
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timedelta
from typing import Final

from agentor_core.audit import AuditEvent, AuditEventType
from agentor_core.canonical import canonical_json
from agentor_core.decisions import ApprovalRequest, ApprovalResponse, Decision, PolicyContext
from agentor_core.errors import AgentorError
from agentor_core.redaction import Redactor
from agentor_core.tools import ToolCall
from agentor_policy.codes import PolicyCode

MAX_SUMMARY_CHARS: Final = 16 * 1024
MAX_PENDING: Final = 10_000
_TRUNCATED: Final = " …(truncated)"


def summarize(call: ToolCall, redactor: Redactor | None = None) -> str:
    """The call as a person should read it: tool and canonical arguments, bounded.

    With a ``redactor``, known secret values are scrubbed first: the summary is
    shown on a screen and kept in the audit log, where no secret belongs.
    """
    text = f"{call.tool} {canonical_json(call.arguments).decode('utf-8')}"
    if redactor is not None:
        text = redactor.scrub(text)
    if len(text) > MAX_SUMMARY_CHARS:
        text = text[: MAX_SUMMARY_CHARS - len(_TRUNCATED)] + _TRUNCATED
    return text


def approval_request(
    call: ToolCall,
    decision: Decision,
    *,
    now: datetime,
    ttl_seconds: int,
    redactor: Redactor | None = None,
) -> ApprovalRequest:
    """The question for an ``ask`` decision, valid for ``ttl_seconds`` from ``now``."""
    return ApprovalRequest(
        fingerprint=call.fingerprint(),
        tool=call.tool,
        summary=summarize(call, redactor),
        rule_id=decision.rule_id,
        reason=decision.reason,
        expires_at=now + timedelta(seconds=ttl_seconds),
    )


def approval_event(
    call: ToolCall,
    request: ApprovalRequest,
    response: ApprovalResponse,
    context: PolicyContext,
    *,
    policy_hash: str | None = None,
) -> AuditEvent:
    """The audit record of an answer: what was approved (or refused) and by whom."""
    return AuditEvent(
        type=AuditEventType.APPROVAL_GRANTED
        if response.approved
        else AuditEventType.APPROVAL_DENIED,
        time=response.decided_at,
        session_id=context.session_id,
        agent_id=context.agent_id,
        user_id=context.user_id,
        call_id=call.id,
        tool=call.tool,
        component_hash=call.component_hash,
        argument_digest=request.fingerprint,
        rule_id=request.rule_id,
        policy_hash=policy_hash,
        detail={
            "approver": response.approver,
            "decided_at": response.decided_at.isoformat(),
            "expires_at": request.expires_at.isoformat(),
            "note": response.note,
        },
    )


class ApprovalLedger:
    """Approvals granted and not yet spent, keyed by call fingerprint.

    :meth:`record` keeps an approving answer until its request expires;
    :meth:`consume` spends one for exactly this call, or raises.
    """

    def __init__(self, *, max_pending: int = MAX_PENDING) -> None:
        self._pending: dict[str, deque[tuple[datetime, ApprovalResponse]]] = {}
        self._count = 0
        self._max = max_pending
        self._lock = threading.Lock()

    def record(self, request: ApprovalRequest, response: ApprovalResponse) -> bool:
        """Keep ``response`` if it approves ``request`` in time; return whether it was kept."""
        if response.fingerprint != request.fingerprint:
            raise AgentorError(
                PolicyCode.APPROVAL_MISMATCH,
                "the answer names a different call than the question it answers",
                hint="ask again; an approval covers one exact call",
            )
        if not response.approved:
            return False
        if response.decided_at >= request.expires_at:
            raise AgentorError(
                PolicyCode.APPROVAL_EXPIRED,
                f"the approval for {request.tool!r} arrived after the question expired",
                hint="ask again and answer before it expires",
            )
        with self._lock:
            self._prune(response.decided_at)
            if self._count >= self._max:
                raise AgentorError(
                    PolicyCode.APPROVAL_MISSING,
                    f"{self._max} approvals are waiting to be used; this one was not kept",
                    hint="run or discard pending calls before approving more",
                )
            self._pending.setdefault(request.fingerprint, deque()).append(
                (request.expires_at, response)
            )
            self._count += 1
        return True

    def consume(self, call: ToolCall, now: datetime) -> ApprovalResponse:
        """Spend the approval for exactly ``call``; raises if there is none or it expired."""
        fingerprint = call.fingerprint()
        expired = False
        with self._lock:
            queue = self._pending.get(fingerprint)
            while queue:
                expires_at, response = queue.popleft()
                self._count -= 1
                if now < expires_at:
                    if not queue:
                        del self._pending[fingerprint]
                    return response
                expired = True
            self._pending.pop(fingerprint, None)
        if expired:
            raise AgentorError(
                PolicyCode.APPROVAL_EXPIRED,
                f"the approval for this call of {call.tool!r} has expired",
                hint="ask again",
            )
        raise AgentorError(
            PolicyCode.APPROVAL_MISSING,
            f"no unused approval for this exact call of {call.tool!r}",
            hint=(
                "approvals are single-use and bound to the tool, component and arguments; ask again"
            ),
        )

    def pending(self) -> int:
        with self._lock:
            return self._count

    def _prune(self, now: datetime) -> None:
        for fingerprint in list(self._pending):
            queue = self._pending[fingerprint]
            kept = deque(item for item in queue if now < item[0])
            self._count -= len(queue) - len(kept)
            if kept:
                self._pending[fingerprint] = kept
            else:
                del self._pending[fingerprint]
