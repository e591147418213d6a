# test tokens, not real credentials:
# ruff: noqa: S105
"""Secrets towards outside MCP servers, through a guard that holds the secret store.

Two real streamable-HTTP MCP servers on 127.0.0.1 (``A`` and ``B``, each behind a
small gate that records what arrives and answers 401 without the expected
credentials). The proxy reaches them only through agentor-egress holding the
same store as the proxy: ``bearer`` tokens and ``{{secret:NAME}}`` headers are
filled towards their own server only, and a stored value anywhere else (another
server, a redirect, a tool call's arguments) never leaves.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import mcp_types as types
import pytest
import uvicorn
from click.testing import CliRunner
from mcp import Client, StdioServerParameters
from mcp.server import MCPServer

from agentor_cli.app import cli
from agentor_core.capabilities import Capabilities
from agentor_core.tools import ToolCall
from agentor_egress import HttpEgressGuard
from agentor_mcp import OutsideServers, PinStore, ProxySection, ServerEntry
from agentor_secrets import MemorySecretStore
from agentor_secrets import create as create_store

TOKEN_A = "tok-a-5e0c2f9b71d84a36"
KEY_A = "key-a-0b8d4e61c3a7f925"
TOKEN_B = "tok-b-c4a17e3d90f25b68"
PASSPHRASE = "correct horse battery staple"
HEADERS = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "MCP-Protocol-Version": "2025-11-25",
}

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class _NullAudit:
    def append(self, event: Any) -> Any:
        return None

    def close(self) -> None:
        return None


@dataclass
class Gate:
    """ASGI in front of an MCP app: records each request; 401 without ``expected`` headers.

    ``redirect_to``: answer every POST with a 307 there instead (a server sending
    its client elsewhere).
    """

    app: Any
    expected: dict[str, str] = field(default_factory=dict)
    redirect_to: str | None = None
    seen: list[dict[str, Any]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        record: dict[str, Any] = {"method": scope["method"], "headers": headers, "body": b""}
        self.seen.append(record)

        async def recording() -> MutableMapping[str, Any]:
            message = await receive()
            if message["type"] == "http.request":
                record["body"] += message.get("body", b"")
            return message

        if self.redirect_to is not None and scope["method"] == "POST":
            await _answer(send, 307, [(b"location", self.redirect_to.encode())])
            return
        if any(headers.get(k) != v for k, v in self.expected.items()):
            await _answer(send, 401, [])
            return
        await self.app(scope, recording, send)

    def everything(self) -> str:
        return json.dumps(
            [{**r, "body": r["body"].decode("latin-1")} for r in self.seen], sort_keys=True
        )


async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


def _mcp_app(name: str) -> Any:
    server = MCPServer(name)

    @server.tool()
    def ping(text: str = "x") -> str:
        """Answer pong."""
        return f"pong from {name}: {text}"

    return server.streamable_http_app()


class _Serving:
    def __init__(self, app: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/mcp"
        self.server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1)
        )
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@dataclass
class Pair:
    a: Gate
    b: Gate
    a_url: str
    b_url: str


@pytest.fixture
def pair() -> Iterator[Pair]:
    a = Gate(_mcp_app("A"), {"authorization": f"Bearer {TOKEN_A}", "x-api-key": KEY_A})
    b = Gate(_mcp_app("B"), {"authorization": f"Bearer {TOKEN_B}"})
    serving = [_Serving(a), _Serving(b)]
    yield Pair(a, b, serving[0].url, serving[1].url)
    for running in serving:
        running.stop()


def _entry_a(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "url": url,
        "address_ranges": ["127.0.0.0/8"],
        "timeout_seconds": 15,
        "headers": {"X-Api-Key": "{{secret:key-a}}"},
        "secrets": ["key-a"],
        "auth": {"type": "bearer", "token": "token-a"},
        **extra,
    }


def _entry_b(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "url": url,
        "address_ranges": ["127.0.0.0/8"],
        "timeout_seconds": 15,
        "auth": {"type": "bearer", "token": "token-b"},
        **extra,
    }


STORED = {"token-a": TOKEN_A, "key-a": KEY_A, "token-b": TOKEN_B}


def _store() -> MemorySecretStore:
    return MemorySecretStore(STORED)


def _outside(tmp_path: Path, entries: dict[str, dict[str, Any]]) -> OutsideServers:
    store = _store()
    return OutsideServers(
        {name: ServerEntry.model_validate(entry) for name, entry in entries.items()},
        base=tmp_path,
        pins=PinStore(tmp_path / "pins.json"),
        audit=_NullAudit(),  # type: ignore[arg-type]
        proxy=ProxySection(trust_on_first_use=True),
        egress_guard=HttpEgressGuard(secrets=store),
        secret_store=store,
        close_guard=True,
    )


def _call(outside: OutsideServers, tool: str, arguments: dict[str, Any]) -> Any:
    listed = next(t for t in outside.tools() if t.served_name == tool)
    return outside.invoke(
        ToolCall(id="c1", tool=tool, arguments=arguments, component_hash=listed.pin),
        Capabilities(),
    )


def _pings(gate: Gate) -> list[str]:
    """The ``text`` of every tools/call of ping that reached the server."""
    texts = []
    for record in gate.seen:
        try:
            message = json.loads(record["body"] or b"{}")
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("method") == "tools/call":
            texts.append(message["params"]["arguments"].get("text"))
    return texts


# -- the proxy, in process --------------------------------------------------------------


def test_bearer_and_header_placeholders_reach_their_own_server_only(
    tmp_path: Path, pair: Pair
) -> None:
    with _outside(tmp_path, {"a": _entry_a(pair.a_url), "b": _entry_b(pair.b_url)}) as outside:
        assert outside.refresh() == {"a": None, "b": None}
        a = _call(outside, "a.ping", {"text": "hi"})
        b = _call(outside, "b.ping", {"text": "hi"})
    assert a.error is None, a.error
    assert "pong from A: hi" in str(a.content[0])
    assert b.error is None, b.error
    # Each server saw its own credentials, filled by the guard, and never the other's.
    assert all(r["headers"]["authorization"] == f"Bearer {TOKEN_A}" for r in pair.a.seen)
    assert all(r["headers"]["x-api-key"] == KEY_A for r in pair.a.seen)
    assert TOKEN_B not in pair.a.everything()
    assert TOKEN_A not in pair.b.everything()
    assert KEY_A not in pair.b.everything()
    assert "{{secret:" not in pair.a.everything() + pair.b.everything()


def test_a_secret_bound_to_server_a_is_refused_towards_server_b(tmp_path: Path, pair: Pair) -> None:
    # B's entry names A's secret in a header without binding it: unbound, never filled.
    entry = _entry_b(pair.b_url, headers={"X-Api-Key": "{{secret:key-a}}"})
    with _outside(tmp_path, {"b": entry}) as outside:
        error = outside.refresh()["b"]
    assert error is not None
    assert "egress.secret_unbound" in error.message
    assert pair.b.seen == []


def test_a_stored_value_in_a_tool_calls_arguments_is_a_leak_even_to_its_own_server(
    tmp_path: Path, pair: Pair
) -> None:
    with _outside(tmp_path, {"a": _entry_a(pair.a_url), "b": _entry_b(pair.b_url)}) as outside:
        assert outside.refresh() == {"a": None, "b": None}
        results = {
            (tool, value): _call(outside, tool, {"text": f"look: {value}"})
            for tool in ("a.ping", "b.ping")
            for value in (TOKEN_A, KEY_A, TOKEN_B)
        }
        after = _call(outside, "a.ping", {"text": "still fine"})
    for (tool, _value), result in results.items():
        assert result.error is not None, tool
        assert result.error.code == "egress.secret_leak"
    assert after.error is None, after.error
    everything = pair.a.everything() + pair.b.everything()
    for value in (TOKEN_A, KEY_A, TOKEN_B):
        assert f"look: {value}" not in everything
    assert _pings(pair.a) == ["still fine"]


def test_a_placeholder_in_a_tool_calls_arguments_is_never_filled(
    tmp_path: Path, pair: Pair
) -> None:
    with _outside(tmp_path, {"a": _entry_a(pair.a_url)}) as outside:
        assert outside.refresh() == {"a": None}
        result = _call(outside, "a.ping", {"text": "{{secret:token-a}}"})
    assert result.error is not None
    assert result.error.code == "mcp.secret_placement"
    assert _pings(pair.a) == []
    assert TOKEN_A not in json.dumps([r["body"].decode() for r in pair.a.seen])


def test_a_redirect_to_another_origin_never_carries_the_secrets(tmp_path: Path, pair: Pair) -> None:
    pair.a.redirect_to = pair.b_url
    with _outside(tmp_path, {"a": _entry_a(pair.a_url)}) as outside:
        error = outside.refresh()["a"]
    assert error is not None
    # The grant covers A's origin only: the redirect is refused before anything is sent.
    assert "egress.destination_denied" in error.message
    assert pair.b.seen == []


# -- agentor serve and agentor mcp, as the commands compose them -------------------------------


@pytest.fixture
def served(tmp_path: Path, pair: Pair, monkeypatch: pytest.MonkeyPatch) -> Path:
    env = {
        "AGENTOR_STATE_DIR": str(tmp_path / "state"),
        "AGENTOR_CONFIG_DIR": str(tmp_path / "config"),
        "AGENTOR_SECRETS_FILE": str(tmp_path / "secrets.json"),
        "AGENTOR_SECRETS_PASSPHRASE": PASSPHRASE,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    store = create_store(path=tmp_path / "secrets.json", passphrase=PASSPHRASE)
    for name, value in STORED.items():
        store.set(name, value)
    (tmp_path / "policy.toml").write_text(
        'version = 1\n[[tool]]\nid = "a-ping"\nname = "a.ping"\n'
        '[tool.args.text]\ntype = "string"\nmax_length = 200\n',
        encoding="utf-8",
    )
    config = tmp_path / "agentor.toml"
    config.write_text(
        f"""version = 1
