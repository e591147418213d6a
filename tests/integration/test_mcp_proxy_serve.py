"""`agentor serve` in front of real outside MCP servers (npm reference servers, stdio).

server-everything and server-filesystem from .ci/node run behind the proxy under
a policy that grants and denies specific calls; a real MCP client session checks
what the serve side answers, and the audit log what was recorded.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from click.testing import CliRunner
from mcp import Client, StdioServerParameters

from agentor_audit.store import StoreReader
from agentor_cli.app import cli
from agentor_cli.commands.serve import build

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / ".ci" / "node" / "node_modules"
NODE = NODE_MODULES / ".bin" / "node"
EVERYTHING = NODE_MODULES / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"
FILESYSTEM = NODE_MODULES / "@modelcontextprotocol" / "server-filesystem" / "dist" / "index.js"


def _need_node() -> None:
    if NODE.exists() and EVERYTHING.exists() and FILESYSTEM.exists():
        return
    message = "the reference MCP servers are not installed: run npm ci --prefix .ci/node"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


POLICY = """
version = 1
[[tool]]
id = "fs-read"
name = "fs.read_text_file"
[tool.args.path]
type = "string"
required = true
path_under = ["{data}"]

[[tool]]
id = "ev-echo"
name = "ev.echo"
[tool.args.message]
type = "string"
max_length = 100

[[tool]]
id = "ev-env"
name = "ev.get-env"
"""


@pytest.fixture
def toolbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    _need_node()
    monkeypatch.setenv("AGENTOR_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AGENTOR_CONFIG_DIR", str(tmp_path / "config"))
    data = (tmp_path / "data").resolve()
    data.mkdir()
    (data / "note.txt").write_text("inside the granted folder", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("outside", encoding="utf-8")
    (tmp_path / "policy.toml").write_text(POLICY.format(data=data), encoding="utf-8")
    config = tmp_path / "agentor.toml"
    config.write_text(
        f"""version = 1
