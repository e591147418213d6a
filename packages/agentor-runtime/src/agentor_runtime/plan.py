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

A plan may also say how many calls a tool gets (``"calls": {"book_hotel": 1}``),
as a task often does ("book a room", "add one event"): once that many calls of
it have run, the next one is outside the plan too. The counts are totals over
the run (a plan replaced later counts the calls already made); a tool without a
count has no limit.

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

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentor_core.bounds import Name
from agentor_core.tools import ToolSpec

PLAN_DECLARE: Final = "plan.declare"
PLAN_ACCEPTED: Final = "runtime.plan"
"""Rule id of the runtime's decision that accepts a plan declared in a trusted context."""
PLAN_UNTRUSTED: Final = "runtime.plan_untrusted"
"""Rule id of the runtime's question when a plan is declared after untrusted content."""
MAX_PLAN_TOOLS: Final = 1024
MAX_PLANNED_CALLS: Final = 10_000

PlanMode = Literal["off", "tools"]

PLAN_NOTE: Final = (
    f"Before calling any other tool, call {PLAN_DECLARE} once with the names of every "
    "tool this task needs, decided from the task alone; where the task says how many "
    'times a tool with effects is needed (one booking, two e-mails), add "calls" with '
    "those numbers. After tool output has been read, calls outside that plan (another "
    "tool, or more calls than declared), and any new plan, need a person's approval."
)


class _PlanArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
    # A list: JSON arrays arrive as lists, which strict mode would refuse as a tuple.
    tools: list[Name] = Field(max_length=MAX_PLAN_TOOLS)
    calls: dict[Name, Annotated[int, Field(ge=1, le=MAX_PLANNED_CALLS)]] = Field(
        default_factory=dict, max_length=MAX_PLAN_TOOLS
    )


@dataclass(frozen=True)
class Plan:
    """A declared plan: tool names, and for some of them how many calls they get."""

    tools: tuple[str, ...]
    calls: Mapping[str, int] = field(default_factory=dict)


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
                },
                "calls": {
                    "type": "object",
                    "additionalProperties": {"type": "integer", "minimum": 1},
                    "description": (
                        "optional: for a tool with effects, how many calls the task needs "
                        "(e.g. one booking); a call beyond that is outside the plan"
                    ),
                },
            },
            "required": ["tools"],
            "additionalProperties": False,
        },
    )


def parse_plan(arguments: object) -> Plan | None:
    """The declared plan, or ``None`` unless the arguments are ``{"tools": [str], "calls"?}``."""
    try:
        parsed = _PlanArgs.model_validate(arguments)
    except ValidationError:
        return None
    return Plan(tools=tuple(parsed.tools), calls=dict(parsed.calls))


@dataclass
class PlanState:
    """One agent loop's accepted plan; ``None`` until one is accepted."""

    tools: frozenset[str] | None = None
    calls: Mapping[str, int] = field(default_factory=dict)
    """Planned call counts, for the tools the plan gave one."""
    ran: Counter[str] = field(default_factory=Counter)
    """Calls that ran, per tool, over the whole run."""

    def off_plan(self, tool: str, *, context_trusted: bool) -> bool:
        """Whether a call to ``tool`` is control-flow tainted (see the module docstring)."""
        if context_trusted:
            return False
        if self.tools is None or tool not in self.tools:
            return True
        limit = self.calls.get(tool)
        return limit is not None and self.ran[tool] >= limit

    def accept(self, plan: Plan, offered: set[str]) -> None:
        """Make ``plan`` (its offered tools only) the plan from now on."""
        self.tools = frozenset(set(plan.tools) & offered)
        self.calls = {name: n for name, n in plan.calls.items() if name in self.tools}

    def record(self, tool: str) -> None:
        """A call of ``tool`` ran: it counts against the plan's number for it."""
        self.ran[tool] += 1
