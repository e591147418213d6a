"""The policy's answer to a proposed call."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from agentor_core.bounds import Name, Reason, Sha256Hex
from agentor_core.capabilities import Capabilities

RuleId = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class Verdict(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    ASK = "ask"
    """Run only if a person approves this exact call through an ApprovalChannel."""


class Obligations(BaseModel):
    """What the host must do if the call runs: the effective grant, and how to label output."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    grant: Capabilities = Field(default_factory=Capabilities)
    trusted_output: bool = False
    """Label the tool's output trusted; only for tools the operator declared trusted."""
    system_fields: tuple[Annotated[str, StringConstraints(min_length=1, max_length=128)], ...] = (
        Field(default=(), max_length=256)
    )
    """Fields of the tool's structured output that the system fills in (ids, directory
    names, dates), not free text a third party wrote: values under a dict key named
    here (at any depth; ``$`` for items of a bare top-level list or a bare scalar) are
    labelled ``trusted_tool``, every other leaf keeps the output's own labels."""
    private_output: bool = False
    """The tool reads the user's private data: label its output private."""


class Decision(BaseModel):
    """allow, deny or ask; the rule that decided; a reason a person can read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    verdict: Verdict
    rule_id: RuleId
    reason: Reason
    obligations: Obligations = Field(default_factory=Obligations)
    policy_hash: Sha256Hex | None = None

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOW


class PolicyContext(BaseModel):
    """Facts about the situation a call is proposed in, besides the call itself.

    The time is part of the context, not read from a clock, so the same inputs
    give the same decision.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    now: AwareDatetime
    session_id: Annotated[str, StringConstraints(max_length=128)] | None = None
    agent_id: Name | None = None
    user_id: Annotated[str, StringConstraints(max_length=256)] | None = None


class ApprovalRequest(BaseModel):
    """A question to a person: may this exact call run?"""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fingerprint: Sha256Hex
    tool: Name
    summary: Annotated[str, StringConstraints(max_length=16 * 1024)]
    """The call as a person should see it, with secrets already redacted."""
    rule_id: RuleId
    reason: Reason
    expires_at: AwareDatetime


class ApprovalResponse(BaseModel):
    """A person's answer, bound to one call fingerprint."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fingerprint: Sha256Hex
    approved: bool
    approver: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    decided_at: AwareDatetime
    note: Annotated[str, StringConstraints(max_length=4096)] | None = None
