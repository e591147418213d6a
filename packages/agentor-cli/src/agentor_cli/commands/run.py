"""``agentor run AGENT.toml "task"``: every proposal of the agent passes policy, approval, audit.

The tools, policy and audit log are composed exactly as for ``agentor serve``
(its ``build``), from the agent's ``toolbox`` file, ``--config``, or the
embedded defaults. The model comes from ``--model``, the agent's ``[model]``
table or ``AGENTOR_MODEL``; with none of them it says how to configure one.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.text import Text

from agentor_cli.output import EXIT_FAILED, emit_json, handles_errors, inert, json_option, stderr
from agentor_core.capabilities import Capabilities
from agentor_core.errors import AgentorError
from agentor_core.interfaces import LlmProvider
from agentor_core.tools import ToolCall, ToolResult, ToolSpec

if TYPE_CHECKING:
    from agentor_cli.commands.serve import Served
    from agentor_core.interfaces import PolicyEngine, ToolRuntime
    from agentor_runtime import Agent, LoadedAgent, RunEvent, RunResult


class _ServedTools:
    """The sandbox runtime, offering the tools with the toolbox's descriptions and schemas."""

    def __init__(self, served: Served) -> None:
        self._served = served

    def list_tools(self) -> Sequence[ToolSpec]:
        return list(self._served.bridge.specs().values())

    def invoke(self, call: ToolCall, grant: Capabilities) -> ToolResult:
        return self._served.runtime.invoke(call, grant)

    async def invoke_async(self, call: ToolCall, grant: Capabilities) -> ToolResult:
        return await self._served.runtime.invoke_async(call, grant)

    def component_hash(self, name: str) -> str | None:
        return self._served.runtime.component_hash(name)


def _served_policy(served: Served) -> PolicyEngine:
    from agentor_policy import PolicyHolder  # noqa: PLC0415

    return PolicyHolder.from_file(served.config.resolve(served.config.config.policy.file))


def _with_toolboxes(
    loaded: LoadedAgent,
    opened: list[Served],
    inherited: tuple[ToolRuntime, PolicyEngine] | None = None,
) -> Agent:
    """The agent with each hand-off running its own toolbox and policy (from its ``toolbox``).

    A hand-off without a ``toolbox`` runs its parent's. Every agent writes to the
    run's one audit log, under its own name; a hand-off's own ``[audit]`` is not used.
    """
    from agentor_cli.commands.serve import build  # noqa: PLC0415

    children = []
    for child in loaded.handoffs:
        own = inherited
        if child.toolbox is not None:
            served = build(child.toolbox)
            opened.append(served)
            own = (_ServedTools(served), _served_policy(served))
        composed = _with_toolboxes(child, opened, own)
        if own is not None:
            composed = composed.model_copy(update={"toolbox": own[0], "policy": own[1]})
        children.append(composed)
    return loaded.agent.model_copy(update={"handoffs": tuple(children)})


def _with_model(agent: Agent, name: str) -> Agent:
    """Every agent of the run talks to the one configured model: its name goes in each request.

    Without this, ``--model openai:NAME`` or ``AGENTOR_MODEL`` would reach the
    provider with the agent file's name (``default`` when it has no ``[model]``).
    """
    children = tuple(_with_model(child, name) for child in agent.handoffs)
    return agent.model_copy(update={"model": name[:256], "handoffs": children})


def _uses_memory(agent: Agent) -> bool:
    return agent.memory is not None or any(_uses_memory(child) for child in agent.handoffs)


def _provider(loaded: LoadedAgent, model_option: str | None) -> tuple[LlmProvider, str]:
    from agentor_llm import (  # noqa: PLC0415 - only this command needs the providers
        ENV_MODEL,
        HOW_TO_CONFIGURE,
        LlmCode,
        model_from_env,
        parse_model_config,
        provider_from_config,
    )

    if model_option is not None:
        config = model_from_env({ENV_MODEL: model_option})
        base = Path.cwd()
    elif loaded.model is not None:
        config = parse_model_config(loaded.model, source=str(loaded.path))
        base = loaded.path.parent
    else:
        config = model_from_env()
        base = Path.cwd()
    if config is None:
        raise AgentorError(
            LlmCode.NOT_CONFIGURED,
            f"no model is configured for the agent {loaded.agent.name!r}",
            hint=HOW_TO_CONFIGURE,
        )
    provider = provider_from_config(config, base_dir=base, environ=os.environ)
    return provider, config.name


class _Printer:
    """Streams the answer to stdout and the calls and decisions to stderr (escaped)."""

    def __init__(self, *, quiet: bool, hide_values: bool = False) -> None:
        self.quiet = quiet
        # An agent whose answer the policy releases: argument values (text the model may
        # have copied from outside content) are not shown before any decision either.
        self.hide_values = hide_values
        self.err = stderr()
        self.streamed = False

    def __call__(self, event: RunEvent) -> None:
        if self.quiet:
            return
        kind = event.kind.value
        if kind == "text":
            sys.stdout.write(event.text)
            sys.stdout.flush()
            self.streamed = True
            return
        if self.streamed:
            sys.stdout.write("\n")
            self.streamed = False
        if kind == "proposed":
            untrusted = sorted(k for k, v in (event.labels or {}).items() if not v.is_trusted)
            args = (
                "(" + ", ".join(sorted(event.arguments or {})) + ")"
                if self.hide_values
                else json.dumps(event.arguments or {}, ensure_ascii=False)[:300]
            )
            note = f"  (untrusted: {', '.join(untrusted)})" if untrusted else ""
            self.err.print(Text(f"→ {event.agent}: {event.tool} {args}{note}", style="cyan"))
        elif kind == "decided":
            style = {"allow": "green", "ask": "yellow", "deny": "red"}[event.verdict or "deny"]
            self.err.print(Text(f"  {event.verdict}: {event.rule_id}: {event.reason}", style=style))
        elif kind == "result":
            self.err.print(Text(f"  result: {event.outcome}", style="dim"))
        elif kind == "handoff":
            self.err.print(Text(f"⇢ {event.agent} hands off to {event.tool}", style="magenta"))