[policy]
file = "policy.toml"
[audit]
path = "audit.db"
[servers.fs]
command = [{json.dumps(str(NODE))}, {json.dumps(str(FILESYSTEM))}, {json.dumps(str(data))}]
[servers.ev]
command = [{json.dumps(str(NODE))}, {json.dumps(str(EVERYTHING))}, "stdio"]
env = {{ GRANTED_VAR = "granted" }}
""",
        encoding="utf-8",
    )
    return config


def _events(db: Path) -> list[dict[str, Any]]:
    with StoreReader(db) as reader:
        return [json.loads(record)["event"] for _seq, _leaf, record in reader.rows()]


def _pin(config: Path, *names: str) -> dict[str, Any]:
    result = CliRunner().invoke(
        cli, ["mcp", "pin", "--config", str(config), "--json", *(names or ("--all",))]
    )
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def _text(result: types.CallToolResult) -> str:
    return "".join(b.text for b in result.content if isinstance(b, types.TextContent))


def _code(result: types.CallToolResult) -> str:
    assert result.is_error
    return str((result.meta or {})["io.agentor/error"]["code"])


def test_nothing_outside_is_served_before_approval(toolbox: Path) -> None:
    listed = CliRunner().invoke(cli, ["mcp", "tools", "--config", str(toolbox), "--json"])
    assert listed.exit_code == 0, listed.output
    report = json.loads(listed.stdout)
    assert report["servers"] == {"ev": None, "fs": None}
    names = {tool["name"] for tool in report["tools"]}
    assert {"fs.read_text_file", "fs.write_file", "ev.echo", "ev.get-env"} <= names
    assert all(not tool["served"] for tool in report["tools"])
    assert {tool["refusal"]["code"] for tool in report["tools"]} == {"mcp.tool_unapproved"}

    served = build(toolbox)
    try:

        async def main() -> tuple[list[str], types.CallToolResult]:
            async with Client(served.bridge.server) as client:
                names = [t.name for t in (await client.list_tools()).tools]
                return names, await client.call_tool("fs.read_text_file", {"path": "x"})

        names_served, refused = anyio.run(main)
    finally:
        served.close()
    assert not any(name.startswith(("fs.", "ev.")) for name in names_served)
    assert _code(refused) == "mcp.tool_unapproved"


def test_policy_grants_and_denies_outside_calls(toolbox: Path) -> None:
    approved = _pin(toolbox)["approved"]
    assert "fs.read_text_file" in approved
    assert "ev.echo" in approved
    data = toolbox.parent / "data"
    served = build(toolbox)
    try:

        async def main() -> dict[str, types.CallToolResult]:
            async with Client(served.bridge.server) as client:
                listed = {t.name: t for t in (await client.list_tools()).tools}
                assert "fs.write_file" in listed
                assert "ev.echo" in listed
                # Outside tools run in no sandbox: the bridge claims nothing reassuring.
                hints = listed["fs.read_text_file"].annotations
                assert hints is not None
                assert hints.read_only_hint is False
                return {
                    "read": await client.call_tool(
                        "fs.read_text_file", {"path": str(data / "note.txt")}
                    ),
                    "read_outside": await client.call_tool(
                        "fs.read_text_file", {"path": str(toolbox.parent / "secret.txt")}
                    ),
                    "write": await client.call_tool(
                        "fs.write_file", {"path": str(data / "new.txt"), "content": "x"}
                    ),
                    "echo": await client.call_tool("ev.echo", {"message": "through the proxy"}),
                    "env": await client.call_tool("ev.get-env", {}),
                }

        results = anyio.run(main)
    finally:
        served.close()
    assert not results["read"].is_error
    assert "inside the granted folder" in _text(results["read"])
    assert _code(results["read_outside"]) == "mcp.policy_denied"
    assert _code(results["write"]) == "mcp.policy_denied"
    assert not (data / "new.txt").exists()
    assert "through the proxy" in _text(results["echo"])
    # server-everything's get-env prints its whole environment: only what was granted.
    env = json.loads(_text(results["env"]))
    assert set(env) == {"GRANTED_VAR"}
    assert env["GRANTED_VAR"] == "granted"

    events = _events(toolbox.parent / "audit.db")
    pinned = [e for e in events if e["type"] == "mcp.server_pinned"]
    assert {e["tool"] for e in pinned} >= {"fs.read_text_file", "ev.echo"}
    decisions = {(e["tool"], e["verdict"]) for e in events if e["type"] == "decision"}
    assert ("fs.read_text_file", "allow") in decisions
    assert ("fs.write_file", "deny") in decisions
    results_logged = [e for e in events if e["type"] == "result" and e["tool"] == "ev.echo"]
    assert results_logged
    assert results_logged[0]["outcome"] == "ok"


def test_serve_over_stdio_fronts_an_outside_server(toolbox: Path) -> None:
    _pin(toolbox, "ev.echo")
    env = {**os.environ}
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "agentor_cli", "serve", "--config", str(toolbox), "--no-reload"],
        env=env,
    )

    async def main() -> tuple[list[str], types.CallToolResult]:
        async with Client(params) as client:
            names = [t.name for t in (await client.list_tools()).tools]
            return names, await client.call_tool("ev.echo", {"message": "over stdio"})

    names, echo = anyio.run(main)
    assert "ev.echo" in names
    assert "fs.read_text_file" not in names
    assert "over stdio" in _text(echo)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def everything_http(tmp_path: Path) -> Iterator[str]:
    _need_node()
    port = _free_port()
    env = {
        "PATH": f"{NODE_MODULES / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "PORT": str(port),
    }
    log = (tmp_path / "everything-http.log").open("wb")
    process = subprocess.Popen(
        [str(NODE), str(EVERYTHING), "streamableHttp"], env=env, stdout=log, stderr=log
    )
    try:
        for _ in range(200):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None:
                pytest.fail("server-everything (streamableHttp) exited at start")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def test_http_server_is_reached_only_through_the_egress_guard(
    toolbox: Path, everything_http: str
) -> None:
    config = toolbox.parent / "http.toml"
    base = 'version = 1\n[policy]\nfile = "policy.toml"\n[audit]\npath = "audit.db"\n'
    # Loopback is a special range: without a grant for it the guard refuses to connect.
    config.write_text(base + f'[servers.ev]\nurl = "{everything_http}"\n', encoding="utf-8")
    listed = CliRunner().invoke(cli, ["mcp", "tools", "--config", str(config), "--json"])
    report = json.loads(listed.stdout)
    assert report["servers"]["ev"]["code"] == "mcp.upstream_unavailable"
    assert "egress.address_denied" in report["servers"]["ev"]["message"]

    config.write_text(
        base + f'[servers.ev]\nurl = "{everything_http}"\naddress_ranges = ["127.0.0.0/8"]\n',
        encoding="utf-8",
    )
    _pin(config, "ev.echo")
    served = build(config)
    try:

        async def main() -> tuple[list[str], types.CallToolResult, types.CallToolResult]:
            async with Client(served.bridge.server) as client:
                names = [t.name for t in (await client.list_tools()).tools]
                echo = await client.call_tool("ev.echo", {"message": "over http"})
                unpinned = await client.call_tool("ev.get-sum", {"a": 1, "b": 2})
                return names, echo, unpinned

        names, echo, unpinned = anyio.run(main)
    finally:
        served.close()
    assert "ev.echo" in names
    assert "over http" in _text(echo)
    assert _code(unpinned) == "mcp.tool_unapproved"


def test_example_toolbox_and_policy_load() -> None:
    from agentor_mcp import load_config
    from agentor_policy import PolicyHolder

    loaded = load_config(ROOT / "examples" / "toolboxes" / "outside-servers" / "agentor.toml")
    assert sorted(loaded.config.servers) == ["ev", "fs"]
    assert loaded.config.proxy.trust_on_first_use is False
    PolicyHolder.from_file(loaded.resolve(loaded.config.policy.file))
