"""Plan-then-execute: the tools an agent declares before untrusted content can steer it.

Value provenance sees where an argument came from, not *why* a call was made:
an injected "also add an event to the calendar" yields a call whose every
argument may be genuine. An agent with ``plan = "tools"`` is offered the built-in
``plan.declare`` tool and told to call it first, with the names of every tool the
task needs, decided from the task alone. The runtime handles it (no sandbox):

- declared while the whole context is trusted (the operator's instructions and
  the user's task, or trusted tool output): the plan is accepted, trusted;
- declared (or re-declared) once untrusted content is in the context: the plan
  could be the injection's, so the runtime asks a person (rule
  ``runtime.plan_untrusted``); only an approved plan replaces the old one.

After that, every proposal of a tool outside the accepted plan made while
untrusted content is in the context carries ``ToolCall.off_plan = True``, and
the policy decides (agentor-policy: ``[flow] off_plan``, ask by default for
tools with a sink). A call proposed while the context is still trusted is never
off plan: nothing untrusted could have chosen it. An agent that never declares
has an empty plan: every tool is off plan once untrusted content arrives.

This is the "tool filter" defence of the AgentDojo paper and the idea behind
CaMeL's privileged planner, enforced by the host rather than trusted to the
model: the model may still *propose* anything; the label tells the policy the
choice itself is tainted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentor_core.bounds import Name
from agentor_core.tools import ToolSpec

PLAN_DECLARE: Final = "plan.declare"
PLAN_ACCEPTED: Final = "runtime.plan"
"""Rule id of the runtime's decision that accepts a plan declared in a trusted context."""
PLAN_UNTRUSTED: Final = "runtime.plan_untrusted"
"""Rule id of the runtime's question when a plan is declared after untrusted content."""
MAX_PLAN_TOOLS: Final = 1024

PlanMode = Literal["off", "tools"]

PLAN_NOTE: Final = (
    f"Before calling any other tool, call {PLAN_DECLARE} once with the names of every "
    "tool this task needs, decided from the task alone. After tool output has been "
    "read, calls to tools outside that plan, and any new plan, need a person's approval."
)


class _PlanArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
    # A list: JSON arrays arrive as lists, which strict mode would refuse as a tuple.
    tools: list[Name] = Field(max_length=MAX_PLAN_TOOLS)


def plan_spec() -> ToolSpec:
    return ToolSpec(
        name=PLAN_DECLARE,
        description=(
            "Declare the tools you intend to use for this task, before using any. "
            "Decide them from the user's request alone."
        ),
        input_schema={
            "type": "object",
            "properties": {
                "tools": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "names of the tools this task needs",
                }
            },
            "required": ["tools"],
            "additionalProperties": False,
        },
    )


def parse_plan(arguments: object) -> tuple[str, ...] | None:
    """The declared tool names, or ``None`` when the arguments are not ``{"tools": [str]}``."""
    try:
        return tuple(_PlanArgs.model_validate(arguments).tools)
    except ValidationError:
        return None


@dataclass
class PlanState:
    """One agent loop's accepted plan; ``None`` until one is accepted."""

    tools: frozenset[str] | None = None

    def off_plan(self, tool: str, *, context_trusted: bool) -> bool:
        """Whether a call to ``tool`` is control-flow tainted (see the module docstring)."""
        if context_trusted:
            return False
        return self.tools is None or tool not in self.tools
