"""`agentor serve` with the real sandbox, policy and audit log, reached by the real MCP client."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
import wasmtime
from click.testing import CliRunner
from mcp import Client, StdioServerParameters

from agentor_audit.store import StoreReader
from agentor_cli.app import cli
from agentor_cli.commands.serve import DEFAULTS_DIR, build

POLICY = """
version = 1
[[tool]]
id = "echo"
name = "echo"
[tool.args.text]
type = "string"
required = true
[[tool]]
id = "confirm"
name = "confirm_echo"
approval = "always"
[tool.args.text]
type = "string"
required = true
[[deny]]
id = "no-clock"
name = "clock"
reason = "the operator keeps time to themselves"
"""


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AGENTOR_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AGENTOR_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "state"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "policy.toml").write_text(POLICY, encoding="utf-8")
    text = (DEFAULTS_DIR / "agentor.toml").read_text(encoding="utf-8")
    text = text.replace('file = "tools/', f'file = "{DEFAULTS_DIR}/tools/')
    text += f'\n[audit]\npath = "{tmp_path / "audit.db"}"\n'
    path = tmp_path / "agentor.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _events(db: Path) -> list[dict[str, Any]]:
    with StoreReader(db) as reader:
        return [json.loads(record)["event"] for _seq, _leaf, record in reader.rows()]


def test_embedded_wasm_is_built_from_the_shipped_wat() -> None:
    for name in ("echo", "clock"):
        wat = (DEFAULTS_DIR / "tools" / f"{name}.wat").read_text(encoding="utf-8")
        assert (DEFAULTS_DIR / "tools" / f"{name}.wasm").read_bytes() == wasmtime.wat2wasm(wat)


def test_serve_check_on_embedded_defaults(state: Path) -> None:
    result = CliRunner().invoke(cli, ["serve", "--check", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["tools"] == ["clock", "confirm_echo", "echo"]
    assert report["call"]["structured_content"] == {"text": "agentor serve --check"}
    assert list((state / "audit").glob("*.db"))


def test_serve_check_reports_a_denied_call(state: Path, config: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            *("serve", "--config", str(config), "--check"),
            *("--check-tool", "clock", "--check-args", "{}", "--json"),
        ],
    )
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert "no-clock" in report["call"]["text"][0]


def test_serve_refuses_a_public_bind_without_tokens(state: Path) -> None:
    result = CliRunner().invoke(cli, ["serve", "--http", "0.0.0.0:8765", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["code"] == "mcp.bind_refused"


def test_bad_config_is_a_clear_error(state: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("version = 1\n[policy]\nfile = 3\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["serve", "--config", str(bad), "--check", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["code"] == "mcp.config_invalid"


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_policy_approval_sandbox_and_audit_in_process(
    state: Path, config: Path, tmp_path: Path, mode: str
) -> None:
    served = build(config)
    answers = iter(["accept", "decline"])

    async def elicit(_ctx: Any, params: Any) -> types.ElicitResult:
        action = next(answers)
        return types.ElicitResult(
            action=action,  # type: ignore[arg-type]
            content={"approve": True} if action == "accept" else None,
        )

    async def main() -> dict[str, Any]:
        async with Client(served.bridge.server, mode=mode, elicitation_callback=elicit) as client:
            listed = {t.name: t for t in (await client.list_tools()).tools}
            return {
                "listed": listed,
                "echo": await client.call_tool("echo", {"text": "sandboxed"}),
                "denied": await client.call_tool("clock", {}),
                "approved": await client.call_tool("confirm_echo", {"text": "yes"}),
                "declined": await client.call_tool("confirm_echo", {"text": "no"}),
            }

    try:
        out = anyio.run(main)
    finally:
        served.close()
    echo_annotations = out["listed"]["echo"].annotations
    assert echo_annotations.read_only_hint is True
    assert echo_annotations.open_world_hint is False
    assert out["echo"].structured_content == {"text": "sandboxed"}
    assert out["denied"].is_error
    assert "no-clock" in out["denied"].content[0].text
    assert "keeps time" in out["denied"].content[0].text
    assert out["approved"].structured_content == {"text": "yes"}
    assert out["declined"].is_error
    assert out["declined"].meta["io.agentor/error"]["code"] == "mcp.approval_denied"
    events = _events(tmp_path / "audit.db")
    kinds = [e["type"] for e in events]
    # On 2026-07-28 an approved or declined call is decided again when the client retries.
    assert kinds.count("decision") == (4 if mode == "legacy" else 6)
    assert kinds.count("result") == 2
    assert "approval.granted" in kinds
    assert "approval.denied" in kinds
    denied = next(e for e in events if e.get("tool") == "clock")
    assert denied["verdict"] == "deny"
    assert denied["rule_id"] == "no-clock"
    # Every event about the approved call carries the same call id and component hash.
    approved_id = next(e["call_id"] for e in events if e["type"] == "approval.granted")
    same = [e for e in events if e.get("call_id") == approved_id]
    expected = ["decision", "approval.asked", "approval.granted", "result"]
    if mode != "legacy":
        expected.insert(2, "decision")
    assert [e["type"] for e in same] == expected
    assert len({e["component_hash"] for e in same}) == 1


def test_stdio_subprocess_serves_the_embedded_toolbox(state: Path) -> None:
    env = {**os.environ, "AGENTOR_STATE_DIR": str(state)}
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "agentor_cli", "serve"], env=env
    )

    async def main() -> tuple[list[str], types.CallToolResult, types.CallToolResult]:
        async with Client(params) as client:
            names = [t.name for t in (await client.list_tools()).tools]
            echo = await client.call_tool("echo", {"text": "over stdio"})
            ask = await client.call_tool("confirm_echo", {"text": "no elicitation here"})
            return names, echo, ask

    names, echo, ask = anyio.run(main)
    assert names == ["clock", "confirm_echo", "echo"]
    assert echo.structured_content == {"text": "over stdio"}
    assert ask.is_error
    assert ask.meta is not None
    assert ask.meta["io.agentor/error"]["code"] == "mcp.approval_unavailable"


def test_stdio_elicitation_approves_one_exact_call(state: Path) -> None:
    env = {**os.environ, "AGENTOR_STATE_DIR": str(state)}
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "agentor_cli", "serve"], env=env
    )
    asked: list[str] = []

    async def elicit(_ctx: Any, params: Any) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"approve": True})

    async def main() -> types.CallToolResult:
        async with Client(params, mode="legacy", elicitation_callback=elicit) as client:
            return await client.call_tool("confirm_echo", {"text": "approved over stdio"})

    result = anyio.run(main)
    assert result.structured_content == {"text": "approved over stdio"}
    assert len(asked) == 1
    assert "approved over stdio" in asked[0]
    assert "confirm-echo.approval" in asked[0]
