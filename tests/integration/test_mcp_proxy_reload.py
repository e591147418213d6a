"""`agentor serve` follows [servers] changes on disk: start, stop, keep, refuse a bad config.

A real `agentor serve` process over stdio, watching its agentor.toml, in front of
the small stdio MCP server of tests/mcp_bridge; a real MCP client session sees
the list_changed notifications and the tools before and after.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters

from agentor_audit.store import StoreReader

UPSTREAM = Path(__file__).resolve().parents[1] / "mcp_bridge" / "upstream_server.py"
POLICY = """
version = 1
{rules}
"""
RULE = """
[[tool]]
id = "{server}-echo"
name = "{server}.echo"
[tool.args.text]
type = "string"
max_length = 100

[[tool]]
id = "{server}-pid"
name = "{server}.pid"
"""
WAIT_SECONDS = 60


def _server(name: str, state: Path, **extra: str) -> str:
    state.mkdir(exist_ok=True)
    command = json.dumps([sys.executable, str(UPSTREAM), str(state)])
    lines = [f"[servers.{name}]", f"command = {command}"]
    lines += [f"{key} = {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AGENTOR_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AGENTOR_CONFIG_DIR", str(tmp_path / "config"))
    rules = "".join(RULE.format(server=name) for name in ("up", "two"))
    (tmp_path / "policy.toml").write_text(POLICY.format(rules=rules), encoding="utf-8")
    return tmp_path


def _write_config(box: Path, *servers: str) -> Path:
    path = box / "agentor.toml"
    partial = box / ".agentor.toml.partial"
    partial.write_text(
        'version = 1\n[policy]\nfile = "policy.toml"\n[audit]\npath = "audit.db"\n'
        "[proxy]\ntrust_on_first_use = true\n" + "".join(servers),
        encoding="utf-8",
    )
    partial.replace(path)  # as an editor saves: the watcher never reads half a file
    return path


def _text(result: types.CallToolResult) -> str:
    assert not result.is_error, result
    return "".join(b.text for b in result.content if isinstance(b, types.TextContent))


def _gone(pid: int) -> bool:
    """Ended and reaped by the server (a zombie keeps its /proc entry)."""
    return not Path(f"/proc/{pid}").exists()


def _events(db: Path) -> list[dict[str, Any]]:
    with StoreReader(db) as reader:
        return [json.loads(record)["event"] for _seq, _leaf, record in reader.rows()]


def test_serve_starts_stops_and_keeps_outside_servers_on_change(box: Path) -> None:
    config = _write_config(box, _server("up", box / "a"))
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "agentor_cli", "serve", "--config", str(config)],
        env={**os.environ},
    )
    changed = anyio.Event()

    async def on_message(message: Any) -> None:
        if (
            isinstance(message, types.ServerNotification)
            and message.method == "notifications/tools/list_changed"
        ):
            changed.set()

    async def reload_and_wait(client: Client, expect: str, *servers: str) -> set[str]:
        """Change the config; list after each list_changed until ``expect`` is served."""
        nonlocal changed
        changed = anyio.Event()
        _write_config(box, *servers)
        with anyio.fail_after(WAIT_SECONDS):
            while True:
                await changed.wait()
                changed = anyio.Event()
                names = {tool.name for tool in (await client.list_tools()).tools}
                # A reload of the pin file (approvals on first use) announces too.
                if expect in names and len({n.partition(".")[0] for n in names}) == len(servers):
                    return names

    async def main() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with Client(params, mode="legacy", message_handler=on_message) as client:
            seen["start"] = {tool.name for tool in (await client.list_tools()).tools}
            up_pid = int(_text(await client.call_tool("up.pid", {})))
            seen["added"] = await reload_and_wait(
                client, "two.echo", _server("up", box / "a"), _server("two", box / "b")
            )
            seen["up_kept"] = int(_text(await client.call_tool("up.pid", {}))) == up_pid
            seen["two_echo"] = _text(await client.call_tool("two.echo", {"text": "hello"}))
            two_pid = int(_text(await client.call_tool("two.pid", {})))

            # A bad new config (a program that does not exist) is refused whole.
            bad = _server("bad", box / "c").replace(
                json.dumps(sys.executable), json.dumps(str(box / "no-such-program"))
            )
            _write_config(box, _server("up", box / "a"), _server("two", box / "b"), bad)
            with anyio.fail_after(WAIT_SECONDS):
                while not any(
                    e["type"] == "config.changed" and e.get("outcome") == "mcp.config_invalid"
                    for e in _events(box / "audit.db")
                ):
                    await anyio.sleep(0.2)
            seen["after_bad"] = int(_text(await client.call_tool("two.pid", {}))) == two_pid

            seen["removed"] = await reload_and_wait(client, "two.echo", _server("two", box / "b"))
            with anyio.fail_after(WAIT_SECONDS):
                while not _gone(up_pid):
                    await anyio.sleep(0.1)
            seen["two_kept"] = int(_text(await client.call_tool("two.pid", {}))) == two_pid
            refused = await client.call_tool("up.echo", {"text": "gone"})
            seen["refused"] = refused.is_error
        return seen

    seen = anyio.run(main)
    assert "up.echo" in seen["start"]
    assert not any(name.startswith("two.") for name in seen["start"])
    assert {"up.echo", "two.echo", "two.pid"} <= seen["added"]
    assert seen["up_kept"]
    assert seen["two_echo"] == "hello"
    assert seen["after_bad"]
    assert "two.echo" in seen["removed"]
    assert not any(name.startswith("up.") for name in seen["removed"])
    assert seen["two_kept"]
    assert seen["refused"]

    reloads = [e for e in _events(box / "audit.db") if e["type"] == "config.changed"]
    outcomes = [e["outcome"] for e in reloads]
    assert outcomes.count("mcp.config_invalid") >= 1
    applied = [e["detail"].get("servers") for e in reloads if e["outcome"] == "ok"]
    assert {"started": ["two"], "restarted": [], "stopped": [], "kept": ["up"]} in applied
    assert {"started": [], "restarted": [], "stopped": ["up"], "kept": ["two"]} in applied
