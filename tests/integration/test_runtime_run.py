"""``agentor run`` and the runtime with the real sandbox, policy, audit log and scripted model."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agentor_cli.app import cli
from agentor_cli.commands.serve import DEFAULTS_DIR, build
from agentor_core.llm import (
    ChatMessage,
    FinishReason,
    ModelDelta,
    ModelRequest,
    ModelResponse,
    Role,
    ToolCallProposal,
)
from agentor_policy import PolicyHolder
from agentor_runtime import Agent, Runner, StopReason

POLICY = """
version = 1

[flow]
untrusted_to_sink = "deny"

[[tool]]
id = "clock"
name = "clock"

[[tool]]
id = "echo"
name = "echo"
[tool.args.text]
type = "string"
[tool.sink]
args = ["text"]
"""

TOOLBOX = f"""
version = 1
[policy]
file = "policy.toml"
[audit]
path = "audit"

[[tools]]
file = "{DEFAULTS_DIR / "tools" / "echo.wasm"}"
name = "echo"
description = "Says the text out loud (a sink)."
input_schema = {{ type = "object", properties = {{ text = {{ type = "string" }} }} }}

[[tools]]
file = "{DEFAULTS_DIR / "tools" / "clock.wasm"}"
name = "clock"
input_schema = {{ type = "object", properties = {{}} }}
"""


@pytest.fixture(autouse=True)
def _private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTOR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("AGENTOR_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("AGENTOR_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("AGENTOR_MODEL", raising=False)


def toolbox(tmp_path: Path) -> Path:
    (tmp_path / "policy.toml").write_text(POLICY)
    path = tmp_path / "agentor.toml"
    path.write_text(TOOLBOX)
    return path


class CompromisedModel:
    """Reads the clock, copies its (untrusted) output into the sink, then greets as asked."""

    def __init__(self) -> None:
        self.turn = 0

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.turn += 1
        if self.turn == 1:
            return _call("clock", {})
        if self.turn == 2:
            seen = request.messages[-1].content
            stamp = seen.split('"unix_ms":')[1].split("}")[0].strip()
            return _call("echo", {"text": stamp})
        if self.turn == 3:
            return _call("echo", {"text": "Hello Ada"})
        return ModelResponse(
            message=ChatMessage(role=Role.ASSISTANT, content="Done."),
            finish_reason=FinishReason.STOP,
        )

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelDelta]:
        yield ModelDelta(final=await self.complete(request))


def _call(name: str, arguments: dict[str, Any]) -> ModelResponse:
    proposal = ToolCallProposal(id=f"call-{name}", name=name, arguments=arguments)
    return ModelResponse(
        message=ChatMessage(role=Role.ASSISTANT, tool_calls=(proposal,)),
        finish_reason=FinishReason.TOOL_CALLS,
    )


def test_untrusted_value_cannot_reach_a_sink_through_the_real_stack(tmp_path: Path) -> None:
    served = build(toolbox(tmp_path))
    try:
        policy = PolicyHolder.from_file(tmp_path / "policy.toml")
        runner = Runner(
            provider=CompromisedModel(), tools=served.runtime, policy=policy, audit=served.audit
        )
        result = asyncio.run(runner.run(Agent(name="greeter"), 'Say "Hello Ada"'))
    finally:
        served.close()
    assert result.stop_reason == StopReason.FINAL_ANSWER
    verdicts = [(d.tool, d.verdict.value, d.rule_id, d.ran) for d in result.decisions]
    assert verdicts == [
        ("clock", "allow", "clock", True),
        ("echo", "deny", "flow.untrusted_to_sink", False),
        ("echo", "allow", "echo", True),
    ]
    assert result.audit_first is not None
    assert result.audit_last is not None
    assert result.audit_last - result.audit_first + 1 == 5  # 3 decisions, 2 results


def agent_file(tmp_path: Path, *, model: bool = True) -> Path:
    (tmp_path / "turns.toml").write_text(
        '[[turns]]\n[[turns.tool_calls]]\nname = "confirm_echo"\narguments = { text = "hi" }\n'
        '[[turns]]\ntext = "All done."\nusage = { input_tokens = 7, output_tokens = 2 }\n'
    )
    text = '[agent]\nname = "cli-agent"\ntools = ["echo", "confirm_echo"]\n'
    if model:
        text += '[model]\nprovider = "scripted"\nscript = "turns.toml"\n'
    path = tmp_path / "agent.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("answer", "approved"), [("yes\n", True), ("no\n", False), ("", False)])
def test_run_asks_in_the_terminal_and_reports(tmp_path: Path, answer: str, approved: bool) -> None:
    result = CliRunner().invoke(
        cli, ["run", str(agent_file(tmp_path)), "say hi", "--json"], input=answer
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["ok"] is True
    assert document["answer"] == "All done."
    summary = document["summary"]
    assert summary["stop_reason"] == "final_answer"
    assert summary["tokens"] == {"input": 7, "output": 2}
    assert summary["approvals_asked"] == 1
    assert summary["approvals_granted"] == (1 if approved else 0)
    assert summary["audit"]["first"] is not None
    assert document["decisions"][0]["ran"] is approved


def test_run_streams_and_prints_a_summary(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["run", str(agent_file(tmp_path)), "say hi"], input="yes\n")
    assert result.exit_code == 0, result.output
    assert "All done." in result.stdout
    assert "stop: final_answer" in result.stderr
    assert "1 asked (1 approved)" in result.stderr


def test_run_without_a_model_says_how_to_configure_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["run", str(agent_file(tmp_path, model=False)), "hi", "--json"]
    )
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "llm.not_configured"
    assert "AGENTOR_MODEL" in error["hint"]
    assert "[model]" in error["hint"]


def test_run_budget_stop_is_an_error(tmp_path: Path) -> None:
    path = agent_file(tmp_path)
    path.write_text(path.read_text() + "[budget]\nmax_steps = 1\n")
    result = CliRunner().invoke(cli, ["run", str(path), "hi", "--json"], input="yes\n")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["summary"]["stop_reason"] == "max_steps"


def test_run_marks_answer_passages_copied_from_untrusted_output(tmp_path: Path) -> None:
    sentence = "the hotel by the river is the finest in town"
    (tmp_path / "turns.toml").write_text(
        f'[[turns]]\n[[turns.tool_calls]]\nname = "echo"\narguments = {{ text = "{sentence}" }}\n'
        f'[[turns]]\ntext = "Noted: {sentence}."\n'
    )
    path = tmp_path / "agent.toml"
    path.write_text(
        '[agent]\nname = "cli-agent"\ntools = ["echo"]\n'
        '[model]\nprovider = "scripted"\nscript = "turns.toml"\n'
    )
    result = CliRunner().invoke(cli, ["run", str(path), "say hi", "--no-stream"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"Noted: {sentence}."
    assert "1 passage(s) of this answer repeat untrusted tool output" in result.stderr
    assert f"Noted: \u00ab{sentence}\u00bb." in result.stderr

    as_json = CliRunner().invoke(cli, ["run", str(path), "say hi", "--json"])
    document = json.loads(as_json.stdout)
    start, end = document["answer_untrusted_spans"][0]
    assert document["answer"][start:end] == sentence


def test_run_does_not_mark_the_users_own_words(tmp_path: Path) -> None:
    sentence = "the hotel by the river is the finest in town"
    (tmp_path / "turns.toml").write_text(
        f'[[turns]]\n[[turns.tool_calls]]\nname = "echo"\narguments = {{ text = "{sentence}" }}\n'
        f'[[turns]]\ntext = "Noted: {sentence}."\n'
    )
    path = tmp_path / "agent.toml"
    path.write_text(
        '[agent]\nname = "cli-agent"\ntools = ["echo"]\n'
        '[model]\nprovider = "scripted"\nscript = "turns.toml"\n'
    )
    result = CliRunner().invoke(cli, ["run", str(path), f"repeat: {sentence}", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["answer_untrusted_spans"] == []