[policy]
file = "policy.toml"
[audit]
path = "audit.db"
[proxy]
trust_on_first_use = true
[servers.a]
url = "{pair.a_url}"
address_ranges = ["127.0.0.0/8"]
headers = {{ X-Api-Key = "{{{{secret:key-a}}}}" }}
secrets = ["key-a"]
[servers.a.auth]
type = "bearer"
token = "token-a"
""",
        encoding="utf-8",
    )
    return config


def test_agentor_mcp_tools_and_serve_check_fill_bearer_and_headers(
    served: Path, pair: Pair
) -> None:
    listed = CliRunner().invoke(cli, ["mcp", "tools", "--config", str(served), "--json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)["servers"] == {"a": None}
    checked = CliRunner().invoke(
        cli,
        [
            *("serve", "--config", str(served), "--check", "--json"),
            *("--check-tool", "a.ping", "--check-args", '{"text": "checked"}'),
        ],
    )
    assert checked.exit_code == 0, checked.output
    assert "pong from A: checked" in checked.stdout
    assert _pings(pair.a) == ["checked"]
    assert all(r["headers"]["authorization"] == f"Bearer {TOKEN_A}" for r in pair.a.seen)


def test_agentor_serve_over_stdio_and_http_reaches_the_bearer_server(
    served: Path, pair: Pair, tmp_path: Path
) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "agentor_cli", "serve", "--config", str(served), "--no-reload"],
        env=dict(os.environ),
    )

    async def over_stdio() -> tuple[types.CallToolResult, types.CallToolResult]:
        async with Client(params) as client:
            good = await client.call_tool("a.ping", {"text": "stdio"})
            leak = await client.call_tool("a.ping", {"text": TOKEN_A})
            return good, leak

    good, leak = anyio.run(over_stdio)
    assert not good.is_error, good
    assert "pong from A: stdio" in str(good.content)
    assert leak.is_error
    assert "egress.secret_leak" in str(leak.content)
    assert TOKEN_A not in str(leak.content)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path / "serve.log").open("wb")
    command = [sys.executable, "-m", "agentor_cli", "serve", "--config", str(served)]
    command += ["--no-reload", "--stateless", "--http", f"127.0.0.1:{port}"]
    server = subprocess.Popen(command, env=os.environ, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text(errors="replace")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                assert time.monotonic() < deadline, "agentor serve did not listen"
                time.sleep(0.1)
        body = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "a.ping", "arguments": {"text": "http"}},
        }
        with httpx.Client(headers=HEADERS, timeout=30) as client:
            answer = client.post(f"http://127.0.0.1:{port}/mcp", json=body)
        answer.raise_for_status()
        assert "pong from A: http" in answer.text
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    assert _pings(pair.a) == ["stdio", "http"]
    assert all(r["headers"]["authorization"] == f"Bearer {TOKEN_A}" for r in pair.a.seen)
