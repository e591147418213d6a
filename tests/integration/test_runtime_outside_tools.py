"""An agent whose toolbox fronts an outside MCP server: its tools go through policy and audit."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from agentor_cli.app import cli

UPSTREAM = Path(__file__).parents[1] / "mcp_bridge" / "upstream_server.py"

POLICY = """
version = 1

[[tool]]
id = "up-echo"
name = "up.echo"
[tool.args.text]
type = "string"
max_length = 100
"""

TURNS = """
[[turns]]
[[turns.tool_calls]]
name = "up.echo"
arguments = { text = "hello from the agent" }

[[turns]]
[[turns.tool_calls]]
name = "up.env"
arguments = {}

[[turns]]
text = "Done."
"""


@pytest.fixture(autouse=True)
def _private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTOR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("AGENTOR_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("AGENTOR_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("AGENTOR_MODEL", raising=False)


def _agent(tmp_path: Path) -> Path:
    state = tmp_path / "upstream"
    state.mkdir()
    (tmp_path / "policy.toml").write_text(POLICY)
    (tmp_path / "agentor.toml").write_text(
        "version = 1\n"
        '[policy]\nfile = "policy.toml"\n'
        '[audit]\npath = "audit"\n'
        # Approving every listed tool as first seen is for this test's own server only.
        "[proxy]\ntrust_on_first_use = true\n"
        "[servers.up]\n"
        f"command = {json.dumps([sys.executable, str(UPSTREAM), str(state)])}\n"
        "timeout_seconds = 30\n"
    )
    (tmp_path / "turns.toml").write_text(TURNS)
    agent = tmp_path / "agent.toml"
    agent.write_text(
        '[agent]\nname = "outside-user"\ntoolbox = "agentor.toml"\n'
        '[model]\nprovider = "scripted"\nscript = "turns.toml"\n'
    )
    return agent


def test_an_agent_calls_an_outside_server_tool_under_its_policy(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["run", str(_agent(tmp_path)), "say hello", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    verdicts = [(d["tool"], d["verdict"], d["ran"]) for d in document["decisions"]]
    # The allowed outside tool ran; the one the policy does not name was denied, never run.
    assert verdicts == [("up.echo", "allow", True), ("up.env", "deny", False)]
    audit = document["summary"]["audit"]
    assert audit["first"] is not None
    assert audit["last"] - audit["first"] >= 2  # decisions and the outside tool's result
