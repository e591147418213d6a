# test tokens, not real credentials:
# ruff: noqa: S105
"""agentor-cli's egress guards hold the secret store: placeholders filled, leaks caught."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from agentor_cli.composition import egress
from agentor_core.capabilities import Capabilities, NetworkDestination, SecretGrant
from agentor_core.egress import HttpRequest
from agentor_core.errors import AgentorError
from agentor_egress import EgressCode
from agentor_secrets import MemorySecretStore

API_TOKEN = "sk-test-4c1d9e7a2b"


class _Seen(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[str] = []  # noqa: RUF012 - one server per module, read by the tests

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        _Seen.seen.append(self.headers.get("Authorization", ""))
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Seen)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def _store() -> MemorySecretStore:
    return MemorySecretStore({"API_TOKEN": API_TOKEN})


def _grant(port: int) -> Capabilities:
    return Capabilities(
        network=(
            NetworkDestination.model_validate(
                {
                    "scheme": "http",
                    "host": "127.0.0.1",
                    "port": port,
                    "address_ranges": ["127.0.0.1/32"],
                }
            ),
        ),
        secrets=(SecretGrant(name="API_TOKEN", audiences=("http://127.0.0.1",)),),
    )


def _get(port: int, authorization: str) -> HttpRequest:
    return HttpRequest(url=f"http://127.0.0.1:{port}/", headers=(("Authorization", authorization),))


def test_placeholders_are_filled_from_the_store(port: int) -> None:
    guard = egress(_store())
    assert guard is not None
    with guard:
        guard.send(_get(port, "Bearer {{secret:API_TOKEN}}"), _grant(port))
    assert _Seen.seen[-1] == f"Bearer {API_TOKEN}"


def test_a_secret_written_out_in_full_is_a_leak(port: int) -> None:
    guard = egress(_store())
    assert guard is not None
    with guard, pytest.raises(AgentorError) as caught:
        guard.send(_get(port, f"Bearer {API_TOKEN}"), _grant(port))
    assert caught.value.code == EgressCode.SECRET_LEAK
    assert API_TOKEN not in str(caught.value)
