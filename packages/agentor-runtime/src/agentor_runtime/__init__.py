"""agentor-runtime: the agent loop in which the model proposes and a deterministic host disposes."""

from __future__ import annotations

from agentor_runtime.__about__ import __version__
from agentor_runtime.agent import Agent, AgentFile, Budget, LoadedAgent, load_agent
from agentor_runtime.answer import ANSWER_TOOL, AnswerMode
from agentor_runtime.budget import BudgetTracker
from agentor_runtime.codes import RuntimeCode, StopReason
from agentor_runtime.delimit import delimit, result_text
from agentor_runtime.events import DecisionRecord, EventKind, RunEvent, RunResult
from agentor_runtime.memory_tools import MEMORY_TOOLS, RECALL, REMEMBER, MemoryConfig
from agentor_runtime.plan import PLAN_DECLARE, PlanMode, PlanState
from agentor_runtime.provenance import (
    Provenance,
    Segment,
    embedded_destinations,
    normalise,
    untrusted_spans,
)
from agentor_runtime.runner import Runner, summarize

__all__ = [
    "ANSWER_TOOL",
    "MEMORY_TOOLS",
    "PLAN_DECLARE",
    "RECALL",
    "REMEMBER",
    "Agent",
    "AgentFile",
    "AnswerMode",
    "Budget",
    "BudgetTracker",
    "DecisionRecord",
    "EventKind",
    "LoadedAgent",
    "MemoryConfig",
    "PlanMode",
    "PlanState",
    "Provenance",
    "RunEvent",
    "RunResult",
    "Runner",
    "RuntimeCode",
    "Segment",
    "StopReason",
    "__version__",
    "delimit",
    "embedded_destinations",
    "load_agent",
    "normalise",
    "result_text",
    "summarize",
    "untrusted_spans",
]
