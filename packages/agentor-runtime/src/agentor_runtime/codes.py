"""Stable ``runtime.*`` error codes, and why a run stopped."""

from __future__ import annotations

from enum import StrEnum


class RuntimeCode(StrEnum):
    AGENT_INVALID = "runtime.agent_invalid"
    """An agent file or definition cannot be read or does not match its schema."""
    AUDIT_FAILED = "runtime.audit_failed"
    """The audit sink did not commit an event; the run stopped before the audited action."""
    POLICY_FAILED = "runtime.policy_failed"
    """The policy engine raised instead of deciding; the call was refused and the run stopped."""
    TOOL_NOT_OFFERED = "runtime.tool_not_offered"
    """The model proposed a tool this agent was not given; refused without running."""
    POLICY_DENIED = "runtime.policy_denied"
    """The policy denied a proposed call (the tool result the model sees carries this code)."""
    APPROVAL_DENIED = "runtime.approval_denied"
    """A person (or the lack of an approval channel) refused a call the policy asked about."""
    TOOL_LIMIT = "runtime.tool_call_limit"
    """A proposed call was refused because the run's tool-call budget is spent."""
    MEMORY_UNAVAILABLE = "runtime.memory_unavailable"
    """An agent with ``[memory]`` called a memory tool and no store was given, or it failed."""
    MEMORY_INVALID = "runtime.memory_invalid"
    """A ``memory.remember`` / ``memory.recall`` call had arguments of the wrong shape."""
    PLAN_INVALID = "runtime.plan_invalid"
    """A ``plan.declare`` call's arguments were not ``{"tools": [names]}``."""
    ANSWER_WITHHELD = "runtime.answer_withheld"
    """An agent with ``answer = "policy"``: the policy denied its final answer, or asked and
    nobody released it; the run returns no answer."""


class StopReason(StrEnum):
    """Why a run ended. Only ``final_answer`` means the model finished on its own."""

    FINAL_ANSWER = "final_answer"
    MAX_STEPS = "max_steps"
    MAX_TOKENS = "max_tokens"
    MAX_WALL_TIME = "max_wall_time"
    MODEL_ERROR = "model_error"
    """The model provider failed (its ``llm.*`` code is in the result's error)."""
    OUTPUT_LIMIT = "output_limit"
    """The model stopped at its output-token limit without finishing."""
    CONTENT_FILTER = "content_filter"
    AUDIT_FAILED = "audit_failed"
    POLICY_FAILED = "policy_failed"
    ANSWER_WITHHELD = "answer_withheld"
    """The model answered, but the policy (``agent.answer``) did not release the answer."""
