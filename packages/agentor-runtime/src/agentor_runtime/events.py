"""What a run reports while it goes (events) and when it ends (the result)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from agentor_core.decisions import Verdict
from agentor_core.errors import ToolError
from agentor_core.labels import LabelSet
from agentor_core.llm import ChatMessage, Usage


class EventKind(StrEnum):
    TEXT = "text"
    """A piece of the model's answer, as it streams."""
    PROPOSED = "proposed"
    DECIDED = "decided"
    APPROVAL = "approval"
    RESULT = "result"
    HANDOFF = "handoff"
    FINISHED = "finished"


class RunEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: EventKind
    agent: str
    text: str = ""
    tool: str | None = None
    call_id: str | None = None
    arguments: dict[str, Any] | None = None
    labels: dict[str, LabelSet] | None = None
    verdict: Verdict | None = None
    rule_id: str | None = None
    reason: str | None = None
    approved: bool | None = None
    outcome: str | None = None


class DecisionRecord(BaseModel):
    """One proposed call and what became of it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agent: str
    call_id: str
    tool: str
    verdict: Verdict
    rule_id: str
    reason: str
    approval_asked: bool = False
    approved: bool | None = None
    ran: bool = False
    outcome: str | None = None
    """``ok``, or the stable error code of the tool, the policy or the approval."""


class RunResult(BaseModel):
    """How a run ended: the answer (if any), why it stopped, and what it cost."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    agent: str
    answer: str
    stop_reason: str
    error: ToolError | None = None
    steps: Annotated[int, Field(ge=0)] = 0
    tool_calls: Annotated[int, Field(ge=0)] = 0
    usage: Usage = Field(default_factory=Usage)
    decisions: tuple[DecisionRecord, ...] = ()
    audit_first: int | None = None
    audit_last: int | None = None
    wall_time_s: float = 0.0
    context_labels: LabelSet = Field(default_factory=LabelSet)
    """The join of everything that was in the context: the answer's provenance."""
    messages: tuple[ChatMessage, ...] = ()
    untrusted_spans: tuple[tuple[int, int], ...] = ()
    """``[start, end)`` character ranges of ``answer`` repeated verbatim from untrusted
    content (an e-mail, a review, a web page): show them as quoted, not as the
    assistant's own words (:meth:`marked_answer`)."""

    @property
    def finished(self) -> bool:
        return self.stop_reason == "final_answer"

    def marked_answer(self, start: str = "\u00ab", end: str = "\u00bb") -> str:
        """The answer with each span copied from untrusted content between ``start`` and ``end``."""
        parts: list[str] = []
        at = 0
        for first, last in self.untrusted_spans:
            parts += [self.answer[at:first], start, self.answer[first:last], end]
            at = last
        parts.append(self.answer[at:])
        return "".join(parts)

    def summary(self) -> dict[str, Any]:
        """The run summary a person or CI reads (no message bodies)."""
        verdicts = {v.value: 0 for v in Verdict}
        for record in self.decisions:
            verdicts[record.verdict.value] += 1
        return {
            "run_id": self.run_id,
            "agent": self.agent,
            "stop_reason": self.stop_reason,
            "error": self.error.model_dump(mode="json") if self.error else None,
            "steps": self.steps,
            "tool_calls": self.tool_calls,
            "tokens": {
                "input": self.usage.input_tokens,
                "output": self.usage.output_tokens,
            },
            "decisions": verdicts,
            "approvals_asked": sum(1 for r in self.decisions if r.approval_asked),
            "approvals_granted": sum(1 for r in self.decisions if r.approved),
            "audit": {"first": self.audit_first, "last": self.audit_last},
            "wall_time_s": round(self.wall_time_s, 3),
            "answer_trust": self.context_labels.trust.value,
            "answer_untrusted_spans": len(self.untrusted_spans),
        }
