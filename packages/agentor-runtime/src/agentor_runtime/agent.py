"""An agent: instructions, a model, the tools it may propose, budgets and hand-offs.

Declared in Python (:class:`Agent`) or in a TOML file (:func:`load_agent`):

.. code-block:: toml

    [agent]
    name = "assistant"
    instructions = "Answer briefly. Use tools only when needed."
    tools = ["echo"]                  # names the toolbox serves; omit for every tool
    toolbox = "agentor.toml"          # tools, policy and audit (as for `agentor serve`)
    plan = "tools"                    # optional: declare tools first (plan.declare); default "off"
    answer = "policy"                 # optional: the policy releases the answer; default "deliver"

    [model]                           # read by the caller (agentor-cli), see agentor-llm-providers
    provider = "scripted"
    script = "turns.toml"

    [budget]
    max_steps = 10
    max_tokens = 50000
    max_wall_time_s = 120

    [memory]                          # optional: the memory.remember / memory.recall tools
    namespace = "assistant"           # fixed here; the model cannot pick another
    recall = 5                        # records per recall

    [[handoffs]]
    file = "researcher.toml"          # another agent, with its own toolbox and policy
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentor_core.bounds import Name
from agentor_core.errors import AgentorError
from agentor_core.interfaces import PolicyEngine, ToolRuntime
from agentor_runtime.answer import AnswerMode
from agentor_runtime.codes import RuntimeCode
from agentor_runtime.memory_tools import MemoryConfig
from agentor_runtime.plan import PlanMode

MAX_AGENT_FILE_BYTES: Final = 1024 * 1024
MAX_HANDOFF_DEPTH: Final = 4
HANDOFF_PREFIX: Final = "handoff."


class Budget(BaseModel):
    """Limits of one run; hand-offs draw on their parent's budget, never a fresh one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_steps: Annotated[int, Field(ge=1, le=10_000)] = 20
    """Model calls."""
    max_tokens: Annotated[int, Field(ge=1, le=100_000_000)] = 200_000
    """Input plus output tokens, as the provider reports them."""
    max_wall_time_s: Annotated[float, Field(gt=0, le=86_400)] = 600.0
    max_tool_calls: Annotated[int, Field(ge=0, le=100_000)] = 100
    max_output_tokens: Annotated[int, Field(ge=1, le=1_000_000)] = 4096
    """Per model call."""


class Agent(BaseModel):
    """An agent in Python. ``policy`` and ``toolbox``: a hand-off's own; else the runner's."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    name: Name
    instructions: Annotated[str, Field(max_length=256 * 1024)] = ""
    model: Annotated[str, Field(min_length=1, max_length=256)] = "default"
    tools: tuple[Name, ...] | None = Field(default=None, max_length=1024)
    """Tool names this agent may propose; ``None`` means every tool the runtime serves."""
    budget: Budget = Field(default_factory=Budget)
    handoffs: tuple[Agent, ...] = Field(default=(), max_length=64)
    policy: PolicyEngine | None = None
    description: Annotated[str, Field(max_length=4096)] = ""
    """What this agent does, shown to a parent agent that can hand off to it."""
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    memory: MemoryConfig | None = None
    """``memory.remember`` / ``memory.recall`` in this namespace (the runner's store)."""
    toolbox: ToolRuntime | None = None
    """The tools this agent runs (a hand-off with its own toolbox); ``None``: the runner's."""
    plan: PlanMode = "off"
    """``"tools"``: the agent declares its tools first (``plan.declare``); calls outside
    that plan once untrusted content is in play carry ``ToolCall.off_plan``."""
    answer: AnswerMode = "deliver"
    """``"policy"``: the final answer is released only if the policy allows (or a person
    approves) the call ``agent.answer``; see :mod:`agentor_runtime.answer`."""


class _AgentTable(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: Name
    instructions: Annotated[str, Field(max_length=256 * 1024)] = ""
    description: Annotated[str, Field(max_length=4096)] = ""
    tools: tuple[Name, ...] | None = Field(default=None, max_length=1024)
    toolbox: Annotated[str, Field(max_length=4096)] | None = None
    plan: PlanMode = "off"
    answer: AnswerMode = "deliver"


class _Handoff(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    file: Annotated[str, Field(min_length=1, max_length=4096)]


class AgentFile(BaseModel):
    """An agent file as read; ``model`` is left to the caller (the runtime imports no provider)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    agent: _AgentTable
    model: dict[str, Any] | None = None
    budget: Budget = Field(default_factory=Budget)
    memory: MemoryConfig | None = None
    handoffs: tuple[_Handoff, ...] = Field(default=(), max_length=64)


class LoadedAgent(BaseModel):
    """An agent file, resolved: agent, ``[model]`` table, toolbox path, hand-offs."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)
    path: Path
    agent: Agent
    model: dict[str, Any] | None
    toolbox: Path | None
    handoffs: tuple[LoadedAgent, ...] = ()


def _read(path: Path) -> dict[str, Any]:
    try:
        if not path.is_file():
            raise OSError("not a regular file")
        if path.stat().st_size > MAX_AGENT_FILE_BYTES:
            raise OSError(f"larger than {MAX_AGENT_FILE_BYTES} bytes")
        return tomllib.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise AgentorError(
            RuntimeCode.AGENT_INVALID,
            f"the agent file {path} cannot be read ({exc})",
            hint="pass the path of an agent TOML file ([agent] name = ...)",
        ) from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise AgentorError(
            RuntimeCode.AGENT_INVALID,
            f"the agent file {path} is not TOML: {str(exc)[:300]}",
            hint="fix the line named",
        ) from None


def load_agent(path: Path, *, _depth: int = 0, _seen: frozenset[Path] = frozenset()) -> LoadedAgent:
    """Read an agent file and, recursively, the agents it hands off to."""
    path = path.resolve()
    if path in _seen or _depth > MAX_HANDOFF_DEPTH:
        raise AgentorError(
            RuntimeCode.AGENT_INVALID,
            f"{path}: hand-offs form a cycle or nest deeper than {MAX_HANDOFF_DEPTH}",
            hint="an agent may not hand off to itself or to an agent above it",
        )
    try:
        parsed = AgentFile.model_validate(_read(path))
    except ValidationError as exc:
        detail = exc.errors()[0]
        where = ".".join(str(part) for part in detail["loc"])
        raise AgentorError(
            RuntimeCode.AGENT_INVALID,
            f"{path}: {where}: {detail['msg'][:300]}",
            hint="see the agent file format in agentor-runtime's README",
        ) from None
    children = tuple(
        load_agent(path.parent / handoff.file, _depth=_depth + 1, _seen=_seen | {path})
        for handoff in parsed.handoffs
    )
    model = parsed.model or {}
    table = parsed.agent
    agent = Agent(
        name=table.name,
        instructions=table.instructions,
        description=table.description,
        tools=table.tools,
        model=str(model.get("name") or "default")[:256],
        temperature=_temperature(model.get("temperature")),
        budget=parsed.budget,
        memory=parsed.memory,
        handoffs=tuple(child.agent for child in children),
        plan=table.plan,
        answer=table.answer,
    )
    toolbox = path.parent / table.toolbox if table.toolbox else None
    return LoadedAgent(
        path=path, agent=agent, model=parsed.model, toolbox=toolbox, handoffs=children
    )


def _temperature(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 2:
        return float(value)
    return None
