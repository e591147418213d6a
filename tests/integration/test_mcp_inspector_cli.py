"""The official MCP Inspector CLI lists and calls tools of `agentor serve` (stdio and HTTP).

`mcp-inspector --cli` from .ci/node (npm @modelcontextprotocol/inspector) is a
client we did not write: it starts `agentor serve` on the embedded defaults
(sandboxed echo and clock, the example policy, an audit log in a temporary
state directory) and prints what it got as JSON.
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

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".ci" / "node" / "node_modules" / ".bin"
INSPECTOR = BIN / "mcp-inspector"
TIMEOUT = 120


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    if not INSPECTOR.exists():
        message = "the MCP Inspector is not installed: run npm ci --prefix .ci/node"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    home = tmp_path / "home"
    home.mkdir()
    return {
        **os.environ,
        # Node 22 from .ci/node first (the system node may be older).
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        # The inspector keeps a catalog under $HOME; keep it out of the real one.
        "HOME": str(home),
        "AGENTOR_STATE_DIR": str(tmp_path / "state"),
        "AGENTOR_CONFIG_DIR": str(tmp_path / "config"),
    }


def _inspect(env: dict[str, str], target: list[str], *args: str, status: int = 0) -> dict[str, Any]:
    done = subprocess.run(
        [str(INSPECTOR), "--cli", *target, *args],
        env=env,
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == status, done.stdout.decode()[-2000:] + done.stderr.decode()[-2000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


STDIO = [sys.executable, "-m", "agentor_cli", "serve", "--no-reload"]


def _check_list(listed: dict[str, Any]) -> None:
    tools = {tool["name"]: tool for tool in listed["tools"]}
    assert sorted(tools) == ["clock", "confirm_echo", "echo"]
    assert tools["echo"]["inputSchema"]["required"] == ["text"]
    # Derived from the grant: echo can touch nothing outside its sandbox.
    assert tools["echo"]["annotations"]["readOnlyHint"] is True
    assert tools["echo"]["annotations"]["openWorldHint"] is False


def _check_echo(result: dict[str, Any]) -> None:
    assert result["isError"] is False
    assert result["structuredContent"] == {"text": "hello inspector"}
    assert result["_meta"]["io.agentor/labels"]["trust"] == "untrusted"


def test_inspector_lists_and_calls_over_stdio(env: dict[str, str]) -> None:
    _check_list(_inspect(env, STDIO, "--method", "tools/list"))
    _check_echo(
        _inspect(
            env,
            STDIO,
            "--method",
            "tools/call",
            "--tool-name",
            "echo",
            "--tool-arg",
            "text=hello inspector",
        )
    )
    # The inspector exits 5 when a tool answers isError, and still prints the result.
    refused = _inspect(
        env,
        STDIO,
        "--method",
        "tools/call",
        "--tool-name",
        "echo",
        "--tool-arg",
        "txt=typo",
        status=5,
    )
    assert refused["isError"] is True
    assert refused["_meta"]["io.agentor/error"]["code"] == "mcp.invalid_call"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def http_url(env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [*STDIO, "--http", f"127.0.0.1:{port}"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail((tmp_path / "serve.log").read_text(errors="replace")[-2000:])
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("agentor serve --http did not listen within 60 s")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def test_inspector_lists_and_calls_over_http(env: dict[str, str], http_url: str) -> None:
    target = [http_url, "--transport", "http"]
    _check_list(_inspect(env, target, "--method", "tools/list"))
    _check_echo(
        _inspect(
            env,
            target,
            "--method",
            "tools/call",
            "--tool-name",
            "echo",
            "--tool-arg",
            "text=hello inspector",
        )
    )
