"""The envelope of an audit event. agentor-audit owns storage, hashing and proofs."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from agentor_core.bounds import BoundedJsonObject, Name, Sha256Hex
from agentor_core.decisions import RuleId, Verdict

AUDIT_SCHEMA_VERSION: Final = 1

Id = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class AuditEventType(StrEnum):
    POLICY_LOADED = "policy.loaded"
    CALL_REQUESTED = "call.requested"
    DECISION = "decision"
    APPROVAL_ASKED = "approval.asked"
    APPROVAL_GRANTED = "approval.granted"
    APPROVAL_DENIED = "approval.denied"
    SANDBOX_STARTED = "sandbox.started"
    SANDBOX_TRAPPED = "sandbox.trapped"
    LIMIT_HIT = "sandbox.limit_hit"
    EGRESS_ALLOWED = "egress.allowed"
    EGRESS_REFUSED = "egress.refused"
    RESULT = "result"
    MCP_SERVER_PINNED = "mcp.server_pinned"
    MCP_SERVER_CHANGED = "mcp.server_changed"
    CONFIG_CHANGED = "config.changed"
    AUDIT_RECOVERED = "audit.recovered"
    """The log itself: a reopened store found writers that died with events not committed."""


class AuditEvent(BaseModel):
    """One thing that happened, before the sink assigns it a sequence number.

    ``arguments`` must already be redacted; ``argument_digest`` binds the real
    arguments so a holder of them can prove what was sent.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = AUDIT_SCHEMA_VERSION
    type: AuditEventType
    time: AwareDatetime
    session_id: Id | None = None
    agent_id: Id | None = None
    user_id: Id | None = None
    call_id: Id | None = None
    tool: Name | None = None
    component_hash: Sha256Hex | None = None
    argument_digest: Sha256Hex | None = None
    arguments: BoundedJsonObject | None = None
    verdict: Verdict | None = None
    rule_id: RuleId | None = None
    policy_hash: Sha256Hex | None = None
    outcome: Annotated[str, StringConstraints(max_length=96)] | None = None
    """``ok`` or a stable error code."""
    result_digest: Sha256Hex | None = None
    trace_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")] | None = None
    span_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")] | None = None
    detail: BoundedJsonObject = Field(default_factory=dict)


class AuditReceipt(BaseModel):
    """Proof that an event was committed: its sequence number and leaf hash."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sequence: Annotated[int, Field(ge=0)]
    leaf_hash: Sha256Hex
