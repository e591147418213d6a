# test tokens, not real credentials:
# ruff: noqa: S105
"""A component's http-fetch through the real agentor-egress guard, against a local server."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "sandbox"))

from sandbox_fixtures import build_pytool, compile_cache_dir

from agentor_core import Capabilities, ToolCall
from agentor_egress import HttpEgressGuard
from agentor_sandbox import SandboxCode, SandboxRuntime
from agentor_secrets import EncryptedFileStore

pytestmark = pytest.mark.slow

TOKEN = "sk-test-1234567890abcdef"
SEEN: list[dict[str, str]] = []


class _Server(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        SEEN.append({"path": self.path, "auth": self.headers.get("Authorization", "")})
        body = b"pong"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxRuntime]:
    store = EncryptedFileStore(
        tmp_path_factory.mktemp("s") / "s.json", "correct horse battery", scrypt_n=2**14
    )
    store.set("API_TOKEN", TOKEN)
    guard = HttpEgressGuard(secrets=store)
    rt = SandboxRuntime(
        [build_pytool()], cache_dir=compile_cache_dir(), egress_guard=guard, secret_store=store
    )
    yield rt
    rt.close()
    guard.close()


def grant(port: int, *, requests: int = 16) -> Capabilities:
    return Capabilities.model_validate(
        {
            "network": [
                {
                    "scheme": "http",
                    "host": "127.0.0.1",
                    "port": port,
                    "address_ranges": ["127.0.0.1/32"],
                }
            ],
            "secrets": [{"name": "API_TOKEN", "audiences": ["http://127.0.0.1"]}],
            "limits": {"http_requests": requests},
        }
    )


def fetch(rt: SandboxRuntime, args: dict[str, Any], capabilities: Capabilities) -> Any:
    result = rt.invoke(ToolCall(id="f", tool="fetch", arguments=args), capabilities)
    assert result.error is None, result.error
    return result.content[0].model_dump()["data"]["results"]


def test_granted_destination_is_reached(runtime: SandboxRuntime, port: int) -> None:
    url = f"http://127.0.0.1:{port}/ok"
    assert fetch(runtime, {"url": url}, grant(port)) == [{"status": 200, "body": "pong"}]
    assert SEEN[-1]["path"] == "/ok"


def test_ungranted_destination_is_refused_by_the_guard(runtime: SandboxRuntime, port: int) -> None:
    before = len(SEEN)
    (result,) = fetch(runtime, {"url": f"http://127.0.0.1:{port}/no"}, Capabilities())
    assert result["error"].startswith("egress.")
    assert len(SEEN) == before


def test_secret_placeholder_is_filled_outside_the_sandbox(
    runtime: SandboxRuntime, port: int
) -> None:
    headers = {"Authorization": "Bearer {{secret:API_TOKEN}}"}
    url = f"http://127.0.0.1:{port}/auth"
    fetch(runtime, {"url": url, "headers": headers}, grant(port))
    assert SEEN[-1]["auth"] == f"Bearer {TOKEN}"


def test_request_budget_is_per_call(runtime: SandboxRuntime, port: int) -> None:
    url = f"http://127.0.0.1:{port}/n"
    result = runtime.invoke(
        ToolCall(id="f", tool="fetch", arguments={"url": url, "times": 3}), grant(port, requests=2)
    )
    assert result.error is not None
    assert result.error.code == SandboxCode.HTTP_REQUESTS_EXHAUSTED
