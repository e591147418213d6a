"""Streamable HTTP on a real loopback socket: DNS-rebinding defence, bearer tokens, bind refusal."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from agentor_core.errors import AgentorError
from agentor_mcp import HttpSettings, McpCode, check_bind, http_app, load_tokens, parse_address

TOKEN = "t0k3n-" + "x" * 40

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"},
    },
}


class Running:
    def __init__(self, app: Any) -> None:
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/mcp"

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _post(url: str, headers: dict[str, str]) -> int:
    response = httpx.post(
        url,
        json=INIT,
        headers={"Accept": "application/json, text/event-stream", **headers},
        timeout=10,
    )
    return response.status_code


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "tokens"
    path.write_text(f"# operator tokens\n{TOKEN}\n", encoding="utf-8")
    path.chmod(0o600)
    return path


@pytest.fixture
def served(parts: Any) -> Iterator[str]:
    with Running(http_app(parts.bridge(), HttpSettings())) as url:
        yield url


def test_http_serves_list_and_call(served: str) -> None:
    async def main() -> tuple[list[str], Any]:
        async with Client(served) as client:
            names = [t.name for t in (await client.list_tools()).tools]
            return names, await client.call_tool("echo", {"text": "over http"})

    names, result = anyio.run(main)
    assert "echo" in names
    assert result.structured_content == {"text": "over http"}


def test_stateless_http_serves_without_sessions(parts: Any) -> None:
    with Running(http_app(parts.bridge(), HttpSettings(stateless=True))) as url:

        async def main() -> Any:
            async with Client(url, mode="legacy") as client:
                await client.list_tools()
                return await client.call_tool("echo", {"text": "no session"})

        assert anyio.run(main).structured_content == {"text": "no session"}


def test_dns_rebinding_is_refused(served: str) -> None:
    assert _post(served, {}) == 200
    assert _post(served, {"Host": "evil.example:80"}) in {400, 403, 421}
    assert _post(served, {"Origin": "http://evil.example"}) in {400, 403}


def test_tokens_are_required_when_configured(parts: Any, token_file: Path) -> None:
    app = http_app(parts.bridge(), HttpSettings(token_file=token_file))
    with Running(app) as url:
        assert _post(url, {}) == 401
        assert _post(url, {"Authorization": "Bearer wrong-" + "y" * 40}) == 401
        assert _post(url, {"Authorization": f"Bearer {TOKEN}"}) == 200

        async def main() -> list[str]:
            headers = {"Authorization": f"Bearer {TOKEN}"}
            async with (
                httpx2.AsyncClient(headers=headers) as http,
                Client(streamable_http_client(url, http_client=http)) as client,
            ):
                return [t.name for t in (await client.list_tools()).tools]

        assert "echo" in anyio.run(main)


def test_non_loopback_bind_without_tokens_refuses_to_start() -> None:
    for host in ("0.0.0.0", "::", "192.0.2.10", "example.com"):  # noqa: S104 - refused, not bound
        with pytest.raises(AgentorError) as caught:
            check_bind(HttpSettings(host=host))
        assert caught.value.code == McpCode.BIND_REFUSED
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        assert check_bind(HttpSettings(host=host)) is None


def test_non_loopback_bind_with_tokens_is_allowed(token_file: Path) -> None:
    assert check_bind(HttpSettings(host="0.0.0.0", token_file=token_file)) is not None  # noqa: S104


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_token_file_must_be_private(token_file: Path) -> None:
    token_file.chmod(0o644)
    with pytest.raises(AgentorError) as caught:
        load_tokens(token_file)
    assert caught.value.code == McpCode.TOKENS_INVALID


@pytest.mark.parametrize(
    "text", ["", "# only a comment\n", "short\n", "has space " + "z" * 40 + "\n", "é" * 40]
)
def test_bad_token_files_are_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "tokens"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    with pytest.raises(AgentorError) as caught:
        load_tokens(path)
    assert caught.value.code == McpCode.TOKENS_INVALID


def test_missing_token_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AgentorError) as caught:
        load_tokens(tmp_path / "absent")
    assert caught.value.code == McpCode.TOKENS_INVALID


def test_parse_address() -> None:
    assert parse_address("127.0.0.1:8765") == ("127.0.0.1", 8765)
    assert parse_address("[::1]:9000") == ("::1", 9000)
    assert parse_address("8000") == ("127.0.0.1", 8000)
    for bad in ("127.0.0.1:x", "host:0", "host:70000"):
        with pytest.raises(AgentorError):
            parse_address(bad)