def _summary_lines(result: RunResult) -> list[str]:
    summary = result.summary()
    decisions = summary["decisions"]
    audit = summary["audit"]
    audit_range = (
        f"#{audit['first']}..#{audit['last']}" if audit["first"] is not None else "no events"
    )
    return [
        f"run {summary['run_id']}  agent {summary['agent']}  stop: {summary['stop_reason']}",
        (
            f"steps {summary['steps']}  tool calls {summary['tool_calls']}  tokens "
            f"{summary['tokens']['input']} in / {summary['tokens']['output']} out  "
            f"{summary['wall_time_s']} s"
        ),
        (
            f"decisions: {decisions['allow']} allowed, {decisions['ask']} asked "
            f"({summary['approvals_granted']} approved), {decisions['deny']} denied"
        ),
        f"audit log {audit_range}   answer trust: {summary['answer_trust']}",
    ]


@click.command("run")
@click.argument("agent_file", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("task")
@click.option("--model", "model_option", default=None, help="provider:model, e.g. ollama:llama3.2")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="agentor.toml (tools, policy, audit). Default: the agent's toolbox, else the embedded.",
)
@click.option("--no-stream", is_flag=True, help="Ask the model for whole answers.")
@click.option(
    "--memory-db",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="AGENTOR_MEMORY_DB",
    default=None,
    help="The memory store, for agents with [memory]. Default: agentor's state folder.",
)
@json_option
@handles_errors
def run(
    *,
    agent_file: Path,
    task: str,
    model_option: str | None,
    config_path: Path | None,
    no_stream: bool,
    memory_db: Path | None,
    as_json: bool,
) -> None:
    """Run an agent on TASK: the model proposes, the policy decides, the sandbox runs, all audited.

    Approvals the policy asks for are asked here, in the terminal.
    """
    from agentor_cli.commands.serve import build  # noqa: PLC0415
    from agentor_memory import SqliteMemoryStore, create_memory_store  # noqa: PLC0415
    from agentor_policy import terminal_channel  # noqa: PLC0415
    from agentor_runtime import Runner, load_agent  # noqa: PLC0415

    loaded = load_agent(agent_file)
    provider, model_name = _provider(loaded, model_option)
    served = build(config_path or loaded.toolbox)
    opened: list[Served] = [served]
    memory: SqliteMemoryStore | None = None
    try:
        policy = _served_policy(served)
        agent = _with_model(_with_toolboxes(loaded, opened), model_name)
        if _uses_memory(agent):
            memory = create_memory_store(path=memory_db)
        printer = _Printer(quiet=as_json, hide_values=agent.answer == "policy")
        runner = Runner(
            provider=provider,
            tools=_ServedTools(served),
            policy=policy,
            audit=served.audit,
            approvals=terminal_channel(),
            on_event=printer,
            stream=not no_stream,
            memory=memory,
        )
        result = asyncio.run(runner.run(agent, task))
    finally:
        if memory is not None:
            memory.close()
        for each in reversed(opened):
            each.close()
    if printer.streamed:
        sys.stdout.write("\n")
    _report(result, as_json=as_json, streamed=not no_stream)


def _report(result: RunResult, *, as_json: bool, streamed: bool) -> None:
    if as_json:
        emit_json(
            {
                "ok": result.finished,
                "answer": result.answer,
                "answer_untrusted_spans": [list(span) for span in result.untrusted_spans],
                "error": result.error.model_dump(mode="json") if result.error else None,
                "summary": result.summary(),
                "decisions": [d.model_dump(mode="json") for d in result.decisions],
            }
        )
        if not result.finished:
            sys.exit(EXIT_FAILED)
        return
    if not streamed and result.answer:
        click.echo(result.answer)
    console = stderr()
    if result.untrusted_spans:
        # The answer was shown as the model wrote it; say which parts a third party wrote.
        console.print(
            Text(
                f"{len(result.untrusted_spans)} passage(s) of this answer repeat untrusted "
                "tool output word for word (between \u00ab \u00bb); check them before acting:",
                style="yellow",
            )
        )
        console.print(inert(result.marked_answer()))
    for line in _summary_lines(result):
        console.print(Text(line, style="dim"))
    if result.error is not None:
        raise AgentorError(result.error.code, result.error.message, hint=result.error.hint)
    if not result.finished:
        raise AgentorError(
            f"runtime.{result.stop_reason}",
            f"the run stopped before a final answer: {result.stop_reason}",
            hint="raise the [budget] limits in the agent file if the task needs more",
        )
